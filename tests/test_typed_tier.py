"""The optimizing tier's own properties (lowering/types.py, lowering/typed.py).

The differential corpus (tests/corpus/typed.py) checks its results against the
interpreter; these tests check what it is made of: that a float loop really runs on
unboxed values (no boxing in the loop), that the analysis and the lowering agree on
every corpus function, that the tier can be turned off, that a failed speculation is
recorded at its site, and that whole-program mode waits for the interpreter's warm-up."""
import glob
import importlib
import os

from tests import harness
from tests.support import in_subprocess, get_coconut, run_python, REPO_ROOT


def _ir(func, avoid=frozenset()):
    from coconut.frontend import BytecodeCFG
    from coconut.lowering import lower
    from coconut.passes import run_pipeline
    ir = run_pipeline(lower(BytecodeCFG(func.__code__), avoid=avoid), verify=True)
    ir.verify()
    return ir


def _loop_blocks(ir):
    """The IR blocks on a cycle that does not pass through the eval breaker's slow
    path (the call of coconut_eval_breaker: signals, other threads, tracing) or the
    first iteration's path."""
    import networkx as nx
    from coconut.ir import ops
    g = ir.graph
    g.remove_nodes_from([name for name, blk in ir.blocks.items()
                         if any(isinstance(op, ops.CallC) and op.func == "coconut_eval_breaker"
                                for op in blk.ops)
                         # the first iteration's store of a loop variable, which releases
                         # what the frame held before the loop (typed.py _store_fast)
                         or ".frame_held" in name])
    return {n for comp in nx.strongly_connected_components(g) if len(comp) > 1 for n in comp}


def _calls_in(ir, names, blocks):
    from coconut.ir import ops
    return [(name, op.func) for name in blocks for op in ir.blocks[name].ops
            if isinstance(op, ops.CallC) and op.func in names]


BOXING = {"PyFloat_FromDouble", "PyLong_FromLong", "PyBool_FromLong",
          "PyNumber_Add", "PyNumber_Multiply", "PyNumber_InPlaceAdd",
          "PyNumber_TrueDivide", "PyObject_RichCompare"}


def integrate(n):
    h = 1.0 / n
    s = 0.0
    for i in range(n):
        x = (i + 0.5) * h
        s += 4.0 / (1.0 + x * x)
    return s * h


def sum_squares(n):
    total = 0
    i = 0
    while i < n:
        total += i * i
        i += 1
    return total


def test_float_and_int_loops_box_nothing():
    """The hot paths of these loops neither box nor call the generic number protocol:
    boxing happens only on the eval breaker's slow path and the exits, which are not on
    the loop's cycle."""
    for func in (integrate, sum_squares):
        for _ in range(10):
            func(100)                          # feedback
        ir = _ir(func)
        loop = _loop_blocks(ir)
        assert loop, func
        assert _calls_in(ir, BOXING, loop) == [], func


# It warms the corpus up (other tests lower it cold: goldens), and lowers and verifies
# all of it twice in one child: about two minutes on a slow 2-core machine (CI timed it
# out at 120 s once), so it gets more.
@in_subprocess(timeout=600)
def test_analysis_and_lowering_agree_on_the_corpus():
    """Lowering every corpus function (cold and warmed up) asserts at each instruction
    and each edge that the driver's state is the analysis' (lower.py); and the IR
    verifies."""
    count = 0
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "tests", "corpus", "*.py"))):
        name = os.path.basename(path)[:-3]
        if name.startswith("_"):
            continue
        module = importlib.import_module("tests.corpus." + name)
        for func, args in harness.corpus_cases(module).values():
            _ir(func)
            harness.warm_up(func, args)
            _ir(func)
            count += 1
    assert count > 400


def test_speculation_sites_and_avoid():
    """A guard that speculates records its site; lowering with that site avoided
    emits no speculation there."""
    from coconut.ir import ops

    def f(x, y):
        return x * y + 1.5
    for _ in range(10):
        f(1.5, 2.5)
    ir = _ir(f)
    sites = {b.terminator.site for b in ir.blocks.values()
             if isinstance(b.terminator, ops.Deopt) and b.terminator.site is not None}
    assert sites
    ir2 = _ir(f, avoid=frozenset(sites))
    assert not any(isinstance(b.terminator, ops.Deopt) and b.terminator.site in sites
                   for b in ir2.blocks.values())


@in_subprocess()
def test_tier_off_still_compiles_and_matches():
    import os
    os.environ["COCONUT_OPTIMIZE"] = "0"
    from coconut.lowering import lower as lower_module
    lower_module.OPTIMIZE = False
    co = get_coconut()
    from tests.corpus import typed
    for func, args in harness.corpus_cases(typed).values():
        ref = harness.record(harness.clone_function(func), args, 1)
        clone = harness.clone_function(func)
        co.compile(clone)
        assert co.is_compiled(clone), func
        problems = harness.compare(ref, harness.record(clone, args, 1), args, "off")
        assert not problems, problems
    ir = _ir(integrate)
    assert _calls_in(ir, {"PyNumber_Add", "PyNumber_InPlaceAdd"}, ir.blocks)


