"""Exception handlers run natively (lowering/handlers.py): an error at an instruction a
handler of the same frame covers unwinds in native code (traceback entry, stack popped
to the handler's level, `lasti` pushed for `with` and cleanup handlers, the exception
normalized and pushed) and the handler runs natively: PUSH_EXC_INFO, CHECK_EXC_MATCH,
POP_EXCEPT, RERAISE into a handler of the frame, WITH_EXCEPT_START,
LOAD_ASSERTION_ERROR. Cases: unboxed locals that the handler reads, handlers in loops,
sys.exc_info and __context__ chains, the caught exception's traceback, invalid except
classes (checked before the match), `with` blocks whose __exit__ swallows, re-raises or
raises, a __del__ run by the unwind's pops that reads the frame, generators that catch
around a yield, and exceptions that are not caught (the interpreter unwinds)."""
import sys


def catch_in_loop(n, d):
    total = 0.0
    misses = 0
    for i in range(n):
        try:
            total += d[i % 7]
        except KeyError:
            misses += 1
            total -= 0.5
    return total, misses


def handler_reads_unboxed(xs):
    acc = 0
    i = 0
    f = 1.5
    try:
        for x in xs:
            acc += x * 2
            f *= 2.0
            i += 1
            if acc > 100:
                raise ValueError(acc)
    except ValueError as e:
        return ("caught", acc, i, f, e.args)
    return acc, i, f


def nested_exc_info(x):
    out = []
    try:
        raise KeyError(x)
    except KeyError:
        out.append(repr(sys.exc_info()[1]))
        try:
            raise ValueError("inner")
        except ValueError as e:
            out.append(repr(sys.exc_info()[1]))
            out.append(repr(e.__context__))
        out.append(repr(sys.exc_info()[1]))
    out.append(sys.exc_info())
    return out


def _raise_value(x):
    if x:
        raise ValueError(x)
    return x


def caught_traceback(x):
    try:
        y = _raise_value(x)
    except ValueError as e:
        tb = e.__traceback__
        lines = []
        while tb is not None:
            code = tb.tb_frame.f_code
            # (not tb_lasti: with any frame hook installed, 3.11 names a failed call's
            # own instruction, not its last inline cache entry as its inlined calls do)
            lines.append((code.co_name, tb.tb_lineno - code.co_firstlineno))
            tb = tb.tb_next
        return lines, e.__traceback__.tb_frame is sys._getframe()
    return y


def bad_except_class(x, cls):
    try:
        raise ValueError(x)
    except cls:
        return "caught"


class _Ctx:
    def __init__(self, swallow, boom):
        self.swallow, self.boom, self.seen = swallow, boom, None

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        self.seen = (t, type(v), tb is not None, sys.exc_info()[0])
        if self.boom:
            raise RuntimeError("from __exit__")
        return self.swallow


def with_exit(swallow, boom, fail):
    c = _Ctx(swallow, boom)
    r = 0
    try:
        with c:
            r = 1
            if fail:
                raise KeyError("body")
            r = 2
    except (KeyError, RuntimeError) as e:
        return "outer", repr(e), repr(e.__context__), c.seen, r
    return "done", c.seen, r


_LOG = []


class _Noisy:
    """Its __del__ reads the frame that drops it (the function's locals, its line)."""

    def __del__(self):
        f = sys._getframe(1)
        _LOG.append((f.f_code.co_name, f.f_lineno - f.f_code.co_firstlineno,
                     sorted(k for k in f.f_locals if not k.startswith("_"))))


def unwind_pops(x):
    _LOG.clear()
    k = 2.5 * x
    try:
        v = [_Noisy(), 1 / x]
    except ZeroDivisionError:
        return "caught", k, list(_LOG)
    return v[1], k


def handler_in_loop_typed(n):
    errors = 0
    s = 0
    for i in range(n):
        try:
            s += 10 // (i % 4)
        except ZeroDivisionError:
            errors += 1
            s -= i
        else:
            s += 1
        finally:
            s *= 1
    return s, errors


def assert_in_loop(xs):
    bad = []
    for x in xs:
        try:
            assert x >= 0, x
        except AssertionError as e:
            bad.append(e.args)
    return bad


def uncaught_after_handler(x):
    try:
        return {}[x]
    except KeyError:
        pass
    return [][x]            # IndexError out of the frame


