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

On the compile thread, a compile to a file runs in a child process
(`coconut_compile_child`, in the runtime library): forked, it runs
gcc_jit_context_compile_to_file on its copy of the context and exits. The program's
process does not wait for gcc at exit (it cancels: the child then deletes what it
wrote), and gcc's memory is never the program's. The child runs no Python: only this C
function and libgccjit; it resets every signal handler to the default first (a
Python handler would write to the program's wakeup fd). Where fork fails, or the child
reports nothing, the compile runs in this process, which also gets libgccjit's error
message.
"""
from __future__ import annotations

import ctypes
import os

import shutil
from posix import close as _close, pipe as _pipe, set_blocking as _set_blocking
from posix import waitpid as _waitpid, stat as _stat

import gccjit

from .signals import preserved_locale, preserved_signal_handlers

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
                ("gcc_jit_context_add_driver_option", None, [vp, cp]),
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
    name = f"{os.uname().machine}-linux-gnu-gcc-{_raw.gcc_jit_version_major()}"   # (platform.machine(): 3 ms of import)
    return name if shutil.which(name) else None


_EXTERNAL_DRIVER = _driver_name() if os.environ.get("COCONUT_GCC_DRIVER", "external") != "embedded" else None


def raw_context(ctx: gccjit.Context) -> int:
    return _void_p_at(id(ctx) + 16).value


# Extra gcc options, space-separated (for looking into gcc: -ftime-report, -fdump-...).
_EXTRA_OPTIONS = [o.encode() for o in os.environ.get("COCONUT_GCC_OPTIONS", "").split()]


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
    # gcc's garbage collector sizes its heap from the machine's RAM (on 24 GB it hardly
    # ever collects) and keeps what it grew to: in this process, that was ~320 MB after
    # a few hundred compiles. Collecting from 8 MB on keeps it at ~60 MB, no slower.
    _raw.gcc_jit_context_add_command_line_option(raw, b"--param=ggc-min-heapsize=8192")
    _raw.gcc_jit_context_add_command_line_option(raw, b"--param=ggc-min-expand=20")
    # Linking: a module needs nothing from the C start files or libc at link time (its
    # calls go through its link table or resolve in the process at dlopen), and the
    # default link (crt*.o, libc.so's linker script, libgcc_s) is a third of an empty
    # context's gcc run: 21 -> 14 ms measured. libgcc.a stays, for any helper gcc may
    # call (128-bit division and the like).
    _raw.gcc_jit_context_add_driver_option(raw, b"-nostdlib")
    _raw.gcc_jit_context_add_driver_option(raw, b"-lgcc")
    if _EXTERNAL_DRIVER:
        _raw.gcc_jit_context_set_bool_use_external_driver(raw, 1)
    for option in _EXTRA_OPTIONS:          # COCONUT_GCC_OPTIONS: e.g. -ftime-report
        _raw.gcc_jit_context_add_command_line_option(raw, option)


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


# The runtime library's coconut_compile_child, when the compile thread may use it (set by
# jit._start_worker), and the write ends of the pipes of the children running now
# ({pid: fd}; closing one cancels that child: cancel_children).
_child = {"function": None}
_children: dict[int, int] = {}
_COMPILE_TO_FILE = (ctypes.cast(_raw.gcc_jit_context_compile_to_file, ctypes.c_void_p).value
                    if _raw is not None else None)


def use_child_processes(address: int | None) -> None:
    """Compiles to a file on the compile thread fork (see module doc): `address` is
    coconut_compile_child's, None turns that off."""
    _child["function"] = (ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                           ctypes.c_int)(address)
                          if address and _raw is not None else None)


def cancel_children() -> None:
    """At exit: the running children delete what they write and end; not waited for."""
    for pid in list(_children):
        fd = _children.pop(pid, None)
        if fd is not None:
            try:
                _close(fd)
            except OSError:
                pass


