"""perf's JIT map (coconut/runtime/perfmap.py): with COCONUT_PERF_MAP=1, each compiled
function (compiled now or loaded from the cache) and each runtime helper gets a line
`<start> <size> coconut:<name>` in /tmp/perf-<pid>.map, with the ELF symbol's size, and
its code is moved to anonymous memory, where perf looks the map up. All in children."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from tests.support import REPO_ROOT, child_env, run_code, run_python

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("the perf map is part of the real JIT", allow_module_level=True)

CHILD = textwrap.dedent('''
    import json, os, sys
    import coconut
    from coconut.runtime import jit

    def hot(n):
        s = 0
        for i in range(n):
            s += i * i % 7
        return s

    coconut.compile(hot)
    assert hot(1000) == sum(i * i % 7 for i in range(1000))
    entry = jit._entry_of(hot.__code__)         # the native entry (co_extra holds it too)
    with open(f"/tmp/perf-{os.getpid()}.map") as f:
        lines = f.read().splitlines()
    os.unlink(f"/tmp/perf-{os.getpid()}.map")
    maps = open("/proc/self/maps").read().splitlines()
    print(json.dumps({"entry": entry, "lines": lines, "stats": coconut.stats(), "maps": maps,
                      "file": hot.__code__.co_filename, "line": hot.__code__.co_firstlineno}))
''')


def _parse(lines):
    out = []
    for line in lines:
        start, size, name = line.split(" ", 2)
        out.append((int(start, 16), int(size, 16), name))
    return out


def _run(cache_dir, extra=None):
    env = {"COCONUT_PERF_MAP": "1", "COCONUT_CACHE_DIR": cache_dir}
    env.update(extra or {})
    res = run_code(CHILD, env=env)
    assert res.ok, res.describe()
    return json.loads(res.stdout.splitlines()[-1])


def _check(out):
    entries = _parse(out["lines"])
    name = f"coconut:hot ({out['file']}:{out['line']})"
    hits = [(s, n) for s, n, what in entries if s <= out["entry"] < s + n and what == name]
    assert hits, (out["entry"], out["lines"])
    start, size = hits[0]
    assert start == out["entry"] and 0 < size < 1 << 20
    helpers = {what for _, _, what in entries}
    assert "coconut:coconut_hook (runtime)" in helpers, helpers
    assert "coconut:coconut_resume (runtime)" in helpers, helpers
    # the code now lives in anonymous executable memory (where perf reads the map)
    for m in out["maps"]:
        lo, hi = (int(x, 16) for x in m.split()[0].split("-"))
        if lo <= out["entry"] < hi:
            fields = m.split()
            assert fields[1].startswith("r-x") and len(fields) == 5, m
            break
    else:
        raise AssertionError("the entry is not mapped")


def test_map_names_compiled_and_cached_code():
    cache_dir = tempfile.mkdtemp(prefix="coconut-perfmap-")
    try:
        first = _run(cache_dir)
        assert first["stats"]["cache_misses"] >= 1, first["stats"]
        _check(first)
        second = _run(cache_dir)               # loaded from the on-disk cache
        assert second["stats"]["cache_hits"] >= 1 and second["stats"]["cache_misses"] == 0, \
            second["stats"]
        _check(second)
    finally:
        shutil.rmtree(cache_dir, True)


def test_map_without_the_cache():
    out = _run(tempfile.gettempdir(), {"COCONUT_CACHE": "0"})   # libgccjit's in-memory result
    _check(out)


def test_no_map_without_the_variable():
    res = run_code(textwrap.dedent('''
        import os, coconut
        def f(x):
            return x + 1
        coconut.compile(f)
        assert f(1) == 2
        print(os.path.exists(f"/tmp/perf-{os.getpid()}.map"))
    '''), env={"COCONUT_PERF_MAP": "0"})
    assert res.ok, res.describe()
    assert res.stdout.strip() == "False"


def test_forked_child_has_its_own_map():
    res = run_code(textwrap.dedent('''
        import os, coconut
        def f(x):
            return x * 3
        coconut.compile(f)
        parent = open(f"/tmp/perf-{os.getpid()}.map").read()
        os.unlink(f"/tmp/perf-{os.getpid()}.map")
        pid = os.fork()
        if pid == 0:
            ok = f(2) == 6 and open(f"/tmp/perf-{os.getpid()}.map").read() == parent
            os.unlink(f"/tmp/perf-{os.getpid()}.map")
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
        print("ok")
    '''), env={"COCONUT_PERF_MAP": "1"})
    assert res.ok and res.stdout.strip() == "ok", res.describe()


def test_a_stale_map_of_the_same_pid_is_emptied():
    """A map left by a dead process that had this pid is not appended to (this CI's
    fork test failed when a forked child got the pid of an earlier profiled run)."""
    res = run_code(textwrap.dedent('''
        import os
        path = f"/tmp/perf-{os.getpid()}.map"
        with open(path, "w") as f:
            f.write("7f0000000000 10 stale:entry\\n")
        import coconut
        def f(x):
            return x * 3
        coconut.compile(f)
        text = open(path).read()
        os.unlink(path)
        print("stale" not in text and "coconut:" in text)
    '''), env={"COCONUT_PERF_MAP": "1"})
    assert res.ok and res.stdout.strip() == "True", res.describe()


def test_map_is_gc_clean():
    """Writing the map adds nothing the cycle collector sees (design notes: the
    compiler's work is invisible to the program)."""
    res = run_code(textwrap.dedent('''
        import gc, os, coconut
        def make(k):
            ns = {}
            exec(f"def g(x):\\n    return x * {k} + 1", ns)
            return ns["g"]
        for k in range(3):
            coconut.compile(make(k))
        g = make(7)
        coconut.stats()
        gc.collect(); gc.disable()
        before = len(gc.get_objects())
        coconut.compile(g)
        after = len(gc.get_objects())
        assert g(2) == 15
        os.unlink(f"/tmp/perf-{os.getpid()}.map")
        print(after - before)
    '''), env={"COCONUT_PERF_MAP": "1", "COCONUT_CACHE": "0"})
    assert res.ok, res.describe()
    assert res.stdout.strip() == "0", res.stdout


def test_runner_option_sets_the_environment(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent('''
        import os, subprocess, sys
        def pid():
            return os.getpid()
        print(os.environ.get("COCONUT_PERF_MAP"))
        out = subprocess.run([sys.executable, "-c",
                              "import os\\ndef pid():\\n    return os.getpid()\\n"
                              "print(os.environ.get('COCONUT_PERF_MAP'), pid())"],
                             capture_output=True, text=True).stdout.split()
        print(out[0])
        for p in (pid(), out[1]):
            path = f"/tmp/perf-{p}.map"
            print(os.path.exists(path), "pid " in open(path).read() if os.path.exists(path) else "")
            if os.path.exists(path):
                os.unlink(path)
    '''))
    # Only the two `pid` functions are compiled (COCONUT_ONLY, inherited by the child):
    # at --threshold 0 --sync everything else the program runs (subprocess, re, ...)
    # would be compiled before it goes on, minutes of gcc on a cold cache.
    res = run_python(["-m", "coconut", "--perf-map", "--threshold", "0", "--sync", str(prog)],
                     env={"COCONUT_ONLY": r"^pid "})
    assert res.ok, res.describe()
    # the program's compiled code is in its map; the subprocess compiled its own too
    assert res.stdout.split() == ["1", "1", "True", "True", "True", "True"], res.stdout


def _perf_works():
    perf = shutil.which("perf")
    if perf is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        try:
            r = subprocess.run([perf, "record", "-o", os.path.join(tmp, "d"), "true"],
                               capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return r.returncode == 0


def test_perf_report_names_compiled_code(tmp_path):
    """The real tool: perf report names the compiled function."""
    if not _perf_works():
        pytest.skip("perf record does not work here")
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent('''
        import os
        def hot(n):
            s = 0
            for i in range(n):
                s += i * i % 7
            return s
        t = 0
        for _ in range(40):
            t += hot(100000)
        print(os.getpid())
    '''))
    data = str(tmp_path / "perf.data")
    args = ["-m", "coconut", "--perf-map", "--threshold", "0", "--sync", "--no-subprocesses",
            str(prog)]
    env = {"COCONUT_ONLY": "^hot "}
    warm = run_python(args, env=env)             # compiled now, loaded from the cache below
    assert warm.ok, warm.describe()
    os.unlink(f"/tmp/perf-{warm.stdout.split()[-1]}.map")
    rec = subprocess.run(["perf", "record", "-o", data, sys.executable] + args,
                         cwd=REPO_ROOT, env=child_env(env), capture_output=True, text=True,
                         timeout=300)
    assert rec.returncode == 0, rec.stderr
    try:
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                              "--sort", "sym"], capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(f"/tmp/perf-{rec.stdout.split()[-1]}.map")
    assert rep.returncode == 0, rep.stderr
    assert f"coconut:hot ({prog}:3)" in rep.stdout, rep.stdout[:3000]
