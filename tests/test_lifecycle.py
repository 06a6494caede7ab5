"""Compiled code at the edges of a process's life and of its objects: special methods
called by C code, __del__ and atexit at interpreter shutdown, a daemon thread still in a
compiled loop at exit, compiling from several threads at once, exec() of a compiled code
object, compiled functions being garbage collected."""
import textwrap

import pytest

from tests import harness
from tests.support import get_coconut, in_subprocess, run_code

PRELUDE = textwrap.dedent("""
    import sys
    from tests.support import get_coconut, child_setup
    child_setup()
    co = get_coconut()
""")


def run_snippet(body, timeout=60):
    res = run_code(PRELUDE + textwrap.dedent(body), timeout=timeout)
    assert res.ok, res.describe()
    return res.stdout


# ----------------------------------------------------------------------------- dunders

class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __eq__(self, other):
        if not isinstance(other, Vec):
            return NotImplemented
        return self.x == other.x and self.y == other.y

    def __hash__(self):
        return hash((self.x, self.y))

    def __lt__(self, other):
        return (self.x, self.y) < (other.x, other.y)

    def __len__(self):
        return self.x

    def __getitem__(self, i):
        if i >= 2:
            raise IndexError("Vec index out of range")
        return self.x if i == 0 else self.y

    def __bool__(self):
        return bool(self.y)

    def __repr__(self):
        return "Vec(%r, %r)" % (self.x, self.y)

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def __call__(self, k):
        return self.x * k

    def __getattr__(self, name):
        if name == "magic":
            return 42
        raise AttributeError(name)

    def __enter__(self):
        return self.x

    def __exit__(self, *exc):
        return exc[0] is KeyError

    def __iter__(self):
        return iter((self.x, self.y))

    def __contains__(self, v):
        return v in (self.x, self.y)

    def __format__(self, spec):
        return "V" + format(self.x, spec)


DUNDERS = ["__init__", "__eq__", "__hash__", "__lt__", "__len__", "__getitem__", "__bool__",
           "__repr__", "__add__", "__call__", "__getattr__", "__enter__", "__exit__",
           "__iter__", "__contains__", "__format__"]


def exercise_vec(x, y):
    v = Vec(x, y)
    w = Vec(y, x)
    out = [v == w, v == Vec(x, y), v != 3, {v: 1}.get(Vec(x, y)), sorted([v, w]), len(v),
           list(v), v[1], bool(v), repr([v]), str(v), (v + w).x, v(3), v.magic,
           tuple(iter(v)), x in v, f"{v:>4}", max(v, w), min([w, v]), sum(v)]
    with v as entered:
        out.append(entered)
    with v:
        raise KeyError("swallowed by __exit__")
    try:
        v.missing
    except AttributeError as e:
        out.append(str(e))
    try:
        v[5]
    except IndexError as e:
        out.append(str(e))
    out.append(Vec(-1, 0).__len__())
    try:
        len(Vec(-1, 0))
    except ValueError as e:
        out.append(str(e))
    return out


@in_subprocess()
def test_special_methods_called_by_c_code():
    args = [(1, 2), (3, 0), (2, 2)]
    reference = harness.record(exercise_vec, args)
    co = get_coconut()
    for name in DUNDERS:
        co.compile(Vec.__dict__[name])
        assert co.is_compiled(Vec.__dict__[name]), name
    got = harness.record(exercise_vec, args)
    problems = harness.compare(reference, got, args, "dunders compiled")
    assert not problems, "\n".join(problems)
    co.compile(exercise_vec)
    got = harness.record(exercise_vec, args)
    problems = harness.compare(reference, got, args, "all compiled")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- shutdown

def test_compiled_del_and_atexit_at_shutdown():
    out = run_snippet("""
        import atexit

        class Res:
            def __init__(self, name):
                self.name = name
            def __del__(self):
                total = 0
                for i in range(100):
                    total += i
                print("del", self.name, total, flush=True)

        def at_exit(tag):
            s = 0
            for i in range(10):
                s += i * 2
            print("atexit", tag, s, flush=True)

        co.compile(Res.__del__)
        co.compile(Res.__init__)
        co.compile(at_exit)
        KEEP = Res("global")
        cycle = Res("cycle")
        cycle.self = cycle
        del cycle
        atexit.register(at_exit, "registered")
        Res("temporary")
        print("main done", flush=True)
    """)
    lines = out.splitlines()
    assert lines[:2] == ["del temporary 4950", "main done"], lines
    assert "atexit registered 90" in lines, lines
    assert "del global 4950" in lines, lines