def emit_compile_child(c, imported) -> None:
    """Add to the runtime's context `c`:

        int coconut_compile_child(void *compile_to_file, gcc_jit_context *ctx, int kind,
                                  const char *path, int cancel_read, int cancel_write)

    fork(); the parent gets the child's pid (or -1). The child resets every signal to
    its default action, closes its copy of the pipe's write end, runs
    compile_to_file(ctx, kind, path), and, when the pipe reads as closed (the parent
    cancelled, or exited), deletes `path`; then _exit(0)."""
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    char_p = c.get_type(T.CHAR).get_pointer()
    void = c.get_type(T.VOID)
    fork = imported("fork", it, [])
    signal = imported("signal", vp, [it, vp])
    close = imported("close", it, [it])
    read = imported("read", long_t, [it, vp, c.get_type(T.SIZE_T)])
    unlink = imported("unlink", it, [char_p])
    exit_ = imported("_exit", void, [it])
    ps = [c.new_param(vp, b"compile_to_file"), c.new_param(vp, b"ctx"), c.new_param(it, b"kind"),
          c.new_param(char_p, b"path"), c.new_param(it, b"cancel_read"),
          c.new_param(it, b"cancel_write")]
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_compile_child", ps)
    pid, sig, byte = fn.new_local(it, b"pid"), fn.new_local(it, b"sig"), fn.new_local(c.get_type(T.CHAR), b"byte")
    entry, child, test, body, run, cancelled, done = (fn.new_block(x) for x in (
        b"entry", b"child", b"test", b"body", b"run", b"cancelled", b"done"))
    entry.add_assignment(pid, c.new_call(fork, []))
    parent = fn.new_block(b"parent")
    entry.end_with_conditional(c.new_comparison(gccjit.Comparison.EQ, pid, c.zero(it)), child, parent)
    parent.end_with_return(pid)
    child.add_assignment(sig, c.one(it))
    child.end_with_jump(test)
    test.end_with_conditional(c.new_comparison(gccjit.Comparison.LT, sig, c.new_rvalue_from_int(it, 65)),
                              body, run)
    body.add_eval(c.new_call(signal, [sig, c.null(vp)]))          # SIG_DFL
    body.add_assignment_op(sig, gccjit.BinaryOp.PLUS, c.one(it))
    body.end_with_jump(test)
    run.add_eval(c.new_call(close, [ps[5]]))
    compile_t = c.new_function_ptr_type(void, [vp, it, char_p])
    run.add_eval(c.new_call_through_ptr(c.new_cast(ps[0], compile_t), [ps[1], ps[2], ps[3]]))
    got = c.new_call(read, [ps[4], byte.get_address(), c.one(c.get_type(T.SIZE_T))])
    run.end_with_conditional(c.new_comparison(gccjit.Comparison.EQ, got, c.zero(long_t)),
                             cancelled, done)
    cancelled.add_eval(c.new_call(unlink, [ps[3]]))
    cancelled.end_with_jump(done)
    done.add_eval(c.new_call(exit_, [c.zero(it)]))
    done.end_with_return(c.zero(it))


class GccRun:
    """One gcc run over a complete context: in memory (path None) or to a shared object
    at `path`. Calling it runs gcc, on whatever thread calls (see module doc); the
    context must not be touched by anyone else meanwhile. `result` is then a RawResult
    or gccjit.Result (in memory) or None; errors are the context's get_first_error().
    `in_child` (set by the compile thread): a run to a file forks (see module doc);
    `lock`, when set, is held while gcc runs in this process (and while forking)."""
    __slots__ = ("context", "path", "result", "in_child", "lock")

    def __init__(self, context: gccjit.Context, path: str | None):
        self.context, self.path, self.result = context, path, None
        self.in_child, self.lock = False, None

    def __call__(self) -> None:
        if self.in_child and self.path is not None and _child["function"] is not None \
                and _EXTERNAL_DRIVER and self._run_child():
            return
        if self.lock is not None:
            with self.lock, preserved_locale():
                self._run_here()
        else:
            with preserved_locale():
                self._run_here()

    def _run_child(self) -> bool:
        """gcc in a child process; whether it wrote the shared object."""
        path = self.path.encode()
        r, w = _pipe()
        try:
            _set_blocking(r, False)
            if self.lock is not None:
                with self.lock:
                    pid = _child["function"](_COMPILE_TO_FILE, raw_context(self.context),
                                             DYNAMIC_LIBRARY, path, r, w)
            else:
                pid = _child["function"](_COMPILE_TO_FILE, raw_context(self.context),
                                         DYNAMIC_LIBRARY, path, r, w)
        finally:
            _close(r)
        if pid <= 0:
            _close(w)
            return False
        _children[pid] = w
        try:
            _, status = _waitpid(pid, 0)
        except ChildProcessError:      # reaped by someone else: judge by the file
            status = 0
        finally:
            fd = _children.pop(pid, None)
            if fd is not None:
                _close(fd)
        try:
            return status == 0 and _stat(self.path).st_size > 0
        except OSError:
            return False

    def _run_here(self) -> None:
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