@in_subprocess()
def test_failed_speculation_is_counted_at_its_site():
    co = get_coconut()

    def f(x, n):
        s = 0.0
        for i in range(n):
            s += x * 2.0
        return s
    for _ in range(10):
        f(1.5, 10)
    co.compile(f)
    assert f("ab", 0) == 0.0
    try:
        f("ab", 3)
    except TypeError as e:
        assert "can't multiply" in str(e) or "unsupported" in str(e) or "must be" in str(e), e
    sites = co.stats()["deopt_sites"]
    assert any(s["speculative"] and s["count"] >= 1 for s in sites), sites


WARMUP_PROGRAM = '''
import coconut
def hot(x):
    return x * 2.5
def rarely(x):
    return x + 1
for i in range(3):
    rarely(i)
for i in range(200):
    hot(float(i))
import time
t = time.monotonic()
while not coconut.is_compiled(hot) and time.monotonic() - t < 30:
    hot(1.0)
print(coconut.is_compiled(hot), coconut.is_compiled(rarely))
'''


def _whole_program_output(tmp_path, program: str, warmup: str) -> str:
    """What `program` prints under `python3 -m coconut --threshold 0 --sync`."""
    script = tmp_path / "prog.py"
    script.write_text(program)
    res = run_python(["-m", "coconut", "--threshold", "0", "--sync", str(script)],
                     env={"COCONUT_WARMUP": warmup}, timeout=300)
    assert res.ok, res.describe()
    return res.stdout.strip()


def test_whole_program_mode_waits_for_the_warmup(tmp_path):
    for warmup, want in (("1", "True False"), ("0", "True True")):
        out = _whole_program_output(tmp_path, WARMUP_PROGRAM, warmup)
        assert out == want, (warmup, out)


SETTLE_PROGRAM = '''
import coconut, dis, io, time
class C:                       # LOAD_ATTR on a class: 3.11 does not specialize it
    a = 0
class P:
    def __init__(self):
        self.a = 1
def get(o):
    return o.a
for i in range(9):
    get(C)                     # quickened at the 8th entry, where its try fails
p = P()
t = time.monotonic()
while not coconut.is_compiled(get) and time.monotonic() - t < 30:
    get(p)
out = io.StringIO()
dis.dis(get, adaptive=True, file=out)
print(coconut.is_compiled(get), "LOAD_ATTR_INSTANCE_VALUE" in out.getvalue())
'''


def test_whole_program_mode_waits_for_a_failed_specialization_to_be_tried_again(tmp_path):
    """The entry after quickening sees o.a failed once (on a class); the interpreter
    tries again a run later and specializes it for instances. Compiled at once, the
    site would keep its generic path (native code runs instead of the interpreter's
    retry); whole-program mode waits while such a retry is due (feedback.unsettled)."""
    out = _whole_program_output(tmp_path, SETTLE_PROGRAM, "1")
    assert out == "True True", out


def test_unsettled_counts_specializations_to_be_tried_again():
    from coconut.runtime import feedback

    class K:
        a = 0

    class I:
        def __init__(self):
            self.a = 1

    def get(o):
        return o.a
    for _ in range(8):
        get(K)                 # quickened at the 8th call: the class fails to specialize
    assert feedback.quickened(get.__code__)
    assert feedback.unsettled(get.__code__) == 1
    get(K)                     # tried again at once: fails again, backs off 2 runs
    assert feedback.unsettled(get.__code__) == 1
    for _ in range(3):
        get(I())               # tried again at the third: specialized
    assert feedback.unsettled(get.__code__) == 0
    assert "LOAD_ATTR_INSTANCE_VALUE" in feedback.snapshot(get.__code__).values()


def test_not_run_counts_instructions_that_have_not_run_since_quickening():
    """A generator entered only down to its first yield (a tree walk's left spine):
    the loads after it have not run (feedback.not_run), and `yield from`'s SEND loop is
    not a loop of the code's own (feedback.has_loop), so whole-program mode at a low
    threshold waits for them."""
    from coconut.runtime import feedback

    class T:
        def __init__(self, left, value):
            self.left, self.value, self.right = left, value, None

        def walk(self):
            if self.left:
                yield from self.left.walk()
            yield self.value
            if self.right:
                yield from self.right.walk()
    walk = T.walk.__code__
    assert not feedback.has_loop(walk)
    tree = None
    for i in range(12):
        tree = T(tree, i)
    g = tree.walk()
    next(g)                    # 12 entries, none past its `yield self.value` yet
    assert feedback.quickened(walk)
    before = feedback.not_run(walk)
    assert before >= 1
    list(g)                    # `if self.right:` runs (the branch under it does not)
    assert feedback.not_run(walk) < before


