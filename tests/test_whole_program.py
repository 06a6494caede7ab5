"""Whole-program mode: `python3 -m coconut`, enable(threshold=N), COCONUT_JIT.

The runner must be invisible: each program runs under plain python3 and under
`python3 -m coconut --threshold 0` and must give the same stdout, stderr and exit
status. Everything runs in subprocesses.
"""
import json
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from tests.support import REPO_ROOT, child_env, in_subprocess, get_coconut


def _run(args, cwd, env=None, timeout=300):
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=child_env(env), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def _both(tmp_path, program_args, runner_opts=("--threshold", "0", "--sync")):
    """(plain, under coconut) results of one program, run in tmp_path."""
    plain = _run(program_args, tmp_path)
    jit = _run(["-m", "coconut", *runner_opts, *program_args], tmp_path)
    return plain, jit


SCRIPT = """\
import os, sys
print("argv", sys.argv)
print("name", __name__, "file", __file__, "spec", __spec__ and __spec__.name)
print("path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
import __main__
print("main is module", __main__.__dict__ is globals())
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def norm1(self):
        return abs(self.x) + abs(self.y)
print(fib(15), Point(3, -4).norm1())
"""


def test_script_runs_as_under_python(tmp_path):
    (tmp_path / "prog.py").write_text(SCRIPT + "sys.exit(3)\n")
    plain, jit = _both(tmp_path, ["prog.py", "a", "--b"])
    assert plain[0] == 3 and "fib" not in plain[2], plain
    assert jit == plain


@pytest.mark.parametrize("ending, status", [
    ("def bad(d):\n    return d['missing']\nbad({})\n", 1),
    ("raise SystemExit('goodbye')\n", 1),
    ("raise SystemExit(0)\n", 0),
    ("import os\nos._exit(7)\n", 7),
    ("1 +\n", 1),                                        # SyntaxError in the script
])
def test_script_exit_status_and_traceback(tmp_path, ending, status):
    (tmp_path / "prog.py").write_text(SCRIPT + ending)
    plain, jit = _both(tmp_path, ["prog.py"])
    assert plain[0] == status, plain
    assert jit == plain


def test_uncaught_keyboard_interrupt_kills_with_sigint(tmp_path):
    (tmp_path / "prog.py").write_text(
        "import atexit\natexit.register(print, 'atexit ran')\n"
        "def f():\n    raise KeyboardInterrupt\nf()\n")
    plain, jit = _both(tmp_path, ["prog.py"])
    assert plain[0] == -2 and "atexit ran" in plain[1], plain
    assert jit == plain


