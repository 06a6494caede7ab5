"""Inlining (coconut/lowering/inline.py): which calls are inlined, what the inlined code
is guarded by, how the compile cache treats a caller whose callee changed, the
budget, and the recompile without an inlined call that keeps leaving native code.
Differential cases (values, exceptions, tracebacks) are in tests/corpus/inlining.py;
these check the mechanism itself. All in children."""
import os
import sys
import tempfile
import textwrap

import pytest

from tests.support import get_coconut, in_subprocess, run_python

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("inlining is part of the real JIT", allow_module_level=True)


def add(a, b):
    return a + b


def loop_add(n):
    t = 0
    for i in range(n):
        t = add(t, i)
    return t


class Box:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    def __getitem__(self, i):
        return self.v * i

    def __setitem__(self, i, value):
        self.v = i + value


def loop_get(box, n):
    t = 0
    for i in range(n):
        t = t + box.get() + box[i]
        box[1] = i
    return t


def uses_frame(x):
    return sys._getframe(0).f_lineno + x


def loop_frame(n):
    t = 0
    for i in range(n):
        t = t + uses_frame(i)
    return t


def _warm(func, *args):
    for _ in range(20):
        func(*args)


def _ir(coconut, func) -> str:
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        coconut.dump(func, "ir")
    return buf.getvalue()


@in_subprocess()
def test_functions_methods_and_subscripts_are_inlined():
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    _warm(loop_add, 50)
    _warm(loop_get, Box(2), 10)
    ir = _ir(coconut, loop_add)
    assert "inlined add" in ir
    ir = _ir(coconut, loop_get)
    for name in ("Box.get", "Box.__getitem__", "Box.__setitem__"):
        assert f"inlined {name}" in ir, name
    before = coconut.stats()["inlined_calls"]            # (the dumps lowered them too)
    coconut.compile(loop_add)
    coconut.compile(loop_get)
    assert loop_add(1000) == sum(range(1000))
    box = Box(3)
    assert loop_get(box, 10) == 333 and box.v == 10
    st = coconut.stats()
    assert st["inlined_calls"] - before == 4, (before, st["inlined_calls"])
    assert st["deopts"] == {}, st["deopts"]


@in_subprocess()
def test_what_runs_python_code_or_looks_at_frames_is_not_inlined():
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    _warm(loop_frame, 10)
    assert "inlined uses_frame" not in _ir(coconut, loop_frame)
    from coconut.lowering import inline
    assert inline.refusal(loop_add) == "a loop"
    assert inline.refusal(len) == "not a Python function"


@in_subprocess()
def test_switched_off_and_budget():
    os.environ["COCONUT_CACHE"] = "0"
    os.environ["COCONUT_INLINE_BUDGET"] = "0"
    coconut = get_coconut()
    _warm(loop_add, 50)
    assert "inlined add" not in _ir(coconut, loop_add)


def test_switched_off_by_the_environment():
    code = textwrap.dedent("""
        import coconut, contextlib, io, sys
        sys.path.insert(0, %r)
        from tests import test_inline as t
        for _ in range(20): t.loop_add(50)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            coconut.dump(t.loop_add, "ir")
        print("inlined" in buf.getvalue())
    """ % os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for value, expected in (("0", "False"), ("1", "True")):
        r = run_python(["-c", code], env={**os.environ, "COCONUT_INLINE": value,
                                          "COCONUT_CACHE": "0"})
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == expected, (value, r.stdout, r.stderr)


PROGRAM = """
import coconut, sys

def idx(x, y):
    return y * 10 + x{change}

def walk(n):
    t = 0
    for i in range(n):
        t += idx(i, 1)
    return t

for _ in range(20):
    walk(10)
coconut.compile(walk)
st = coconut.stats()
print(walk(100), st["cache_hits"], st["cache_errors"], st["inlined_calls"])
"""


def test_a_cached_caller_is_not_loaded_when_its_callee_changed():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "prog.py")
        env = {**os.environ, "COCONUT_CACHE_DIR": os.path.join(tmp, "cache")}
        env.pop("COCONUT_CACHE", None)

        def run(change):
            with open(path, "w") as f:
                f.write(PROGRAM.format(change=change))
            r = run_python([path], env=env)
            assert r.returncode == 0, r.stderr
            return r.stdout.split()

        first = run("")
        assert first == [str(sum(i + 10 for i in range(100))), "0", "0", "1"], first
        again = run("")
        assert again == [first[0], "1", "0", "0"], again           # loaded from the cache
        changed = run(" + 1000")
        assert changed == [str(sum(i + 1010 for i in range(100))), "0", "1", "1"], changed


def flaky(x):
    return x + 1.5


def loop_flaky(values):
    t = 0
    for v in values:
        t = flaky(v)
    return t


