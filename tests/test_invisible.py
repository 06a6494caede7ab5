"""The compiler's work is invisible to the program (design notes): while it compiles,
loads or stores cached code, runs compiled code or reports statistics, coconut calls
nothing that the program may have replaced since it imported coconut. A test that
mocks `builtins.open` (CPython's test suite does) must not record the compiler
reading its code cache; one that patches `time.perf_counter`, `os.replace` or
`json.dumps` must not see coconut's compile times or cache writes.

Each child imports coconut, then replaces the functions programs commonly patch
(`MOCKED`) by mocks that record every call made by coconut's code (and otherwise do
what the original does, so that the program goes on working), runs a program
through every path of the compiler and the runtime, puts the originals back and
fails naming each mock touched and where from. For the run of a whole program, whose
statistics are reported at exit, the mocks stay and fail loudly instead: each call
writes a line to fd 2 at once.

The first compile of a process loads the compiler proper (frontend, lowering, passes,
back end: imported then, not with coconut, see docs/usage.md "Start-up") and builds
the runtime library; a child does one before the mocks go in (with the cache off, so
that the cache directory is still missing), as a program that patches things usually
runs after coconut has compiled something.
"""
import json
import os
import sys
import sysconfig
import tempfile
import textwrap

import pytest

from tests.support import REPO_ROOT, get_coconut, in_subprocess, run_python

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("the compiler's own calls are the real JIT's", allow_module_level=True)

COCONUT_DIR = os.path.join(REPO_ROOT, "coconut", "")

# What a program (or its test suite) may replace, "module.attr"; shutil's public
# functions are added. Not here: what the import machinery calls to load a module
# (marshal.loads, _thread.allocate_lock), and what coconut still looks up when called:
# gc.isenabled/disable/enable (runtime/hook.py, Runtime.compiling), array.array and
# ctypes.string_at (backend/gcc.py, GccModule), os.fspath (in os.path.join).
MOCKED = """
    builtins.open builtins.print io.open
    os.replace os.rename os.makedirs os.mkdir os.stat os.lstat os.open os.close os.fdopen
    os.read os.write os.getpid os.unlink os.remove os.urandom os.scandir os.listdir
    os.walk os.utime os.access os.getcwd os.readlink
    os.path.exists os.path.isdir os.path.isfile os.path.getsize os.path.realpath
    os.path.expanduser os.path.abspath os.path.relpath os.path.join os.path.dirname
    time.time time.perf_counter time.monotonic time.sleep time.process_time
    json.dumps json.loads json.dump json.load
    tempfile.mkstemp tempfile.mkdtemp tempfile.NamedTemporaryFile
    tempfile.TemporaryDirectory tempfile.gettempdir
    threading.Thread threading.Lock threading.RLock threading.Event
    threading.current_thread threading.get_ident
    _thread.start_new_thread _thread.interrupt_main queue.SimpleQueue
    warnings.warn warnings.warn_explicit logging.getLogger importlib.import_module
    hashlib.sha256 hashlib.new atexit.register
    platform.machine platform.uname statistics.median
    random.random random.getrandbits random.choice
    ctypes.addressof sys.intern
""".split()

# builtins.__import__ is mocked too: an import statement in a function calls it each
# time it runs. Checked in coconut's driver and runtime, these modules (the compiler
# proper, frontend/ ir/ lowering/, still has import statements in functions).
AUDITED = {os.path.join(COCONUT_DIR, p) for p in (
    "__init__.py", "errors.py", "startup.py", "runtime/cache.py", "runtime/jit.py",
    "runtime/perfmap.py", "runtime/stability.py", "runtime/hook.py", "backend/gccrun.py",
    "backend/gcc.py",
    "backend/signals.py")}

# Frames of the standard library and site-packages are passed through to their
# caller: os.makedirs calling os.path.exists is the call of whoever called makedirs.
_LIBRARY = (sysconfig.get_paths()["stdlib"] + os.sep, "<frozen ")
_IMPORT_MACHINERY = ("<frozen importlib.", os.path.join(sysconfig.get_paths()["stdlib"],
                                                        "importlib", ""))
