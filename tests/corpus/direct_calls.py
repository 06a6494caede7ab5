"""Calls native code makes itself (runtime/calls.py: coconut_call pushes the callee's
frame, runs it through the hook, clears it): compiled callers of compiled callees (the
helpers come first in CASES, so they are compiled when later cases call them) and of
interpreted ones. Recursion at the limit, exceptions through several compiled frames
(every traceback line), callees rebound while the caller runs (`__code__`, a global,
`__defaults__`), frames seen from the callee (`sys._getframe(1)`, `f_back`, a frame
object that outlives the call), generators made by a direct call, a tracer set in a
callee, KeyboardInterrupt and a thread switch deep in a chain, bound methods."""
import abc
import signal
import sys
import threading
import traceback


def countdown(n):
    if n == 0:
        return 0
    return 1 + countdown(n - 1)


def raise_at(n):
    if n == 0:
        raise KeyError("deep", n)
    return raise_at(n - 1) * 2


def scaled(a, b=5, c=7):
    return a * b + c


def keep_frame(x):
    y = x * 2
    return sys._getframe()


def who_called(depth=1):
    f = sys._getframe(depth)
    return f.f_code.co_name, f.f_lineno, sorted(k for k in f.f_locals if not k.startswith("_"))


def doubler(x):
    return 2 * x


def tripler(x):
    return 3 * x


def numbers(n):
    for i in range(n):
        yield i * i


class Counter:
    def __init__(self, start=0):
        self.value = start

    def bump(self, by=1):
        self.value += by
        return self.value


def recursion_limit_hit(n):
    try:
        return countdown(n)
    except RecursionError as e:
        return "RecursionError", str(e)


def recursion_near_limit():
    depth = 0
    while True:                          # the deepest countdown that still works
        try:
            countdown(depth + 10)
        except RecursionError:
            return depth > 100
        depth += 10


def exception_through_frames(n):
    try:
        return raise_at(n)
    except KeyError as e:
        return e.args, [(f.name, f.lineno) for f in traceback.extract_tb(e.__traceback__)]


def exception_escapes(n):
    return raise_at(n) + 1


def rebind_code_midway(n):
    saved = doubler.__code__
    out = []
    try:
        for i in range(n):
            if i == n // 2:
                doubler.__code__ = tripler.__code__
            out.append(doubler(i))
    finally:
        doubler.__code__ = saved
    return out


def rebind_global_midway(n):
    global doubler
    saved = doubler
    out = []
    try:
        for i in range(n):
            if i == n // 2:
                doubler = tripler
            out.append(doubler(i))
    finally:
        doubler = saved
    return out


def defaults_changed_midway(n):
    saved = scaled.__defaults__
    out = []
    try:
        for i in range(n):
            if i == n // 3:
                scaled.__defaults__ = (10, 1)
            if i == 2 * n // 3:
                scaled.__defaults__ = (1,)
            out.append(scaled(i))
            out.append(scaled(i, 2))
        scaled.__defaults__ = None
        out.append(scaled(1, 2, 3))
        out.append(scaled(1))
    finally:
        scaled.__defaults__ = saved
    return out


def frames_from_callee(v):
    marker = v
    seen = who_called()
    frame = keep_frame(v)            # a frame object that outlives its call
    back = frame.f_back
    return (seen, marker, frame.f_code.co_name, frame.f_lineno,
            sorted(frame.f_locals.items()), back.f_code.co_name if back else None,
            back is sys._getframe())


def frames_kept_in_loop(n):
    kept = []
    for i in range(n):
        kept.append(keep_frame(i))
    return [(f.f_locals["x"], f.f_locals["y"], f.f_back is sys._getframe()) for f in kept]


def generator_from_direct_call(n):
    g = numbers(n)
    first = next(g)
    return first, list(g), sum(numbers(n)), type(numbers(1)).__name__


def _tracer(log):
    def trace(frame, event, arg):
        if frame.f_code.co_filename == __file__:
            log.append((frame.f_code.co_name, event, frame.f_lineno))
        return trace
    return trace


def start_tracing(log):
    sys.settrace(_tracer(log))
    return len(log)


def tracer_set_in_callee(n):
    log = []
    try:
        start_tracing(log)
        total = 0
        for i in range(n):
            total += doubler(i)
    finally:
        sys.settrace(None)
    return total, log


def interrupt_at(depth):
    if depth == 0:
        signal.raise_signal(signal.SIGINT)
        return "not interrupted"
    return interrupt_at(depth - 1)


def keyboard_interrupt_mid_chain(depth):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return interrupt_at(depth)
    except KeyboardInterrupt as e:
        return "KeyboardInterrupt", [(f.name, f.lineno) for f in traceback.extract_tb(e.__traceback__)]
    finally:
        signal.signal(signal.SIGINT, previous)


def switch_threads_at(depth, log):
    if depth == 0:
        t = threading.Thread(target=log.append, args=("thread",))
        t.start()
        t.join()
        log.append("joined")
        return len(log)
    log.append(depth)
    return switch_threads_at(depth - 1, log) + 1


def thread_switch_mid_chain(depth):
    log = []
    return switch_threads_at(depth, log), log


def bound_methods(n):
    c = Counter(n)
    bump = c.bump                    # a bound method called as a plain callable
    out = [bump(), bump(2), c.bump(), c.bump(by=3), Counter().bump()]
    return out, c.value


