"""Performance stability (coconut/runtime/stability.py): speculative deopts are counted
per site, and code whose speculation keeps failing is recompiled without it, at most
three times. The speculation is forced here: a wrapped BINARY_OP rule guards "the left
operand is a float" and deopts with `site=<offset>` otherwise (unless the site is in
`avoid`), and a wrapped `lower` records the avoid sets it is given. All in children."""
import json
import os
import shutil
import tempfile
import textwrap
import time

import pytest

from tests.support import get_coconut, in_subprocess, run_code, run_python

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("recompiles are part of the real JIT", allow_module_level=True)

REASON = "test: left operand not a float"


def speculate(stubborn_at=None, record=True):
    """Make BINARY_OP speculate on a float left operand. At offset `stubborn_at` it
    speculates even when told to avoid it (a lowering that ignores `avoid`). Returns the
    list of (function name, sorted avoid) that `lower` is called with (with `record`)."""
    from coconut.ir import ops
    from coconut.lowering import opcodes
    from coconut.runtime import layout as L
    import coconut.lowering as lowering
    # (the paths of the generic rule, which the typed tier's rule for an avoided site,
    # typed._arith_obj, takes too)
    plain = opcodes.binary_op_paths

    def speculating(b, ins, lhs, rhs, on_slow=None):
        if ins.offset not in b.avoid or ins.offset == stubborn_at:
            fail = b.new_block("spec_fail")
            fail.terminator = ops.Deopt(ins.offset, b.stack_below() + tuple(b.inputs),
                                        REASON, site=ins.offset)
            b.split(ops.Cond("!=", b.load("ptr", lhs, L.OB_TYPE), b.const(float)), fail.name)
        return plain(b, ins, lhs, rhs, on_slow)
    opcodes.binary_op_paths = speculating
    calls = []
    if not record:
        return calls
    lower = lowering.lower

    def recording(cfg, count_at=None, cache_forms=None, avoid=frozenset(), **kw):
        calls.append((cfg.code.co_name, sorted(avoid)))
        return lower(cfg, count_at, cache_forms, avoid=avoid, **kw)
    lowering.lower = recording
    return calls


def chain(x, y):
    return (((x * y) * y) * y) * y        # four BINARY_OPs: offsets 3, 6, 9, 12


SITES = [3, 6, 9, 12]


