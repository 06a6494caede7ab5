"""Runtime edge cases found in review: each test fails if its fix is undone."""
import io
import re

import pytest

from tests import support
from tests.support import in_subprocess, get_coconut


@in_subprocess()
def test_interrupt_at_loop_back_edge_has_the_interpreters_line():
    """The eval breaker on a backward jump: the traceback names the jump's line."""
    import _thread
    import threading
    import traceback
    import types
    import coconut

    def spin():
        i = 0
        for _ in range(10**10):
            i += 1
        return i

    def last_frame(f):
        threading.Timer(0.3, _thread.interrupt_main).start()
        try:
            f()
        except KeyboardInterrupt as e:
            return traceback.extract_tb(e.__traceback__)[-1][1:3]
        raise AssertionError("not interrupted")

    native = types.FunctionType(spin.__code__.replace(), globals())
    coconut.compile(native)
    assert coconut.is_compiled(native)
    assert last_frame(native) == last_frame(spin)


@in_subprocess()
def test_strict_checks_an_already_compiled_function():
    import coconut

    def uses_except_star(v):
        try:
            raise ValueError(v)
        except* ValueError:
            pass
        return 0
    coconut.compile(uses_except_star)
    with pytest.raises(coconut.CompileError, match=r"CHECK_EG_MATCH does not run natively"):
        coconut.compile(uses_except_star, strict=True)


@in_subprocess()
def test_ir_dump_is_deterministic():
    """No raw addresses in the IR dump (golden tests depend on it)."""
    import coconut

    def loop(n):
        s = 0
        while s < n:
            s += 1
        return s
    out = io.StringIO()
    coconut.dump(loop, "ir", file=out)
    text = out.getvalue()
    assert "&eval_breaker" in text
    # (powers of two are the arithmetic's bounds, 2**53 and the like, not addresses)
    leaked = [n for n in re.findall(r"\b\d{9,}\b", text) if int(n) & (int(n) - 1)]
    assert not leaked, f"an address leaked into the IR dump: {leaked}"


@in_subprocess()
def test_unlowered_opcodes_deopt_and_are_counted():
    import coconut

    def f(xs):
        try:
            raise ExceptionGroup("g", [KeyError(xs)])
        except* KeyError as eg:  # CHECK_EG_MATCH: not native (CHECK_EXC_MATCH is)
            n = len(eg.exceptions)
        return n + len(xs)
    coconut.compile(f)
    before = sum(coconut.stats()["deopts"].values())
    assert f({"a": 1, "b": 2, "c": 3}) == 4
    after = coconut.stats()["deopts"]
    assert sum(after.values()) == before + 1
    assert any(reason.startswith("CHECK_EG_MATCH") for reason in after)


@in_subprocess()
def test_strict_error_names_a_line_for_an_exception_handler():
    import coconut

    def h(x):
        try:
            raise ExceptionGroup("g", [ValueError(x)])
        except* ValueError:      # except* handlers stay interpreted (CHECK_EG_MATCH)
            x = 0
        return x
    with pytest.raises(coconut.CompileError) as info:
        coconut.compile(h, strict=True)
    assert "CHECK_EG_MATCH does not run natively" in str(info.value)
    assert re.search(r"line \d+\)", str(info.value)), str(info.value)


@in_subprocess()
def test_compiling_keeps_the_process_signal_handlers():
    # libgccjit's embedded gcc driver installs its own SIGINT/SIGTERM/SIGPIPE handlers
    # (they kill the process); found by test_generators' SIGINT-in-yield-from test.
    import os
    import signal
    import coconut

    def f(x):
        return x + 1
    coconut.compile(f)
    assert f(1) == 2
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("SIGINT did not raise KeyboardInterrupt")
    r, w = os.pipe()
    os.close(r)
    try:
        os.write(w, b"x")        # SIGPIPE is ignored by Python: an exception, not death
    except BrokenPipeError:
        pass
    finally:
        os.close(w)


@in_subprocess()
def test_native_entries_are_aligned_at_every_opt_level():
    # co_extra tags entry counters with the low bit, so an entry must be even; gcc
    # aligns functions only from -O2 on (an -O1 entry at ...279 was seen).
    import os
    coconut = get_coconut()
    from coconut.runtime import jit
    from tests.corpus import generated      # big functions: -O1 (one came out at ...279)
    funcs = []
    for level in (0, 1):
        os.environ["COCONUT_OPT"] = str(level)
        jit.OPT_LEVEL = level
        for f, _ in generated.CASES[:4]:
            f = type(f)(f.__code__.replace(), f.__globals__)     # a code object of its own
            funcs.append(f)
            coconut.compile(f)
    for f in funcs:
        assert coconut.is_compiled(f), f
        module = jit._compiled[id(f.__code__)][1]
        assert all(a % 16 == 0 for a in module.addresses.values()), module.addresses


EMBEDDED_DRIVER_SIGNALS = """\
import os, signal, coconut
from coconut.backend import gccrun
assert not gccrun.background_safe()          # the embedded driver: gcc in-process
def f(x):
    return x + 1
coconut.compile(f)
assert coconut.is_compiled(f) and f(1) == 2
try:
    signal.raise_signal(signal.SIGINT)
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


@pytest.mark.parametrize("driver", ["embedded", "external"])
def test_signal_handlers_kept_with_either_gcc_driver(driver):
    # With the embedded driver (no gcc-12 installed) gcc runs in-process and replaces
    # the handlers: preserved_signal_handlers() puts them back around each run.
    import subprocess
    import sys
    from tests.support import child_env
    src = EMBEDDED_DRIVER_SIGNALS if driver == "embedded" else \
        EMBEDDED_DRIVER_SIGNALS.replace("assert not gccrun", "assert gccrun")
    proc = subprocess.run([sys.executable, "-c", src], text=True, timeout=300,
                          env=child_env({"COCONUT_GCC_DRIVER": driver, "COCONUT_CACHE": "0"}),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert (proc.returncode, proc.stdout.strip()) == (0, "KeyboardInterrupt"), proc


# A handler with `lasti` entered by `RERAISE 1` (an `except ... as name:` body that
# raises: its clean-up re-raises with the lasti below): the unwind released the stack
# that held the lasti int, then pushed that same int for the next handler, freed. Under
# pymalloc a freed object still looks like an int; under glibc's malloc its type word
# is overwritten, so the use after free showed as "lasti is not an int" (and crashed
# test_asyncio's create_connection, base_events._connect_sock, under pymalloc).
_LASTI_PROGRAM = """
import sys, coconut

def chain(n, pad):
    out = []
""" + "".join(f"    pad = pad + {i}\n" for i in range(140)) + """
    for i in range(n):
        try:
            try:
                raise KeyError(i)
            except KeyError as exc:
                raise ValueError(str(exc) + str(pad))
        except ValueError as e:
            out.append((str(e), e.__traceback__.tb_lineno, sys.exc_info()[0].__name__))
    return out

expected = chain(5, 0)
coconut.compile(chain)
for _ in range(300):
    assert chain(5, 0) == expected
print("same")
"""


def test_reraise_into_a_lasti_handler_keeps_its_int_alive():
    res = support.run_python(["-c", _LASTI_PROGRAM], env={"PYTHONMALLOC": "malloc"})
    assert res.ok and res.stdout.strip() == "same", res.describe()
