"""Shared helpers of the test suite: the one subprocess runner, and coconut/stub selection.

Every test that executes JIT-compiled code runs it in a child process, so that a JIT bug
which crashes the interpreter fails one test instead of killing the run.

* ``run_python(args, timeout)`` starts ``sys.executable -X faulthandler <args>`` with
  PYTHONPATH set to the repository root and returns a ``ChildResult``.
* ``@in_subprocess()`` turns a test function into one whose body runs in a child
  (``python -m tests._runner module qualname kwargs``); the parent fails with the child's
  stderr (traceback, faulthandler dump) when the child does not exit 0.
* ``get_coconut()`` returns the real ``coconut`` package, or the identity stand-in of
  ``tests/_stub_coconut.py`` when the environment variable COCONUT_TEST_STUB is set
  (only for checking the suite itself; never the default).
"""
import functools
import json
import os
import signal
import subprocess
import sys
import threading

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(REPO_ROOT, "tests")

# Seconds a child may run before it is killed; children arm faulthandler a bit earlier
# (see child_setup) so that a hang prints every thread's Python stack.
DEFAULT_TIMEOUT = float(os.environ.get("COCONUT_TEST_TIMEOUT", "120"))
TIMEOUT_ENV = "COCONUT_TEST_CHILD_TIMEOUT"

_live = set()
_live_lock = threading.Lock()


def get_coconut():
    """The module under test: real coconut, or the stub when COCONUT_TEST_STUB is set."""
    if os.environ.get("COCONUT_TEST_STUB"):
        from tests import _stub_coconut
        return _stub_coconut
    import coconut
    return coconut


def compile_all(*funcs):
    """Compile each function with the module under test; each must get a native entry."""
    co = get_coconut()
    for f in funcs:
        co.compile(f)
        assert co.is_compiled(f), f.__name__


def child_env(extra=None):
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + old if old else "")
    env["PYTHONFAULTHANDLER"] = "1"
    env.pop("PYTHONDEVMODE", None)
    if extra:
        env.update(extra)
    return env


class ChildResult:
    def __init__(self, args, returncode, stdout, stderr, timed_out, timeout):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.timeout = timeout

    @property
    def ok(self):
        return not self.timed_out and self.returncode == 0

    @property
    def crashed(self):
        """Killed by a signal (segfault, abort) or hung: not a clean Python-level exit."""
        return self.timed_out or self.returncode < 0

    def status(self):
        if self.timed_out:
            return "timed out after %.0fs (killed)" % self.timeout
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = "signal %d" % -self.returncode
            return "killed by %s (exit %d)" % (name, self.returncode)
        return "exit code %d" % self.returncode

    def describe(self, max_chars=12000):
        def tail(text):
            text = text or ""
            if len(text) > max_chars:
                text = "...[%d chars cut]...\n" % (len(text) - max_chars) + text[-max_chars:]
            return text
        return ("child %s\n  command: %s\n----- stderr -----\n%s\n----- stdout -----\n%s"
                % (self.status(), " ".join(self.args), tail(self.stderr), tail(self.stdout)))


def run_python(args, timeout=None, env=None, input=None):
    """Run ``python -X faulthandler *args`` in the repository root; never raises on failure."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    cmd = [sys.executable, "-X", "faulthandler", *args]
    extra = {TIMEOUT_ENV: str(timeout)}
    if env:
        extra.update(env)
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=child_env(extra), text=True,
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with _live_lock:
        _live.add(proc)
    timed_out = False
    try:
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            out, err = proc.communicate()
    finally:
        with _live_lock:
            _live.discard(proc)
    return ChildResult(cmd, proc.returncode, out, err, timed_out, timeout)


def kill_live_children():
    """Kill the children this process started that are still running (session teardown)."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def run_code(code, timeout=None, env=None):
    """Run a snippet of Python source in a child (``python -c``)."""
    return run_python(["-c", code], timeout=timeout, env=env)


def child_setup():
    """Called first thing in every child: arm faulthandler so that a hang dumps stacks."""
    import faulthandler
    faulthandler.enable(all_threads=True)
    timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    if timeout > 5:
        faulthandler.dump_traceback_later(timeout - 3, exit=True)


def in_subprocess(timeout=None):
    """Decorator: run the decorated test's body in a child process.

    Test parameters (pytest.mark.parametrize) must be JSON-serialisable; fixtures are not
    available in the child. The child imports the test module and calls the undecorated
    function; an exception or crash there fails the test in the parent with the child's
    stderr.
    """
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(**kwargs):
            res = run_python(["-m", "tests._runner", fn.__module__, fn.__qualname__,
                              json.dumps(kwargs)], timeout=timeout)
            if not res.ok:
                import pytest
                pytest.fail(res.describe(), pytrace=False)
        wrapper.__in_subprocess__ = True
        return wrapper
    return deco


def line_of(func, marker):
    """Absolute line number of the source line of ``func`` that ends with ``marker``
    (typically a ``# comment``): expected line numbers without hard-coding them."""
    import inspect
    lines, first = inspect.getsourcelines(func)
    hits = [first + i for i, text in enumerate(lines) if text.rstrip().endswith(marker)]
    if len(hits) != 1:
        raise ValueError("marker %r found %d times in %s" % (marker, len(hits), func.__name__))
    return hits[0]


def twin(func):
    """Independent interpreted copy of func (see harness.clone_function)."""
    from tests.harness import clone_function
    return clone_function(func)