class _Indexed:
    def __init__(self, values):
        self.values = values

    def __getitem__(self, i):
        return self.values[i]


def _sum_indexed(v, n):
    total = 0.0
    for i in range(n):
        total += v[i]
    return total


def _getitem_calls(ir):
    """(vectorcalls of a cached __getitem__, calls of PyObject_GetItem) in `ir`."""
    from coconut.ir import ops
    direct = sum(isinstance(op, ops.CallVectorcall) and str(op.callable).startswith("getitem")
                 for blk in ir.blocks.values() for op in blk.ops)
    generic = sum(isinstance(op, ops.CallC) and op.func == "PyObject_GetItem"
                  for blk in ir.blocks.values() for op in blk.ops)
    return direct, generic


@in_subprocess()
def test_subscript_of_a_python_getitem_calls_it_directly():
    """Where the interpreter saw a class with a Python __getitem__, the site calls the
    function from its own cache (typed.py _subscr_getitem), with PyObject_GetItem only
    on the miss path; also under the frame hook, where 3.11 refuses the specialization
    but leaves the type version in the cache (feedback.feedback reads that). (Inlining
    off: it would inline this __getitem__, tests/test_inline.py.)"""
    from coconut.runtime import feedback, jit
    import importlib
    importlib.import_module("coconut.lowering.lower").INLINE = False
    code = _sum_indexed.__code__
    cold = _ir(_sum_indexed)
    assert _getitem_calls(cold) == (0, 1)                 # no feedback: generic only
    v = _Indexed([0.5] * 10)
    for _ in range(10):
        _sum_indexed(v, 10)
    forms = [f for f in feedback.feedback(code).values() if f.startswith("BINARY_SUBSCR")]
    assert forms == ["BINARY_SUBSCR_GETITEM"], forms
    assert _getitem_calls(_ir(_sum_indexed)) == (1, 1)
    # the same under the hook (a fresh code object: its caches start empty)
    fresh = type(_sum_indexed)(code.replace(), globals())
    jit.runtime().install()
    try:
        for _ in range(10):
            fresh(v, 10)
    finally:
        jit.runtime().uninstall()
    site = next(ins for ins in feedback.instructions(fresh.__code__) if ins.name == "BINARY_SUBSCR")
    from coconut.runtime import hook       # (the patched interpreter has no hook: it specializes)
    assert feedback._NAMES[feedback._opcode_now(fresh.__code__, site)] == (
        "BINARY_SUBSCR_ADAPTIVE" if hook.ENTRY == "hook" else "BINARY_SUBSCR_GETITEM")
    assert [f for f in feedback.feedback(fresh.__code__).values()
            if f.startswith("BINARY_SUBSCR")] == ["BINARY_SUBSCR_GETITEM"]
    assert _getitem_calls(_ir(fresh)) == (1, 1)
    coconut = get_coconut()
    coconut.compile(fresh)
    assert coconut.is_compiled(fresh) and fresh(v, 10) == 5.0


def _c_calls(l, d, s):
    return type(l), id(l) - id(l), d.get(1), s.upper(), sorted(l, reverse=True), " ".join(s)


def test_specialized_c_calls_call_the_c_function():
    """Where the interpreter specialized a PRECALL of a C function, the compiled CALL
    calls it through its pointer (ops.CallPtr, lowering/ccalls.py), not through the
    generic vectorcall; its guard sites are recorded, and avoiding them (a recompile)
    brings the generic call back."""
    from coconut.ir import ops
    cold = _ir(_c_calls)
    assert not any(isinstance(op, ops.CallPtr) for b in cold.blocks.values() for op in b.ops)
    for _ in range(10):
        _c_calls([3, 1, 2], {1: 2}, "ab")
    ir = _ir(_c_calls)
    ptr_calls = [op for b in ir.blocks.values() for op in b.ops if isinstance(op, ops.CallPtr)]
    generic = [op for b in ir.blocks.values() for op in b.ops if isinstance(op, ops.CallVectorcall)]
    assert len(ptr_calls) >= 5 and not generic, (len(ptr_calls), len(generic))
    sites = {b.terminator.site for b in ir.blocks.values()
             if isinstance(b.terminator, ops.Deopt) and b.terminator.site is not None}
    assert len(sites) >= 6
    back = _ir(_c_calls, avoid=frozenset(sites))
    assert not any(isinstance(op, ops.CallPtr) for b in back.blocks.values() for op in b.ops)
    assert sum(isinstance(op, ops.CallVectorcall) for b in back.blocks.values()
               for op in b.ops) >= 6