def wrong_arguments(x):
    out = []
    for args in ((), (1, 2, 3, 4), (x,)):
        try:
            out.append(scaled(*args) if len(args) != 1 else scaled(args[0]))
        except TypeError as e:
            out.append(str(e))
    try:
        doubler()
    except TypeError as e:
        out.append(str(e))
    try:
        doubler(1, 2)
    except TypeError as e:
        out.append(str(e))
    return out


# -- classes made by coconut_call (object.__new__, then a Python __init__) -------------
class Plain:
    def __init__(self, x, y=2):
        self.x, self.y = x, y


class Inherits(Plain):
    pass


class Starred:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, sorted(kwargs.items())


class ReturnsValue:
    def __init__(self, v):
        return v


class InitRaises:
    log = []

    def __init__(self, v):
        if v < 0:
            raise ValueError("negative: %d" % v)
        self.v = v

    def __del__(self):
        InitRaises.log.append(("del", getattr(self, "v", None)))


class Abstract(abc.ABC):
    @abc.abstractmethod
    def area(self):
        pass

    def __init__(self):
        self.made = True


class WithNew:
    def __new__(cls, v):
        obj = super().__new__(cls)
        obj.from_new = v
        return obj

    def __init__(self, v):
        self.from_init = v


class Meta(type):
    def __call__(cls, *args):
        return ("meta", args)


class WithMeta(metaclass=Meta):
    def __init__(self, v):
        self.v = v


class CallableInit:
    def __init__(self, v):
        self.v = v


class _InitObject:
    def __call__(self, obj, v):
        obj.v = ("callable", v)


class NotAFunctionInit:
    __init__ = _InitObject()


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


class Nested:
    made = [0]

    def __init__(self, depth):
        Nested.made[0] += 1
        self.child = Nested(depth - 1) if depth else None


def construct_classes(v):
    out = []
    p = Plain(v)
    out.append((p.x, p.y, Plain(v, 5).y, Plain(y=1, x=v).x))
    i = Inherits(v)
    out.append((type(i).__name__, i.x, i.y))
    st = Starred(v, v, k=v)
    out.append((st.args, st.kwargs, Starred().args))
    w = WithNew(v)
    out.append((w.from_new, w.from_init))
    out.append(WithMeta(v))
    out.append(NotAFunctionInit(v).v)
    sl = Slotted(v, [v])
    out.append((sl.a, sl.b))
    return out


def constructor_errors(v):
    out = []
    for make in (lambda: ReturnsValue(v), lambda: ReturnsValue(None), lambda: InitRaises(v),
                 lambda: Abstract(), lambda: Plain(), lambda: Plain(1, 2, 3), lambda: Slotted(v),
                 lambda: Inherits(v, v, v)):
        try:
            made = make()
            out.append(("made", type(made).__name__))
        except (TypeError, ValueError) as e:
            out.append((type(e).__name__, str(e),
                        [(f.name, f.lineno) for f in traceback.extract_tb(e.__traceback__)][1:]))
    del made
    log = list(InitRaises.log)
    InitRaises.log.clear()
    return out, log


def init_changed_midway(n):
    out = []
    saved = CallableInit.__init__
    try:
        for i in range(n):
            if i == n // 2:
                CallableInit.__init__ = lambda self, v: setattr(self, "v", ("new", v))
            out.append(CallableInit(i).v)
        del CallableInit.__init__
        try:
            CallableInit(1)
        except TypeError as e:
            out.append(str(e))
        out.append(type(CallableInit()).__name__)
    finally:
        CallableInit.__init__ = saved
    return out


def _construct(depth, out):
    Nested.made[0] = 0
    try:
        out.append(Nested(depth).child is not None)
    except RecursionError as e:
        out.append(("RecursionError", str(e)))
    out.append(Nested.made[0])


def construct_until_recursion_error(depth):
    """In a thread of its own: the depth it starts at is the same in every run (which
    check fails first, the call's or the frame's, and so the message, depend on it)."""
    out = []
    t = threading.Thread(target=_construct, args=(depth, out))
    t.start()
    t.join()
    return out


CASES = [
    (countdown, [(0,), (30,)]),
    (raise_at, [(0,), (3,)]),
    (scaled, [(1,), (2, 3), (1, 2, 3)]),
    (keep_frame, [(4,)]),
    (doubler, [(5,)]),
    (tripler, [(5,)]),
    (who_called, [()]),
    (start_tracing, [([],)]),
    (interrupt_at, [(1,)]),
    (switch_threads_at, [(0, [])]),
    (recursion_limit_hit, [(50,), (100000,)]),
    (recursion_near_limit, [()]),
    (exception_through_frames, [(0,), (4,)]),
    (exception_escapes, [(3,)]),
    (rebind_code_midway, [(10,)]),
    (rebind_global_midway, [(10,)]),
    (defaults_changed_midway, [(9,)]),
    (frames_from_callee, [(1,), ("v",)]),
    (frames_kept_in_loop, [(4,)]),
    (generator_from_direct_call, [(5,)]),
    (tracer_set_in_callee, [(3,)]),
    (keyboard_interrupt_mid_chain, [(0,), (3,)]),
    (thread_switch_mid_chain, [(3,)]),
    (bound_methods, [(2,)]),
    (wrong_arguments, [(3,)]),
    (construct_classes, [(1,), ("s",)]),
    (constructor_errors, [(1,), (-1,)]),
    (init_changed_midway, [(6,)]),
    (Nested.__init__, [(Plain(1), 0)]),        # compiled: every level through coconut_call
    (_construct, [(3, [])]),
    (construct_until_recursion_error, [(10,), (100000,)]),
]
