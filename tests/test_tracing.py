"""sys.settrace / sys.setprofile see compiled functions exactly as interpreted ones.

Pattern: run a scenario with everything interpreted and record the events, then compile
the subjects, run the same scenario again and compare. Also: tracing switched on from
inside a running compiled function (the way pdb's set_trace does it), a tracer writing a
local through f_locals, and profiling switched on from inside."""
import sys

from tests.support import in_subprocess, compile_all

THIS_FILE = __file__


def _arg(event, arg):
    if event == "return":
        return repr(arg)
    if event == "exception":
        return arg[0].__name__
    if event.startswith("c_"):
        return getattr(arg, "__qualname__", repr(arg))
    return None


def make_tracer(events, names):
    def tracer(frame, event, arg):
        code = frame.f_code
        if code.co_name in names and code.co_filename == THIS_FILE:
            events.append((event, code.co_name, frame.f_lineno - code.co_firstlineno,
                           _arg(event, arg)))
        return tracer
    return tracer


def make_profiler(events, names):
    def profiler(frame, event, arg):
        code = frame.f_code
        if code.co_name in names and code.co_filename == THIS_FILE:
            events.append((event, code.co_name, frame.f_lineno - code.co_firstlineno,
                           _arg(event, arg)))
    return profiler


def diff_events(ref, got):
    for i, (a, b) in enumerate(zip(ref, got)):
        if a != b:
            return "first difference at event %d: interpreted %r, compiled %r\n" \
                   "interpreted[%d:%d]=%r\ncompiled[%d:%d]=%r" % (
                       i, a, b, max(0, i - 3), i + 3, ref[max(0, i - 3):i + 3],
                       max(0, i - 3), i + 3, got[max(0, i - 3):i + 3])
    return "lengths differ: interpreted %d events, compiled %d; extra: %r" % (
        len(ref), len(got), (ref[len(got):] or got[len(ref):])[:6])


# ----------------------------------------------------------------------------- subjects

def helper(v):
    if v % 2:
        return v * 3
    return -v


def raiser(v):
    raise ValueError("raiser %d" % v)


def subject(n):
    total = 0
    for i in range(n):
        total += helper(i)
        if i == 1:
            try:
                raiser(i)
            except ValueError:
                total += 100
    k = 0
    while k < 2:
        k += 1
    return total + len(str(k))


def subject_raises(n):
    x = n + 1
    return helper(x) + raiser(x)


TRACE_NAMES = {"helper", "raiser", "subject", "subject_raises", "pdb_like", "start_tracing",
               "writes_local", "profiled_inside", "start_profiling", "stops_tracing",
               "gen_subject", "drive_gen", "gen_pdb_like"}
STATE = {}


def start_tracing():
    tracer = STATE["tracer"]
    sys.settrace(tracer)
    sys._getframe(1).f_trace = tracer


def pdb_like(n):
    total = 0
    f = 1.5
    for i in range(n):
        if i == 2:
            start_tracing()
        total += helper(i)
        f *= 2
    after = total * 2
    return after, f


def stops_tracing(n):
    total = 0
    for i in range(n):
        total += helper(i)
        if i == 1:
            sys.settrace(None)
    return total


def writes_local(n):
    x = n
    y = x + 1   # tracer overwrites x on this line
    z = x * 10
    return x, y, z


def start_profiling():
    sys.setprofile(STATE["profiler"])


def profiled_inside(n):
    total = 0
    for i in range(n):
        if i == 1:
            start_profiling()
        total += helper(i) + len([i])
    return total


def gen_subject(n):
    total = 0.0
    for i in range(n):
        total += helper(i)
        sent = yield total
        if sent:
            total -= sent
    return total


def drive_gen(n):
    g = gen_subject(n)
    out = [next(g), g.send(1), next(g)]
    try:
        g.throw(ValueError("thrown"))
    except ValueError as e:
        out.append(str(e))
    return out