def gen_catch(xs):
    def gen(xs):
        for x in xs:
            try:
                yield 10 // x
            except ZeroDivisionError as e:
                yield ("zero", str(e))
    return list(gen(xs))


def catch_and_continue_with_exception_attrs(n):
    got = []
    for i in range(n):
        try:
            if i % 2:
                raise OSError(i, "odd")
            got.append(i)
        except OSError as e:
            got.append((e.errno, e.strerror, e.__traceback__.tb_lineno))
    return got


class _NotAnInstance(Exception):
    def __new__(cls, *args):
        return 5


class _Cause(Exception):
    pass


def raise_forms_caught(kind):
    try:
        if kind == 0:
            raise KeyError
        if kind == 1:
            raise _NotAnInstance
        if kind == 2:
            raise ValueError("v") from _Cause
        if kind == 3:
            raise ValueError("v") from None
        if kind == 4:
            raise 42
        if kind == 5:
            raise ValueError("v") from 42
        if kind == 6:
            raise                       # no active exception: RuntimeError
        if kind == 7:
            raise _Cause("c") from KeyError("k")
    except Exception as e:
        return (type(e).__name__, str(e), repr(e.__cause__), e.__suppress_context__,
                repr(e.__context__), e.__traceback__.tb_lineno)
    return "not raised"


def bare_reraise_caught_in_frame(x):
    log = []
    try:
        try:
            {}[x]
        except KeyError as e:
            log.append(("inner", repr(e)))
            raise
    except KeyError as e:
        tb = e.__traceback__
        lines = []
        while tb is not None:
            lines.append(tb.tb_lineno - tb.tb_frame.f_code.co_firstlineno)
            tb = tb.tb_next
        log.append(("outer", repr(e), lines))
    return log


def raise_in_loop_caught(n):
    out = 0.0
    for i in range(n):
        try:
            if i % 3 == 0:
                raise ValueError
            out += i * 0.5
        except ValueError:
            out -= 1.0
    return out


def with_inside_try(fail, swallow):
    c = _Ctx(swallow, False)
    log = []
    try:
        with c:
            log.append("body")
            if fail:
                {}["missing"]
            log.append("after")
    except KeyError as e:
        f = sys._getframe()
        log.append(("caught", repr(e), e.__traceback__.tb_lineno - f.f_code.co_firstlineno,
                    [t.tb_lineno for t in _walk(e.__traceback__)] == [e.__traceback__.tb_lineno]))
    log.append(c.seen)
    return log


def _walk(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def except_star_in_loop(n):
    """except* (CHECK_EG_MATCH, PREP_RERAISE_STAR) deopts: the interpreter runs the
    handler, and the rest of that call."""
    seen = []
    total = 0.0
    for i in range(n):
        total += 0.5
        try:
            raise ExceptionGroup("g", [ValueError(i), KeyError(i)])
        except* ValueError as eg:
            seen.append(("v", len(eg.exceptions), total))
        except* KeyError:
            seen.append("k")
    return seen


CASES = [
    (catch_in_loop, [(20, {0: 1.0, 2: 2.5, 3: 4.0}), (5, {})]),
    (handler_reads_unboxed, [([1, 2, 3],), ([10, 20, 30, 40],)]),
    (nested_exc_info, [(1,)]),
    (caught_traceback, [(0,), (1,)]),
    (bad_except_class, [(1, ValueError), (1, (KeyError, ValueError)), (1, 5),
                        (1, (KeyError, 5)), (1, (ValueError, 5)), (1, KeyError),
                        (1, Exception), (1, ())]),
    (with_exit, [(False, False, False), (True, False, True), (False, False, True),
                 (False, True, True), (True, True, False)]),
    (unwind_pops, [(0,), (2,)]),
    (handler_in_loop_typed, [(9,), (0,)]),
    (assert_in_loop, [([1, -2, 3, -4],)]),
    (uncaught_after_handler, [(0,)]),
    (gen_catch, [([1, 0, 5, 0],)]),
    (catch_and_continue_with_exception_attrs, [(5,)]),
    (raise_forms_caught, [(k,) for k in range(9)]),
    (bare_reraise_caught_in_frame, [(1,)]),
    (raise_in_loop_caught, [(10,)]),
    (with_inside_try, [(False, False), (True, False), (True, True)]),
    (except_star_in_loop, [(3,)]),
]
