"""The on-disk cache of compiled code (coconut/runtime/cache.py).

Every run is a child process with its own COCONUT_CACHE_DIR (a pytest tmp dir): the
first run compiles and stores, the next loads with dlopen (no gcc run: cache_hits),
and both must give the interpreter's results, tracebacks included.
"""
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from tests import support

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("the cache is part of the real JIT", allow_module_level=True)

PROGRAM = r'''
import json, sys, traceback
import coconut

G = 10
LIMIT = [3]


class Thing:
    def __init__(self, v):
        self.v = v

    def get(self, k):
        return self.v * k


def strings(n):
    return "-".join(["ab", str(n), f"{n:>4}", "SUFFIX"]) + "\u00e9\u2603"


def globals_and_builtins(xs):
    return (len(xs) + G, sorted(xs, key=abs), isinstance(xs, list), dict(a=1), max(xs),
            tuple(xs), LIMIT[0], type(xs) is list, int("7") + float("0.5"))


def floats(x):
    return x * 1.5 + 0.25 - (-0.0), 2.0 ** 10, 1e300 * 1e10, -x / 3.0


def methods(n):
    t = Thing(n)
    parts = []
    parts.append(t.get(3))
    return parts, "x,y".split(","), {"k": n}.get("k"), n in {1, 2, 3}


def raises(n):
    if n > 2:
        raise ValueError("bad %d" % n)
    return n


def catches(n):
    try:
        return raises(n)
    except ValueError as e:
        return ("caught", str(e), None, True, False, ...)


def consts():
    return (1, (2, ("deep", 3.5)), frozenset({1})), b"bytes", None, (), ""


def loop(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i
        else:
            total -= 1
    return total


FUNCS = [Thing.__init__, Thing.get, strings, globals_and_builtins, floats, methods,
         raises, catches, consts, loop]

if sys.argv[1] == "jit":
    for f in FUNCS:
        coconut.compile(f)
        assert coconut.is_compiled(f), f.__name__

results = [strings(42), globals_and_builtins([3, -5, 1]), floats(2.0), methods(4),
           catches(1), catches(7), consts(), loop(1000)]
try:
    methods(Thing(1))          # TypeError inside native code: Thing * int
except TypeError:
    tb1 = traceback.format_exc()
try:
    catches(None)              # None > 2 raises in raises(), through catches()
except TypeError:
    tb2 = traceback.format_exc()
stats = coconut.stats()
print(json.dumps({"results": repr(results), "tb": [tb1, tb2],
                  "stats": {k: v for k, v in stats.items() if k.startswith("cache")},
                  "compiled": stats["compiled"]}))
'''
NFUNCS = 10
SLOW_TIMEOUT = max(support.DEFAULT_TIMEOUT, 360)   # a whole program compiled at threshold 0


def _write(tmp_path, source=PROGRAM, name="prog.py"):
    path = tmp_path / name
    path.write_text(source)
    return str(path)


def _run(script, cache_dir, mode="jit", **env):
    env = {"COCONUT_CACHE_DIR": str(cache_dir), **env}
    res = support.run_python([script, mode], env=env)
    assert res.ok, res.describe()
    return json.loads(res.stdout.strip().splitlines()[-1])


def _entries(cache_dir):
    if not os.path.isdir(cache_dir):
        return []
    return sorted(n for n in os.listdir(cache_dir)    # (the hook's own library, the size)
                  if not n.startswith(".") and not n.startswith("runtime-") and n != "usage")


@pytest.fixture
def interp(tmp_path):
    return _run(_write(tmp_path, name="prog.py"), tmp_path / "unused", mode="interp")


def test_second_process_loads_from_cache(tmp_path, interp):
    script, cache = _write(tmp_path), tmp_path / "cache"
    first = _run(script, cache)
    assert first["stats"]["cache_misses"] == NFUNCS, first["stats"]
    assert first["stats"]["cache_stores"] == NFUNCS, first["stats"]
    assert first["stats"]["cache_hits"] == 0
    # <key>.so and <key>.json each, and <code key>.variant naming the latest variant
    assert len(_entries(cache)) == 3 * NFUNCS
    second = _run(script, cache)
    assert second["stats"]["cache_hits"] == NFUNCS, second["stats"]
    assert second["stats"]["cache_misses"] == 0, second["stats"]
    assert second["compiled"] == NFUNCS
    # identical results, constants/names/builtins resolved in the new process
    assert first["results"] == second["results"] == interp["results"]
    # tracebacks (line numbers come from the native code's prev_instr) match too
    assert first["tb"] == second["tb"] == interp["tb"], (second["tb"], interp["tb"])


