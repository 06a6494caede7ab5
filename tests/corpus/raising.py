"""RAISE_VARARGS (raise, raise X, raise X from Y, raise from None, bare re-raise),
try/except/else/finally, exception chaining and traceback line numbers, assert."""


class CustomError(Exception):
    def __init__(self, code):
        super().__init__("custom code %d" % code)
        self.code = code


def raise_class(kind):
    if kind == 0:
        raise ValueError
    if kind == 1:
        raise ValueError("with message")
    if kind == 2:
        raise CustomError(42)
    if kind == 3:
        raise KeyError("key")
    return "no raise"


def raise_non_exception(x):
    raise x


def raise_from(x):
    try:
        return 1 // x
    except ZeroDivisionError as e:
        raise ValueError("wrapped") from e


def raise_from_none(d):
    try:
        return d["k"]
    except KeyError:
        raise AttributeError("no k") from None


def raise_from_instance(x):
    raise RuntimeError("outer %s" % x) from TypeError("inner")


def implicit_context(x):
    try:
        raise KeyError(x)
    except KeyError:
        return undefined_name  # noqa: F821  NameError with __context__ KeyError


def bare_reraise(x):
    try:
        if x:
            raise IndexError("orig %d" % x)
    except IndexError:
        raise
    return "fine"


def reraise_after_handling(x):
    log = []
    try:
        try:
            [][x]
        except IndexError as e:
            log.append(str(e))
            raise
    except IndexError:
        log.append("outer")
    return log


def reraise_outside_handler():
    raise      # RuntimeError: No active exception to reraise


def catch_and_return(x):
    try:
        r = 10 // x
    except ZeroDivisionError as e:
        return "caught", str(e), e.__traceback__.tb_lineno
    else:
        return "else", r
    finally:
        x = "finally ran"


def finally_overrides(x):
    try:
        return 1 // x
    finally:
        if x == 0:
            return "finally return"  # noqa: B012


def finally_runs_on_exception(log):
    try:
        log.append("body")
        raise OSError(2, "no such file")
    finally:
        log.append("finally")


def except_tuple_and_order(x):
    try:
        if x == 0:
            raise KeyError("k")
        if x == 1:
            raise IndexError("i")
        if x == 2:
            raise TypeError("t")
        return "none"
    except (KeyError, IndexError) as e:
        return "lookup", type(e).__name__
    except Exception as e:  # noqa: BLE001
        return "other", str(e)


def exception_var_cleared(x):
    try:
        raise ValueError(x)
    except ValueError as e:
        got = e
    try:
        return e  # noqa: F821  UnboundLocalError: e is deleted after the handler
    except UnboundLocalError:
        return "e deleted", str(got)


def raise_in_loop(n):
    caught = []
    for i in range(n):
        try:
            if i % 3 == 0:
                raise ValueError(i)
            caught.append(i)
        except ValueError as e:
            caught.append(("E", e.args[0]))
    return caught


def raise_deep_in_loop(n):
    total = 0
    for i in range(n):
        total += i
        if i == n - 1:
            raise CustomError(total)
    return total


def exception_attrs(x):
    try:
        raise CustomError(x)
    except CustomError as e:
        return e.code, e.args, str(e), repr(e)


def assert_stmt(x):
    assert x > 0, "x must be positive, got %r" % (x,)
    assert x
    return x


def assert_no_message(x):
    assert x == 1
    return x


def nested_try(x):
    out = []
    try:
        try:
            out.append(1)
            if x:
                raise ValueError("inner")
        finally:
            out.append(2)
    except ValueError as e:
        out.append(str(e))
    finally:
        out.append(3)
    return out


def exception_in_handler(x):
    try:
        raise ValueError("first")
    except ValueError:
        return {}[x]     # KeyError with context ValueError


def exception_group(x):
    seen = []
    try:
        raise ExceptionGroup("grp", [ValueError(x), TypeError("t"), KeyError("k")])
    except* ValueError as eg:
        seen.append([str(e) for e in eg.exceptions])
    except* TypeError:
        seen.append("type")
    return seen     # not reached: the KeyError part propagates as an ExceptionGroup


def stop_iteration_from_next(it):
    return next(it)


def system_exit(code):
    raise SystemExit(code)


def base_exception_passthrough():
    try:
        raise KeyboardInterrupt("not really")
    except Exception:  # noqa: BLE001
        return "wrong handler"


CASES = [
    (raise_class, [(0,), (1,), (2,), (3,), (4,)]),
    (raise_non_exception, [(1,), ("s",), (ValueError,), (StopIteration(5),)]),
    (raise_from, [(0,), (2,)]),
    (raise_from_none, [({},), ({"k": 1},)]),
    (raise_from_instance, [(1,)]),
    (implicit_context, [(1,)]),
    (bare_reraise, [(0,), (3,)]),
    (reraise_after_handling, [(0,), (5,)]),
    (reraise_outside_handler, [()]),
    (catch_and_return, [(0,), (5,)]),
    (finally_overrides, [(0,), (1,)]),
    (finally_runs_on_exception, [([],)]),
    (except_tuple_and_order, [(0,), (1,), (2,), (3,)]),
    (exception_var_cleared, [(1,)]),
    (raise_in_loop, [(7,)]),
    (raise_deep_in_loop, [(5,), (0,)]),
    (exception_attrs, [(3,)]),
    (assert_stmt, [(1,), (0,), (-1,)]),
    (assert_no_message, [(1,), (2,)]),
    (nested_try, [(0,), (1,)]),
    (exception_in_handler, [(1,)]),
    (exception_group, [(1,)]),
    (stop_iteration_from_next, [(iter([]),), (iter([1]),)]),
    (system_exit, [(3,)]),
    (base_exception_passthrough, [()]),
]
