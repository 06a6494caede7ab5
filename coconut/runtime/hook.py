"""The PEP 523 frame-evaluation hook and the eval-breaker helper, emitted with libgccjit.

The hook sends a frame to its native entry when the code object carries one in
co_extra, the frame is fresh (nothing executed yet) or, for a generator or a
coroutine, suspended (resumed by `next`/`send`: its native code dispatches on where
it stopped), and no tracing or profiling is active. `gen.throw()` (throwflag), a generator function's
call (the interpreter makes the generator) and frames the interpreter already
started stay interpreted. Everything else goes to `_PyEval_EvalFrameDefault`.

For whole-program compilation the hook also counts entries of code objects that have
no native entry yet, and calls back into Python (the compile driver) on the entry
after the threshold: see `Runtime.count_entries`.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys

from . import layout as L
# Bound at import: a program may replace these names and must not see the runtime's
# calls (the compiler's work is invisible to the program).
from importlib import import_module as _import_module
from os import close as _close, replace as _replace, stat as _stat, unlink as _unlink
from os import RTLD_LOCAL as _RTLD_LOCAL, RTLD_NOW as _RTLD_NOW
from os.path import abspath as _abspath, dirname as _dirname, join as _join
from gc import disable as _gc_disable, enable as _gc_enable, isenabled as _gc_isenabled
from gc import get_objects as _get_objects
from sys import gettrace as _gettrace, getprofile as _getprofile
from types import CodeType as _CodeType, FunctionType as _FunctionType
from threading import main_thread as _main_thread
from _thread import get_ident as _get_ident
_CDLL = ctypes.CDLL
# libgccjit (gccjit, backend/gccrun.py) and the emitters are imported only to build the
# runtime library: a process whose library is in the on-disk cache never loads them
# (start-up time and memory: see _load_runtime_library).

_api = ctypes.pythonapi
_api._PyEval_RequestCodeExtraIndex.argtypes = [ctypes.c_void_p]
_api._PyEval_RequestCodeExtraIndex.restype = ctypes.c_ssize_t
_api._PyCode_SetExtra.argtypes = [ctypes.py_object, ctypes.c_ssize_t, ctypes.c_void_p]
_api._PyCode_SetExtra.restype = ctypes.c_int
_api._PyInterpreterState_GetEvalFrameFunc.argtypes = [ctypes.c_void_p]
_api._PyInterpreterState_GetEvalFrameFunc.restype = ctypes.c_void_p
_api._PyInterpreterState_SetEvalFrameFunc.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_api._PyCode_GetExtra.argtypes = [ctypes.py_object, ctypes.c_ssize_t, ctypes.c_void_p]

DEFAULT_EVAL = ctypes.cast(_api._PyEval_EvalFrameDefault, ctypes.c_void_p).value

# How the interpreter enters native code: "native" on a CPython built with
# cpython.patch (it exports _PyEval_SetNativeEntry: docs/patched-interpreter.md), where
# the interpreter consults each code object's native entry itself and no PEP 523 hook
# is installed; "hook" on the stock interpreter, or with COCONUT_ENTRY=hook (to compare
# the two on the patched one).
PATCHED = hasattr(_api, "_PyEval_SetNativeEntry")
ENTRY = "native" if PATCHED and os.environ.get("COCONUT_ENTRY", "") != "hook" else "hook"
if PATCHED:
    _api._PyEval_SetNativeEntry.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_void_p,
                                            ctypes.c_void_p]
    _api._PyEval_SetNativeEntry.restype = ctypes.c_int

# A code object's co_extra slot holds either its native entry (a function address:
# even) or, while whole-program compilation counts entries, a tagged counter
# `entries << 1 | 1` (odd; NULL means 0). NEVER (odd) marks code that is not compiled.
NEVER = (1 << 64) - 1
# RECOMPILE (odd) replaces the native entry of code whose native code asked for a
# check of its deopt counters (coconut_deopt_check): its next entry calls the
# recompile callback (see Runtime.on_recompile, runtime/stability.py).
RECOMPILE = NEVER - 2
# Indices into Runtime.control, a C array read by the hook.
(_THRESHOLD, _IN_COMPILER, _CALLBACK, NATIVE_COUNT, INTERPRETED_COUNT, COUNTER_FUNC,
 _COUNT_ENTRY_FUNC, _FINISHED, _FINISH_CALLBACK, _WORKER_TS, _RECOMPILE_CALLBACK,
 _FUNCTION_VECTORCALL, GLOBAL_LOOKUPS, _OBJECT_NEW, _SLOT_TP_INIT, _INIT_NAME,
 _EMPTY_TUPLE, _SAMPLE_FUNC, _SAMPLER_MAIN, _SAMPLER_STOP, _SAMPLE_PENDING, SAMPLES,
 _SAMPLE_WEIGHT, _SAMPLE_PERIOD, _SAMPLER_THREAD, _MAIN_TS, _EVAL_BREAKER,
 _SAMPLER_SEM, _MAIN_INTERP, _OSR_CALLBACK, _OSR_CANDIDATE, _OSR_TARGET, _OSR_BUDGET,
 _OSR_SAVED_FUNC, _OSR_TRACE_FUNC, _OSR_INDEX, OSR_ENTRIES, _IN_NATIVE_BREAKER,
 _OSR_LAST, _OSR_RESUMED, _LASTI_SHIFT, _OSR_TICKS, _OFFER_INDEX, _HOOK_PENDING,
 _HOOK_ADDRESS, _DEFAULT_EVAL) = range(46)
_CONTROL_SIZE = 46
# The sampler's control words by name (runtime/sampler.py).
_SAMPLER_INDEX = dict(
    THRESHOLD=_THRESHOLD, IN_COMPILER=_IN_COMPILER, SAMPLE_FUNC=_SAMPLE_FUNC,
    SAMPLER_MAIN=_SAMPLER_MAIN, SAMPLER_STOP=_SAMPLER_STOP, SAMPLE_PENDING=_SAMPLE_PENDING,
    SAMPLES=SAMPLES, SAMPLE_WEIGHT=_SAMPLE_WEIGHT, SAMPLE_PERIOD=_SAMPLE_PERIOD,
    SAMPLER_THREAD=_SAMPLER_THREAD, MAIN_TS=_MAIN_TS, EVAL_BREAKER=_EVAL_BREAKER,
    SAMPLER_SEM=_SAMPLER_SEM, MAIN_INTERP=_MAIN_INTERP, OSR_CALLBACK=_OSR_CALLBACK,
    OSR_CANDIDATE=_OSR_CANDIDATE, IN_NATIVE_BREAKER=_IN_NATIVE_BREAKER, COUNTER_FUNC=COUNTER_FUNC,
    HOOK_PENDING=_HOOK_PENDING, HOOK_ADDRESS=_HOOK_ADDRESS, DEFAULT_EVAL=_DEFAULT_EVAL,
    FINISHED=_FINISHED, FINISH_CALLBACK=_FINISH_CALLBACK)
# The on-stack replacement words by name (runtime/osr.py).
_OSR_INDEX_NAMES = dict(
    OSR_TARGET=_OSR_TARGET, OSR_BUDGET=_OSR_BUDGET, OSR_SAVED_FUNC=_OSR_SAVED_FUNC,
    OSR_TRACE_FUNC=_OSR_TRACE_FUNC, OSR_INDEX=_OSR_INDEX, OSR_ENTRIES=OSR_ENTRIES,
    OSR_LAST=_OSR_LAST, OSR_RESUMED=_OSR_RESUMED, OSR_TICKS=_OSR_TICKS,
    OSR_CALLBACK=_OSR_CALLBACK, OSR_CANDIDATE=_OSR_CANDIDATE, THRESHOLD=_THRESHOLD,
    IN_COMPILER=_IN_COMPILER, WORKER_TS=_WORKER_TS)
_SEM_SIZE = 32                 # sizeof(sem_t) on 64-bit Linux
HELPERS = ("coconut_eval_breaker", "coconut_resume", "coconut_deopt_check", "coconut_call",
           "coconut_load_global", "coconut_get_awaitable", "coconut_catch", "coconut_exc_match",
           "coconut_do_raise", "coconut_raise_out", "coconut_get_aiter", "coconut_get_anext",
           "coconut_async_gen_wrap", "coconut_match_class", "coconut_match_keys",
           "coconut_return_generator", "coconut_inl_push", "coconut_inl_finish",
           "coconut_inl_dealloc", "coconut_class_attr", "coconut_attr_pic", "coconut_method_pic",
           "coconut_store_pic",
           "coconut_sync_i64", "coconut_sync_f64", "coconut_sync_bool", "coconut_contains_str",
           "coconut_str_iadd", "coconut_truth", "coconut_send", "coconut_gen_next")
# Indices into Runtime.resume_state (see _emit_resume).
_SAVED_TRACE, _SAVED_PROFILE, _EXPECTED_FRAME, _TRACE_SHIM, _PROFILE_SHIM = range(5)
_PYTRACE_CALL, _PYTRACE_OPCODE = 0, 7
NATIVE_LOOP = 2              # cpython.patch's _PyEval_NATIVE_LOOP
_LSHIFT, _RSHIFT = 10, 11    # GCC_JIT_BINARY_OP_LSHIFT/RSHIFT (missing from the binding's enum)


_INIT_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long)


class _Library:
    """The runtime's machine code: a shared object from the cache (dlopen'ed) or a
    libgccjit in-memory result. Kept for the life of the process."""

    def __init__(self, keep, lookup):
        self.keep, self.address = keep, lookup


# Where `python3 -m coconut.runtime.install` (run by scripts/install.sh) puts the runtime
# library, beside the sources it is built from: part of the installation, as a C
# extension's shared object is, so a program's first run with an empty compile cache
# does not spend ~110 ms of gcc (and libgccjit's memory) on it.
INSTALLED_DIR = _join(_dirname(_abspath(__file__)), "_installed")


def runtime_library_name() -> str:
    """The file name of the runtime library for these sources, this Python and this
    gccjit (in the compile cache and in INSTALLED_DIR)."""
    return "runtime-" + _import_module("coconut.runtime.cache").environment_key()[:32] + ".so"


def _load_runtime_library(emit) -> _Library:
    """The runtime built by `emit()` (a libgccjit context): the installed one
    (INSTALLED_DIR) when it is there, else from the on-disk cache
    (coconut/runtime/cache.py: same directory, key and switches), else compiled (~110
    ms of gcc) and stored in the cache."""
    cache = _import_module("coconut.runtime.cache")

    def opened(path):
        lib = _CDLL(path, mode=_RTLD_NOW | _RTLD_LOCAL)
        return _Library(lib, lambda name: ctypes.cast(getattr(lib, name.decode()), ctypes.c_void_p).value)
    name = runtime_library_name()
    try:
        return opened(_join(INSTALLED_DIR, name))
    except OSError:
        pass
    if cache.enabled():
        directory = cache.cache_dir()
        key = name[:-3]
        path = _join(directory, name)
        try:
            return opened(path)
        except OSError:
            pass
        try:
            cache._makedirs(directory)
            fd, tmp = cache._private_file(directory, key, ".so")
            _close(fd)
            try:
                ctx = emit()
                _import_module("coconut.backend.gccrun").GccRun(ctx, tmp)()
                if ctx.get_first_error() is None and _stat(tmp).st_size > 0:
                    _replace(tmp, path)
                    return opened(path)
            finally:
                try:
                    _unlink(tmp)
                except OSError:
                    pass
        except OSError:
            pass                            # no cache here: build in memory
    ctx = emit()
    run = _import_module("coconut.backend.gccrun").GccRun(ctx, None)
    run()
    if run.result is None:
        raise RuntimeError(f"coconut: libgccjit could not build the runtime: {ctx.get_first_error()}")
    return _Library(run.result, run.result.get_code)


def in_main_interpreter() -> bool:
    """Whether this is the process's main interpreter. The runtime library is loaded
    once per process and its C globals (the control block, the co_extra index) are
    the main interpreter's: a subinterpreter (each imports coconut anew) must not
    build a Runtime of its own."""
    _api.PyInterpreterState_Get.restype = ctypes.c_void_p
    _api.PyInterpreterState_Main.restype = ctypes.c_void_p
    return _api.PyInterpreterState_Get() == _api.PyInterpreterState_Main()


class Runtime:
    """The hook, installed at most once per process, in the main interpreter."""

    def __init__(self):
        if not in_main_interpreter():
            raise RuntimeError("coconut: the JIT runs in the main interpreter only, "
                               "not in a subinterpreter")
        self.extra_index = _api._PyEval_RequestCodeExtraIndex(None)
        # On the patched interpreter, the slot it consults (cpython.patch): not NULL
        # for the code coconut wants offered (counted, compiled, with an OSR variant),
        # NULL for the rest (NEVER included), so that their calls and loop back edges
        # cost nothing. coconut's own state stays in extra_index.
        self.offer_index = _api._PyEval_RequestCodeExtraIndex(None) if PATCHED else -1
        # [threshold (-1: no counting), in_compiler flag, PyObject *callback]
        # [threshold (-1: no counting), in_compiler flag, PyObject *callback,
        #  instructions run natively, instructions run by the interpreter (both counted
        #  only in statistics mode), address of coconut_count_trace, of coconut_count_entry]
        #  and for background compiles: compiles finished flag, PyObject *finish
        #  callback, the compile thread's PyThreadState * (see count_entries)]
        #  and the recompile callback (see on_recompile)]
        self.control = (ctypes.c_long * _CONTROL_SIZE)(-1, *[0] * (_CONTROL_SIZE - 1))
        # coconut_resume's one-shot swap of the trace and profile functions.
        self.resume_state = (ctypes.c_void_p * 5)()
        self._callback = self._finish_callback = self._recompile_callback = None
        self._library = _load_runtime_library(self._emit)
        get = self._library.address
        _INIT_TYPE(get(b"coconut_runtime_init"))(ctypes.addressof(self.control),
                                                 ctypes.addressof(self.resume_state),
                                                 self.extra_index)
        self.hook_address = get(b"coconut_hook")
        self.control[_HOOK_ADDRESS] = self.hook_address
        self.control[_DEFAULT_EVAL] = DEFAULT_EVAL
        self.native_entry_address = get(b"coconut_entry")     # (the patched interpreter's)
        self.warm_address = get(b"coconut_warm")
        self._give_slots_c = ctypes.PYFUNCTYPE(None, ctypes.py_object)(get(b"coconut_give_slots"))  # (with the GIL)
        self._native_on = False
        self.control[_OFFER_INDEX] = self.offer_index
        self.compile_child_address = get(b"coconut_compile_child")
        self.helpers = {name: get(name.encode()) for name in HELPERS}
        self.resume_state[_TRACE_SHIM] = get(b"coconut_trace_shim")
        self.resume_state[_PROFILE_SHIM] = get(b"coconut_profile_shim")
        self.control[COUNTER_FUNC] = get(b"coconut_count_trace")
        self.control[_COUNT_ENTRY_FUNC] = get(b"coconut_count_entry")
        self.control[_FUNCTION_VECTORCALL] = ctypes.cast(_api._PyFunction_Vectorcall, ctypes.c_void_p).value
        # For coconut_call's class instantiation (calls.py): object's tp_new, the
        # tp_init of classes with a Python __init__ (slot_tp_init), "__init__", ().
        class _WithInit:
            def __init__(self):
                pass
        slot = ctypes.c_void_p.from_address
        self.control[_OBJECT_NEW] = slot(id(object) + L.TP_NEW).value
        self.control[_SLOT_TP_INIT] = slot(id(_WithInit) + L.TP_INIT).value
        self._init_name = sys.intern("__init__")
        self.control[_INIT_NAME] = id(self._init_name)
        self.control[_EMPTY_TUPLE] = id(())
        self.control[_SAMPLE_FUNC] = get(b"coconut_sample")
        self.control[_SAMPLER_MAIN] = get(b"coconut_sampler_main")
        self._sampler_start = ctypes.CFUNCTYPE(ctypes.c_int)(get(b"coconut_sampler_start"))
        self._sampler_stop = ctypes.CFUNCTYPE(None)(get(b"coconut_sampler_stop"))
        self._semaphore = ctypes.create_string_buffer(_SEM_SIZE)
        self.control[_SAMPLER_SEM] = ctypes.addressof(self._semaphore)
        # On-stack replacement (runtime/osr.py): its trace function, the co_extra index
        # of the per-code tables, and the arming function.
        self.osr_index = _api._PyEval_RequestCodeExtraIndex(None)
        self.control[_OSR_INDEX] = self.osr_index
        self.control[_OSR_TRACE_FUNC] = get(b"coconut_osr_trace")
        self._osr_arm = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.c_long)(get(b"coconut_osr_arm"))
        self._osr_callback = None
        self.sampling = False
        self.counting = False
        self.previous = None
        perfmap = _import_module("coconut.runtime.perfmap")
        if perfmap.enabled():          # before any of the library's code can run
            perfmap.register([(get(n), f"coconut:{n.decode()} (runtime)") for n in (
                b"coconut_hook", b"coconut_count_entry", *(h.encode() for h in HELPERS),
                b"coconut_count_trace", b"coconut_trace_shim", b"coconut_profile_shim",
                b"coconut_runtime_init")])

    # -- emitted code ----------------------------------------------------------------
    def _emit(self):
        """The runtime's libgccjit context. Everything that differs between processes
        (the control block's and resume state's addresses, the co_extra index) is read
        from globals that coconut_runtime_init sets after loading: the built library
        is cached on disk like compiled code (see _load_runtime_library)."""
        gccjit = _import_module("gccjit")
        prepare = _import_module("coconut.backend.gccrun").prepare
        emit_call = _import_module("coconut.runtime.calls").emit_call
        emit_load_global = _import_module("coconut.runtime.namespaces").emit_load_global
        c = gccjit.Context()
        prepare(c)
        c.set_int_option(gccjit.IntOption.OPTIMIZATION_LEVEL, 2)
        vp = c.get_type(gccjit.TypeKind.VOID_PTR)
        it = c.get_type(gccjit.TypeKind.INT)
        long_t = c.get_type(gccjit.TypeKind.LONG)
        u8 = c.get_type(gccjit.TypeKind.UNSIGNED_CHAR)
        char_p = c.get_type(gccjit.TypeKind.CHAR).get_pointer()

        def field(base, offset, type_):
            addr = c.new_array_access(c.new_cast(base, char_p), c.new_rvalue_from_int(it, offset))
            return c.new_cast(addr.get_address(), type_.get_pointer()).dereference()

        def imported(name, ret, params):
            ps = [c.new_param(t, f"a{i}".encode()) for i, t in enumerate(params)]
            return c.new_function(gccjit.FunctionKind.IMPORTED, ret, name.encode(), ps)

        eval_default = imported("_PyEval_EvalFrameDefault", vp, [vp, vp, it])
        pending = imported("Py_MakePendingCalls", it, [])
        save = imported("PyEval_SaveThread", vp, [])
        restore = imported("PyEval_RestoreThread", c.get_type(gccjit.TypeKind.VOID), [vp])
        zero, one = c.zero(it), c.one(it)
        null = c.null(vp)
        eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE

        def traced(ts_):
            """Tracing or profiling is on, other than statistics' instruction counter."""
            bool_t = c.get_type(gccjit.TypeKind.BOOL)
            use_tracing = c.new_comparison(ne, field(field(ts_, L.TS_CFRAME, vp), L.CFRAME_USE_TRACING, u8),
                                           c.zero(u8))
            only_counter = c.new_binary_op(
                gccjit.BinaryOp.LOGICAL_AND, bool_t,
                c.new_comparison(eq, field(ts_, L.TS_C_TRACEFUNC, long_t), counter_func),
                c.new_comparison(eq, field(ts_, L.TS_C_PROFILEFUNC, vp), null))
            return c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, bool_t, use_tracing,
                                   c.new_unary_op(gccjit.UnaryOp.LOGICAL_NEGATE, bool_t, only_counter))

        # Control block shared with Python: see Runtime.control. Set by
        # void coconut_runtime_init(long *control, void **resume_state, long extra_index)
        g_control = c.new_global(gccjit.GlobalKind.INTERNAL, long_t.get_pointer(), b"g_control")
        g_state = c.new_global(gccjit.GlobalKind.INTERNAL, vp.get_pointer(), b"g_resume_state")
        g_index = c.new_global(gccjit.GlobalKind.INTERNAL, long_t, b"g_extra_index")
        ip = [c.new_param(long_t.get_pointer(), b"control"), c.new_param(vp.get_pointer(), b"state"),
              c.new_param(long_t, b"index")]
        init = c.new_function(gccjit.FunctionKind.EXPORTED, c.get_type(gccjit.TypeKind.VOID),
                              b"coconut_runtime_init", ip)
        ib = init.new_block(b"entry")
        for g, p_ in zip((g_control, g_state, g_index), ip):
            ib.add_assignment(g, p_)
        ib.end_with_void_return()
        control = g_control
        threshold = c.new_array_access(control, c.new_rvalue_from_int(it, _THRESHOLD))
        in_compiler = c.new_array_access(control, c.new_rvalue_from_int(it, _IN_COMPILER))
        counter_func = c.new_array_access(control, c.new_rvalue_from_int(it, COUNTER_FUNC))
        interpreted_count = c.new_array_access(control, c.new_rvalue_from_int(it, INTERPRETED_COUNT))
        ulong = c.get_type(gccjit.TypeKind.UNSIGNED_LONG)
        call_one = imported("PyObject_CallOneArg", vp, [vp, vp])
        # libgccjit casts no pointer to an integer: the slot is read both ways, and
        # _PyCode_SetExtra's void * is declared as the (same-sized) unsigned long.
        set_extra = imported("_PyCode_SetExtra", it, [vp, long_t, ulong])
        decref = imported("Py_DecRef", c.get_type(gccjit.TypeKind.VOID), [vp])
        err_fetch = imported("PyErr_Fetch", c.get_type(gccjit.TypeKind.VOID), [vp, vp, vp])
        err_restore = imported("PyErr_Restore", c.get_type(gccjit.TypeKind.VOID), [vp, vp, vp])
        err_clear = imported("PyErr_Clear", c.get_type(gccjit.TypeKind.VOID), [])


        def read_slot(fn_, code_, extra_, bits_, target_, blk, found, missing):
            """target_/bits_ = the co_extra slot of code_ (NULL/0 when there is none).
            _PyCodeObjectExtra { Py_ssize_t ce_size; void *ce_extras[]; }"""
            has_extra, has_slot = fn_.new_block(b"has_extra"), fn_.new_block(b"has_slot")
            blk.add_assignment(extra_, field(code_, L.CO_EXTRA, vp))
            blk.add_assignment(target_, null)
            blk.add_assignment(bits_, c.zero(ulong))
            blk.end_with_conditional(c.new_comparison(ne, extra_, null), has_extra, missing)
            has_extra.end_with_conditional(
                c.new_comparison(gccjit.Comparison.GT, field(extra_, 0, long_t), g_index),
                has_slot, missing)
            slots = c.new_cast(c.new_array_access(c.new_cast(extra_, char_p),
                                                  c.new_rvalue_from_int(it, 8)).get_address(),
                               ulong.get_pointer())
            has_slot.add_assignment(bits_, c.new_array_access(slots, g_index))
            has_slot.add_assignment(target_, c.new_cast(c.new_array_access(
                c.new_cast(slots, vp.get_pointer()), g_index), vp))
            has_slot.end_with_jump(found)

        def is_entry(bits_):
            """Even and not NULL: a native entry. NULL or odd: an entry counter."""
            low_bit = c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, ulong, bits_, c.one(ulong))
            return c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                                   c.new_comparison(ne, bits_, c.zero(ulong)),
                                   c.new_comparison(eq, low_bit, c.zero(ulong)))

        # void *coconut_count_entry(PyThreadState *ts, PyCodeObject *code): the hook's
        # cold path, a function of its own (called through a pointer, so never inlined)
        # to keep the hook's C stack frame small: native calls nest through the hook.
        # Installs finished background compiles, counts the entry, calls the compile
        # callback after `threshold` entries, and returns the native entry or NULL.
        cts, cparam = c.new_param(vp, b"ts"), c.new_param(vp, b"code")
        cf = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_count_entry", [cts, cparam])
        code = cparam
        CB = {n: cf.new_block(n.encode()) for n in (
            "entry", "finish", "finish_done", "read", "slot", "found", "count", "store", "compile",
            "recompile", "counting", "call", "compiled", "compile_failed", "reread", "reread_slot",
            "none")}
        extra, target = cf.new_local(vp, b"extra"), cf.new_local(vp, b"target")
        count, bits = cf.new_local(ulong, b"count"), cf.new_local(ulong, b"bits")
        result, callee = cf.new_local(vp, b"result"), cf.new_local(vp, b"callee")
        saved = [cf.new_local(vp, n) for n in (b"exc_type", b"exc_value", b"exc_tb")]
        control_ptrs = c.new_cast(g_control, vp.get_pointer())

        def control_ptr(i):
            return c.new_array_access(control_ptrs, c.new_rvalue_from_int(it, i))
        # Background compiles that finished are installed first, on this thread (the
        # program's), never on the compile thread: control[_FINISHED] is set by it.
        finished = c.new_array_access(control, c.new_rvalue_from_int(it, _FINISHED))
        CB["entry"].end_with_conditional(
            c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                            c.new_comparison(ne, finished, c.zero(long_t)),
                            c.new_comparison(ne, cts, control_ptr(_WORKER_TS))),
            CB["finish"], CB["read"])
        call_none = imported("PyObject_CallNoArgs", vp, [vp])
        fb = CB["finish"]
        fb.add_assignment(finished, c.zero(long_t))
        fb.add_assignment(in_compiler, c.one(long_t))
        fb.add_eval(c.new_call(err_fetch, [s_.get_address() for s_ in saved]))
        fb.add_assignment(result, c.new_call(call_none, [control_ptr(_FINISH_CALLBACK)]))
        fb.add_assignment(in_compiler, c.zero(long_t))
        finish_error = cf.new_block(b"finish_error")
        fb.end_with_conditional(c.new_comparison(eq, result, null), finish_error, CB["finish_done"])
        # The callback records its own failures: an exception from it is dropped.
        finish_error.add_eval(c.new_call(err_clear, []))
        finish_error.add_eval(c.new_call(err_restore, saved))
        finish_error.end_with_jump(CB["read"])
        CB["finish_done"].add_eval(c.new_call(decref, [result]))
        CB["finish_done"].add_eval(c.new_call(err_restore, saved))
        CB["finish_done"].end_with_jump(CB["read"])
        read_slot(cf, code, extra, bits, target, CB["read"], CB["slot"], CB["slot"])
        never = c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong, c.zero(ulong))   # NEVER
        counted = cf.new_block(b"counted")
        CB["slot"].end_with_conditional(is_entry(bits), CB["found"], counted)   # just installed
        not_never = cf.new_block(b"not_never")
        counted.end_with_conditional(c.new_comparison(eq, bits, never), CB["none"], not_never)
        recompile_mark = c.new_binary_op(gccjit.BinaryOp.MINUS, ulong, never,
                                         c.new_rvalue_from_int(ulong, 2))     # RECOMPILE
        not_never.end_with_conditional(c.new_comparison(eq, bits, recompile_mark),
                                       CB["recompile"], CB["counting"])
        # A recompile request is served even when entries are not counted (code
        # compiled by coconut.compile, threshold -1); a plain counter only then.
        CB["counting"].end_with_conditional(
            c.new_comparison(gccjit.Comparison.LT, threshold, c.zero(long_t)), CB["none"], CB["count"])
        CB["count"].add_assignment(   # count = slot >> 1
            count, c.new_binary_op(_RSHIFT, ulong, bits, c.one(ulong)))
        CB["count"].end_with_conditional(
            c.new_comparison(gccjit.Comparison.GE, count, c.new_cast(threshold, ulong)),
            CB["compile"], CB["store"])
        plus_one = c.new_binary_op(gccjit.BinaryOp.PLUS, ulong, count, c.one(ulong))
        tagged = c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, ulong,      # (count + 1) << 1 | 1
                                 c.new_binary_op(_LSHIFT, ulong, plus_one, c.one(ulong)), c.one(ulong))
        index = g_index
        # The slot exists (every entry after the first): a plain store, as
        # _PyCode_SetExtra would do after its checks; else it allocates co_extra.
        store_direct, store_call = cf.new_block(b"store_direct"), cf.new_block(b"store_call")
        CB["store"].end_with_conditional(
            c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                            c.new_comparison(ne, extra, null),
                            c.new_comparison(gccjit.Comparison.GT, field(extra, 0, long_t), g_index)),
            store_direct, store_call)
        slots = c.new_cast(c.new_array_access(c.new_cast(extra, char_p),
                                              c.new_rvalue_from_int(it, 8)).get_address(),
                           ulong.get_pointer())
        store_direct.add_assignment(c.new_array_access(slots, g_index), tagged)
        store_direct.end_with_jump(CB["none"])
        store_call.add_eval(c.new_call(set_extra, [code, index, tagged]))
        store_call.end_with_jump(CB["none"])
        # The compile (or recompile) callback: a Python call made before the frame
        # starts (it is not linked yet, so it is invisible to the callee), with any
        # exception state saved.
        CB["compile"].add_assignment(callee, control_ptr(_CALLBACK))
        CB["compile"].end_with_jump(CB["call"])
        CB["recompile"].add_assignment(callee, control_ptr(_RECOMPILE_CALLBACK))
        CB["recompile"].end_with_conditional(c.new_comparison(eq, callee, null), CB["none"], CB["call"])
        cb = CB["call"]
        cb.add_assignment(in_compiler, c.one(long_t))
        cb.add_eval(c.new_call(err_fetch, [s_.get_address() for s_ in saved]))
        cb.add_assignment(result, c.new_call(call_one, [callee, code]))
        cb.add_assignment(in_compiler, c.zero(long_t))
        cb.end_with_conditional(c.new_comparison(eq, result, null), CB["compile_failed"], CB["compiled"])
        # The callback raised (it records real failures itself, and marks them NEVER):
        # e.g. a RecursionError on calling it deep in a recursion. A later entry retries.
        CB["compile_failed"].add_eval(c.new_call(err_clear, []))
        CB["compile_failed"].add_eval(c.new_call(err_restore, saved))
        CB["compile_failed"].end_with_jump(CB["none"])
        CB["compiled"].add_eval(c.new_call(decref, [result]))
        CB["compiled"].add_eval(c.new_call(err_restore, saved))
        CB["compiled"].end_with_jump(CB["reread"])
        read_slot(cf, code, extra, bits, target, CB["reread"], CB["reread_slot"], CB["none"])
        CB["reread_slot"].end_with_conditional(is_entry(bits), CB["found"], CB["none"])
        CB["found"].end_with_return(target)
        CB["none"].end_with_return(null)

        def dispatcher(patched: bool):
            """The hook, `PyObject *coconut_hook(PyThreadState *ts, _PyInterpreterFrame
            *frame, int throwflag)`, or with `patched` the patched interpreter's native
            entry (cpython.patch), `int coconut_entry(PyThreadState *ts,
            _PyInterpreterFrame *frame, int how, PyObject **result)`: the same dispatch,
            but where the hook runs the frame in the interpreter, the entry declines
            (returns 0: the interpreter goes on with the frame itself, with no C
            recursion), and where the hook returns native code's result, the entry
            stores it and returns 1. `how` is the hook's throwflag, or
            _PyEval_NATIVE_LOOP at a loop's back edge (on-stack replacement:
            runtime/osr.py's coconut_osr_loop)."""
            # PyObject *coconut_hook(PyThreadState *ts, _PyInterpreterFrame *frame, int throwflag)
            params = [c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(it, b"throwflag")]
            if patched:
                params.append(c.new_param(vp.get_pointer(), b"result"))
                fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_entry", params)
            else:
                fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_hook", params)
            ts, frame, throwflag = params[:3]

            def run(blk, value):       # native code ran the frame: its result
                if patched:
                    blk.add_assignment(params[3].dereference(), value)
                    blk.end_with_return(one)
                else:
                    blk.end_with_return(value)
            B = {n: fn.new_block(n.encode()) for n in (
                "entry", "interpreter", "read", "slot", "not_entry", "count",
                "fresh", "untraced", "native")}
            code, extra, target = (fn.new_local(vp, n) for n in (b"code", b"extra", b"target"))
            bits = fn.new_local(ulong, b"bits")
            B["entry"].add_assignment(code, field(frame, L.FRAME_CODE, vp))
            throw_read, throw_slot = fn.new_block(b"throw_read"), fn.new_block(b"throw_slot")
            if patched:                # a loop's back edge: on-stack replacement
                not_loop, loop = fn.new_block(b"not_loop"), fn.new_block(b"loop")
                B["entry"].end_with_conditional(
                    c.new_comparison(eq, throwflag, c.new_rvalue_from_int(it, NATIVE_LOOP)), loop, not_loop)
                loop.end_with_return(c.new_call(osr_loop, [ts, frame, params[3]]))
                B["entry"] = not_loop
            B["entry"].end_with_conditional(c.new_comparison(eq, throwflag, zero), B["read"], throw_read)
            read_slot(fn, code, extra, bits, target, B["read"], B["slot"], B["slot"])
            # gen.throw() / gen.close() (gen_send_ex2 with exc): a suspended generator frame
            # with a native entry raises at its yield natively (lower._resume_dispatch),
            # unless a tracer or profiler wants the interpreter's events; nothing is counted.
            read_slot(fn, code, extra, bits, target, throw_read, throw_slot, B["interpreter"])
            throw_resumable, throw_native = fn.new_block(b"throw_resumable"), fn.new_block(b"throw_native")
            B["slot"].end_with_conditional(is_entry(bits), B["fresh"], B["not_entry"])
            # Counting entries: only when whole-program compilation is on, never for the
            # compiler's own calls (the callback runs Python), and never under a tracer or
            # profiler: it would see the compiler's frames (and could even jump in them).
            bool_t = c.get_type(gccjit.TypeKind.BOOL)
            # Nor on the compile thread (its few Python frames are the compiler's).
            worker_ts = c.new_array_access(c.new_cast(g_control, vp.get_pointer()),
                                           c.new_rvalue_from_int(it, _WORKER_TS))
            # (A recompile request, RECOMPILE, goes to coconut_count_entry even when entries
            # are not counted.)
            not_counting = c.new_binary_op(
                gccjit.BinaryOp.LOGICAL_AND, bool_t,
                c.new_comparison(gccjit.Comparison.LT, threshold, c.zero(long_t)),
                c.new_comparison(ne, bits, c.new_binary_op(gccjit.BinaryOp.MINUS, ulong,
                                                           c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE,
                                                                          ulong, c.zero(ulong)),
                                                           c.new_rvalue_from_int(ulong, 2))))
            B["not_entry"].end_with_conditional(
                c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, bool_t,
                                c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, bool_t,
                                                not_counting,
                                                c.new_comparison(ne, in_compiler, c.zero(long_t))),
                                c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, bool_t,
                                                traced(ts), c.new_comparison(eq, ts, worker_ts))),
                B["interpreter"], B["count"])
            count_entry_ptr = c.new_array_access(
                c.new_cast(g_control, c.new_function_ptr_type(vp, [vp, vp]).get_pointer()),
                c.new_rvalue_from_int(it, _COUNT_ENTRY_FUNC))
            B["count"].add_assignment(target, c.new_call_through_ptr(count_entry_ptr, [ts, code]))
            B["count"].end_with_conditional(c.new_comparison(ne, target, null), B["fresh"], B["interpreter"])
            # A fresh frame: prev_instr is the unit before the first one.
            first_minus_one = c.new_array_access(c.new_cast(code, char_p),
                                                 c.new_rvalue_from_int(it, L.CO_CODE_ADAPTIVE - 2))
            # Native code takes a function's frame fresh (a generator function's too: its
            # native code makes the generator, RETURN_GENERATOR), and a generator's frame
            # suspended (resumed by gen_send_ex2: its native entry dispatches on
            # prev_instr); the interpreter runs any other frame it already started.
            resumable = c.new_comparison(
                ne, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, it, field(code, L.CO_FLAGS, it),
                                    c.new_rvalue_from_int(it, L.CO_RESUMABLE)), zero)
            fresh_fn, not_fresh = fn.new_block(b"fresh_function"), fn.new_block(b"not_fresh")
            B["fresh"].end_with_conditional(
                c.new_comparison(eq, c.new_cast(field(frame, L.FRAME_PREV_INSTR, vp), char_p),
                                 first_minus_one.get_address()), fresh_fn, not_fresh)
            fresh_fn.end_with_jump(B["untraced"])
            not_fresh.end_with_conditional(resumable, B["untraced"], B["interpreter"])
            B["untraced"].end_with_conditional(traced(ts), B["interpreter"], B["native"])
            entry_type = c.new_function_ptr_type(vp, [vp, vp, it])
            run(B["native"], c.new_call_through_ptr(c.new_cast(target, entry_type), [ts, frame, zero]))
            throw_slot.end_with_conditional(is_entry(bits), throw_resumable, B["interpreter"])
            throw_resumable.end_with_conditional(resumable, throw_native, B["interpreter"])
            throw_untraced = fn.new_block(b"throw_untraced")
            throw_native.end_with_conditional(traced(ts), B["interpreter"], throw_untraced)
            run(throw_untraced, c.new_call_through_ptr(c.new_cast(target, entry_type),
                                                       [ts, frame, throwflag]))
            if patched:
                B["interpreter"].end_with_return(zero)
            else:
                B["interpreter"].end_with_return(c.new_call(eval_default, [ts, frame, throwflag]))
            return fn

        osr_loop = _import_module("coconut.runtime.osr").emit_osr_loop(
            c, field, imported, traced,
            lambda i: c.new_array_access(control, c.new_rvalue_from_int(it, i)), _OSR_INDEX_NAMES,
            g_index)
        fn = dispatcher(False)
        dispatcher(True)

        # void coconut_warm(PyCodeObject *code): the first entry of `code` on the
        # patched interpreter (cpython.patch), before it is offered to coconut_entry:
        # while whole-program compilation counts entries, the code's slot becomes a
        # count of 0, so that this entry and the later ones are offered and counted.
        # (The hook sees every entry; the patched interpreter offers only code with
        # a slot.)
        wp = c.new_param(vp, b"code")
        wf = c.new_function(gccjit.FunctionKind.EXPORTED, c.get_type(gccjit.TypeKind.VOID),
                            b"coconut_warm", [wp])
        W = {n: wf.new_block(n.encode()) for n in ("entry", "read", "slot", "set", "failed", "done")}
        wextra, wtarget = wf.new_local(vp, b"extra"), wf.new_local(vp, b"target")
        wbits = wf.new_local(ulong, b"bits")
        W["entry"].end_with_conditional(
            c.new_comparison(gccjit.Comparison.LT, threshold, c.zero(long_t)), W["done"], W["read"])
        read_slot(wf, wp, wextra, wbits, wtarget, W["read"], W["slot"], W["set"])
        W["slot"].end_with_conditional(c.new_comparison(eq, wbits, c.zero(ulong)), W["set"], W["done"])
        offer_index = c.new_array_access(control, c.new_rvalue_from_int(it, _OFFER_INDEX))
        W["set"].end_with_conditional(     # a count of 0: (0 << 1) | 1; offered: 1
            c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, c.get_type(gccjit.TypeKind.BOOL),
                            c.new_comparison(gccjit.Comparison.LT, c.new_call(
                                set_extra, [wp, g_index, c.new_rvalue_from_int(ulong, 1)]), zero),
                            c.new_comparison(gccjit.Comparison.LT, c.new_call(
                                set_extra, [wp, offer_index, c.new_rvalue_from_int(ulong, 1)]), zero)),
            W["failed"], W["done"])
        W["failed"].add_eval(c.new_call(err_clear, []))     # (no memory: not counted)
        W["failed"].end_with_jump(W["done"])
        W["done"].end_with_void_return()

        # void coconut_give_slots(PyListObject *codes): each code object of the list
        # whose slot is NULL gets a count of 0 (Runtime._give_slots).
        gp = c.new_param(vp, b"codes")
        gf = c.new_function(gccjit.FunctionKind.EXPORTED, c.get_type(gccjit.TypeKind.VOID),
                            b"coconut_give_slots", [gp])
        G = {n: gf.new_block(n.encode()) for n in ("entry", "test", "read", "slot", "set", "next", "done")}
        gi, gcode = gf.new_local(long_t, b"i"), gf.new_local(vp, b"code")
        gextra, gtarget, gbits = gf.new_local(vp, b"extra"), gf.new_local(vp, b"target"), gf.new_local(ulong, b"bits")
        G["entry"].add_assignment(gi, c.zero(long_t))
        G["entry"].end_with_jump(G["test"])
        G["test"].end_with_conditional(c.new_comparison(gccjit.Comparison.LT, gi, field(gp, L.OB_SIZE, long_t)),
                                       G["read"], G["done"])
        G["read"].add_assignment(gcode, c.new_array_access(field(gp, L.LIST_ITEMS, vp.get_pointer()), gi))
        read_slot(gf, gcode, gextra, gbits, gtarget, G["read"], G["slot"], G["set"])
        G["slot"].end_with_conditional(c.new_comparison(eq, gbits, c.zero(ulong)), G["set"], G["next"])
        failed_set = gf.new_block(b"failed_set")
        G["set"].end_with_conditional(
            c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, c.get_type(gccjit.TypeKind.BOOL),
                            c.new_comparison(gccjit.Comparison.LT, c.new_call(
                                set_extra, [gcode, g_index, c.new_rvalue_from_int(ulong, 1)]), zero),
                            c.new_comparison(gccjit.Comparison.LT, c.new_call(
                                set_extra, [gcode, offer_index, c.new_rvalue_from_int(ulong, 1)]), zero)),
            failed_set, G["next"])
        failed_set.add_eval(c.new_call(err_clear, []))
        failed_set.end_with_jump(G["next"])
        G["next"].add_assignment_op(gi, gccjit.BinaryOp.PLUS, c.one(long_t))
        G["next"].end_with_jump(G["test"])
        G["done"].end_with_void_return()

        # int coconut_eval_breaker(PyThreadState *ts): -1 error, 0 go on, 1 deopt.
        # What ceval's eval_frame_handle_pending does, where the C-API allows: signals
        # and pending calls, a chance for other threads to take the GIL; tracing turned
        # on and asynchronous exceptions are left to the interpreter.
        p = c.new_param(vp, b"ts")
        hf = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_eval_breaker", [p])
        b0, leave, breaker, calls_ok, done = (
            hf.new_block(n) for n in (b"entry", b"leave", b"breaker", b"calls_ok", b"done"))
        b0.end_with_conditional(traced(p), leave, breaker)
        leave.end_with_return(one)
        status = hf.new_local(it, b"status")
        # (the sampler's pending call sees native code run the innermost frame: no OSR)
        in_native_breaker = c.new_array_access(control, c.new_rvalue_from_int(it, _IN_NATIVE_BREAKER))
        breaker.add_assignment(in_native_breaker, c.one(long_t))
        breaker.add_assignment(status, c.new_call(pending, []))
        breaker.add_assignment(in_native_breaker, c.zero(long_t))
        error = hf.new_block(b"error")
        breaker.end_with_conditional(c.new_comparison(gccjit.Comparison.LT, status, zero), error, calls_ok)
        error.end_with_return(c.new_rvalue_from_int(it, -1))
        saved = hf.new_local(vp, b"saved")
        calls_ok.add_assignment(saved, c.new_call(save, []))
        calls_ok.add_eval(c.new_call(restore, [saved]))
        calls_ok.end_with_conditional(c.new_comparison(ne, field(p, L.TS_ASYNC_EXC, vp), null),
                                      leave, done)
        done.end_with_return(zero)

        # int coconut_count_trace(PyObject *, PyFrameObject *, int what, PyObject *):
        # statistics' C trace function. It asks each new frame for opcode events and
        # counts them: the instructions the interpreter runs.
        tp = [c.new_param(vp, b"obj"), c.new_param(vp, b"frame"), c.new_param(it, b"what"),
              c.new_param(vp, b"arg")]
        tf = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_count_trace", tp)
        t0, on_call, not_call, on_opcode, t_done = (
            tf.new_block(n) for n in (b"entry", b"call", b"not_call", b"opcode", b"done"))
        t0.end_with_conditional(c.new_comparison(eq, tp[2], c.new_rvalue_from_int(it, _PYTRACE_CALL)),
                                on_call, not_call)
        on_call.add_assignment(field(tp[1], L.FRAMEOBJ_TRACE_OPCODES, u8), c.one(u8))
        on_call.end_with_jump(t_done)
        not_call.end_with_conditional(c.new_comparison(eq, tp[2], c.new_rvalue_from_int(it, _PYTRACE_OPCODE)),
                                      on_opcode, t_done)
        count_it = tf.new_block(b"count")      # the compiler's own work is not counted
        on_opcode.end_with_conditional(c.new_comparison(eq, in_compiler, c.zero(long_t)),
                                       count_it, t_done)
        count_it.add_assignment_op(interpreted_count, gccjit.BinaryOp.PLUS, c.one(long_t))
        count_it.end_with_jump(t_done)
        t_done.end_with_return(zero)

        # int coconut_deopt_check(_PyInterpreterFrame *frame): native code at a
        # speculation site asks for a look at its deopt counters (every CHECK_EVERY-th
        # deopt of an exit, runtime/stability.py). The code's native entry in co_extra
        # becomes RECOMPILE, so its next entry calls the recompile callback; nothing
        # else happens here (the frame is on its way to the interpreter).
        dp = c.new_param(vp, b"frame")
        df = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_deopt_check", [dp])
        d0, dslot, dmark, ddone = (df.new_block(n) for n in (b"entry", b"slot", b"mark", b"done"))
        dcode, dextra, dtarget = (df.new_local(vp, n) for n in (b"code", b"extra", b"target"))
        dbits = df.new_local(ulong, b"bits")
        d0.add_assignment(dcode, field(dp, L.FRAME_CODE, vp))
        read_slot(df, dcode, dextra, dbits, dtarget, d0, dslot, ddone)
        dslot.end_with_conditional(is_entry(dbits), dmark, ddone)
        dslots = c.new_cast(c.new_array_access(c.new_cast(dextra, char_p),
                                               c.new_rvalue_from_int(it, 8)).get_address(),
                            ulong.get_pointer())
        dmark.add_assignment(c.new_array_access(dslots, g_index),
                             c.new_binary_op(gccjit.BinaryOp.MINUS, ulong,
                                             c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong,
                                                            c.zero(ulong)),
                                             c.new_rvalue_from_int(ulong, 2)))   # RECOMPILE
        dmark.end_with_jump(ddone)
        ddone.end_with_return(zero)
        resume = self._emit_resume(c, field, imported, traced, eval_default, g_state,
                                   c.new_array_access(control_ptrs, c.new_rvalue_from_int(it, _OSR_RESUMED)))
        _import_module("coconut.runtime.calls").emit_inlined_frames(c, field, imported, resume)
        _import_module("coconut.runtime.exceptions").emit_raise_out(c, field, imported, traced,
                                                                    resume)
        def enter_frame(fn_, blk, ts_, frame_, result_, done):
            """In `fn_`, from `blk`: `result_` = the hook's evaluation of `frame_`, a
            fresh frame (coconut_call pushed it) or a suspended generator's (gen_send_ex2
            set it up), then jump to `done`: its native entry called directly when its
            code has one and nothing traces (the hook's own path for such a frame), else
            coconut_hook itself (which counts the entry, or runs the interpreter)."""
            code_, extra_ = fn_.new_local(vp, b"enter_code"), fn_.new_local(vp, b"enter_extra")
            target_, bits_ = fn_.new_local(vp, b"enter_target"), fn_.new_local(ulong, b"enter_bits")
            slot, native, hook_ = (fn_.new_block(n) for n in (
                b"enter_slot", b"enter_native", b"enter_hook"))
            blk.add_assignment(code_, field(frame_, L.FRAME_CODE, vp))
            read_slot(fn_, code_, extra_, bits_, target_, blk, slot, hook_)
            slot.end_with_conditional(
                c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                                is_entry(bits_),
                                c.new_unary_op(gccjit.UnaryOp.LOGICAL_NEGATE,
                                               c.get_type(gccjit.TypeKind.BOOL), traced(ts_))),
                native, hook_)
            entry_type_ = c.new_function_ptr_type(vp, [vp, vp, it])
            native.add_assignment(result_, c.new_call_through_ptr(c.new_cast(target_, entry_type_),
                                                                  [ts_, frame_, zero]))
            native.end_with_jump(done)
            hook_.add_assignment(result_, c.new_call(fn, [ts_, frame_, zero]))
            hook_.end_with_jump(done)
        def control_word(i):
            return c.new_array_access(c.new_cast(g_control, vp.get_pointer()), c.new_rvalue_from_int(it, i))
        emit_call(c, field, imported, enter_frame,  # coconut_call: see calls.py
                  *(control_word(i) for i in (_FUNCTION_VECTORCALL, _OBJECT_NEW, _SLOT_TP_INIT,
                                              _INIT_NAME, _EMPTY_TUPLE)),
                  c.new_array_access(control, c.new_rvalue_from_int(it, _LASTI_SHIFT)))
        emit_load_global(c, field, imported,       # see namespaces.py
                         c.new_array_access(control, c.new_rvalue_from_int(it, GLOBAL_LOOKUPS)))
        _import_module("coconut.runtime.attributes").emit_class_attr(c, field, imported)
        pic = _import_module("coconut.runtime.pic")    # polymorphic attribute caches
        pic.emit_attr_pic(c, field, imported)
        pic.emit_method_pic(c, field, imported)
        pic.emit_store_pic(c, field, imported)
        _import_module("coconut.runtime.virtual").emit_sync_helpers(c, field, imported)
        _import_module("coconut.runtime.contains").emit_contains_str(c, field, imported)
        _import_module("coconut.runtime.str_append").emit_str_iadd(c, field, imported)
        _import_module("coconut.runtime.truth").emit_truth(c, field, imported)
        coroutines = _import_module("coconut.runtime.coroutines")
        coroutines.emit_async_iteration(c, field, imported,
                                        coroutines.emit_get_awaitable(c, field, imported))
        coroutines.emit_async_gen_wrap(c, field, imported)
        coroutines.emit_return_generator(c, field, imported)

        coroutines.emit_send(c, field, imported, enter_frame)   # SEND / FOR_ITER
        _import_module("coconut.runtime.exceptions").emit_exceptions(c, field, imported)
        _import_module("coconut.runtime.patterns").emit_patterns(c, field, imported)
        _import_module("coconut.runtime.sampler").emit_sampler(   # time as hotness
            c, field, imported, lambda i: c.new_array_access(control, c.new_rvalue_from_int(it, i)),
            _SAMPLER_INDEX, g_index)
        _import_module("coconut.runtime.osr").emit_osr(           # on-stack replacement
            c, field, imported, lambda i: c.new_array_access(control, c.new_rvalue_from_int(it, i)),
            _OSR_INDEX_NAMES, counter_func)
        _import_module("coconut.backend.gccrun").emit_compile_child(c, imported)  # gcc in a child
        return c

    def _emit_resume(self, c, field, imported, traced, eval_default, state, resumed):
        """PyObject *coconut_resume(PyThreadState *ts, _PyInterpreterFrame *frame,
        int throwflag): native code hands its frame to the interpreter (a deopt, or an
        error to unwind) through this.

        ceval takes every frame it is given for a new call: under a tracer or
        profiler it first reports a 'call' event (TRACE_FUNCTION_ENTRY, or
        TRACE_FUNCTION_THROW_ENTRY with throwflag). For a frame native code already
        started that event is spurious, so the trace and profile functions are swapped
        for one-shot shims that swallow exactly that event and put the real ones back
        (coconut_trace_shim / coconut_profile_shim). Nothing runs between the swap and
        ceval's entry event (the GIL is held), so one saved slot per function is
        enough; if ceval unwinds before that event (a RecursionError at entry) the
        swap is undone here, and a shim that fires for another frame forwards.
        `resumed` (the control block's OSR_RESUMED) names the frame handed over for
        as long as the interpreter runs it: on the patched interpreter its loops are
        not offered to native code again (runtime/osr.py's coconut_osr_loop)."""
        gccjit = _import_module("gccjit")
        vp = c.get_type(gccjit.TypeKind.VOID_PTR)
        it = c.get_type(gccjit.TypeKind.INT)
        eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE
        null = c.null(vp)

        def slot(i):
            return c.new_array_access(state, c.new_rvalue_from_int(it, i))

        params = [c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(it, b"throwflag")]
        ts, frame, throwflag = params
        fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_resume", params)
        entry, plain, swap = (fn.new_block(n) for n in (b"entry", b"plain", b"swap"))
        result, before = fn.new_local(vp, b"result"), fn.new_local(vp, b"resumed_before")
        entry.add_assignment(before, resumed)
        entry.add_assignment(resumed, frame)
        entry.end_with_conditional(traced(ts), swap, plain)
        plain.add_assignment(result, c.new_call(eval_default, [ts, frame, throwflag]))
        plain.add_assignment(resumed, before)
        plain.end_with_return(result)
        block = swap
        funcs = ((L.TS_C_TRACEFUNC, _SAVED_TRACE, _TRACE_SHIM), (L.TS_C_PROFILEFUNC, _SAVED_PROFILE, _PROFILE_SHIM))
        for n, (offset, saved, shim) in enumerate(funcs):
            current = field(ts, offset, vp)
            do_swap, after = fn.new_block(f"swap{n}".encode()), fn.new_block(f"swapped{n}".encode())
            block.end_with_conditional(
                c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                                c.new_comparison(ne, current, null),
                                c.new_comparison(ne, current, slot(shim))), do_swap, after)
            do_swap.add_assignment(slot(saved), current)
            do_swap.add_assignment(current, slot(shim))
            do_swap.end_with_jump(after)
            block = after
        block.add_assignment(slot(_EXPECTED_FRAME), frame)
        block.add_assignment(result, c.new_call(eval_default, [ts, frame, throwflag]))
        block.add_assignment(resumed, before)
        for n, (offset, saved, shim) in enumerate(funcs):
            current = field(ts, offset, vp)
            undo, after = fn.new_block(f"undo{n}".encode()), fn.new_block(f"undone{n}".encode())
            block.end_with_conditional(c.new_comparison(eq, current, slot(shim)), undo, after)
            undo.add_assignment(current, slot(saved))
            undo.end_with_jump(after)
            block = after
        block.end_with_return(result)
        resume_fn = fn

        # int coconut_{trace,profile}_shim(PyObject *obj, PyFrameObject *f, int what, PyObject *arg)
        get_ts = imported("PyThreadState_Get", vp, [])
        tracefunc_t = c.new_function_ptr_type(it, [vp, vp, it, vp])
        for name, offset, saved in ((b"coconut_trace_shim", L.TS_C_TRACEFUNC, _SAVED_TRACE),
                                    (b"coconut_profile_shim", L.TS_C_PROFILEFUNC, _SAVED_PROFILE)):
            sp = [c.new_param(vp, b"obj"), c.new_param(vp, b"f"), c.new_param(it, b"what"),
                  c.new_param(vp, b"arg")]
            sf = c.new_function(gccjit.FunctionKind.EXPORTED, it, name, sp)
            b0, swallow, forward = (sf.new_block(n) for n in (b"entry", b"swallow", b"forward"))
            b0.add_assignment(field(c.new_call(get_ts, []), offset, vp), slot(saved))
            b0.end_with_conditional(
                c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                                c.new_comparison(eq, sp[2], c.new_rvalue_from_int(it, _PYTRACE_CALL)),
                                c.new_comparison(eq, field(sp[1], L.FRAMEOBJ_FRAME, vp), slot(_EXPECTED_FRAME))),
                swallow, forward)
            swallow.end_with_return(c.zero(it))
            forward.end_with_return(c.new_call_through_ptr(c.new_cast(slot(saved), tracefunc_t), sp))
        return resume_fn

    # -- installing ------------------------------------------------------------------
    def install(self, lazy: bool = False) -> None:
        """Make the interpreter send frames to native code: on the patched
        interpreter (ENTRY == "native"), its per-code native entries; else the PEP
        523 hook.

        With `lazy` (whole-program mode with the sampler running, nothing compiled),
        the hook goes in later: with the first native code, which the sampler's hot
        code asks for, or when the sampler finds hot code it cannot hand to the driver
        (runtime/sampler.py). Until then nothing is counted and the program
        runs at the interpreter's own speed: with any PEP 523 hook installed, 3.11's
        interpreter no longer runs Python-to-Python calls in its own loop nor
        specializes them (a call-heavy program ran 1.4x-1.7x slower with the hook in
        and nothing compiled), which a program too short to get anything hot paid for
        nothing."""
        interp = _api.PyInterpreterState_Get()
        current = _api._PyInterpreterState_GetEvalFrameFunc(interp)
        if current == self.hook_address or self._native_on:
            self.control[_HOOK_PENDING] = 0
            return
        if current not in (None, DEFAULT_EVAL):
            raise RuntimeError(
                "coconut: another frame evaluator (PEP 523, e.g. a debugger) is installed; "
                "coconut cannot share it — run without it, or call coconut.disable()")
        if ENTRY == "native":
            if _api._PyEval_SetNativeEntry(interp, self.offer_index, self.native_entry_address,
                                           self.warm_address) != 0:
                raise RuntimeError("coconut: the patched interpreter refused native entries")
            self._native_on = True
            self.control[_LASTI_SHIFT] = 8     # CALL's last cache unit (runtime/calls.py)
            return
        self.previous = current
        if lazy and self.sampling:
            self.control[_HOOK_PENDING] = 1
            return
        self.control[_HOOK_PENDING] = 0
        _api._PyInterpreterState_SetEvalFrameFunc(interp, self.hook_address)

    def uninstall(self) -> None:
        interp = _api.PyInterpreterState_Get()
        self.control[_HOOK_PENDING] = 0
        if self._native_on:
            _api._PyEval_SetNativeEntry(interp, -1, None, None)
            self._native_on = False
            self.control[_LASTI_SHIFT] = 0
        if _api._PyInterpreterState_GetEvalFrameFunc(interp) == self.hook_address:
            _api._PyInterpreterState_SetEvalFrameFunc(interp, self.previous or DEFAULT_EVAL)

    @property
    def hook_pending(self) -> bool:
        """The hook waits for the first native code (install(lazy=True))."""
        return bool(self.control[_HOOK_PENDING])

    @property
    def installed(self) -> bool:
        return self._native_on or (_api._PyInterpreterState_GetEvalFrameFunc(
            _api.PyInterpreterState_Get()) == self.hook_address)

    def set_entry(self, code, address: int | None) -> None:
        assert address is None or address & 1 == 0, f"a native entry must be even (see NEVER): {address:#x}"
        if _api._PyCode_SetExtra(code, self.extra_index, address) != 0:
            raise RuntimeError("coconut: _PyCode_SetExtra failed")
        self._offer(code, True)

    def _offer(self, code, wanted: bool) -> None:
        """The patched interpreter's slot of `code` (offer_index): 1, or NULL."""
        if self.offer_index >= 0 and _api._PyCode_SetExtra(
                code, self.offer_index, 1 if wanted else None) != 0:
            raise RuntimeError("coconut: _PyCode_SetExtra failed")

    def set_never(self, code) -> None:
        """Entries of `code` are no longer counted: it stays interpreted (on the patched
        interpreter its frames are no longer offered, but to an OSR variant it has)."""
        if _api._PyCode_SetExtra(code, self.extra_index, NEVER) != 0:
            raise RuntimeError("coconut: _PyCode_SetExtra failed")
        if self.offer_index >= 0:
            table = ctypes.c_void_p()
            _api._PyCode_GetExtra(code, self.osr_index, ctypes.byref(table))
            self._offer(code, bool(table.value))

    def entries(self, code) -> int:
        """How many times the hook counted an entry of `code` (0 once compiled)."""
        value = ctypes.c_void_p()
        _api._PyCode_GetExtra(code, self.extra_index, ctypes.byref(value))
        v = value.value or 0
        return v >> 1 if v & 1 and v != NEVER else 0

    @contextlib.contextmanager
    def compiling(self):
        """While the compiler runs, the hook neither counts entries nor calls back,
        statistics do not count its instructions, and its allocations do not start
        the cycle collector: that would collect the program's garbage (and run its
        finalizers) at the first call of a function, where the interpreter would not."""
        before = self.control[_IN_COMPILER]
        self.control[_IN_COMPILER] = 1
        collecting = _gc_isenabled()
        if collecting:
            _gc_disable()
        # The collector's allocation count as the program left it: restored on the way
        # out. The compile's own garbage is gone by then, but objects freed into free
        # lists (tuples, lists, dicts) leave the count raised, and a raised count would
        # start a collection at the program's next allocation.
        count = ctypes.c_int.from_address(L.gc_count_address()) if collecting else None
        count_before = count.value if count is not None else 0
        try:
            yield
        finally:
            if count is not None and count.value > count_before:
                count.value = count_before
            if collecting:
                _gc_enable()
            self.control[_IN_COMPILER] = before

    def on_finished(self, callback) -> None:
        """Background compiles: `callback()` installs what the compile thread finished.
        The hook calls it on the next entry of uncompiled code on any thread but the
        compile thread, once `finished()` was signalled."""
        self._finish_callback = callback
        self.control[_FINISH_CALLBACK] = id(callback) if callback is not None else 0

    def on_recompile(self, callback) -> None:
        """`callback(code)` is called at the entry of code marked RECOMPILE (by
        coconut_deopt_check, or request_recompile): it puts a native entry back
        (set_entry: the old one, or a new one) or leaves the mark to be called again at
        the next entry. Called on any thread but the compile thread, whether or not
        entries are counted."""
        self._recompile_callback = callback
        self.control[_RECOMPILE_CALLBACK] = id(callback) if callback is not None else 0

    def request_recompile(self, code) -> None:
        """What coconut_deopt_check does, from Python."""
        if _api._PyCode_SetExtra(code, self.extra_index, RECOMPILE) != 0:
            raise RuntimeError("coconut: _PyCode_SetExtra failed")

    def finished(self) -> None:
        """Called by the compile thread when a compile is ready to be installed."""
        if self.control[_FINISH_CALLBACK]:
            self.control[_FINISHED] = 1

    def set_worker_thread(self) -> None:
        """The calling thread is the compile thread: it never installs anything."""
        _api.PyThreadState_Get.restype = ctypes.c_void_p
        self.control[_WORKER_TS] = _api.PyThreadState_Get()

    def count_instructions(self, interpreted: bool = True) -> None:
        """Statistics mode: code compiled from now on counts its own instructions (see
        lowering); with `interpreted`, the interpreter's are counted on this thread by
        a C trace function that native code does not take for tracing. (A trace
        function is not invisible: CPython then makes a frame object for every frame,
        which CPython's test_frame notices.)"""
        if interpreted:
            _api.PyEval_SetTrace.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            _api.PyEval_SetTrace(self.control[COUNTER_FUNC], None)
        self.counting = True

    def global_lookups(self) -> int:
        """LOAD_GLOBALs of compiled code that their site's cache did not serve so far
        (coconut_load_global's calls: runtime/namespaces.py)."""
        return self.control[GLOBAL_LOOKUPS]

    def start_sampler(self, threshold: int, period_us: int) -> bool:
        """Whole-program mode: start the sampling thread (runtime/sampler.py), which
        makes the code the main thread is seen running as hot as `threshold` entries
        after sampler.SAMPLES_TO_HOT samples, one every `period_us`. Only in the main
        thread of the main interpreter (pending calls run there). Returns whether it
        runs."""
        sampler = _import_module("coconut.runtime.sampler")
        self.control[_SAMPLE_WEIGHT] = max(1, threshold // sampler.SAMPLES_TO_HOT)
        if self.sampling or threshold < 0 or period_us <= 0:
            return self.sampling
        if not in_main_interpreter() or _get_ident() != _main_thread().ident:
            return False
        _api.PyThreadState_Get.restype = ctypes.c_void_p
        interp = _api.PyInterpreterState_Get()
        self.control[_SAMPLE_PERIOD] = period_us
        self.control[_MAIN_TS] = _api.PyThreadState_Get()
        self.control[_EVAL_BREAKER] = interp + L.INTERP_EVAL_BREAKER
        self.control[_MAIN_INTERP] = interp
        self.sampling = self._sampler_start() == 0
        return self.sampling

    def stop_sampler(self) -> None:
        """Stop the sampling thread and wait for it (at exit: before finalization)."""
        if self.sampling:
            self.sampling = False
            self._sampler_stop()

    def restart_sampler(self) -> None:
        """After fork() in the child: the thread did not survive; start another."""
        if self.sampling:
            self.sampling = False
            self.start_sampler(max(1, self.control[_THRESHOLD]), self.control[_SAMPLE_PERIOD])

    def on_osr_sample(self, callback) -> None:
        """Have the sampler call `callback(code)` when it finds the main thread's
        innermost frame interpreted while its code is compiled or hot (None: stop);
        `osr_candidate()` is that frame, while the callback runs (runtime/osr.py)."""
        self._osr_callback = callback
        self.control[_OSR_CALLBACK] = id(callback) if callback is not None else 0

    def osr_candidate(self) -> int:
        return self.control[_OSR_CANDIDATE]

    def osr_arm(self, frame: int, budget: int) -> bool:
        """Arm on-stack replacement for `frame` (a _PyInterpreterFrame * of this thread,
        interpreted): its next line event at a loop header of its code's OSR table
        enters native code. Refused under a tracer or profiler, or when armed already.
        On the patched interpreter there is nothing to arm: it offers every running
        frame of code with a slot to coconut_entry at its loop back edges
        (runtime/osr.py's coconut_osr_loop)."""
        if ENTRY == "native":          # (coconut_osr_loop declines under them)
            return _gettrace() is None and _getprofile() is None
        _api.PyThreadState_Get.restype = ctypes.c_void_p
        return bool(self._osr_arm(_api.PyThreadState_Get(), frame, budget))

    def set_osr_table(self, code, table) -> None:
        """Point `code`'s OSR co_extra slot at `table` (a ctypes array the caller keeps
        alive: see osr.T_*). On the patched interpreter the code's frames are offered
        at their back edges from now on."""
        if _api._PyCode_SetExtra(code, self.osr_index, ctypes.addressof(table)) != 0:
            raise RuntimeError("coconut: _PyCode_SetExtra failed")
        self._offer(code, True)

    def osr_entries(self) -> int:
        """How many times a running frame entered native code (on-stack replacement)."""
        return self.control[OSR_ENTRIES]

    def samples(self) -> int:
        """How many samples the sampling thread has taken (pending calls run)."""
        return self.control[SAMPLES]

    def instruction_counts(self) -> tuple[int, int]:
        """(native, interpreted) instructions counted so far."""
        return self.control[NATIVE_COUNT], self.control[INTERPRETED_COUNT]

    def count_entries(self, threshold: int | None, callback) -> None:
        """Call `callback(code)` on the entry that follows `threshold` counted entries
        of a code object (None: stop counting). The callback gives the code a native
        entry (set_entry) or marks it NEVER (set_never); when it raises, the exception
        is dropped and a later entry calls it again."""
        self._callback = callback
        self.control[_CALLBACK] = id(callback) if callback is not None else 0
        self.control[_THRESHOLD] = -1 if threshold is None else threshold
        if threshold is not None and ENTRY == "native":
            self._give_slots()

    def _give_slots(self) -> None:
        """On the patched interpreter, code that has already run when counting starts
        (coconut_warm sees only first entries) gets a count of 0, so that its entries
        are offered and counted too, as the hook would count them: the code of every
        function alive, and the code objects nested in it (comprehensions, lambdas).
        Reads only C-level fields (no code of the program runs)."""
        codes = [f.__code__ for f in _get_objects() if type(f) is _FunctionType]
        codes += [c for code in codes for c in code.co_consts if type(c) is _CodeType]
        self._give_slots_c(ctypes.py_object(codes))