def gen_pdb_like(n):
    x = 0
    for i in range(n):
        if i == 1:
            start_tracing()
        x += helper(i)
        yield x


# ----------------------------------------------------------------------------- scenarios

def traced_run(func, *args):
    events = []
    sys.settrace(make_tracer(events, TRACE_NAMES))
    try:
        result = func(*args)
    except Exception as e:  # noqa: BLE001
        result = ("raised", type(e).__name__, str(e))
    finally:
        sys.settrace(None)
    return result, events


def check_same(scenario, *subjects):
    ref = scenario()
    compile_all(*subjects)
    plain = scenario()
    assert plain[0] == ref[0], ("result", ref[0], plain[0])
    assert plain[1] == ref[1], diff_events(ref[1], plain[1])
    again = scenario()   # and again, after the compiled code ran traced once
    assert again == ref, diff_events(ref[1], again[1])


@in_subprocess()
def test_settrace_before_call():
    compile_all(helper)  # compiled callee even in the reference: compiled under tracing
    check_same(lambda: traced_run(subject, 4), subject, raiser)


@in_subprocess()
def test_settrace_all_interpreted_reference():
    check_same(lambda: traced_run(subject, 4), subject, helper, raiser)


@in_subprocess()
def test_settrace_exception_propagates():
    check_same(lambda: traced_run(subject_raises, 2), subject_raises, helper, raiser)


@in_subprocess()
def test_untraced_after_tracing_still_correct():
    compile_all(subject, helper, raiser)
    expected = subject(6)
    traced_run(subject, 3)
    assert subject(6) == expected


def pdb_scenario(run=lambda: pdb_like(5)):
    events = []
    STATE["tracer"] = make_tracer(events, TRACE_NAMES)
    try:
        result = run()
    finally:
        sys.settrace(None)
    return result, events


@in_subprocess()
def test_settrace_enabled_inside_compiled_function():
    ref = pdb_scenario()
    assert any(e[1] == "pdb_like" and e[0] == "line" for e in ref[1]), ref
    compile_all(pdb_like, helper, start_tracing)
    got = pdb_scenario()
    assert got[0] == ref[0], (ref[0], got[0])
    assert got[1] == ref[1], diff_events(ref[1], got[1])


@in_subprocess()
def test_settrace_enabled_inside_compiled_function_called_twice():
    ref = pdb_scenario()
    compile_all(pdb_like, helper)
    pdb_like(2)          # a native run first (i never reaches 2: no tracing)
    got = pdb_scenario()
    assert got[1] == ref[1], diff_events(ref[1], got[1])
    got2 = pdb_scenario()
    assert got2[1] == ref[1], diff_events(ref[1], got2[1])


@in_subprocess()
def test_settrace_disabled_inside_compiled_function():
    check_same(lambda: traced_run(stops_tracing, 4), stops_tracing, helper)


def write_local_scenario():
    target = writes_local.__code__.co_firstlineno + 2

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "writes_local" and event == "line" \
                and frame.f_lineno == target:
            frame.f_locals["x"] = 99   # written back by the interpreter after the event
        return tracer
    sys.settrace(tracer)
    try:
        return writes_local(1), []
    finally:
        sys.settrace(None)


@in_subprocess()
def test_tracer_writes_local_variable():
    ref = write_local_scenario()
    assert ref[0] == (99, 100, 990), ref
    compile_all(writes_local)
    assert write_local_scenario() == ref


def profiled_run(func, *args):
    events = []
    sys.setprofile(make_profiler(events, TRACE_NAMES | {"<built-in>"}))
    try:
        result = func(*args)
    except Exception as e:  # noqa: BLE001
        result = ("raised", type(e).__name__, str(e))
    finally:
        sys.setprofile(None)
    return result, events


@in_subprocess()
def test_setprofile_before_call():
    check_same(lambda: profiled_run(subject, 4), subject, helper, raiser)


@in_subprocess()
def test_setprofile_exception_propagates():
    check_same(lambda: profiled_run(subject_raises, 3), subject_raises, helper, raiser)


