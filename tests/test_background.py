"""Background compiles: gcc runs on a compile thread (without the GIL) while the
program goes on interpreted; the program's thread installs the result at a later
entry (coconut/runtime/jit.py, coconut/backend/gccrun.py). Everything runs in
subprocesses."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.support import child_env, in_subprocess, get_coconut


def test_background_is_possible_here():
    # install.sh installs gcc-12, the external driver: CI must exercise this mode.
    from coconut.backend import gccrun
    assert gccrun.background_safe(), "gcc's external driver (gcc-12) is missing"


@in_subprocess()
def test_compiled_code_is_installed_at_a_later_entry():
    coconut = get_coconut()
    import threading
    import time

    def work(n):
        total = 0
        for i in range(n):
            total += i * i
        return total
    expected = sum(i * i for i in range(1000))
    coconut.enable(threshold=0, background=True)
    results = []
    deadline = time.monotonic() + 60
    while not coconut.is_compiled(work) and time.monotonic() < deadline:
        results.append(work(1000))         # interpreted until the compile is installed
        time.sleep(0.001)
    assert coconut.is_compiled(work)
    results.append(work(1000))             # compiled
    assert set(results) == {expected}, set(results)
    assert coconut.stats()["compiled"] >= 1
    # the compile thread is not one of threading's
    assert [t.name for t in threading.enumerate()] == ["MainThread"], threading.enumerate()


@in_subprocess()
def test_failure_in_background_is_remembered():
    coconut = get_coconut()
    from coconut.runtime import jit
    import time

    def broken(code, cfg):
        yield from ()
        raise RuntimeError("the back end failed late")
    jit._build_native_steps = broken

    def victim(x):
        return x + 1
    coconut.enable(threshold=0, background=True)
    assert [victim(i) for i in range(5)] == [1, 2, 3, 4, 5]
    reasons = coconut.stats()["not_compiled"]
    assert any("victim" in k and "failed late" in v for k, v in reasons.items()), reasons
    assert not coconut.is_compiled(victim)


def _run(source, tmp_path, timeout=300, env=None):
    (tmp_path / "prog.py").write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "coconut", "--threshold", "0", "prog.py"],
                          cwd=tmp_path, env=child_env(env), text=True, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


MANY_FUNCTIONS = """\
import sys
src = "\\n".join(f"def f{i}(x):\\n    y = x * {i}\\n    for k in range(3):\\n        y += k\\n    return y\\n"
                 for i in range(60))