def test_daemon_thread_in_compiled_loop_at_exit():
    out = run_snippet("""
        import threading, time

        def spin(box):
            n = 0
            while True:
                n += 1
                box[0] = n

        co.compile(spin)
        box = [0]
        t = threading.Thread(target=spin, args=(box,), daemon=True)
        t.start()
        time.sleep(0.2)
        print("spun", box[0] > 0, flush=True)
    """)
    assert out.splitlines() == ["spun True"], out


def test_exit_from_inside_compiled_code():
    out = run_snippet("""
        def leave(n):
            total = 0
            for i in range(n):
                total += i
                if i == 5:
                    print("exiting", total, flush=True)
                    sys.exit(0)
            return total

        co.compile(leave)
        leave(100)
        print("not reached")
    """)
    assert out.splitlines() == ["exiting 15"], out


# ----------------------------------------------------------------------------- misc

def _make_worker(k):
    src = "def work_%d(n):\n    t = %d\n    for i in range(n):\n        t += i * %d\n" \
          "    return t\n" % (k, k, k + 1)
    ns = {}
    exec(src, ns)
    return ns["work_%d" % k]


THREADED_COMPILE = """
    import threading
    from tests.test_lifecycle import _make_worker
    if FIRST_COMPILE == "before_threads":
        co.compile(_make_worker(99))
    funcs = [_make_worker(k) for k in range(8)]
    expected = [f(50) for f in funcs]
    errors, results = [], {}
    start = threading.Barrier(8)

    def compile_and_run(k):
        try:
            start.wait()
            co.compile(funcs[k])
            results[k] = funcs[k](50)
        except BaseException as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=compile_and_run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert [results[k] for k in range(8)] == expected
    assert all(co.is_compiled(f) for f in funcs)
    print("ok")
"""


@pytest.mark.parametrize("first_compile", ["in_threads", "before_threads"])
def test_compile_from_several_threads_at_once(first_compile):
    # a race shows only sometimes: several fresh processes (the first compile of a
    # process also sets up coconut's runtime)
    for _ in range(4):
        out = run_snippet('FIRST_COMPILE = "%s"\n' % first_compile
                          + textwrap.dedent(THREADED_COMPILE))
        assert out.splitlines() == ["ok"], out


EXEC_LOG = []


def exec_target():
    total = 0
    for i in range(5):
        total += i
    EXEC_LOG.append(total)
    return total


@in_subprocess()
def test_exec_of_compiled_code_object():
    co = get_coconut()
    co.compile(exec_target)
    exec(exec_target.__code__, globals())
    exec(exec_target.__code__, globals(), {"unused": 1})
    assert EXEC_LOG == [10, 10], EXEC_LOG
    assert eval(exec_target.__code__) == 10


@in_subprocess()
@pytest.mark.parametrize("rounds", [60])
def test_compiled_functions_garbage_collected(rounds):
    import gc
    co = get_coconut()
    for r in range(rounds):
        ns = {}
        exec("def tmp(x):\n    return [x, x * 2, {'k': x}]\n", ns)
        f = ns["tmp"]
        co.compile(f)
        assert f(r) == [r, 2 * r, {"k": r}]
        del f, ns
        if r % 50 == 0:
            gc.collect()
    gc.collect()


def forked_work(n):
    t = 0
    for i in range(n):
        t += i * i
    return t


@in_subprocess()
def test_compiled_code_runs_in_forked_child():
    import os
    co = get_coconut()
    co.compile(forked_work)
    expected = forked_work(100)
    pid = os.fork()
    if pid == 0:
        ok = forked_work(100) == expected and co.is_compiled(forked_work)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def _twice(x):
    return x * 2


@in_subprocess()
def test_a_compile_during_a_circular_import_is_tried_again():
    """The compiler's first import of the front end may come while the program imports
    a module the front end imports too (`dataclasses`, for the `bytecode` package):
    the ImportError of the partially initialized module is not the code's fault, so
    the code is not marked failed, and a later compile succeeds."""
    import os
    os.environ["COCONUT_CACHE"] = "0"
    coconut = get_coconut()
    from coconut.runtime import jit
    real, calls = jit._lower, []

    def mid_import(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ImportError("cannot import name 'dataclass' from partially initialized "
                              "module 'dataclasses' (most likely due to a circular import)")
        return real(*args, **kwargs)
    jit._lower = mid_import
    coconut.compile(_twice)
    assert not coconut.is_compiled(_twice)
    assert coconut.stats()["failed"] == 0
    coconut.compile(_twice)
    assert coconut.is_compiled(_twice) and _twice(21) == 42