def test_module_and_command(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text(SCRIPT + "raise ValueError('from a module')\n")
    plain, jit = _both(tmp_path, ["-m", "pkg.tool", "x", "y"])
    assert plain[0] == 1 and "ValueError: from a module" in plain[2], plain
    assert jit == plain
    plain, jit = _both(tmp_path, ["-c", "import sys; print(sys.argv, __name__); 1/0", "z"])
    assert plain[0] == 1 and "ZeroDivisionError" in plain[2], plain
    assert jit == plain


def test_missing_script_and_bad_options(tmp_path):
    rc, out, err = _run(["-m", "coconut", "no_such_file.py"], tmp_path)
    assert rc == 2 and "can't open file" in err, (rc, err)
    rc, out, err = _run(["-m", "coconut", "--threshold", "-3", "x.py"], tmp_path)
    assert rc == 2 and "threshold" in err, (rc, err)
    rc, out, err = _run(["-m", "coconut"], tmp_path)
    assert rc == 2 and "usage" in err, (rc, err)


PROBE = ("def f(x):\n    return x + 1\nf(1)\nimport sys\n"
         "print('coconut' in sys.modules and sys.modules['coconut'].is_compiled(f))\n")


def test_subprocesses_run_with_the_jit(tmp_path):
    (tmp_path / "parent.py").write_text(textwrap.dedent(f"""\
        import subprocess, sys
        out = subprocess.run([sys.executable, "-c", {PROBE!r}], capture_output=True, text=True)
        print(out.stdout.strip(), out.stderr.strip())
        """))
    rc, out, err = _run(["-m", "coconut", "--threshold", "0", "--sync", "parent.py"], tmp_path)
    assert (rc, out.strip()) == (0, "True"), (rc, out, err)
    rc, out, err = _run(["-m", "coconut", "--threshold", "0", "--sync", "--no-subprocesses", "parent.py"],
                        tmp_path)
    assert (rc, out.strip()) == (0, "False"), (rc, out, err)


@pytest.mark.skipif(
    not os.path.exists(os.path.join(sysconfig.get_paths()["purelib"], "coconut-jit.pth")),
    reason="coconut-jit.pth is not installed (run scripts/install.sh)")
def test_environment_variable_turns_the_jit_on(tmp_path):
    rc, out, err = _run(["-c", PROBE], tmp_path, env={"COCONUT_JIT": "1", "COCONUT_THRESHOLD": "0",
                                                      "COCONUT_BACKGROUND": "0"})
    assert (rc, out.strip(), err) == (0, "True", ""), (rc, out, err)
    rc, out, err = _run(["-c", PROBE], tmp_path, env={"COCONUT_JIT": "0"})
    assert (rc, out.strip(), err) == (0, "False", ""), (rc, out, err)


def test_stats_report(tmp_path):
    (tmp_path / "prog.py").write_text(SCRIPT + "async def ag():\n    yield 1\nag().aclose().close()\n")
    rc, out, err = _run(["-m", "coconut", "--threshold", "0", "--sync", "--stats", "prog.py"], tmp_path)
    assert rc == 0, err
    for part in ("code objects compiled", "coconut's own code (the runner, statistics) is not compiled",
                 "natively", "compile time: total", "deopts", "memory for compiled code"):
        assert part in err, (part, err)
    rc, out, err = _run(["-m", "coconut", "--threshold", "0", "--sync", "--stats-json", "s.json",
                         "prog.py"], tmp_path)
    assert rc == 0 and err == "", err
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["compiled"] >= 4 and s["not_compiled"] >= 1, s
    assert s["instructions_native"] > 0 and 0 < s["native_share"] <= 1, s
    assert s["compile_seconds_max"] >= s["compile_seconds_median"] > 0, s
    assert s["code_bytes"] > 0, s


@in_subprocess()
def test_threshold_counts_entries():
    coconut = get_coconut()
    from coconut.runtime import jit

    def g(x):
        return x * 2
    jit.COMPILE_BUDGET = 0             # compiled at once (tests/test_background.py: the budget)
    coconut.enable(threshold=3)
    seen = []
    for i in range(5):
        seen.append((g(i), coconut.is_compiled(g)))
    # compiled on the entry after 3 entries: the 4th call runs natively
    assert seen == [(0, False), (2, False), (4, False), (6, True), (8, True)], seen
    assert jit.runtime().entries(g.__code__) == 0
    coconut.disable()

    def h(x):
        return x
    for i in range(10):
        h(i)
    assert not coconut.is_compiled(h)          # disabled: nothing counts


@in_subprocess()
def test_failed_compile_is_remembered_not_retried():
    coconut = get_coconut()
    from coconut.runtime import jit
    attempts = []

    def broken(code, cfg):
        attempts.append(code.co_name)
        raise RuntimeError("the back end failed")
    jit._build_native_steps = broken

    def victim(x):
        return x + 1
    coconut.enable(threshold=0)
    results = [victim(i) for i in range(5)]
    assert results == [1, 2, 3, 4, 5]
    assert attempts.count("victim") == 1, attempts
    assert not coconut.is_compiled(victim)
    reasons = coconut.stats()["not_compiled"]
    assert any("victim" in k and "the back end failed" in v for k, v in reasons.items()), reasons


@in_subprocess()
def test_enable_rejects_bad_thresholds():
    coconut = get_coconut()
    for bad in (-1, 1.5, "3"):
        with pytest.raises(ValueError, match="threshold"):
            coconut.enable(threshold=bad)


def test_runner_is_importable_without_running():
    # `import coconut.__main__` must not start anything (tools import modules).
    rc, out, err = _run(["-c", "import coconut.__main__, coconut.startup; print('ok')"], REPO_ROOT)
    assert (rc, out.strip()) == (0, "ok"), err


@in_subprocess()
def test_compile_entered_deep_in_a_recursion_is_retried():
    import sys
    coconut = get_coconut()

    def down(n):
        return 0 if n == 0 else 1 + down(n - 1)
    coconut.enable(threshold=0)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(60)      # too shallow for the compiler: its own frames recurse

    def deep(k):
        return down(5) if k == 0 else deep(k - 1)
    try:
        deep(45)
    except RecursionError:
        pass
    sys.setrecursionlimit(limit)
    assert "down" not in str(coconut.stats()["not_compiled"])
    assert down(10) == 10 and coconut.is_compiled(down)


@in_subprocess()
def test_nothing_compiles_under_a_tracer():
    # A tracer must not see the compiler's frames (test_sys_settrace recorded them, and
    # its line jumps landed in them and crashed): entries are not counted while tracing.
    import sys
    coconut = get_coconut()

    def traced_func(x):
        return x + 1
    events = []

    def tracer(frame, event, arg):
        events.append(frame.f_code.co_filename)
        return tracer
    coconut.enable(threshold=0)
    sys.settrace(tracer)
    traced_func(1)
    sys.settrace(None)
    assert not any("coconut" in f for f in events), set(events)
    assert not coconut.is_compiled(traced_func)
    traced_func(2)
    assert coconut.is_compiled(traced_func)


RANDOM_PROGRAM = """\
import random
drawn = []
real = random.Random.random
def spy(self):
    drawn.append(1)
    return real(self)
random.Random.random = spy          # as unittest.mock.patch('random.Random.random') does
def work(x):
    return x * 2 + 1
print(work(20), len(drawn))
"""


@pytest.mark.parametrize("cache", ["on", "off"])
def test_compiling_draws_nothing_from_the_programs_random(tmp_path, cache):
    # Found by test_random: the cache named its temporary files with tempfile, whose
    # names come from random.Random, so a compile consumed a mock's side effects.
    (tmp_path / "prog.py").write_text(RANDOM_PROGRAM)
    env = {"COCONUT_CACHE_DIR": str(tmp_path / "cache"), "COCONUT_CACHE": "1" if cache == "on" else "0"}
    plain = _run(["prog.py"], tmp_path)
    jit = _run(["-m", "coconut", "--threshold", "0", "prog.py"], tmp_path, env=env)
    assert plain == (0, "41 0\n", "") and jit == plain, (plain, jit)


def test_native_count_only_installs_no_trace_function(tmp_path):
    # A trace function makes CPython create a frame object for every frame (CPython's
    # test_frame test_sneaky_frame_object noticed the statistics' counter).
    (tmp_path / "prog.py").write_text(SCRIPT + textwrap.dedent("""\
        import ctypes
        ts = ctypes.pythonapi.PyThreadState_Get
        ts.restype = ctypes.c_void_p
        print("c_tracefunc", ctypes.c_void_p.from_address(ts() + 72).value)
        """))
    rc, out, err = _run(["-m", "coconut", "--threshold", "0", "--sync", "--stats-json",
                         "s.json", "--native-count-only", "prog.py"], tmp_path)
    assert rc == 0 and "c_tracefunc None" in out, (out, err)
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["instructions_native"] > 0 and s["instructions_interpreted"] is None, s
    assert s["native_share"] is None, s
    rc, out, err = _run(["-m", "coconut", "--threshold", "0", "--sync", "--stats-json",
                         "s.json", "prog.py"], tmp_path)
    assert rc == 0 and "c_tracefunc None" not in out, (out, err)


def _spin(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total


def _until_compiled(coconut, func, seconds=60):
    import time
    calls, deadline = 0, time.monotonic() + seconds
    while not coconut.is_compiled(func) and time.monotonic() < deadline:
        func(200_000)
        calls += 1
    return calls


@in_subprocess()
def test_time_spent_in_a_loop_makes_code_hot():
    """A function entered a few times that spends its time in a loop is compiled
    (runtime/sampler.py): samples of the main thread count as entries."""
    coconut = get_coconut()
    from coconut.runtime import jit
    jit.COMPILE_BUDGET = 0             # compiled at once (tests/test_background.py: the budget)
    coconut.enable(threshold=1_000_000)
    rt = jit.runtime()
    assert rt.sampling
    calls = _until_compiled(coconut, _spin)
    assert coconut.is_compiled(_spin), (calls, rt.samples())
    from coconut.runtime import hook   # (the patched interpreter's back edges count too)
    assert calls < 1000 and (rt.samples() >= 4 or hook.ENTRY == "native"), (calls, rt.samples())
    assert _spin(1000) == sum(i % 7 for i in range(1000))
    coconut.disable()
    assert not rt.sampling


LAZY_PROGRAM = """\
import ctypes, sys, time
api = ctypes.pythonapi
api._PyInterpreterState_GetEvalFrameFunc.restype = ctypes.c_void_p
api._PyInterpreterState_GetEvalFrameFunc.argtypes = [ctypes.c_void_p]
api.PyInterpreterState_Get.restype = ctypes.c_void_p
default = ctypes.cast(api._PyEval_EvalFrameDefault, ctypes.c_void_p).value
def hooked():
    return api._PyInterpreterState_GetEvalFrameFunc(api.PyInterpreterState_Get()) != default
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
before = hooked()
fib(15)
short = hooked()
import coconut
deadline = time.monotonic() + 60
while not coconut.is_compiled(fib) and time.monotonic() < deadline:
    fib(18)
from coconut.runtime import hook
print(hook.ENTRY, before, short, hooked(), coconut.is_compiled(fib), fib(20))
"""


@pytest.mark.parametrize("options, at_start", [((), False), (("--threshold", "10000"), True)])
def test_the_default_mode_puts_the_hook_in_with_the_first_native_code(tmp_path, options, at_start):
    """`python3 -m coconut` without a threshold runs the program at the interpreter's
    own speed until the code the sampler finds hot is compiled: only then does the PEP
    523 hook go in (with it, 3.11 stops running Python calls in its own loop). With a
    threshold given, the hook counts every entry from the start."""
    (tmp_path / "prog.py").write_text(LAZY_PROGRAM)
    rc, out, err = _run(["-m", "coconut", *options, "prog.py"], tmp_path)
    assert rc == 0, (out, err)
    entry, before, short, after, compiled, value = out.split()
    assert (compiled, value) == ("True", "6765"), out
    if entry == "hook":
        assert (before, short, after) == (str(at_start), str(at_start), "True"), out


OVER_BUDGET_PROGRAM = LAZY_PROGRAM.replace("while not coconut.is_compiled(fib)", """\
while time.monotonic() < deadline and coconut.stats()["compiles_deferred"] < 3 and not coconut.is_compiled(fib)""") + """\
print(coconut.stats()["compiles_deferred"], coconut.stats()["samples"] > 0)
"""


def test_the_hook_stays_out_while_the_budget_puts_every_compile_off(tmp_path):
    """Hot code whose compile the budget puts off leaves the hook out: a program that
    gets nothing compiled is not made slower by it (a recursive fib ran 2x slower with
    the hook in and every compile put off)."""
    (tmp_path / "prog.py").write_text(OVER_BUDGET_PROGRAM)
    rc, out, err = _run(["-m", "coconut", "prog.py"], tmp_path,
                        env={"COCONUT_COMPILE_BUDGET": "0.000001",
                             "COCONUT_CACHE_DIR": str(tmp_path / "cache")})
    assert rc == 0, (out, err)
    entry, before, short, after, compiled, value, deferred, sampled = out.split()
    assert (compiled, value, sampled) == ("False", "6765", "True"), out
    assert int(deferred) >= 3, out
    if entry == "hook":
        assert (before, short, after) == ("False", "False", "False"), out


@in_subprocess()
def test_no_sampling_without_a_period():
    os.environ["COCONUT_SAMPLE_US"] = "0"
    coconut = get_coconut()
    from coconut.runtime import jit
    jit.COMPILE_BUDGET = 0
    coconut.enable(threshold=1_000_000)
    assert not jit.runtime().sampling
    for _ in range(20):
        _spin(100_000)
    assert jit.runtime().samples() == 0
    from coconut.runtime import hook
    if hook.ENTRY == "hook":           # (the patched interpreter counts loops' back edges
        assert not coconut.is_compiled(_spin)   # as entries: tests/test_patched.py)


@in_subprocess()
def test_a_forked_child_samples_again():
    coconut = get_coconut()
    from coconut.runtime import jit
    jit.COMPILE_BUDGET = 0
    coconut.enable(threshold=1_000_000)
    pid = os.fork()
    if pid == 0:                       # the sampling thread did not survive the fork
        _until_compiled(coconut, _spin)
        os._exit(0 if coconut.is_compiled(_spin) and jit.runtime().sampling else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not coconut.is_compiled(_spin)       # the parent never ran it


SUBINTERPRETER = r'''
import _testcapi, coconut
from coconut.runtime import jit
def f(x):
    return x + 1
status = _testcapi.run_in_subinterp("""
import coconut
def g(x):
    return x * 2
try:
    coconut.compile(g)
except RuntimeError as e:
    assert "main interpreter only" in str(e), e
else:
    raise AssertionError("compiled in a subinterpreter")
""")
assert status == 0, status
coconut.compile(f)                      # the main interpreter's JIT is intact
assert coconut.is_compiled(f) and f(1) == 2
assert jit.runtime().sampling
print("ok")
'''


def test_subinterpreters_leave_the_jit_alone(tmp_path):
    """A subinterpreter imports site (COCONUT_JIT: coconut-jit.pth) and coconut anew; the
    runtime library's C globals are the main interpreter's, so the JIT stays off there
    (a second Runtime reset them: the sampling thread then read a subinterpreter's
    control block and crashed test_capi)."""
    (tmp_path / "prog.py").write_text(SUBINTERPRETER)
    status, out, err = _run(["-m", "coconut", "--threshold", "100", "prog.py"], tmp_path)
    assert (status, out) == (0, "ok\n"), err


FORK_FROM_A_THREAD = r'''
import os, threading
def func():
    pid = os.fork()
    if pid == 0:
        print("child", flush=True)      # then this thread ends: no finalization
    else:
        os.waitpid(pid, 0)
t = threading.Thread(target=func)
t.start()
t.join()
print("parent")
'''


def test_a_child_forked_from_a_thread_exits(tmp_path):
    """In a child forked from a non-main thread, the process ends when that thread
    does, without finalization: a sampling thread restarted there kept it alive."""
    (tmp_path / "prog.py").write_text(FORK_FROM_A_THREAD)
    status, out, err = _run(["-m", "coconut", "--threshold", "100", "prog.py"], tmp_path, timeout=60)
    assert (status, sorted(out.split())) == (0, ["child", "parent"]), err


def test_usual_command_lines_are_read_without_argparse():
    # python3 -m coconut reads the usual forms itself (argparse: ~5 ms of start-up);
    # whatever it reads must be what argparse reads, and anything else goes to argparse.
    from coconut.__main__ import _parser, _quick_parse, _split_argv
    for argv in (["x.py", "a", "-b"], ["--threshold", "0", "--sync", "x.py"],
                 ["--stats", "-m", "mod", "z"], ["-c", "pass"],
                 ["--stats-json", "f.json", "--perf-map", "--no-subprocesses",
                  "--native-count-only", "s.py"], ["--threshold", "5", "-m", "pytest", "-q"]):
        ours, _ = _split_argv(argv)
        expected = vars(_parser().parse_args(ours))
        expected.pop("args")
        assert vars(_quick_parse(ours)) == expected, argv
    for argv in (["--threshold=3", "x.py"], ["-h"], ["--threshold", "-1", "x.py"], [],
                 ["--bogus", "x.py"], ["-"], ["--threshold", "x", "y.py"]):
        assert _quick_parse(_split_argv(argv)[0]) is None, argv