_getframe, _write = sys._getframe, os.write


def _caller(frame):
    """(whose call this is: the first frame from `frame` outwards that is not the
    library's, whether the import machinery is in between)."""
    machinery = False
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY):
        machinery = machinery or frame.f_code.co_filename.startswith(_IMPORT_MACHINERY)
        frame = frame.f_back
    return frame, machinery


def _where(frame, caller):
    """file:line (function) of the call, and of coconut's frame it is made from.
    (Strings only: the mocks are installed.)"""
    def at(f):
        name = f.f_code.co_filename
        if name.startswith(REPO_ROOT + os.sep):
            name = name[len(REPO_ROOT) + 1:]
        return f"{name}:{f.f_lineno} ({f.f_code.co_name})"
    return at(caller) if frame is caller else f"{at(frame)} <- {at(caller)}"


class Mocks:
    """Mocks of MOCKED and builtins.__import__, while installed; `touched` lists
    (name, where from) of each call coconut made. `loud`: also written to fd 2 then."""

    def __init__(self, loud=False):
        self.touched = []
        self.loud = loud
        self.saved = []

    def _record(self, name, frame, caller):
        entry = (name, _where(frame, caller))
        self.touched.append(entry)
        if self.loud:
            _write(2, f"\nINVISIBLE: coconut called {entry[0]} from {entry[1]}\n".encode())

    def _mock(self, name, original):
        def mock(*args, **kwargs):
            frame = _getframe(1)
            caller, _ = _caller(frame)
            if caller is not None and caller.f_code.co_filename.startswith(COCONUT_DIR):
                self._record(name, frame, caller)
            return original(*args, **kwargs)
        mock.__name__ = mock.__qualname__ = f"mock_{name}"
        return mock

    def _mock_import(self, original):
        def mock_import(name, *args, **kwargs):
            frame = _getframe(1)
            caller, machinery = _caller(frame)
            # (not the import machinery loading a module, nor a module's own body)
            if caller is not None and caller.f_code.co_filename in AUDITED and \
                    not machinery and caller.f_code.co_name != "<module>":
                self._record(f"builtins.__import__({name!r})", frame, caller)
            return original(name, *args, **kwargs)
        return mock_import

    def install(self):
        import builtins
        import importlib
        import shutil
        names = MOCKED + [f"shutil.{n}" for n in shutil.__all__
                          if callable(getattr(shutil, n)) and
                          not isinstance(getattr(shutil, n), type)]
        for name in names:
            module_name, attr = name.rsplit(".", 1)
            owner = importlib.import_module(module_name)
            original = getattr(owner, attr)
            self.saved.append((owner, attr, original))
            setattr(owner, attr, self._mock(name, original))
        self.saved.append((builtins, "__import__", builtins.__import__))
        builtins.__import__ = self._mock_import(builtins.__import__)

    def restore(self):
        while self.saved:
            owner, attr, original = self.saved.pop()
            setattr(owner, attr, original)

    def check(self):
        assert not self.touched, "coconut called what the program had replaced:\n" + \
            "\n".join(sorted({f"  {name} from {where}" for name, where in self.touched}))


# -- the program ----------------------------------------------------------------------
SOURCE = '''
def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def divide(a, b):
    return a // b


def deopts(n):
    t = 0
    for i in range(n):
        try:
            raise ValueError(i)
        except* ValueError:           # CHECK_EG_MATCH: handed to the interpreter
            t += i // 2
    return t


def hot(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s
'''


def _program(filename="<invisible>"):
    """A fresh copy of the program's functions: new code objects, the same code (and
    the same cache keys) for the same filename."""
    ns = {}
    exec(compile(SOURCE, filename, "exec"), ns)
    return ns


def _warm_up(cache_dir):
    """The first compile (see the module doc), with the cache off; the cache is on
    afterwards, in `cache_dir` (not created yet)."""
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    coconut.compile(_program("<warm-up>")["work"])
    os.environ["COCONUT_CACHE_DIR"] = cache_dir
    del os.environ["COCONUT_CACHE"]
    return coconut


