"""Frames of compiled functions look like interpreter frames: sys._getframe(), f_code,
f_locals, f_lineno, f_back, locals(), tracebacks, inspect.stack(), calls from C.
Bodies run in child processes; expected line numbers come from `# marker` comments."""
import functools
import inspect
import sys

from tests.support import in_subprocess, line_of, twin, compile_all


# ----------------------------------------------------------------------------- subjects

def own_frame(a, b):
    c = a + b
    loc, lineno = dict(sys._getframe().f_locals), sys._getframe().f_lineno  # own-frame-line
    f = sys._getframe()
    return f, f.f_code, loc, lineno, f.f_back, f.f_globals


def peek_caller(depth=1):
    """Interpreted helper: what the (compiled) caller's frame looks like right now."""
    f = sys._getframe(depth)
    return f.f_code.co_name, f.f_lineno, {k: v for k, v in f.f_locals.items() if k != "seen"}, \
        f.f_lasti


def loop_with_peeks(n):
    seen = []
    total = 0
    x = 1.5
    for i in range(n):
        total += i * 2
        x = x * 2
        seen.append(peek_caller())  # peek-line
    return seen, total


def locals_builtin(a):
    b = [a]
    c = a * 3
    return locals()


def keeps_frame(v):
    f = sys._getframe()
    w = v * 2
    for i in range(3):
        w += i
    return f  # keeps-frame-return


def level_c(x):
    return 10 // x  # level-c-line


def level_b(x):
    y = x - 1
    return level_c(y) + 1  # level-b-line


def level_a(x):
    t = 0
    for i in range(2):
        t += level_b(x - i)  # level-a-line
    return t


def stack_probe():
    return [(fi.function, fi.lineno) for fi in inspect.stack()[:4]]


def stack_b(x):
    r = stack_probe()  # stack-b-line
    return r


def stack_a(x):
    r = stack_b(x)  # stack-a-line
    return r


def from_c_key(v):
    f = sys._getframe()
    back = f.f_back
    if v == 3:
        raise KeyError(v)  # from-c-raise
    return -v, back.f_code.co_name if back is not None else None


def from_c_reduce(acc, v):
    if v is None:
        raise TypeError("reduce hit None")  # reduce-raise
    return acc + v


# ----------------------------------------------------------------------------- tests

@in_subprocess()
def test_getframe_code_locals_lineno_back():
    compile_all(own_frame)
    f, code, loc, lineno, back, glob = own_frame(2, 5)
    assert code is own_frame.__code__
    assert f.f_code is own_frame.__code__
    assert loc == {"a": 2, "b": 5, "c": 7}, loc
    assert lineno == line_of(own_frame, "# own-frame-line")
    this = sys._getframe()
    assert back is this, (back, this)
    assert glob is own_frame.__globals__


@in_subprocess()
def test_callee_sees_live_locals_and_line_of_compiled_caller():
    compile_all(loop_with_peeks)
    seen, total = loop_with_peeks(4)
    ref_seen, ref_total = twin(loop_with_peeks)(4)
    assert total == ref_total
    line = line_of(loop_with_peeks, "# peek-line")
    for k, (name, lineno, loc, lasti) in enumerate(seen):
        assert name == "loop_with_peeks"
        assert lineno == line, (k, lineno, line)
        assert loc["i"] == k and loc["total"] == sum(2 * j for j in range(k + 1)), loc
        assert loc["x"] == 1.5 * 2 ** (k + 1), loc
        assert loc["n"] == 4, loc
    assert seen == ref_seen


@in_subprocess()
def test_locals_builtin():
    compile_all(locals_builtin)
    assert locals_builtin(4) == {"a": 4, "b": [4], "c": 12}


@in_subprocess()
def test_frame_kept_after_return():
    compile_all(keeps_frame)
    f = keeps_frame(5)
    ref = twin(keeps_frame)(5)
    assert f.f_code is keeps_frame.__code__
    assert {k: v for k, v in f.f_locals.items() if k != "f"} == {"v": 5, "w": 13, "i": 2}, \
        dict(f.f_locals)
    assert f.f_locals["f"] is f
    assert f.f_lineno == ref.f_lineno == line_of(keeps_frame, "# keeps-frame-return")
    assert f.f_back is ref.f_back is sys._getframe()


