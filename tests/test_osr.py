"""On-stack replacement on the stock interpreter (coconut/runtime/osr.py): a frame the
interpreter runs enters native code at a loop header. Each case runs a function twice
in a child process: interpreted, then with OSR armed for its own frame mid-loop
(`jit.osr_arm(sys._getframe(1))` from a callee, what the sampler does in whole-program
mode); result, exception type, message and traceback lines must be equal, and the
armed run must have entered native code (or, where OSR is not allowed, not)."""
import os
import sys
import traceback

import pytest

from tests.support import in_subprocess, run_code, run_python

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("on-stack replacement is part of the real JIT", allow_module_level=True)

ARMED = {"at": -1}


def arm_here():
    """Arm OSR for the caller's frame when the loop reaches ARMED['at'] (refused where
    the code has no loop header to enter at)."""
    from coconut.runtime import jit
    jit.osr_arm(sys._getframe(2))


def maybe_arm(i):
    if i == ARMED["at"]:
        arm_here()


def sum_loop(n):
    t = 0
    x = 1.5
    for i in range(n):
        maybe_arm(i)
        t += i * 3
        x = x * 0.5 + i
    after = t - 1
    return t, x, after


def divide_loop(n, bad):
    t = 0
    for i in range(n):
        maybe_arm(i)
        t += 10 // (i - bad)
    return t


def boom(i):
    if i == 30:
        raise KeyError(f"key {i}")
    return i


def callee_raises(n):
    t = 0
    for i in range(n):
        maybe_arm(i)
        t += boom(i)
    return t


def peek(depth=1):
    f = sys._getframe(depth + 1)
    return (f.f_lineno, sorted((k, v) for k, v in f.f_locals.items() if k != "n"))


def introspected(n):
    seen = []
    total = 0
    for i in range(n):
        maybe_arm(i)
        total += i
        if i % 10 == 9:
            seen.append(peek())
    return seen