def _run_paths(coconut, mocks):
    """Every path of the compiler and the runtime, with the mocks installed."""
    from coconut.runtime import jit
    from tests import test_stability
    import time
    import warnings
    cold = _program()
    mocks.install()
    try:
        # a cold cache: compiled, stored (the directory made, the key's digest of
        # coconut's sources computed)
        coconut.compile(cold["work"])
        assert coconut.is_compiled(cold["work"]) and cold["work"](100) == 328350
        # identical code: loaded from the cache (a private copy: the file is loaded)
        warm = _program()
        coconut.compile(warm["work"])
        assert coconut.is_compiled(warm["work"]) and warm["work"](100) == 328350
        # compiled code that raises, and compiled code that deopts
        coconut.compile(cold["divide"])
        with pytest.raises(ZeroDivisionError):
            cold["divide"](1, 0)
        coconut.compile(cold["deopts"])
        assert cold["deopts"](10) == 20
        # a compile that fails is warned about, through the program's filters (the
        # original warnings.warn)
        plain = jit._build_native_steps

        def broken(code, cfg):
            raise RuntimeError("the back end failed")
        jit._build_native_steps = broken
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                coconut.compile(_program("<fails>")["work"])
        finally:
            jit._build_native_steps = plain
        assert [w.category for w in caught] == [coconut.CompileWarning], caught
        # recompiles: a speculation that keeps failing (as tests/test_stability.py)
        test_stability.speculate(record=False)
        ns = {}
        exec(compile("def chain(x, y):\n    return (((x * y) * y) * y) * y\n", "<chain>",
                     "exec"), ns)
        coconut.compile(ns["chain"])
        test_stability._run_ints(ns["chain"], 2000)
        assert coconut.stats()["recompiles"] == 3
        # whole-program mode: compiles on the program's thread, then on the compile
        # thread (installed at a later entry)
        whole = _program("<whole>")
        jit.COMPILE_BUDGET = 0         # compiled at once (tests/test_background.py: the budget)
        coconut.enable(threshold=3)
        for _ in range(5):
            assert whole["hot"](50) == 147
        assert coconut.is_compiled(whole["hot"])
        background = _program("<background>")
        coconut.enable(threshold=3, background=True)
        deadline = time.monotonic() + 60
        while not coconut.is_compiled(background["hot"]) and time.monotonic() < deadline:
            assert background["hot"](50) == 147
        assert coconut.is_compiled(background["hot"]) and background["hot"](50) == 147
        coconut.disable()
        st = coconut.stats()
        assert st["cache_hits"] >= 1 and st["cache_stores"] >= 4, st
        assert st["deopts"] and st["code_bytes"] > 0, st
    finally:
        mocks.restore()
    mocks.check()


@in_subprocess()
def test_compiling_and_running_calls_nothing_the_program_replaced():
    cache_dir = os.path.join(tempfile.mkdtemp(prefix="coconut-invisible-"), "cache")
    coconut = _warm_up(cache_dir)
    _run_paths(coconut, Mocks())
    assert os.path.isdir(cache_dir)


def _compile_from_the_cache(expect):
    """A child of test_a_cache_entry_of_another_process."""
    coconut = _warm_up(os.environ["INVISIBLE_CACHE_DIR"])
    mocks = Mocks()
    program = _program()
    mocks.install()
    try:
        coconut.compile(program["work"])
        assert program["work"](100) == 328350
        st = coconut.stats()
    finally:
        mocks.restore()
    mocks.check()
    assert (st["cache_stores"], st["cache_hits"]) == ((1, 0) if expect == "store" else (0, 1)), st


def test_a_cache_entry_of_another_process(tmp_path):
    """The first child stores an entry, the second loads it (dlopen of the file)."""
    for expect in ("store", "hit"):
        res = run_python(["-m", "tests._runner", __name__, "_compile_from_the_cache",
                          json.dumps({"expect": expect})],
                         env={"INVISIBLE_CACHE_DIR": str(tmp_path / "cache")})
        assert res.ok, res.describe()