@in_subprocess()
def test_an_inlined_call_that_keeps_leaving_is_recompiled_as_a_call():
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    floats = [0.5] * 10
    for _ in range(20):
        loop_flaky(floats)
    assert "inlined flaky" in _ir(coconut, loop_flaky)
    coconut.compile(loop_flaky)
    from fractions import Fraction
    others = [Fraction(1)] * 3          # the float speculation fails
    for _ in range(400):
        assert loop_flaky(others) == 2.5
    st = coconut.stats()
    assert st["recompiles"] >= 1, st
    name = next(k for k in st["recompiled"] if k.startswith("loop_flaky "))
    call = next(i.offset // 2 for i in __import__("dis").get_instructions(loop_flaky)
                if i.opname == "CALL")
    assert call in st["recompiled"][name]["avoid"], st["recompiled"]
    assert loop_flaky(floats) == 2.0


def cold(x):
    if x < 0:                       # never taken while the caller warms up
        return len(str(x)) + 10 // (x + 5)
    return x * 2


def loop_cold(values):
    t = 0
    for v in values:
        t = t + cold(v)
    return t


@in_subprocess()
def test_a_path_the_interpreter_never_ran_does_not_stop_inlining():
    """A callee whose only code that may run Python code (a call, a generic
    operation) is on a path the interpreter never took since quickening it is
    inlined; that path deopts (an uncommon trap), with values, exceptions and
    traceback lines as interpreted, and a site that keeps taking it is recompiled
    as a call."""
    import traceback
    from tests.harness import clone_function
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    _warm(loop_cold, [1, 2, 3])
    assert "inlined cold" in _ir(coconut, loop_cold)
    twin = clone_function(loop_cold)
    coconut.compile(loop_cold)

    def outcome(f, values):
        try:
            return f(values)
        except Exception as e:
            return (type(e).__name__, str(e),
                    [(t.name, t.lineno, t.line) for t in traceback.extract_tb(e.__traceback__)][1:])
    for values in ([1, 2, 3], [1, -3, 4], [-1, -2], [2, -5, 1]):    # -5: ZeroDivisionError
        assert outcome(loop_cold, values) == outcome(twin, values), values
    st = coconut.stats()
    assert st["inlined_calls"] >= 1 and sum(st["deopts"].values()) >= 1, st
    for _ in range(400):
        assert loop_cold([-1, -2, -3]) == twin([-1, -2, -3])
    assert coconut.stats()["recompiles"] >= 1


@in_subprocess()
def test_an_inlined_callee_that_left_native_code_returns_to_native_code():
    """Where an inlined callee leaves native code, its frame finishes the call in the
    interpreter and the caller goes on natively with the result, as after a call:
    later iterations of its loop take the inlined path again (each exit counted at the
    call site), with the interpreter's results."""
    from tests.harness import clone_function
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    _warm(loop_cold, [1, 2, 3])
    twin = clone_function(loop_cold)
    coconut.compile(loop_cold)

    def exits():
        return sum(n for r, n in coconut.stats()["deopts"].items()
                   if r.startswith("inlined cold left native code"))
    before = exits()
    assert loop_cold([-1, 2, -2, 3, -3]) == twin([-1, 2, -2, 3, -3])
    assert exits() - before == 3, coconut.stats()["deopts"]
    assert loop_cold([5, 6]) == twin([5, 6]) and exits() - before == 3


looked = []


class _Watching(type):
    """A metaclass whose attributes record being read (the compiler must read classes
    through the C slots, running no code of the program)."""

    @property
    def __mro__(cls):
        looked.append("__mro__")
        return type.__dict__["__mro__"].__get__(cls)

    @property
    def __flags__(cls):
        looked.append("__flags__")
        return 0

    def __getattr__(cls, name):
        looked.append(name)
        raise AttributeError(name)


class Watched(metaclass=_Watching):
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v


def loop_watched(n):
    w = Watched(2)
    t = 0
    for i in range(n):
        t = t + w.get()
    return t


@in_subprocess()
def test_the_compiler_runs_no_code_of_the_program_to_find_a_callee():
    coconut = get_coconut()
    os.environ["COCONUT_CACHE"] = "0"
    _warm(loop_watched, 10)
    looked.clear()
    assert "inlined Watched.get" in _ir(coconut, loop_watched)
    assert looked == [], looked


def outer_and_inner(n):
    t = add(1, 2)
    for i in range(n):
        t = add(t, i)
    return t


@in_subprocess()
def test_the_budget_goes_to_the_innermost_loop_first():
    # A budget for one copy of `add`: the analysis meets the call before the loop
    # first, and gave it the budget; Callees.reprioritize gives it to the loop's call.
    import dis
    import io
    import re
    os.environ["COCONUT_CACHE"] = "0"
    coconut = get_coconut()
    from coconut.lowering import inline
    _warm(outer_and_inner, 20)
    inline.BUDGET = len(inline.Callees(outer_and_inner.__code__).callee_ir(add, 2)[1].blocks)
    calls = [i.offset // 2 for i in dis.get_instructions(outer_and_inner)
             if i.opname == "CALL"]
    outer, inner = calls[0], calls[-1]
    out = io.StringIO()
    coconut.dump(outer_and_inner, "ir", file=out)
    entering, block = [], None
    for line in out.getvalue().splitlines():
        m = re.match(r"^(\S+):", line)
        if m:
            block = m.group(1)
        elif re.search(r"goto in\d+_", line) and not block.startswith("in"):
            entering.append(block.split(".")[0])
    assert entering == [f"b{inner}"], (entering, outer, inner)
    assert outer_and_inner(10) == 48
