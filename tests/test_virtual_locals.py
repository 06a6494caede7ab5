"""Locals kept unboxed in C variables are exact wherever the frame can be seen.

The optimizing tier keeps float and int locals in C variables between observation
points (docs/architecture.md, "The optimizing tier"). Each test runs a loop whose locals
are unboxed and looks at the frame from one of the places that can: a signal handler
(the eval breaker), a tracer switched on mid-loop, another thread (which runs only when
this one gives up the GIL at the eval breaker), a traceback, a frame object kept
after the call. Each compares with the same run interpreted, and checks that the
function really has unboxed locals (the IR names their homes)."""
import sys

from tests.support import in_subprocess, get_coconut

WATCHED = ("s", "k", "i", "f")


def snapshot(frame):
    return sorted((k, v) for k, v in frame.f_locals.items() if k in WATCHED)


def has_unboxed_locals(func):
    import io
    import re
    out = io.StringIO()
    get_coconut().dump(func, "ir", file=out)
    return bool(re.search(r"\bl\d+[fi]\b", out.getvalue()))


def twins(source, name):
    """The function `name` defined by `source`, twice: (interpreted, compiled)."""
    ns1, ns2 = {}, {}
    exec(source, ns1)
    exec(source, ns2)
    co = get_coconut()
    compiled = ns2[name]
    for _ in range(20):                      # warm up: the interpreter's feedback
        compiled(50)
    co.compile(compiled)
    assert co.is_compiled(compiled)
    assert has_unboxed_locals(compiled), "no unboxed locals: the test tests nothing"
    return ns1[name], compiled


PURE_LOOP = '''
def loop(n):
    s = 0.0
    k = 0
    for i in range(n):
        s += 0.5
        k += i
        f = s * 2.0
    return s, k
'''

LOOP = '''
def loop(n, hook=None):
    s = 0.0
    k = 0
    for i in range(n):
        s += i * 0.5
        k += i
        f = s * 2.0
        if hook is not None and i == n // 2:
            hook()
    return s, k
'''


@in_subprocess()
def test_signal_handler_sees_exact_locals():
    import signal
    seen = []

    def handler(signum, frame):
        # (a signal that comes after the loop returned, before the timer is stopped,
        # is handled in this test's own frame: not the one looked at)
        if frame.f_code.co_name == "loop":
            seen.append(snapshot(frame))
    signal.signal(signal.SIGALRM, handler)
    # The handler runs at the eval breaker of the loop's back edge: set the signal
    # from inside the loop (a no-op call would be an observation point itself, so the
    # signal is raised by a timer instead, at an arbitrary iteration).
    interp, compiled = twins(PURE_LOOP, "loop")
    for func in (interp, compiled):
        seen.clear()
        signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)
        try:
            result = func(3_000_000)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
        assert seen, "the signal never arrived"
        for snap in seen:
            d = dict(snap)
            if not d:
                continue                       # (before the loop started)
            assert set(d) == {"s", "k", "i", "f"}, (func, snap)
            i = d["i"]
            # what the interpreter shows at the back edge after iteration i
            assert d["s"] == (i + 1) * 0.5, (func, snap)
            assert d["k"] == i * (i + 1) // 2, (func, snap)
            assert d["f"] == d["s"] * 2.0, (func, snap)
        assert result == (1_500_000.0, 3_000_000 * 2_999_999 // 2)


@in_subprocess()
def test_tracer_switched_on_mid_loop():
    events = []

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "loop":
            events.append((event, frame.f_lineno - frame.f_code.co_firstlineno, snapshot(frame)))
        return tracer

    def hook():
        sys._getframe(1).f_trace = tracer
        sys.settrace(tracer)
    interp, compiled = twins(LOOP, "loop")
    results = []
    for func in (interp, compiled):
        events.clear()
        try:
            r = func(40, hook)
        finally:
            sys.settrace(None)
        results.append((r, list(events)))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1], (results[0][1][:5], results[1][1][:5])
    assert len(results[0][1]) > 20


