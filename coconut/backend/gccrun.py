"""Running gcc on a finished libgccjit context: without the GIL, without touching the
process's signal handlers, and from any thread.

The `gccjit` binding calls gcc_jit_context_compile while holding the GIL, so nothing
else in the process runs for the ~70 ms a function takes. Here the same libgccjit entry
points are called through ctypes, which releases the GIL for the call: a compile thread
(coconut/runtime/jit.py) runs gcc while the program goes on. The raw `gcc_jit_context *`
is read out of the binding's Context object (a Cython object: the pointer is its first
field, checked at import against the type libgccjit hands out); if the check fails, the
binding's own calls are used and the GIL stays held.

libgccjit's embedded gcc driver (assembling and linking run in-process) replaces the
process's SIGINT/SIGTERM/SIGPIPE/SIGCHLD handlers (see signals.py): harmless to patch
up around a call that holds the GIL, a race with the program's own signal.signal()
calls otherwise. So contexts use the *external* driver (`<triplet>-gcc-<major>`, forked
like any tool) when it is installed: no handler changes at all (measured: +1 ms per
compile). `background_safe()` says whether that is the case.
"""
from __future__ import annotations

import ctypes
import os
import platform
import shutil

import gccjit

from .signals import preserved_signal_handlers

DYNAMIC_LIBRARY = int(gccjit.OutputKind.DYNAMIC_LIBRARY)
# Bound at import: a program may replace ctypes' names and must not see each compile's
# calls (the compiler's work is invisible to the program).
_void_p_at = ctypes.c_void_p.from_address


def _load_raw():
    try:
        lib = ctypes.CDLL("libgccjit.so.0")     # the binding links against it: loaded
        vp, it, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
        for name, res, args in (
                ("gcc_jit_context_compile", vp, [vp]),
                ("gcc_jit_context_compile_to_file", None, [vp, it, cp]),
                ("gcc_jit_context_get_type", vp, [vp, it]),
                ("gcc_jit_context_set_bool_use_external_driver", None, [vp, it]),
                ("gcc_jit_context_add_command_line_option", None, [vp, cp]),
                ("gcc_jit_result_get_code", vp, [vp, cp]),
                ("gcc_jit_version_major", it, [])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        # The binding's Context keeps its gcc_jit_context * right after the object
        # header, and its Type keeps the gcc_jit_type * after a vtable pointer. Same
        # pointer from libgccjit's own get_type: the layout is what we think.
        probe = gccjit.Context()
        raw = ctypes.c_void_p.from_address(id(probe) + 16).value
        typ = probe.get_type(gccjit.TypeKind.INT)
        if lib.gcc_jit_context_get_type(raw, int(gccjit.TypeKind.INT)) != \
                ctypes.c_void_p.from_address(id(typ) + 24).value:
            return None
        return lib
    except (OSError, AttributeError):
        return None


_raw = _load_raw()


def _driver_name() -> str | None:
    if _raw is None:
        return None
    name = f"{platform.machine()}-linux-gnu-gcc-{_raw.gcc_jit_version_major()}"
    return name if shutil.which(name) else None


_EXTERNAL_DRIVER = _driver_name() if os.environ.get("COCONUT_GCC_DRIVER", "external") != "embedded" else None


def raw_context(ctx: gccjit.Context) -> int:
    return _void_p_at(id(ctx) + 16).value


def prepare(ctx: gccjit.Context) -> None:
    """Settings every context gets before code is added."""
    if _raw is None:
        return
    raw = raw_context(ctx)
    # A native entry must be even (co_extra tags entry counters with the low bit):
    # -O2 aligns functions, -O1 and -O0 do not.
    _raw.gcc_jit_context_add_command_line_option(raw, b"-falign-functions=16")
    # Python's float arithmetic is the processor's, NaN signs and payloads included:
    # no folding of x * -1.0 into -x (which flips a NaN's sign) and the like.
    _raw.gcc_jit_context_add_command_line_option(raw, b"-fsignaling-nans")
    if _EXTERNAL_DRIVER:
        _raw.gcc_jit_context_set_bool_use_external_driver(raw, 1)


def background_safe() -> bool:
    """gcc can run on another thread while the program runs: without the GIL, and
    without the embedded driver's signal handlers."""
    return _raw is not None and _EXTERNAL_DRIVER is not None


class RawResult:
    """A gcc_jit_result from an in-memory compile, kept for the life of the process
    (compiled code is never freed)."""
    __slots__ = ("address",)

    def __init__(self, address: int):
        self.address = address

    def get_code(self, name: bytes) -> int | None:
        return _raw.gcc_jit_result_get_code(self.address, name)


class GccRun:
    """One gcc run over a complete context: in memory (path None) or to a shared object
    at `path`. Calling it runs gcc, on whatever thread calls (see module doc); the
    context must not be touched by anyone else meanwhile. `result` is then a RawResult
    or gccjit.Result (in memory) or None; errors are the context's get_first_error()."""
    __slots__ = ("context", "path", "result")

    def __init__(self, context: gccjit.Context, path: str | None):
        self.context, self.path, self.result = context, path, None

    def __call__(self) -> None:
        if _raw is None:
            with preserved_signal_handlers():
                if self.path is None:
                    try:
                        self.result = self.context.compile()
                    except gccjit.Error:
                        self.result = None
                else:
                    self.context.compile_to_file(gccjit.OutputKind.DYNAMIC_LIBRARY,
                                                 self.path.encode())
            return
        if _EXTERNAL_DRIVER:           # (no Python frames beyond this on a compile thread)
            self._run_raw()
        else:
            with preserved_signal_handlers():
                self._run_raw()

    def _run_raw(self) -> None:
        raw = raw_context(self.context)
        if self.path is None:
            address = _raw.gcc_jit_context_compile(raw)
            self.result = RawResult(address) if address else None
        else:
            _raw.gcc_jit_context_compile_to_file(raw, DYNAMIC_LIBRARY, self.path.encode())


def run_steps(steps):
    """Drive a build given as steps (a generator yielding GccRuns, returning what it
    built) on this thread."""
    try:
        run = next(steps)
        while True:
            run()
            run = steps.send(None)
    except StopIteration as stop:
        return stop.value