def test_changed_function_body_gets_new_entry(tmp_path):
    script, cache = _write(tmp_path), tmp_path / "cache"
    _run(script, cache)
    before = set(_entries(cache))
    _write(tmp_path, PROGRAM.replace('"SUFFIX"', '"CHANGED"'))     # same lines
    changed = _run(script, cache)
    assert changed["stats"]["cache_misses"] == 1, changed["stats"]
    assert changed["stats"]["cache_hits"] == NFUNCS - 1, changed["stats"]
    assert "CHANGED" in changed["results"] and "SUFFIX" not in changed["results"]
    assert len(set(_entries(cache)) - before) == 3         # its .so, .json and .variant


def test_corrupt_entries_fall_back_to_compiling(tmp_path, interp):
    script, cache = _write(tmp_path), tmp_path / "cache"
    _run(script, cache)
    names = _entries(cache)
    sos = [n for n in names if n.endswith(".so")]
    jsons = [n for n in names if n.endswith(".json")]
    for i, n in enumerate(sos):
        path = os.path.join(cache, n)
        if i % 3 == 0:                                       # garbage shared object
            with open(path, "wb") as f:
                f.write(b"\x7fELF not really" * 10)
        elif i % 3 == 1:                                     # truncated
            with open(path, "r+b") as f:
                f.truncate(100)
        else:                                                # metadata is garbage
            with open(os.path.join(cache, n[:-3] + ".json"), "w") as f:
                f.write("{not json")
    assert jsons
    again = _run(script, cache)
    assert again["stats"]["cache_errors"] == NFUNCS, again["stats"]
    assert again["stats"]["cache_misses"] == NFUNCS, again["stats"]
    assert again["results"] == interp["results"]
    assert again["tb"] == interp["tb"]
    healed = _run(script, cache)                             # rewritten: hits again
    assert healed["stats"]["cache_hits"] == NFUNCS, healed["stats"]


def test_cache_disabled(tmp_path, interp):
    script, cache = _write(tmp_path), tmp_path / "cache"
    for _ in range(2):
        out = _run(script, cache, COCONUT_CACHE="0")
        assert out["stats"].get("cache_hits", 0) == 0
        assert out["compiled"] == NFUNCS
        assert out["results"] == interp["results"]
    assert _entries(cache) == []


