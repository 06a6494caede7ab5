"""The patched interpreter (cpython.patch, docs/patched-interpreter.md): native code
entered through per-code native entries the interpreter consults itself, with no PEP 523
hook installed. These tests run on a CPython built by scripts/patched-python.sh (`make
test-patched`, and the part of the suite .ci/run runs on it); on the stock interpreter
they are skipped, except the check that nothing of the patch is assumed there.

Each compares a compiled function with the same source interpreted, as the rest of the
suite does; what is particular here is where frames come from: the interpreter's own
inlined calls (CALL, CALL_PY_EXACT_ARGS, BINARY_SUBSCR_GETITEM push the callee's frame
and offer it at `start_frame`), generators resumed by `gen_send_ex2`, and loops offered
at their back edges (on-stack replacement without any trace function)."""
import os
import sys

import pytest

from tests.support import in_subprocess, run_code, run_python, twin

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("the patched interpreter's entries are part of the real JIT", allow_module_level=True)

import ctypes

PATCHED = hasattr(ctypes.pythonapi, "_PyEval_SetNativeEntry")
patched_only = pytest.mark.skipif(not PATCHED, reason="needs the patched interpreter "
                                  "(bash scripts/patched-python.sh; make test-patched)")


def test_the_stock_interpreter_keeps_the_hook():
    """Detection: the entry mechanism follows the interpreter, and COCONUT_ENTRY=hook
    asks for the hook on the patched one."""
    res = run_code("""
import coconut
from coconut.runtime import hook, jit
def f(x):
    return x + 1
coconut.compile(f)
assert f(1) == 2
print(hook.PATCHED, hook.ENTRY, coconut.stats()["entry_mechanism"])
""")
    assert res.ok, res.describe()
    want = (["True", "native", "native entries (patched interpreter)"] if PATCHED
            else ["False", "hook", "PEP 523 hook"])
    assert res.stdout.split(None, 2)[:2] == want[:2] and res.stdout.strip().endswith(want[2]), res.stdout
    res = run_code("""
from coconut.runtime import hook
print(hook.ENTRY)
""", env={"COCONUT_ENTRY": "hook"})
    assert res.ok and res.stdout.strip() == "hook", res.describe()


@patched_only
@in_subprocess()
def test_no_frame_evaluation_hook_is_installed():
    import coconut
    from coconut.runtime import hook, jit

    def f(x):
        return x * 2
    coconut.compile(f)
    assert f(21) == 42 and coconut.is_compiled(f)
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    func = api._PyInterpreterState_GetEvalFrameFunc(api.PyInterpreterState_Get())
    assert func in (None, hook.DEFAULT_EVAL), func
    assert jit.runtime().installed
    coconut.disable()
    assert not jit.runtime().installed


# -- calls the interpreter makes itself --------------------------------------------------
def _callee(x):
    if x > 4:
        raise ValueError(f"too big: {x}")
    frame = sys._getframe(1)
    return (x * 3, frame.f_code.co_name, frame.f_lasti, frame.f_lineno)


class Box:
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        if i < 0:
            raise IndexError(i)
        return self.items[i] * 2, sys._getframe(1).f_lasti


def _caller(n):
    out = []
    for i in range(n):
        out.append(_callee(i))             # CALL / CALL_PY_EXACT_ARGS: pushed by ceval
    return out


def _subscripts(box, n):
    return [box[i] for i in range(n)]      # BINARY_SUBSCR_GETITEM: pushed by ceval


def _outcome(fn, *args):
    import traceback
    try:
        return ("ok", fn(*args))
    except Exception as e:
        return ("exc", type(e).__name__, str(e),
                [(fs.name, fs.lineno) for fs in traceback.extract_tb(e.__traceback__)],
                [tb.tb_lasti for tb in _tbs(e.__traceback__)])


