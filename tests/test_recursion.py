"""Deep recursion of compiled functions raises RecursionError (never crashes the process),
the process can recurse again afterwards, and compiled/interpreted mutual recursion works."""
import os
import sys

import pytest

from tests.support import in_subprocess, twin, compile_all


def down(n):
    return down(n + 1) + 1


def depth(n):
    if n == 0:
        return 0
    return depth(n - 1) + 1


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def probe(f, n):
    try:
        return f(f, n + 1)
    except RecursionError:
        return n


def is_even(n):          # compiled
    if n == 0:
        return True
    return is_odd(n - 1)


def is_odd(n):           # stays interpreted
    if n == 0:
        return False
    return is_even(n - 1)


def mutual_forever(n):   # compiled, goes through interpreted bounce()
    return bounce(n + 1)


def bounce(n):
    return mutual_forever(n + 1)


def _expect_recursion_error(func, *args):
    try:
        func(*args)
    except RecursionError as e:
        return e
    raise AssertionError("%s%r did not raise RecursionError" % (func.__name__, args))


@in_subprocess()
def test_infinite_recursion_raises_recursion_error():
    compile_all(down, depth, fib)
    e = _expect_recursion_error(down, 0)
    assert "maximum recursion depth exceeded" in str(e), str(e)
    # the traceback is made of down() frames at the right line
    tb = e.__traceback__.tb_next
    n = 0
    while tb is not None:
        assert tb.tb_frame.f_code is down.__code__
        assert tb.tb_lineno == down.__code__.co_firstlineno + 1
        n += 1
        tb = tb.tb_next
    assert n > 100, n
    # recursion works again, repeatedly
    for _ in range(3):
        _expect_recursion_error(down, 0)
        assert depth(500) == 500
        assert fib(18) == 2584


@in_subprocess()
def test_recursion_error_caught_inside_compiled_function():
    compile_all(probe)
    reached = probe(probe, 0)
    assert reached > 100, reached
    again = probe(probe, 0)
    assert again == reached, (reached, again)
    assert depth(300) == 300


@in_subprocess()
def test_depth_close_to_the_limit():
    compile_all(depth)
    limit = sys.getrecursionlimit()
    assert depth(limit // 2) == limit // 2
    _expect_recursion_error(depth, limit + 10)
    assert depth(limit // 2) == limit // 2


@in_subprocess()
def test_raised_recursion_limit():
    sys.setrecursionlimit(20000)
    compile_all(depth, down)
    assert depth(8000) == 8000
    _expect_recursion_error(down, 0)
    assert depth(8000) == 8000


@in_subprocess()
def test_mutual_recursion_compiled_and_interpreted():
    expected = [twin(is_even)(n) for n in range(0, 300, 7)]
    compile_all(is_even)
    assert [is_even(n) for n in range(0, 300, 7)] == expected
    assert is_even(400) is True and is_even(401) is False


@in_subprocess()
def test_mutual_infinite_recursion_compiled_and_interpreted():
    compile_all(mutual_forever)
    e = _expect_recursion_error(mutual_forever, 0)
    names = []
    tb = e.__traceback__.tb_next
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert len(names) > 100
    # frames alternate compiled / interpreted
    assert all(a != b for a, b in zip(names, names[1:])), names[:10]
    assert is_even(100) is True


def interpreted_down(n):   # never compiled
    return interpreted_down(n + 1) + 1


def _recursion_in_thread(func, stack_kb):
    import threading
    out = []

    def run():
        try:
            func(0)
        except RecursionError:
            out.append("RecursionError")
    threading.stack_size(stack_kb * 1024)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert out == ["RecursionError"], out


@in_subprocess()
@pytest.mark.parametrize("stack_kb", [256, 1024])
def test_compiled_recursion_in_thread_with_small_stack(stack_kb):
    # plain CPython 3.11 raises RecursionError here (Python-to-Python calls use no C stack)
    compile_all(down)
    _recursion_in_thread(down, stack_kb)


# Known limitation of the stock interpreter: with any PEP 523 hook installed, 3.11 stops
# inlining Python-to-Python calls, so each interpreted call nests
# _PyEval_EvalFrameDefault on the C stack; 1000 levels need more than 256 KB. The
# patched interpreter (cpython.patch) enters native code without a global hook, so
# there it passes. strict: this fails loudly if either changes.
def _entry():
    if os.environ.get("COCONUT_TEST_STUB"):
        return "hook"
    from coconut.runtime import hook
    return hook.ENTRY


_HOOK_C_STACK = pytest.mark.xfail(
    _entry() == "hook", strict=True,
    reason="PEP 523 hook disables call inlining: C stack per Python call")


@in_subprocess()
@pytest.mark.parametrize("stack_kb", [pytest.param(256, marks=_HOOK_C_STACK), 1024])
def test_interpreted_recursion_in_thread_with_small_stack_while_coconut_active(stack_kb):
    # coconut's frame hook is installed (something is compiled); a function that is not
    # compiled must still hit RecursionError, as in plain CPython, not overflow the C stack
    compile_all(depth)
    _recursion_in_thread(interpreted_down, stack_kb)
