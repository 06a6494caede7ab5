"""What a gcc run changes in the process, put back.

libgccjit's embedded driver (gcc's driver run in-process to assemble and link)
installs its own handlers for SIGINT, SIGHUP, SIGTERM and SIGPIPE (they delete
temporary files, then kill the process) and resets SIGCHLD. Left there, a Ctrl-C would
kill the program instead of raising KeyboardInterrupt, and a write to a closed pipe
would kill it instead of raising BrokenPipeError (Python ignores SIGPIPE). So a gcc
run with the embedded driver is wrapped in `preserved_signal_handlers()`, which puts
the process's handlers back. Normally gcc runs with the external driver, a process of
its own, and nothing needs putting back (see gccrun.py).

Every libgccjit compile also runs gcc's `gcc_init_libintl`, which calls
`setlocale(LC_MESSAGES, "")` (and LC_CTYPE): the program's locale would change under
it (test_asyncio's test_events saw LC_MESSAGES and LC_MONETARY change). `preserved_locale()`
puts the process's locale back after the run (all categories at once, as
`setlocale(LC_ALL, NULL)` names them).
"""
from __future__ import annotations

import contextlib
import ctypes
import signal

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setlocale.restype = ctypes.c_char_p
_libc.setlocale.argtypes = [ctypes.c_int, ctypes.c_char_p]
_LC_ALL = 6                      # glibc's LC_ALL
_libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_SIGACTION_SIZE = 256            # struct sigaction is 152 bytes on x86-64 glibc
# One array type for good: create_string_buffer made a new one per call (ctypes caches
# array types only weakly), cyclic garbage after every compile.
_Sigaction = ctypes.c_char * _SIGACTION_SIZE
_SIGNALS = [s for s in (signal.SIGINT, getattr(signal, "SIGHUP", None), signal.SIGTERM,
                        getattr(signal, "SIGPIPE", None), getattr(signal, "SIGCHLD", None))
            if s is not None]


@contextlib.contextmanager
def preserved_signal_handlers():
    saved = []
    for sig in _SIGNALS:
        buf = _Sigaction()
        if _libc.sigaction(sig, None, buf) == 0:
            saved.append((sig, buf))
    try:
        yield
    finally:
        for sig, buf in saved:
            _libc.sigaction(sig, buf, None)


@contextlib.contextmanager
def preserved_locale():
    saved = _libc.setlocale(_LC_ALL, None)        # (a copy: bytes)
    try:
        yield
    finally:
        if saved is not None and _libc.setlocale(_LC_ALL, None) != saved:
            _libc.setlocale(_LC_ALL, saved)