ns = {}
exec(src, ns)
print(sum(ns[f"f{i}"](i) for i in range(60)))
"""


def test_exit_while_gcc_runs(tmp_path):
    # Sixty functions queued at their first call; the program ends at once: the exit
    # waits for the gcc run in flight, no crash, the same output.
    plain = subprocess.run([sys.executable, "-c", MANY_FUNCTIONS], text=True,
                           stdout=subprocess.PIPE, env=child_env())
    proc = _run(MANY_FUNCTIONS, tmp_path, env={"COCONUT_CACHE": "0"})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, plain.stdout, ""), proc


def test_signal_handler_kept_while_gcc_runs(tmp_path):
    # libgccjit's embedded driver replaced SIGINT's handler for the length of a gcc
    # run; on the compile thread that would race with the program: the external
    # driver leaves the handlers alone. A Ctrl-C during compiles is the program's.
    proc = _run("""\
        import os, signal, time
        got = []
        signal.signal(signal.SIGINT, lambda s, f: got.append(s))
        src = "\\n".join(f"def g{i}(x):\\n    return [x, {i}] * 2\\n" for i in range(40))
        ns = {}
        exec(src, ns)
        for i in range(40):
            ns[f"g{i}"](i)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        print(len(got))
        """, tmp_path, env={"COCONUT_CACHE": "0"})
    assert (proc.returncode, proc.stdout.strip()) == (0, "40"), proc


def test_fork_with_compiles_queued(tmp_path):
    proc = _run("""\
        import os, coconut, time
        def hot(x):
            return x * 3 + 1
        src = "\\n".join(f"def q{i}(x):\\n    return x - {i}\\n" for i in range(30))
        ns = {}
        exec(src, ns)
        for i in range(30):
            ns[f"q{i}"](i)                 # thirty compiles queued
        hot(1)
        pid = os.fork()
        if pid == 0:
            deadline = time.monotonic() + 120
            while not coconut.is_compiled(hot) and time.monotonic() < deadline:
                hot(2)
                time.sleep(0.005)
            os._exit(0 if coconut.is_compiled(hot) and hot(2) == 7 else 3)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        """, tmp_path, env={"COCONUT_CACHE": "0"})
    assert (proc.returncode, proc.stdout.strip()) == (0, "child 0"), proc


def test_sync_option_compiles_before_the_call(tmp_path):
    (tmp_path / "prog.py").write_text("def f(x):\n    return x + 1\nf(1)\n"
                                      "import coconut\nprint(coconut.is_compiled(f))\n")
    for opts, want in ((["--sync"], "True"), ([], None)):
        proc = subprocess.run([sys.executable, "-m", "coconut", "--threshold", "0", *opts,
                               "prog.py"], cwd=tmp_path, env=child_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        assert proc.returncode == 0, proc
        if want is not None:
            assert proc.stdout.strip() == want, proc


@in_subprocess()
def test_explicit_compile_waits_for_a_queued_compile():
    coconut = get_coconut()

    def queued(x):
        return x * 2
    coconut.enable(threshold=0, background=True)
    queued(1)                               # queued for the compile thread
    coconut.compile(queued)                 # waits for it
    assert coconut.is_compiled(queued) and queued(4) == 8


@in_subprocess()
def test_gcc_runs_in_a_child_process():
    # With COCONUT_GCC_CHILD=1, the compile thread's compiles to a file fork: the child
    # runs gcc, the program's process loads what it wrote (gccrun.py), same result.
    coconut = get_coconut()
    import time
    from coconut.backend import gccrun
    from coconut.runtime import jit
    jit.CHILD_PROCESSES = True         # COCONUT_GCC_CHILD=1 (not the default)
    calls = []
    plain_child = gccrun.GccRun._run_child

    def counted(self):
        done = plain_child(self)
        calls.append(done)
        return done
    gccrun.GccRun._run_child = counted

    def work(n):                       # (no generator expression: compiled too, it
        t = 0                          # could still be in a child at the end)
        for i in range(n):
            t += i * 3
        return t
    coconut.enable(threshold=0, background=True)
    deadline = time.monotonic() + 60
    while not coconut.is_compiled(work) and time.monotonic() < deadline:
        assert work(100) == 14850
        time.sleep(0.001)
    assert coconut.is_compiled(work)
    assert work(100) == 14850
    assert calls and all(calls), calls
    assert not gccrun._children                  # waited for, pipe closed


def _exit_during_compile_program(cache):
    return textwrap.dedent(f'''
        import os, sys, time
        os.environ["COCONUT_CACHE_DIR"] = {cache!r}
        os.environ["COCONUT_ONLY"] = "big"       # nothing else queued before it
        os.environ["COCONUT_WARMUP"] = "0"       # compiled at its first call
        os.environ["COCONUT_GCC_CHILD"] = "1"    # gcc in a child process
        import coconut
        from coconut.backend import gccrun
        # a big function: gcc takes a while
        src = "def big(x):\\n" + "".join(f"    x = (x * {{i}} + {{i}}) % 1000003 if x > {{i}} else x - {{i}}\\n"
                                          for i in range(80)) + "    return x\\n"
        ns = {{}}
        exec(src, ns)
        coconut.enable(threshold=0, background=True)
        ns["big"](5)
        deadline = time.monotonic() + 30
        while not gccrun._children and time.monotonic() < deadline:
            time.sleep(0.001)
        assert gccrun._children, "no child process compiling"
        print(list(gccrun._children)[0], flush=True)
        started = time.monotonic()
        import atexit
        atexit.register(lambda: print("exit", flush=True))
        sys.exit(0)
    ''')


def test_exit_does_not_wait_for_gcc(tmp_path):
    # COCONUT_GCC_CHILD=1: at exit the child is cancelled, not waited for; it deletes
    # what it writes.
    cache = str(tmp_path / "cache")
    os.makedirs(cache)
    res = subprocess.run([sys.executable, "-c", _exit_during_compile_program(cache)],
                         env=child_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr          # nothing printed at teardown
    pid = int(res.stdout.split()[0])
    import time
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:           # the child ends on its own
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the gcc child still runs")
    leftovers = [n for n in os.listdir(cache) if n.endswith(".so") and not n.startswith("runtime-")]
    assert leftovers == [], leftovers


def _budget_program(budget):
    return textwrap.dedent(f'''
        import os
        os.environ["COCONUT_COMPILE_BUDGET"] = {budget!r}
        import coconut
        from coconut.runtime import jit
        jit.COMPILE_BUDGET = float({budget!r})
        def f(x):
            return x + 1
        coconut.enable(threshold=5)
        total = 0
        for i in range(50):
            total += f(i)
        assert total == sum(range(1, 51)), total
        s = coconut.stats()
        print(s["compiled"], s["compiles_deferred"])
    ''')


@pytest.mark.parametrize("budget,compiled", [("0", True), ("1e-9", False)])
def test_compile_budget(budget, compiled):
    # Whole-program mode spends at most a share of the run compiling on the program's
    # thread: with a tiny budget the hot function stays interpreted (deferred, counted
    # again), with none it is compiled; the results are the same.
    res = subprocess.run([sys.executable, "-c", _budget_program(budget)],
                         env=dict(child_env(), COCONUT_CACHE="0"), capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    n_compiled, deferred = map(int, res.stdout.split())
    assert (n_compiled >= 1) == compiled, res.stdout
    assert (deferred >= 1) == (not compiled), res.stdout