def caught_in_body(n):
    t = []
    for i in range(n):
        maybe_arm(i)
        try:
            t.append(100 // (i % 7))
        except ZeroDivisionError as e:
            t.append(str(e))
    return t


def while_loop(n):
    k, acc = 0, 0.0
    while k < n:
        maybe_arm(k)
        acc += k / 2
        k += 1
    return acc, k


def nested(n):
    out = 0
    for i in range(n):
        for j in range(i):
            maybe_arm(i * 100 + j)
            out += i ^ j
    return out


def header_in_try(n):
    t = 0
    try:
        for i in range(n):
            maybe_arm(i)
            t += i
    except ValueError:
        t = -1
    return t


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as e:
        return ("exc", type(e).__name__, str(e),
                [(fs.name, fs.lineno, fs.line) for fs in traceback.extract_tb(e.__traceback__)])


CASES = [
    (sum_loop, (1000,), 5, True),
    (divide_loop, (200, 150), 5, True),
    (divide_loop, (200, 10), 5, True),          # raises after entering native code
    (callee_raises, (100,), 3, True),           # a callee's exception through native code
    (introspected, (60,), 4, True),             # f_lineno, f_locals seen from a callee
    (caught_in_body, (50,), 2, True),           # a handler inside the loop catches
    (while_loop, (500,), 7, True),
    (nested, (40,), 605, True),                 # entered at the inner loop's header
    (header_in_try, (100,), 3, False),          # a handler covers the header: no OSR
]                                               # (but on the patched interpreter)


@in_subprocess()
def test_osr_matches_the_interpreter():
    import coconut
    for fn, args, _, _ in CASES:
        for _ in range(20):                     # quickened, as the sampler finds code
            outcome(fn, *args)
    for fn, args, at, enters in CASES:
        ARMED["at"] = -1
        want = outcome(fn, *args)
        before = coconut.stats()["osr_entries"]
        ARMED["at"] = at
        got = outcome(fn, *args)
        ARMED["at"] = -1
        entered = coconut.stats()["osr_entries"] - before
        assert got == want, (fn.__name__, want, got)
        from coconut.runtime import hook       # (BytecodeCFG.osr_points(covered))
        enters = enters or (fn is header_in_try and hook.ENTRY == "native")
        assert entered == (1 if enters else 0), (fn.__name__, entered)


def recursing(n, depth):
    t = 0
    for i in range(n):
        maybe_arm(i)
        t += i
        if i == n - 1:
            t += down(depth)
    return t


def down(k):
    return 0 if k == 0 else 1 + down(k - 1)


@in_subprocess()
def test_osr_keeps_the_recursion_depth():
    """The frame counts once against the recursion limit after entering native code:
    the deepest recursion that fits in the interpreter fits after OSR, one more does
    not."""
    import coconut
    for _ in range(20):
        recursing(10, 5)

    def deepest(armed_at):
        lo, hi = 1, sys.getrecursionlimit()
        while lo < hi:                          # the largest depth that does not raise
            mid = (lo + hi + 1) // 2
            ARMED["at"] = armed_at
            try:
                recursing(10, mid)
                lo = mid
            except RecursionError:
                hi = mid - 1
            ARMED["at"] = -1
        return lo
    before = coconut.stats()["osr_entries"]
    assert deepest(3) == deepest(-1)
    assert coconut.stats()["osr_entries"] > before


def traced_from_inside(n, switch_at):
    t = 0
    for i in range(n):
        maybe_arm(i)
        if i == switch_at:
            sys.settrace(tracer)
        t += i
    sys.settrace(None)
    return t


EVENTS = []


def tracer(frame, event, arg):
    if frame.f_code.co_name == "traced_from_inside":
        EVENTS.append((event, frame.f_lineno))
    return tracer


@in_subprocess()
def test_a_tracer_set_after_osr_sees_what_the_interpreter_shows():
    import coconut
    for _ in range(20):
        traced_from_inside(20, -1)
    EVENTS.clear()
    want = traced_from_inside(40, 30), list(EVENTS)
    EVENTS.clear()
    before = coconut.stats()["osr_entries"]
    ARMED["at"] = 10
    got = traced_from_inside(40, 30), list(EVENTS)
    ARMED["at"] = -1
    assert coconut.stats()["osr_entries"] == before + 1
    assert got == want


def test_osr_is_refused_under_a_tracer():
    """A program's trace function sees the interpreter: OSR does not arm."""
    res = run_code("""
import sys
from coconut.runtime import jit
def loop(n):
    t = 0
    for i in range(n):
        if i == 3:
            armed.append(jit.osr_arm(sys._getframe()))
        t += i
    return t
armed = []
for _ in range(20):
    loop(10)
sys.settrace(lambda *a: None)
print(loop(10), armed[-1], sys.gettrace() is not None)
""")
    assert res.ok, res.describe()
    assert res.stdout.split() == ["45", "False", "True"], res.stdout


def test_whole_program_mode_enters_a_long_first_call():
    """`python3 -m coconut`: a long loop in a function's only call goes native while it
    runs (the sampler asks, the variant is built, the next sample arms). Without the
    compile budget, which defers the variant in a run this short (a few seconds)."""
    res = run_python(["-m", "coconut", "--sync", "-c", """
import sys, coconut
def main(n):
    t = 0
    x = 0.5
    for i in range(n):
        t += i % 7
        x = x * 0.999 + 1.0
    return t, round(x, 6)
print(main(30_000_000))
print("entries", coconut.stats()["osr_entries"])
"""], timeout=120, env={"COCONUT_COMPILE_BUDGET": "0"})
    assert res.ok, res.describe()
    lines = res.stdout.splitlines()
    assert lines[0] == "(89999995, 1000.0)", lines     # (as plain python3 prints)
    assert lines[1] == "entries 1", lines


def test_osr_of_a_frame_the_interpreter_pushed_for_a_call():
    """In the default mode the hook goes in late: a frame the interpreter pushed itself
    for a call (not an entry frame) may be armed and entered. When its native code
    deopts, the nested interpreter that finishes the call marks the frame an entry
    frame; the interpreter it goes back to must still return to its caller, not from
    its own C call (the caller's frame was skipped: the program printed nothing).
    Not on the patched interpreter (no trace-function OSR there)."""
    res = run_python(["-m", "coconut", "-c", """
import sys
from coconut.runtime import hook, jit
def tracer(frame, event, arg):
    return None
def callee(n):
    t = 0
    for i in range(n):
        if i == 500:
            jit.osr_arm(sys._getframe())
        elif i == 700:
            sys.settrace(tracer)      # native code deopts at its next check
        elif i == 800:
            sys.settrace(None)
        t = t + i
    return t
def caller():
    for _ in range(1):
        r = callee(1000)
    return ("caller", r)
print(caller())
import coconut
st = coconut.stats()
print(hook.ENTRY, st["osr_entries"], st["deopts"].get("eval breaker or tracing", 0))
"""], timeout=120)
    assert res.ok, res.describe()
    lines = res.stdout.splitlines()
    assert lines[0] == "('caller', 499500)", res.stdout
    if lines[1].startswith("hook"):
        assert lines[1] == "hook 1 1", res.stdout


def test_a_loop_that_calls_native_code_is_sampled_through_its_callee():
    """A loop whose time goes into a compiled callee (its own bytecode a small share,
    so a sample seldom finds it the innermost frame) gets the samples taken in native
    code at the callee's eval-breaker checks (runtime/sampler.py walks out to the first
    caller the interpreter runs): a long call makes it hot, and its next call runs
    natively, with the interpreter's result."""
    res = run_python(["-m", "coconut", "--sync", "-c", """
import coconut
def work(n):
    t = 0
    for i in range(n):
        t += i & 7
    return t
coconut.compile(work)
def main(k):
    s = 0
    for j in range(k):
        s += work(50_000) + j
    return s
print(main(5_000), coconut.is_compiled(main))
print(main(3), coconut.is_compiled(main))
from coconut.runtime import hook
print(hook.ENTRY)
"""], timeout=180, env={"COCONUT_COMPILE_BUDGET": "0"})
    assert res.ok, res.describe()
    inner = sum(i & 7 for i in range(50_000))
    first, second, entry = res.stdout.splitlines()
    # Whether main is compiled at the end of its first call is left open: a sample
    # that finds main itself the innermost frame (between two calls of work: rare, but
    # it happens, more often with a shorter sampling period) makes it hot there and
    # then, and on-stack replacement takes it into native code mid-loop, on the stock
    # interpreter as on the patched one (which may also enter it at a back edge).
    total, _flag = first.split()
    assert total == str(sum(inner + j for j in range(5_000))), res.stdout
    assert second == f"{inner * 3 + 3} True", res.stdout