def _sites_of(func):
    import dis
    return [i.offset // 2 for i in dis.get_instructions(func) if i.opname == "BINARY_OP"]


def _run_ints(func, calls, start=0):
    for i in range(start, start + calls):
        assert func(1.5, 2.0) == 24.0                  # the speculation holds
        assert func(i, 3) == i * 81, i                 # it fails (int * int)


def _until(cond, func, seconds=90):
    """Call func until cond() (background compiles install at a later entry)."""
    deadline, i = time.monotonic() + seconds, 0
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        _run_ints(func, 100, i)
        i += 100
    return i


def _setup(only="^chain "):
    """Children: no on-disk cache (the wrapped rule is not part of its key), and in
    whole-program mode only `chain` is compiled."""
    import re
    from coconut.runtime import jit
    os.environ["COCONUT_CACHE"] = "0"
    jit._ONLY = re.compile(only)


def _recompiles(code):
    from coconut.runtime import jit
    return jit._recompiled.get(id(code), (0, ()))[0]


def test_sites_are_where_the_chain_multiplies():
    assert _sites_of(chain) == SITES


@in_subprocess()
def test_recompiled_without_the_failing_sites():
    coconut = get_coconut()
    _setup()
    calls = speculate()
    coconut.compile(chain)
    _run_ints(chain, 99)
    assert coconut.stats()["recompiles"] == 0              # below the bound
    _run_ints(chain, 2000, 99)
    st = coconut.stats()
    mine = [a for name, a in calls if name == "chain"]
    # each recompile adds the site that failed; the third avoids every site
    assert mine == [[], [3], [3, 6], [3, 6, 9, 12]], mine
    assert st["recompiles"] == 3, st
    assert st["recompiled"] == {f"chain ({chain.__code__.co_filename}:"
                                f"{chain.__code__.co_firstlineno})":
                                {"recompiles": 3, "avoid": SITES}}, st["recompiled"]
    assert st["deopts"] == {REASON: 300}, st["deopts"]
    sites = [s for s in st["deopt_sites"] if s["function"].startswith("chain ")]
    assert [(s["offset"], s["opcode"], s["reason"], s["count"], s["speculative"])
            for s in sites] == [(o, "BINARY_OP", REASON, 100, True) for o in (3, 6, 9)], sites
    assert coconut.is_compiled(chain)


def branchy(x, y, which):
    if which:
        return x * y               # offset 3 (`which` true)
    return y * x                   # offset 9


def _sites_of_branchy():
    return _sites_of(branchy)


@in_subprocess()
def test_sites_that_deopted_go_with_the_failing_one():
    # One path fails past the bound, the other deopted too (below it): one recompile
    # avoids both, not one recompile per site.
    coconut = get_coconut()
    _setup("^branchy ")
    calls = speculate()
    coconut.compile(branchy)
    first, second = _sites_of_branchy()
    for i in range(30):
        assert branchy(i, 2, False) == 2 * i          # the second site deopts 30 times
    for i in range(150):
        assert branchy(i, 2, True) == 2 * i           # the first fails
    mine = [a for name, a in calls if name == "branchy"]
    assert mine == [[], [first, second]], mine
    assert coconut.stats()["recompiles"] == 1


@in_subprocess()
def test_recompiles_stop_at_three():
    coconut = get_coconut()
    _setup()
    calls = speculate(stubborn_at=12)        # site 12 speculates whatever `avoid` says
    coconut.compile(chain)
    _run_ints(chain, 5000)
    mine = [a for name, a in calls if name == "chain"]
    assert mine == [[], [3], [3, 6], [3, 6, 9, 12]], mine
    st = coconut.stats()
    assert st["recompiles"] == 3 and _recompiles(chain.__code__) == 3, st
    at12 = sum(s["count"] for s in st["deopt_sites"] if s["offset"] == 12)
    assert at12 > 4000, st["deopt_sites"]     # fails on and on: no fourth recompile


@in_subprocess()
def test_a_site_that_stays_is_the_end():
    coconut = get_coconut()
    _setup()
    calls = speculate(stubborn_at=3)         # avoiding site 3 does not remove it
    coconut.compile(chain)
    _run_ints(chain, 3000)
    mine = [a for name, a in calls if name == "chain"]
    # the second recompile would change nothing: it avoids every site instead; then stop
    assert mine == [[], [3], [3, 6, 9, 12]], mine
    assert coconut.stats()["recompiles"] == 2


@in_subprocess()
def test_rare_failures_keep_the_speculation():
    coconut = get_coconut()
    _setup()
    speculate()
    coconut.compile(chain)
    for i in range(20000):                   # 2% of the calls fail (under MIN_SHARE)
        x = i if i % 50 == 0 else 1.5
        assert chain(x, 2.0) == x * 16.0
    st = coconut.stats()
    assert st["recompiles"] == 0 and st["deopts"] == {REASON: 400}, st
    _run_ints(chain, 200)                    # then they fail often: a new stretch
    assert coconut.stats()["recompiles"] >= 1


@in_subprocess()
def test_whole_program_sync():
    coconut = get_coconut()
    _setup()
    speculate()
    coconut.enable(threshold=0)
    _until(lambda: _recompiles(chain.__code__) == 3 and coconut.stats()["recompiles"] >= 3,
           chain)
    _run_ints(chain, 1000)
    assert coconut.is_compiled(chain)


@in_subprocess()
def test_whole_program_background():
    coconut = get_coconut()
    from coconut.runtime import jit
    _setup()
    calls = speculate()
    coconut.enable(threshold=0, background=True)
    code = chain.__code__
    _until(lambda: _recompiles(code) == 3 and id(code) not in jit._pending, chain)
    _run_ints(chain, 1000)
    # (warmed up by the interpreter first: the lowering's own speculations may join)
    mine = [set(a) for name, a in calls if name == "chain"]
    assert len(mine) == 4 and mine[0] == set() and mine[1] == {3}, mine
    assert all(a < b for a, b in zip(mine, mine[1:])), mine
    assert len([r for r in jit._retired if r[0] is code]) == 3


@in_subprocess()
def test_a_recompile_over_the_compile_budget_waits_in_the_interpreter():
    # Whole-program mode with a threshold: a recompile is predicted to cost what the
    # code's last lowering took. Over the budget it waits: the interpreter runs the
    # code (no native code that deopts at every call) and counts its entries again;
    # hot again and within the budget, it is recompiled.
    coconut = get_coconut()
    from coconut.runtime import jit
    _setup()
    calls = speculate()
    jit.COMPILE_BUDGET = 1e9
    coconut.enable(threshold=5)
    code = chain.__code__
    _until(lambda: coconut.is_compiled(chain), chain)
    assert jit._lowering_seconds[id(code)] > 0
    jit._lowering_seconds[id(code)] = float("inf")
    _until(lambda: id(code) in jit._recompile_waiting, chain)
    assert _recompiles(code) == 0
    lowered = len([c for c in calls if c[0] == "chain"])
    deferred = coconut.stats()["compiles_deferred"]
    _run_ints(chain, 200)              # interpreted meanwhile, asked again when hot
    assert id(code) in jit._recompile_waiting
    assert len([c for c in calls if c[0] == "chain"]) == lowered
    assert coconut.stats()["compiles_deferred"] > deferred
    jit._lowering_seconds[id(code)] = 0.0
    _until(lambda: _recompiles(code) == 1, chain)
    assert id(code) not in jit._recompile_waiting
    assert [a for name, a in calls if name == "chain"][-1] == [3]
    _run_ints(chain, 100)


@in_subprocess()
def test_failed_recompile_keeps_the_old_code():
    coconut = get_coconut()
    from coconut.runtime import jit
    _setup()
    speculate()
    plain = jit._build_native_steps

    def failing(code, cfg, avoid=()):
        if avoid:
            raise RuntimeError("no recompiles today")
        return plain(code, cfg)
    jit._build_native_steps = failing
    coconut.compile(chain)
    _run_ints(chain, 1000)
    st = coconut.stats()
    assert st["recompiles"] == 0 and coconut.is_compiled(chain)
    [(what, reason)] = st["recompile_failures"].items()
    assert what.startswith("chain (") and "no recompiles today" in reason
    assert st["deopts"] == {REASON: 1000}       # still the old code, still correct


CACHED = textwrap.dedent('''
    import json, coconut
    from tests.test_stability import speculate, chain, _run_ints
    calls = speculate()
    coconut.compile(chain)
    _run_ints(chain, 2000)
    st = coconut.stats()
    print(json.dumps({"calls": [a for n, a in calls if n == "chain"], "hits": st["cache_hits"],
                      "recompiles": st["recompiles"]}))
''')


def test_recompiles_use_the_cache():
    cache_dir = tempfile.mkdtemp(prefix="coconut-stability-")
    try:
        env = {"COCONUT_CACHE_DIR": cache_dir}
        first = run_code(CACHED, env=env)
        assert first.ok, first.describe()
        out = json.loads(first.stdout.splitlines()[-1])
        assert out["calls"] == [[], [3], [3, 6], [3, 6, 9, 12]] and out["recompiles"] == 3, out
        second = run_code(CACHED, env=env)
        assert second.ok, second.describe()
        out = json.loads(second.stdout.splitlines()[-1])
        # every variant (avoid set) was stored under its own key: nothing is lowered
        assert out["calls"] == [] and out["hits"] == 4 and out["recompiles"] == 3, out
        metas = [json.load(open(os.path.join(cache_dir, f))) for f in os.listdir(cache_dir)
                 if f.endswith(".json")]
        chains = [m for m in metas if m.get("function") == "chain"]
        assert len(chains) == 4 and all(m["format"] == 3 for m in chains)
        assert sorted(len([s for s in m["deopt_sites"] if s is not None]) for m in chains) == \
            [0, 2, 3, 4], chains
    finally:
        shutil.rmtree(cache_dir, True)


def test_stats_print_sites_and_recompiles(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent('''
        from tests.test_stability import speculate, chain, _run_ints
        speculate()
        _run_ints(chain, 2000)
    '''))
    res = run_python(["-m", "coconut", "--threshold", "0", "--sync", "--stats", str(prog)],
                     env={"COCONUT_ONLY": "^chain ", "COCONUT_CACHE": "0"})
    assert res.ok, res.describe()
    err = res.stderr
    assert "recompiles: 3" in err, err
    assert f"chain ({os.path.abspath(os.path.join(os.path.dirname(__file__), 'test_stability.py'))}" in err, err
    assert "@3 BINARY_OP" in err and REASON in err, err


@in_subprocess()
def test_a_recompile_is_gc_clean():
    """A recompile, like a compile, leaves nothing for the cycle collector (the design
    notes: the compiler's work is invisible to the program)."""
    import gc
    coconut = get_coconut()
    _setup()
    speculate(record=False)
    ns = {}
    exec(compile("def twin(x, y):\n    return (((x * y) * y) * y) * y\n", "<twin>", "exec"), ns)
    twin = ns["twin"]
    coconut.compile(twin)
    _run_ints(twin, 2000)                    # warm: every path of a recompile once
    coconut.compile(chain)
    _run_ints(chain, 99)
    coconut.stats()
    gc.collect()
    gc.disable()
    before = len(gc.get_objects())
    _run_ints(chain, 2000, 99)               # three recompiles
    after = len(gc.get_objects())
    gc.enable()
    assert _recompiles(chain.__code__) == 3 and coconut.stats()["recompiles"] == 6
    assert after == before, after - before


REAL = textwrap.dedent('''
    import io, json, coconut

    def mul(a, b):
        return a * b + a

    def scale(xs, k):
        total = 0.0
        for x in xs:
            total += x * k
        return total

    for _ in range(100):                     # the interpreter specializes them for floats
        assert mul(1.5, 2.0) == 4.5 and scale([1.5, 2.5], 2.0) == 8.0
    coconut.compile(mul)
    coconut.compile(scale)
    ir = io.StringIO()
    coconut.dump(mul, "ir", ir)
    if " site " not in ir.getvalue():
        print(json.dumps(None))              # this lowering does not speculate (yet)
        raise SystemExit(0)
    for i in range(3000):                    # now ints: the float guards fail
        assert mul(i, 3) == i * 3 + i, i
        assert scale([i, 2], 3) == 3.0 * i + 6, i
        assert mul(0.5, 2.0) == 1.5
    st = coconut.stats()
    print(json.dumps({"recompiled": st["recompiled"], "sites": st["deopt_sites"],
                      "compiled": [coconut.is_compiled(mul), coconut.is_compiled(scale)]}))
''')


def test_a_real_speculation_is_recompiled():
    """The optimizing tier's own float speculation (lowering/types.py), warmed with
    floats and then given ints: both functions are recompiled without it and stay
    correct. Skipped while the lowering emits no Deopt with a site."""
    res = run_code(REAL)
    assert res.ok, res.describe()
    out = json.loads(res.stdout.splitlines()[-1])
    if out is None:
        pytest.skip("the lowering does not speculate yet")
    assert out["compiled"] == [True, True]
    names = {what.split(" (")[0]: r for what, r in out["recompiled"].items()}
    assert {"mul", "scale"} <= set(names), out
    for r in names.values():
        assert 1 <= r["recompiles"] <= 3 and r["avoid"], out
    spec = [s for s in out["sites"] if s["speculative"]]
    assert spec and all(s["opcode"] == "BINARY_OP" for s in spec), out["sites"]


def catching_loop(d, n):
    total = 0
    for i in range(n):
        try:
            total += d[i & 3]
        except KeyError:
            total -= 1
    return total


@in_subprocess()
def test_a_handler_that_had_not_run_is_compiled_at_its_first_run():
    """A handler the interpreter had not run is left out of the native code (native
    code unwinds into it and deopts there); its first deopt asks for a recompile, and
    from the next call the handler runs natively: no more deopts, one recompile."""
    co = get_coconut()
    for _ in range(20):                          # quickened, its handler never run
        assert catching_loop({0: 1, 1: 1, 2: 1, 3: 1}, 4) == 4
    co.compile(catching_loop)
    assert catching_loop({0: 1}, 8) == -4        # the first KeyError deopts at the handler
    s = co.stats()
    assert s["deopts"] == {"a handler that had not run": 1}, s["deopts"]
    for _ in range(3):
        assert catching_loop({0: 1}, 1000) == -500
    s = co.stats()
    assert s["deopts"] == {"a handler that had not run": 1}, s["deopts"]
    assert s["recompiles"] == 1, s
    assert co.is_compiled(catching_loop)