def _tb_entries(exc):
    out = []
    tb = exc.__traceback__
    while tb is not None:
        out.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    return out


@in_subprocess()
def test_traceback_through_compiled_frames():
    # compiled level_a -> compiled level_b -> interpreted level_c raises
    compile_all(level_a, level_b)
    try:
        level_a(2)  # call-line
    except ZeroDivisionError as e:
        entries = _tb_entries(e)
    else:
        raise AssertionError("no ZeroDivisionError")
    me = sys._getframe().f_code.co_name
    expected = [(me, line_of(test_traceback_through_compiled_frames.__wrapped__,
                             "# call-line")),
                ("level_a", line_of(level_a, "# level-a-line")),
                ("level_b", line_of(level_b, "# level-b-line")),
                ("level_c", line_of(level_c, "# level-c-line"))]
    assert entries == expected, (entries, expected)


@in_subprocess()
def test_traceback_when_all_levels_compiled():
    compile_all(level_a, level_b, level_c)
    try:
        level_a(1)
    except ZeroDivisionError as e:
        entries = _tb_entries(e)[1:]
    else:
        raise AssertionError("no ZeroDivisionError")
    assert entries == [("level_a", line_of(level_a, "# level-a-line")),
                       ("level_b", line_of(level_b, "# level-b-line")),
                       ("level_c", line_of(level_c, "# level-c-line"))], entries
    # and the frames in the traceback show the values at the time of the error
    try:
        level_a(2)
    except ZeroDivisionError as e:
        tb = e.__traceback__.tb_next
        assert tb.tb_frame.f_code is level_a.__code__
        assert tb.tb_frame.f_locals["i"] == 1, tb.tb_frame.f_locals
        assert tb.tb_frame.f_locals["t"] == 10 // 1 + 1, tb.tb_frame.f_locals
        assert tb.tb_next.tb_frame.f_locals == {"x": 1, "y": 0}, tb.tb_next.tb_frame.f_locals


@in_subprocess()
def test_inspect_stack():
    compile_all(stack_a, stack_b)
    got = stack_a(0)
    me = "test_inspect_stack"
    assert got[0] == ("stack_probe", line_of(stack_probe, "inspect.stack()[:4]]"))
    assert got[1] == ("stack_b", line_of(stack_b, "# stack-b-line")), got
    assert got[2] == ("stack_a", line_of(stack_a, "# stack-a-line")), got
    assert got[3][0] == me, got


@in_subprocess()
def test_called_from_c_map_sorted():
    compile_all(from_c_key)
    me = sys._getframe().f_code.co_name
    assert list(map(from_c_key, [1, 2])) == [(-1, me), (-2, me)]
    assert sorted([2, 1, 5], key=from_c_key) == [5, 2, 1]
    try:
        sorted([1, 3, 2], key=from_c_key)  # sorted-call
    except KeyError as e:
        entries = _tb_entries(e)
    else:
        raise AssertionError("no KeyError")
    assert entries == [(me, line_of(test_called_from_c_map_sorted.__wrapped__,
                                    "# sorted-call")),
                       ("from_c_key", line_of(from_c_key, "# from-c-raise"))], entries


@in_subprocess()
def test_called_from_c_reduce():
    compile_all(from_c_reduce)
    assert functools.reduce(from_c_reduce, [1, 2, 3], 10) == 16
    try:
        functools.reduce(from_c_reduce, [1, None])
    except TypeError as e:
        entries = _tb_entries(e)
        assert str(e) == "reduce hit None"
    else:
        raise AssertionError("no TypeError")
    assert entries[-1] == ("from_c_reduce", line_of(from_c_reduce, "# reduce-raise")), entries
    assert len(entries) == 2, entries
