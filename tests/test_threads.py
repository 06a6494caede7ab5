"""Compiled code and threads: concurrent compiled functions compute the right results, and
a compiled loop lets the GIL go (another thread can stop it) and runs pending calls
(signal handlers, KeyboardInterrupt from _thread.interrupt_main)."""
import _thread
import signal
import sys
import threading
import time

from tests.support import in_subprocess, twin, compile_all

JOIN_TIMEOUT = 20.0


# ----------------------------------------------------------------------------- subjects

def work_arith(n):
    a, b, s = 0, 1, 0.0
    for i in range(n):
        a, b = b, (a + b) % 1000003
        s += (a ^ i) / (i + 1)
    return a, b, round(s, 6)


class Acc:
    def __init__(self):
        self.items = []

    def add(self, v):
        self.items.append(v)
        return len(self.items)


def work_objects(n):
    acc = Acc()
    d = {}
    for i in range(n):
        acc.add(str(i))
        d[i % 13] = d.get(i % 13, 0) + acc.add(i)
    return len(acc.items), sorted(d.items())


def work_exceptions(n):
    caught = 0
    for i in range(n):
        try:
            if i % 5 == 0:
                raise ValueError(i)
            caught += len([i])
        except ValueError:
            caught += 100
    return caught


def spin_on_list(flag):
    n = 0
    while not flag[0]:
        n += 1
    return n > 0


SPIN_FLAG = False


def spin_on_global():
    n = 0
    while not SPIN_FLAG:
        n += 1
    return n > 0


class Flag:
    done = False


def spin_on_attribute(flag):
    n = 0
    while not flag.done:
        n = n + 1
    return n > 0


def spin_for_range(flag):
    for i in range(10**15):
        if flag[0]:
            return i > 0
    return None


def spin_forever():
    n = 0
    while True:
        n += 1


def spin_until_calls(counter):
    while counter[0] < 3:
        pass
    return counter[0]


def _join(threads):
    for t in threads:
        t.join(JOIN_TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, "threads still running after %.0fs: %s" % (JOIN_TIMEOUT, stuck)


# ----------------------------------------------------------------------------- tests

@in_subprocess()
def test_concurrent_compiled_functions_give_right_results():
    funcs = [work_arith, work_objects, work_exceptions]
    sizes = [2000, 3000, 5000]
    expected = {(f.__name__, n): twin(f)(n) for f in funcs for n in sizes}
    compile_all(*funcs)
    sys.setswitchinterval(1e-5)   # switch threads as often as possible
    results, errors = [], []

    def worker(k):
        try:
            for r in range(4):
                f = funcs[(k + r) % 3]
                n = sizes[(k * r) % 3]
                results.append(((f.__name__, n), f(n)))
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(k,), name="w%d" % k) for k in range(6)]
    for t in threads:
        t.start()
    _join(threads)
    assert not errors, errors
    assert len(results) == 24
    for key, value in results:
        assert value == expected[key], (key, value, expected[key])


def _stop_spinner(spinner, stop, args=()):
    out = []

    def run():
        out.append(spinner(*args))
    t = threading.Thread(target=run, name=spinner.__name__)
    t.start()
    time.sleep(0.3)
    stop()
    _join([t])
    assert out == [True], out


@in_subprocess(timeout=60)
def test_spinning_compiled_loop_releases_gil_list_flag():
    compile_all(spin_on_list)
    flag = [False]
    _stop_spinner(spin_on_list, lambda: flag.__setitem__(0, True), (flag,))


@in_subprocess(timeout=60)
def test_spinning_compiled_loop_releases_gil_global_flag():
    compile_all(spin_on_global)

    def stop():
        global SPIN_FLAG
        SPIN_FLAG = True
    _stop_spinner(spin_on_global, stop)


@in_subprocess(timeout=60)
def test_spinning_compiled_loop_releases_gil_attribute_flag():
    compile_all(spin_on_attribute)
    flag = Flag()
    _stop_spinner(spin_on_attribute, lambda: setattr(flag, "done", True), (flag,))


@in_subprocess(timeout=60)
def test_spinning_compiled_for_loop_releases_gil():
    compile_all(spin_for_range)
    flag = [False]
    _stop_spinner(spin_for_range, lambda: flag.__setitem__(0, True), (flag,))


@in_subprocess(timeout=60)
def test_main_thread_spinning_lets_other_thread_run():
    compile_all(spin_on_list)
    flag = [False]

    def setter():
        time.sleep(0.2)
        flag[0] = True
    t = threading.Thread(target=setter)
    t.start()
    assert spin_on_list(flag) is True
    _join([t])


@in_subprocess(timeout=60)
def test_interrupt_main_stops_compiled_loop():
    compile_all(spin_forever)

    def interrupter():
        time.sleep(0.3)
        _thread.interrupt_main()
    t = threading.Thread(target=interrupter)
    t.start()
    try:
        spin_forever()
    except KeyboardInterrupt as e:
        tb = e.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        assert tb.tb_frame.f_code is spin_forever.__code__, tb.tb_frame.f_code
    else:
        raise AssertionError("spin_forever returned")
    _join([t])


@in_subprocess(timeout=60)
def test_signal_handler_runs_during_compiled_loop():
    compile_all(spin_until_calls)
    counter = [0]

    def handler(signum, frame):
        counter[0] += 1
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    try:
        assert spin_until_calls(counter) >= 3
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Stop(Exception):
    pass


@in_subprocess(timeout=60)
def test_signal_handler_exception_raised_in_compiled_loop():
    compile_all(spin_forever)

    def handler(signum, frame):
        raise Stop("from handler")
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        spin_forever()
    except Stop as e:
        assert str(e) == "from handler"
    else:
        raise AssertionError("spin_forever returned")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class AsyncStop(Exception):
    pass


@in_subprocess(timeout=60)
def test_async_exception_stops_compiled_loop():
    import ctypes
    compile_all(spin_forever)
    out = []

    def run():
        try:
            spin_forever()
        except AsyncStop:
            out.append("stopped")
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    n = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(t.ident),
                                                   ctypes.py_object(AsyncStop))
    assert n == 1, n
    _join([t])
    assert out == ["stopped"], out


def spin_and_catch():
    n = 0
    try:
        while True:
            n += 1
    except KeyboardInterrupt:
        return "caught", n > 0


@in_subprocess(timeout=60)
def test_interrupt_caught_inside_compiled_function():
    compile_all(spin_and_catch)

    def interrupter():
        time.sleep(0.3)
        _thread.interrupt_main()
    t = threading.Thread(target=interrupter)
    t.start()
    assert spin_and_catch() == ("caught", True)
    _join([t])