PROGRAM = textwrap.dedent('''
    import sys, time
    from tests.test_invisible import Mocks, SOURCE
    exec(compile(SOURCE, "<program>", "exec"))
    coconut = sys.modules["coconut"]
    Mocks(loud=True).install()             # for good: the report at exit runs under them
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
            coconut.is_compiled(f) for f in (work, divide, deopts, hot)):
        assert work(100) == 328350 and deopts(10) == 20 and hot(50) == 147
        try:
            divide(1, 0)
        except ZeroDivisionError:
            pass
        time.sleep(0.001)
    print(all(coconut.is_compiled(f) for f in (work, divide, deopts, hot)))
''')


@pytest.mark.parametrize("report", ["--stats", "--stats-json"])
def test_a_whole_program_and_its_report(tmp_path, report):
    """python3 -m coconut: background compiles, and the statistics at exit."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    args = [report] + ([str(tmp_path / "stats.json")] if report == "--stats-json" else [])
    res = run_python(["-m", "coconut", "--threshold", "0", *args, str(tmp_path / "prog.py")],
                     env={"COCONUT_CACHE_DIR": str(tmp_path / "cache"),
                          "COCONUT_ONLY": "<program>"})   # (not the test suite's modules)
    assert res.ok and res.stdout.strip() == "True", res.describe()
    assert "INVISIBLE" not in res.stderr, res.stderr
    if report == "--stats":
        assert "code objects compiled" in res.stderr, res.stderr
    else:
        with open(tmp_path / "stats.json") as f:
            assert json.load(f)["compiled"] > 0


@in_subprocess()
def test_compiling_leaves_the_locale_alone():
    """Every libgccjit compile runs gcc's gcc_init_libintl, which sets LC_MESSAGES (and
    LC_CTYPE) from the environment: the process's locale must be what it was
    (backend/signals.py, preserved_locale)."""
    import locale
    os.environ["LC_ALL"] = "C.UTF-8"           # what gcc's setlocale(..., "") would take
    locale.setlocale(locale.LC_ALL, "C")
    before = locale.setlocale(locale.LC_ALL)
    co = get_coconut()
    ns = {}
    exec("def f(x):\n    return x * 2 + 1\n", ns)
    co.compile(ns["f"])
    assert co.is_compiled(ns["f"]) and ns["f"](3) == 7
    assert locale.setlocale(locale.LC_ALL) == before


@in_subprocess()
def test_compiling_leaves_the_regular_expression_cache_alone():
    """`re` caches each pattern it compiles (`re._cache`), and a program can see it:
    pyperformance's regex_compile counts what its own patterns left there, and a
    compile in the middle added the lowering's pattern (a mismatch in
    `python3 -m coconut.suite --check-only regex_compile`). After the first compile
    (which imports the compiler), compiles use no regular expression."""
    import re
    co = get_coconut()
    ns = {}
    exec("def warm(x):\n    return x + 1\n"
         "def f(n):\n    t = 0.0\n    for i in range(n):\n        t += i * 0.5\n    return t\n"
         "def g(xs):\n    return [x * 2 for x in xs if x]\n", ns)
    co.compile(ns["warm"])
    re.purge()
    for name in ("f", "g"):
        co.compile(ns[name])
        assert co.is_compiled(ns[name])
    assert ns["f"](10) == 22.5 and ns["g"]([0, 1, 2]) == [2, 4]
    assert re._cache == {}, list(re._cache)


def test_a_signal_the_program_blocks_stays_pending():
    """The sampling thread (whole-program mode) blocks every signal: a signal the
    program blocks in its thread stays pending for sigpending()/sigwait(), as without
    the JIT. (The kernel delivers a process signal to any thread that does not block
    it: before the fix the sampler took SIGUSR1, and its default action killed the
    process.)"""
    code = textwrap.dedent("""
        import os, signal, time
        def loop(n):
            t = 0
            for i in range(n):
                t += i
            return t
        loop(10)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.05)
        print(sorted(int(s) for s in signal.sigpending()))
    """)
    for threshold in ("10", "0"):
        res = run_python(["-m", "coconut", "--threshold", threshold, "-c", code])
        assert res.ok, res.describe()
        assert res.stdout.split() == ["[10]"], (threshold, res.stdout)