def profile_inside_scenario():
    events = []
    STATE["profiler"] = make_profiler(events, TRACE_NAMES)
    try:
        result = profiled_inside(4)
    finally:
        sys.setprofile(None)
    return result, events


@in_subprocess()
def test_setprofile_enabled_inside_compiled_function():
    ref = profile_inside_scenario()
    assert any(e[0] == "c_call" and e[1] == "profiled_inside" for e in ref[1]), ref
    compile_all(profiled_inside, helper, start_profiling)
    got = profile_inside_scenario()
    assert got[0] == ref[0]
    assert got[1] == ref[1], diff_events(ref[1], got[1])


# Found by CPython's test_sys_settrace (test_09_settrace_and_raise): a frame native
# code hands to the interpreter (here: to unwind an exception into its handler) got a
# spurious 'call' event from ceval's entry while a tracer or profiler was on.

def _settrace_and_raise(tracefunc):
    sys.settrace(tracefunc)
    sys._getframe().f_back.f_trace = tracefunc
    raise RuntimeError


def settrace_and_raise(tracefunc):
    try:
        _settrace_and_raise(tracefunc)
    except RuntimeError:
        pass
    return 7


def _setprofile_and_raise(profiler):
    sys.setprofile(profiler)
    raise RuntimeError


def setprofile_and_raise(profiler):
    try:
        _setprofile_and_raise(profiler)
    except RuntimeError:
        pass
    return len("ab")


HANDOVER_NAMES = {"settrace_and_raise", "_settrace_and_raise", "setprofile_and_raise",
                  "_setprofile_and_raise"}


def settrace_and_raise_scenario():
    events = []
    try:
        result = settrace_and_raise(make_tracer(events, HANDOVER_NAMES))
    finally:
        sys.settrace(None)
    return result, events


def setprofile_and_raise_scenario():
    events = []
    try:
        result = setprofile_and_raise(make_profiler(events, HANDOVER_NAMES | {"<built-in>"}))
    finally:
        sys.setprofile(None)
    return result, events


@in_subprocess()
def test_frame_handed_to_interpreter_gets_no_call_event_under_settrace():
    ref = settrace_and_raise_scenario()
    assert ref[1][0][:2] == ("exception", "settrace_and_raise"), ref
    check_same(settrace_and_raise_scenario, settrace_and_raise, _settrace_and_raise)


@in_subprocess()
def test_frame_handed_to_interpreter_gets_no_call_event_under_setprofile():
    ref = setprofile_and_raise_scenario()
    assert not any(e[0] == "call" for e in ref[1]), ref
    check_same(setprofile_and_raise_scenario, setprofile_and_raise, _setprofile_and_raise)


@in_subprocess()
def test_settrace_generator():
    check_same(lambda: traced_run(drive_gen, 4), gen_subject, drive_gen, helper)


def suspended_then_traced():
    """A generator suspended (natively) before tracing starts, resumed under it."""
    events = []
    g = gen_subject(4)
    first = next(g)
    sys.settrace(make_tracer(events, TRACE_NAMES))
    try:
        rest = [g.send(0.5), next(g)]
    finally:
        sys.settrace(None)
    return (first, rest, list(g)), events


@in_subprocess()
def test_settrace_while_generator_suspended():
    check_same(suspended_then_traced, gen_subject, helper)


def gen_pdb_scenario():
    return pdb_scenario(lambda: list(gen_pdb_like(4)))


@in_subprocess()
def test_settrace_enabled_inside_generator():
    ref = gen_pdb_scenario()
    assert any(e[1] == "gen_pdb_like" and e[0] == "line" for e in ref[1]), ref
    compile_all(gen_pdb_like, helper, start_tracing)
    got = gen_pdb_scenario()
    assert got[0] == ref[0], (ref[0], got[0])
    assert got[1] == ref[1], diff_events(ref[1], got[1])