def test_concurrent_processes(tmp_path, interp):
    script, cache = _write(tmp_path), tmp_path / "cache"
    env = support.child_env({"COCONUT_CACHE_DIR": str(cache)})
    procs = [subprocess.Popen([sys.executable, script, "jit"], env=env, cwd=support.REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=support.DEFAULT_TIMEOUT)
        assert p.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["results"] == interp["results"]
    assert len(_entries(cache)) == 3 * NFUNCS     # .so, .json, .variant
    assert not [n for n in os.listdir(cache) if n.startswith(".")]   # no temp files left
    warm = _run(script, cache)
    assert warm["stats"]["cache_hits"] == NFUNCS


def test_statistics_mode_is_keyed_separately(tmp_path):
    script, cache = _write(tmp_path), tmp_path / "cache"
    # (every code object of the program compiled on the program's thread, with
    # instruction counting; only the program's own (COCONUT_ONLY): with what it imports,
    # json, traceback and the rest, that was 85 s of gcc on a cold cache)
    only = {"COCONUT_CACHE_DIR": str(cache), "COCONUT_ONLY": r"prog\.py:"}
    res = support.run_python(["-m", "coconut", "--threshold", "0", "--sync", "--stats-json",
                              str(tmp_path / "s1.json"), script, "interp"],
                             env=only, timeout=SLOW_TIMEOUT)
    assert res.ok, res.describe()
    plain = _run(script, cache)                 # no instruction counting: other keys
    assert plain["stats"]["cache_hits"] == 0, plain["stats"]
    res = support.run_python(["-m", "coconut", "--threshold", "0", "--sync", "--stats-json",
                              str(tmp_path / "s2.json"), script, "interp"],
                             env=only, timeout=SLOW_TIMEOUT)
    assert res.ok, res.describe()
    with open(tmp_path / "s1.json") as f:
        first = json.load(f)
    with open(tmp_path / "s2.json") as f:
        stats = json.load(f)
    assert first["compiled"] >= 5, first     # the program's functions were compiled
    assert stats, stats


@support.in_subprocess()
def test_generated_code_has_no_absolute_addresses():
    import io
    import coconut
    from coconut.runtime import cache

    def subject(xs, n):
        total = 0.5
        for x in xs:
            total += len(str(x)) * n
        return total, {"k": None}, [True, False]

    buf = io.StringIO()
    coconut.dump(subject, "c", file=buf)
    text = buf.getvalue()
    assert "coconut_fill_links" in text
    assert not re.search(r"0x[0-9a-f]{6,}", text), re.findall(r"0x[0-9a-f]{6,}", text)[:5]
    assert not re.search(r"\b\d{9,}\b", text), re.findall(r"\b\d{9,}\b", text)[:5]
    buf = io.StringIO()
    coconut.dump(subject, "asm", file=buf)
    assert "coconut_fill_links" in buf.getvalue()
    key = cache.code_key(subject.__code__, 2, False)
    assert key == cache.code_key(subject.__code__, 2, False)
    assert key != cache.code_key(subject.__code__, 1, False)
    assert key != cache.code_key(subject.__code__, 2, True)
    assert key != cache.code_key(subject.__code__.replace(co_consts=subject.__code__.co_consts[:-1]
                                                          + ("x",)), 2, False)


def test_prune_drops_oldest(tmp_path):
    from coconut.runtime import cache
    for i in range(10):
        for ext, size in ((".so", 1000), (".json", 100)):
            p = tmp_path / ("k%02d%s" % (i, ext))
            p.write_bytes(b"x" * size)
            os.utime(p, (1000 + i, 1000 + i))
    left = cache.prune(str(tmp_path), limit=5500)
    assert left <= 0.8 * 5500
    remaining = _entries(tmp_path)
    assert "k09.so" in remaining and "k09.json" in remaining
    assert "k00.so" not in remaining and "k00.json" not in remaining
    assert all(n[:-3] + ".json" in remaining for n in remaining if n.endswith(".so"))
    assert cache._read_usage(str(tmp_path))[0] == left     # the scan wrote the size


def test_usage_file_spares_the_scan(tmp_path, monkeypatch):
    """A store adds its size to USAGE; the directory is scanned only when USAGE is
    missing, stale (RESCAN_SECONDS) or over the limit."""
    from coconut.runtime import cache
    d = str(tmp_path)
    (tmp_path / "k.so").write_bytes(b"x" * 300)
    scans = []
    real_prune = cache.prune
    monkeypatch.setattr(cache, "prune", lambda directory: scans.append(directory) or real_prune(directory))
    cache._account(d, 300)                       # no USAGE yet: a scan
    assert scans == [d] and cache._read_usage(d)[0] == 300
    cache._account(d, 200)                       # counted, not scanned
    cache._account(d, 100)
    assert scans == [d] and cache._read_usage(d)[0] == 600
    cache._write_usage(d, 600, cache._time() - cache.RESCAN_SECONDS - 1)
    cache._account(d, 50)                        # stale: scanned again (the true size)
    assert scans == [d, d] and cache._read_usage(d)[0] == 300
    monkeypatch.setenv("COCONUT_CACHE_MAX_BYTES", "350")
    cache._account(d, 100)                       # over the limit: scanned (and pruned)
    assert len(scans) == 3


TWICE = r'''
import json, sys
import coconut

SRC = """
def f(n):
    def g():
        return n
    return g, G
"""
out = []
fns = []
for G in (1, 2):
    ns = {"G": G}
    exec(compile(SRC, "twice.py", "exec"), ns)
    coconut.compile(ns["f"])
    assert coconut.is_compiled(ns["f"])
    fns.append(ns["f"])
for f in fns:
    g, G = f(5)
    assert g.__code__ is f.__code__.co_consts[1], "nested code object of another function"
    out.append((g(), G))
print(json.dumps({"out": out, "stats": {k: v for k, v in coconut.stats().items()
                                        if k.startswith("cache")}}))
'''


def test_equal_code_objects_in_one_process(tmp_path):
    """Two equal code objects share a key, not their loaded code (links, counters)."""
    script, cache = _write(tmp_path, TWICE, "twice_prog.py"), tmp_path / "cache"
    for expect_hits in (1, 2):
        out = _run(script, cache)
        assert out["out"] == [[5, 1], [5, 2]], out
        assert out["stats"]["cache_hits"] == expect_hits, out["stats"]


def test_installed_runtime_library(tmp_path):
    # python3 -m coconut.runtime.install builds the runtime library beside the sources
    # (scripts/install.sh runs it); a process with an empty cache loads it from there
    # instead of running gcc, and a stale one (other sources) is never loaded.
    from coconut.runtime import hook, install
    built = install.build(str(tmp_path / "installed"))
    assert os.path.basename(built) == hook.runtime_library_name()
    assert install.build(str(tmp_path / "installed")) == built        # idempotent
    stale = tmp_path / "installed" / "runtime-0123456789abcdef0123456789abcdef.so"
    stale.write_bytes(b"")
    os.utime(stale, (0, 0))             # built before the sources' last change
    other = tmp_path / "installed" / "runtime-fedcba9876543210fedcba9876543210.so"
    other.write_bytes(b"")              # built since: another Python build's, kept
    os.unlink(built)
    install.build(str(tmp_path / "installed"))
    assert sorted(os.listdir(tmp_path / "installed")) == sorted([os.path.basename(built),
                                                                 other.name])
    code = textwrap.dedent(f"""
        from coconut.runtime import hook
        hook.INSTALLED_DIR = {str(tmp_path / "installed")!r}
        import coconut
        def f(x):
            return x * 2
        coconut.compile(f)
        assert f(21) == 42 and coconut.is_compiled(f)
    """)
    cache = tmp_path / "cache"
    res = support.run_python(["-c", code], env={"COCONUT_CACHE_DIR": str(cache)})
    assert res.ok, res.describe()
    assert not [n for n in os.listdir(cache) if n.startswith("runtime-")], os.listdir(cache)


def test_another_variant_is_loaded(tmp_path):
    # The key includes how the interpreter had specialized the code when it was
    # compiled; whole-program mode, compiling it in another state, loads the variant
    # stored last instead of compiling (the code is correct in any state) and stores
    # none; an explicit coconut.compile compiles for the state it sees.
    code = textwrap.dedent("""
        import json, sys
        import coconut
        def f(a, b):
            t = 0
            for i in range(a):
                t += i * b
            return t
        if sys.argv[1] != "cold":
            for _ in range(20):
                f(10, 2)                   # quickened and specialized: another variant
        if sys.argv[1] == "explicit":
            coconut.compile(f)
        else:
            coconut.enable(threshold=0)
            f(10, 2)
        assert coconut.is_compiled(f) and f(10, 2) == 90 and f(3, 1.5) == 4.5
        print(json.dumps(coconut.stats()))
    """)
    cache = tmp_path / "cache"
    runs = []
    for mode in ("cold", "warm", "explicit"):
        res = support.run_python(["-c", code, mode], env={
            "COCONUT_CACHE_DIR": str(cache), "COCONUT_WARMUP": "0", "COCONUT_COMPILE_BUDGET": "0",
            "COCONUT_ONLY": r"^f \("})        # nothing else compiled
        assert res.ok, res.describe()
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    assert runs[0]["cache_misses"] == 1 and runs[0]["cache_stores"] == 1, runs[0]
    assert runs[1]["cache_hits"] == 1 and runs[1]["cache_other_variant"] == 1, runs[1]
    assert runs[1]["cache_stores"] == 0, runs[1]
    assert runs[2]["cache_misses"] == 1 and runs[2]["cache_stores"] == 1, runs[2]


def test_sources_manifest_spares_hashing_and_is_not_trusted_when_stale(tmp_path, monkeypatch):
    # The installation records the sources' digest with each file's size and time; a
    # process takes the digest from it only while every source still matches.
    from coconut.runtime import cache
    manifest = tmp_path / "sources"
    monkeypatch.setattr(cache, "SOURCES_MANIFEST", str(manifest))
    hashed = cache.sources_digest(trust_manifest=False)
    assert cache.sources_digest() == hashed                       # no manifest: hashed
    cache.write_sources_manifest(str(manifest))
    lines = manifest.read_text().splitlines()
    assert lines[0] == hashed.hex() and any(l.startswith("runtime/cache.py ") for l in lines)
    calls = []
    monkeypatch.setattr(cache, "_hash_sources", lambda: calls.append(1) or b"x" * 32)
    assert cache.sources_digest() == hashed and not calls          # trusted: no hashing
    stale = [lines[0]] + [l.replace("runtime/cache.py ", "runtime/cache.py 1") if
                          l.startswith("runtime/cache.py ") else l for l in lines[1:]]
    manifest.write_text("\n".join(stale) + "\n")
    assert cache.sources_digest() == b"x" * 32 and calls          # a changed size: hashed
    manifest.write_text("not hex\n")
    assert cache.sources_digest() == b"x" * 32                     # unreadable: hashed


def test_variables_that_shape_the_code_are_in_the_key():
    # COCONUT_INLINE_BUDGET=3000 once reused code compiled with the default budget: every
    # variable that changes the code generated must change the key (cache._CODE_SHAPING).
    probe = "from coconut.runtime import cache; print(cache.environment_key())"
    keys = set()
    for env in ({}, {"COCONUT_INLINE_BUDGET": "3000"}, {"COCONUT_INLINE": "0"},
                {"COCONUT_INLINE_UNITS": "50"}, {"COCONUT_OPTIMIZE": "0"},
                {"COCONUT_BRANCH_HINTS": "0"}, {"COCONUT_GCC_OPTIONS": "-fno-gcse"}):
        res = support.run_python(["-c", probe], env=env)
        assert res.ok, res.describe()
        keys.add(res.stdout.strip())
    assert len(keys) == 7, keys