def _tbs(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


@patched_only
@in_subprocess()
def test_compiled_callees_of_interpreted_callers():
    """An interpreted caller's CALL pushes a compiled callee's frame itself and offers
    it at start_frame: values, exceptions, tracebacks (tb_lasti included) and what the
    callee sees of its caller (f_lasti at CALL's last cache unit, as ceval leaves it)
    are those of the interpreter."""
    import coconut
    callee_i, callee_c = twin(_callee), twin(_callee)
    caller_i, caller_c = twin(_caller), twin(_caller)
    caller_i.__globals__["_callee"] = callee_i
    for _ in range(20):                    # quickened: CALL_PY_EXACT_ARGS
        _outcome(caller_i, 4)
    want = [_outcome(caller_i, 4), _outcome(caller_i, 7)]
    coconut.compile(callee_c)
    caller_i.__globals__["_callee"] = callee_c
    for _ in range(3):
        got = [_outcome(caller_i, 4), _outcome(caller_i, 7)]
        assert got == want, (got, want)
    # a compiled caller too: coconut_call moves prev_instr as ceval would, so the
    # callee sees the same f_lasti, and leaves it there when the callee raises, for
    # the caller's traceback entry (ErrorExit.named)
    coconut.compile(caller_c)
    caller_c.__globals__["_callee"] = callee_c
    for _ in range(3):
        got = [_outcome(caller_c, 4), _outcome(caller_c, 7)]
        assert got == want, (got, want)


@patched_only
@in_subprocess()
def test_compiled_getitem_of_interpreted_subscripts():
    import coconut
    sub_i, sub_c = twin(_subscripts), twin(_subscripts)
    box = Box(list(range(10)))
    for _ in range(20):
        sub_i(box, 5)
    want = [_outcome(sub_i, box, 5), _outcome(sub_i, Box([1]), 3)]
    coconut.compile(Box.__getitem__)
    assert [_outcome(sub_i, box, 5), _outcome(sub_i, Box([1]), 3)] == want
    # (quickened first, as whole-program mode compiles: the interpreter pushes the
    # __getitem__ frame itself, moving f_lasti, only once BINARY_SUBSCR is specialized
    # to BINARY_SUBSCR_GETITEM; native code follows the feedback it was compiled with)
    for _ in range(20):
        sub_c(box, 5)
    coconut.compile(sub_c)
    for _ in range(3):
        got = [_outcome(sub_c, box, 5), _outcome(sub_c, Box([1]), 3)]
        assert got == want, (got, want)


def _gen(n):
    total = 0
    for i in range(n):
        got = yield i * i
        if got is not None:
            total += got
    return total


def _drive(make, n):
    g = make(n)
    out = [next(g)]
    try:
        while True:
            out.append(g.send(len(out)))
    except StopIteration as e:
        out.append(("return", e.value))
    g2 = make(n)
    next(g2)
    try:
        g2.throw(KeyError("thrown"))
    except KeyError as e:
        out.append(("thrown", str(e)))
    return out


@patched_only
@in_subprocess()
def test_generators_resumed_by_the_interpreter():
    """gen_send_ex2 offers a compiled generator's frame at every send()/next() and
    throw() (_PyEval_EvalFrame)."""
    import coconut
    gen_i, gen_c = twin(_gen), twin(_gen)
    want = _drive(gen_i, 6)
    coconut.compile(gen_c)
    assert coconut.is_compiled(gen_c)
    assert _drive(gen_c, 6) == want
    assert list(gen_c(5)) == list(gen_i(5))


# -- on-stack replacement at back edges ---------------------------------------------------
@patched_only
def test_osr_at_back_edges_without_a_trace_function():
    """Whole-program mode, the sampler off: a long loop in a function's only call makes
    the code hot at its back edges, the variant is asked for there, and the frame goes
    native at a back edge, with no trace function ever armed (sys.gettrace() stays
    None); the result is what plain python3 prints, and the statistics name the entry
    mechanism. Without the compile budget, which defers the variant in a run this short
    (as in test_osr). (A `while` loop whose condition jumps back, with no
    JUMP_BACKWARD, is never quickened by 3.11 in a single call: no feedback, no
    variant; test_osr enters such a loop once its variant is there.)"""
    src = """
import sys
def main(n):
    t, x = 0, 0.5
    for i in range(n):
        t += i % 7
        x = x * 0.999 + 1.0
        assert sys.gettrace() is None
    return t, round(x, 6)
print(main(20_000_000))
"""
    res = run_python(["-m", "coconut", "--sync", "--stats", "-c", src], timeout=300,
                     env={"COCONUT_COMPILE_BUDGET": "0", "COCONUT_SAMPLE_US": "0"})
    assert res.ok, res.describe()
    plain = run_python(["-c", src], timeout=300)
    assert res.stdout == plain.stdout == "(59999997, 1000.0)\n", (res.stdout, plain.stdout)
    assert "native entries (patched interpreter)" in res.stderr, res.stderr
    assert "on-stack replacement: 1 running frames entered" in res.stderr, res.stderr


def _flip(n):
    # a speculation that fails at every iteration after the first ones: each deopt
    # hands the frame to the interpreter, which must not offer it again (the C stack
    # would grow by a native call and an interpreter per iteration)
    t = 0
    for i in range(n):
        t += i if i % 2 else 0.5
    return t


@patched_only
@in_subprocess()
def test_a_deopting_osr_frame_is_not_entered_again():
    import threading
    from coconut.runtime import jit
    flip_i, flip_c = twin(_flip), twin(_flip)
    for _ in range(20):
        flip_c(50)
    want = flip_i(200_000)
    # the OSR variant of _flip's code, compiled synchronously (what the sampler asks)
    jit._osr["requested"].add(id(flip_c.__code__))
    jit._compile_osr(jit.runtime(), flip_c.__code__)
    assert id(flip_c.__code__) in jit._osr["tables"]
    jit.runtime().install()         # the native entries (as the first compile installs them)
    out = []
    import coconut
    entered = coconut.stats()["osr_entries"]
    # a small C stack: nested native calls per deopt would overflow it
    threading.stack_size(256 * 1024)
    t = threading.Thread(target=lambda: out.append(flip_c(200_000)))
    t.start()
    t.join()
    assert out == [want]
    # the variant was entered (once: its deopts are not entered again)
    assert coconut.stats()["osr_entries"] == entered + 1, (entered, coconut.stats()["osr_entries"])


# -- the patched interpreter itself --------------------------------------------------------
@patched_only
def test_patched_interpreter_without_coconut_passes_cpython_tests():
    """With coconut not imported the patch changes nothing: a few of CPython's own
    regression tests about frames, tracing, generators and calls pass."""
    res = run_python(["-m", "test", "-q", "test_sys_settrace", "test_generators", "test_frame",
                      "test_call", "test_exceptions", "test_scope"], timeout=900,
                     env={"COCONUT_JIT": "0"})
    assert res.ok, res.describe()
    assert "== Tests result: SUCCESS ==" in res.stdout, res.stdout[-2000:]


def _catches(n):
    out = []
    for i in range(n):
        try:
            out.append(_callee(i))
        except ValueError as e:
            tb = e.__traceback__
            out.append(("caught", str(e), tb.tb_lasti, tb.tb_lineno))
    with _Exit():
        _callee(9)
    return out


class _Exit:
    def __enter__(self):
        return self

    def __exit__(self, tp, value, tb):
        self.seen = (tp.__name__, tb.tb_lasti, tb.tb_frame.f_lasti)
        _EXITS.append(self.seen)
        return True


_EXITS = []


@patched_only
@in_subprocess()
def test_handlers_see_the_interpreters_lasti():
    """An exception from a Python callee caught in a compiled caller (a native handler,
    and a `with` block whose __exit__ swallows it: the handler pushes lasti) has the
    tb_lasti and lasti the interpreter gives it, the CALL's last cache unit."""
    import coconut
    f_i, f_c = twin(_catches), twin(_catches)
    for _ in range(20):
        f_i(7)
        f_c(7)
    _EXITS.clear()
    want = (f_i(7), list(_EXITS))
    coconut.compile(f_c)
    assert coconut.is_compiled(f_c)
    for _ in range(3):
        _EXITS.clear()
        got = (f_c(7), list(_EXITS))
        assert got == want, (got, want)


# -- on-stack replacement inside try, with, and a for over a generator ---------------------
_ARM = {"at": -1}


def _maybe_arm(i):
    if i == _ARM["at"]:
        from coconut.runtime import jit
        assert jit.osr_arm(sys._getframe(1))   # (compiles the variant; nothing to arm)


def _in_try(n, bad):
    t = 0
    try:
        for i in range(n):
            _maybe_arm(i)
            t += 100 // (i - bad)
    except ZeroDivisionError as e:
        t = (t, str(e), sys.exc_info()[0].__name__)
    return t


class _Cm:
    def __init__(self, log):
        self.log = log

    def __enter__(self):
        return self

    def __exit__(self, tp, value, tb):
        self.log.append((tp and tp.__name__, str(value), tb and tb.tb_lineno))
        return tp is KeyError


def _in_with(n, bad):
    log = []
    t = 0
    with _Cm(log):
        for i in range(n):
            _maybe_arm(i)
            if i == bad:
                raise KeyError(i)
            t += i * 2
    return t, log


def _numbers(n):
    for i in range(n):
        yield i * 3


def _over_generator(n):
    t = 0
    for x in _numbers(n):
        _maybe_arm(x // 3)
        t += x
    return t, sys._getframe().f_locals["x"]


@patched_only
@in_subprocess()
def test_osr_inside_try_with_and_over_a_generator():
    """On the patched interpreter the variant is entered at loop headers inside `try`
    and `with` too (the interpreter unwinds the frame itself when the native run ends
    in an exception, without looking for a handler at the header), and in a `for` over
    a generator (the generator on the frame's stack): results, exceptions, handlers and
    __exit__ arguments as interpreted, and each run entered native code once."""
    import coconut
    cases = [(_in_try, (200, 150)), (_in_try, (200, 500)), (_in_with, (200, 120)),
             (_in_with, (200, 500)), (_over_generator, (300,))]
    for fn, args in cases:
        for _ in range(20):
            _outcome(fn, *args)
    for fn, args in cases:
        _ARM["at"] = -1
        want = _outcome(fn, *args)
        before = coconut.stats()["osr_entries"]
        _ARM["at"] = 5
        got = _outcome(fn, *args)
        _ARM["at"] = -1
        assert got == want, (fn.__name__, got, want)
        assert coconut.stats()["osr_entries"] - before == 1, fn.__name__


_EVENTS = []


def _profiled(n):
    t = 0
    for i in range(n):
        _maybe_arm(i)
        if i == 50:
            sys.setprofile(lambda frame, event, arg: _EVENTS.append(
                (event, frame.f_code.co_name, frame.f_lineno)) if frame.f_code.co_name in
                ("_profiled", "_maybe_arm") else None)
        t += i
    return t


@patched_only
@in_subprocess()
def test_a_profiler_set_in_an_osr_loop_sees_one_return():
    """A profiler set while the loop runs natively (entered at a back edge): native code
    hands the frame to the interpreter, which reports the frame's 'return'; the patched
    interpreter's return from the back edge reports nothing more."""
    import coconut
    for _ in range(20):
        _profiled(10)
    _ARM["at"] = -1
    _EVENTS.clear()
    r1 = _profiled(100)
    sys.setprofile(None)
    want = list(_EVENTS)
    _ARM["at"] = 5
    before = coconut.stats()["osr_entries"]
    _EVENTS.clear()
    r2 = _profiled(100)
    sys.setprofile(None)
    _ARM["at"] = -1
    assert coconut.stats()["osr_entries"] - before == 1
    assert (r2, _EVENTS) == (r1, want), (_EVENTS, want)


def test_regrtest_summaries_are_compared():
    """scripts/regrtest_ab.py (make regrtest-patched) reads regrtest's summary: a test
    that failed only on the patched interpreter makes it fail."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
    try:
        import regrtest_ab
    finally:
        sys.path.pop(0)
    text = """0:00:01 load avg: 0.1 [1/4] test_a passed
== Tests result: FAILURE then FAILURE ==

2 tests OK.

2 tests failed:
    test_buffer test_generators

1 test altered the execution environment:
    test_x

3 tests skipped:
    test_devpoll test_ioctl
    test_kqueue

1 re-run test:
    test_generators

Total duration: 1 min
Tests result: FAILURE then FAILURE
"""
    s = regrtest_ab.parse_summary(text)
    assert s["result"] == "FAILURE then FAILURE" and s["ok"] == 2
    assert s["failed"] == {"test_buffer", "test_generators"} and s["env_changed"] == {"test_x"}
    assert s["skipped"] == {"test_devpoll", "test_ioctl", "test_kqueue"} and s["rerun"] == {"test_generators"}
    base = dict(s, failed={"test_buffer"}, rc=2, seconds=1.0, log="a.log")
    text_out, bad = regrtest_ab.report({"stock": base, "patched": dict(s, rc=2, seconds=1.0, log="b.log")})
    assert bad and "patched fails and stock passes: test_generators" in text_out
    _, bad = regrtest_ab.report({"stock": dict(base, failed={"test_buffer", "test_generators"}),
                                 "patched": dict(s, rc=2, seconds=1.0, log="b.log")})
    assert not bad