@in_subprocess()
def test_other_thread_sees_exact_locals():
    import threading
    import time
    snaps = []
    stop = threading.Event()
    main_id = threading.get_ident()

    def watcher():
        while not stop.is_set():
            frame = sys._current_frames().get(main_id)
            while frame is not None and frame.f_code.co_name != "loop":
                frame = frame.f_back
            if frame is not None:
                snaps.append(snapshot(frame))
            time.sleep(0.0005)
    interp, compiled = twins(PURE_LOOP, "loop")
    sys.setswitchinterval(0.0005)
    for func, n in ((interp, 2_000_000), (compiled, 200_000_000)):   # (about as long)
        snaps.clear()
        stop.clear()
        t = threading.Thread(target=watcher)
        t.start()
        try:
            func(n)
        finally:
            stop.set()
            t.join()
        assert snaps, "the watcher never saw the loop"
        for snap in snaps:
            d = dict(snap)
            if not d:
                continue                       # (before the loop started)
            assert set(d) == {"s", "k", "i", "f"}, (func, snap)
            i = d["i"]
            assert d["k"] == i * (i + 1) // 2, (func, snap)
            assert d["s"] == (i + 1) * 0.5, (func, snap)
            assert d["f"] == d["s"] * 2.0, (func, snap)


@in_subprocess()
def test_traceback_and_kept_frame_see_exact_locals():
    src = '''
import sys
kept = []
def loop(n, hook=None):
    s = 0.0
    k = 0
    for i in range(n):
        s += i * 0.5
        k += i
        f = s * 2.0
        if i == n - 3:
            kept.append(sys._getframe())
        if i == n - 1 and n < 50:
            return 1 // (k - k)
'''
    results = []
    for func in twins(src, "loop"):
        kept = func.__globals__["kept"]
        try:
            func(30)
        except ZeroDivisionError as e:
            tb = e.__traceback__
            while tb.tb_next is not None:
                tb = tb.tb_next
            results.append((snapshot(tb.tb_frame), tb.tb_lineno - tb.tb_frame.f_code.co_firstlineno,
                            snapshot(kept[-1])))
    assert len(results) == 2
    assert results[0] == results[1], results
    assert dict(results[0][0])["i"] == 29


@in_subprocess()
def test_kept_frame_after_return_sees_final_locals():
    src = '''
import sys
def loop(n, hook=None):
    s = 0.0
    k = 0
    frame = sys._getframe()
    for i in range(n):
        s += i * 0.5
        k += i
        f = s * 2.0
    return frame
'''
    interp, compiled = twins(src, "loop")
    assert snapshot(interp(25)) == snapshot(compiled(25))

@in_subprocess()
def test_finalizer_sees_exact_int_and_float_locals():
    # A deallocation is an observation point: `x = None` frees a Dying, whose __del__
    # looks at the loop's frame while s (float) and k (int) are unboxed; the dealloc
    # path boxes them into their slots (runtime/virtual.py, coconut_sync_*).
    src = '''
import sys
seen = []
class Dying:
    def __del__(self):
        f = sys._getframe(1)
        seen.append(sorted((k, v) for k, v in f.f_locals.items() if k in "skbi"))
def loop(n):
    s = 0.0
    k = 0
    b = False
    for i in range(n):
        s += i * 0.25
        k += i * 3
        b = s > 10.0
        if i % 7 == 3:
            x = Dying()
            x = None
    return s, k, b
'''
    import io
    results = []
    pair = twins(src, "loop")
    out = io.StringIO()
    get_coconut().dump(pair[1], "ir", file=out)
    assert "coconut_sync_f64" in out.getvalue() and "coconut_sync_i64" in out.getvalue()
    for func in pair:
        seen = func.__globals__["seen"]
        seen.clear()
        results.append((func(60), list(seen)))
    assert results[0] == results[1], (results[0][1][:3], results[1][1][:3])
    assert len(results[0][1]) == 9
    assert dict(results[0][1][-1])["b"] is True
