"""The PEP 523 frame-evaluation hook and the eval-breaker helper, emitted with libgccjit.

The hook sends a frame to its native entry when the code object carries one in
co_extra, the frame is fresh (nothing executed yet: generators resumed mid-way,
`gen.throw()` and frames the interpreter already started stay interpreted) and no
tracing or profiling is active. Everything else goes to `_PyEval_EvalFrameDefault`.
"""
from __future__ import annotations

import ctypes

import gccjit

from . import layout as L

_api = ctypes.pythonapi
_api._PyEval_RequestCodeExtraIndex.argtypes = [ctypes.c_void_p]
_api._PyEval_RequestCodeExtraIndex.restype = ctypes.c_ssize_t
_api._PyCode_SetExtra.argtypes = [ctypes.py_object, ctypes.c_ssize_t, ctypes.c_void_p]
_api._PyCode_SetExtra.restype = ctypes.c_int
_api._PyInterpreterState_GetEvalFrameFunc.argtypes = [ctypes.c_void_p]
_api._PyInterpreterState_GetEvalFrameFunc.restype = ctypes.c_void_p
_api._PyInterpreterState_SetEvalFrameFunc.argtypes = [ctypes.c_void_p, ctypes.c_void_p]

DEFAULT_EVAL = ctypes.cast(_api._PyEval_EvalFrameDefault, ctypes.c_void_p).value


class Runtime:
    """The hook, installed at most once per interpreter."""

    def __init__(self):
        self.extra_index = _api._PyEval_RequestCodeExtraIndex(None)
        self._result = self._emit()
        self.hook_address = self._result.get_code(b"coconut_hook")
        self.helpers = {"coconut_eval_breaker": self._result.get_code(b"coconut_eval_breaker")}
        self.previous = None

    # -- emitted code ----------------------------------------------------------------
    def _emit(self):
        c = gccjit.Context()
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

        # PyObject *coconut_hook(PyThreadState *ts, _PyInterpreterFrame *frame, int throwflag)
        params = [c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(it, b"throwflag")]
        ts, frame, throwflag = params
        fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_hook", params)
        entry, interp = fn.new_block(b"entry"), fn.new_block(b"interpreter")
        has_extra, has_slot, fresh, untraced, native = (
            fn.new_block(n) for n in (b"has_extra", b"has_slot", b"fresh", b"untraced", b"native"))
        code, extra, target = (fn.new_local(vp, n) for n in (b"code", b"extra", b"target"))
        entry.add_assignment(code, field(frame, L.FRAME_CODE, vp))
        entry.add_assignment(extra, field(code, L.CO_EXTRA, vp))
        entry.end_with_conditional(
            c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(gccjit.TypeKind.BOOL),
                            c.new_comparison(eq, throwflag, zero), c.new_comparison(ne, extra, null)),
            has_extra, interp)
        # _PyCodeObjectExtra { Py_ssize_t ce_size; void *ce_extras[]; }
        has_extra.end_with_conditional(
            c.new_comparison(gccjit.Comparison.GT, field(extra, 0, long_t),
                             c.new_rvalue_from_int(long_t, self.extra_index)), has_slot, interp)
        has_slot.add_assignment(target, field(extra, 8 + 8 * self.extra_index, vp))
        has_slot.end_with_conditional(c.new_comparison(ne, target, null), fresh, interp)
        # A fresh frame: prev_instr is the unit before the first one.
        first_minus_one = c.new_array_access(c.new_cast(code, char_p),
                                             c.new_rvalue_from_int(it, L.CO_CODE_ADAPTIVE - 2))
        fresh.end_with_conditional(
            c.new_comparison(eq, c.new_cast(field(frame, L.FRAME_PREV_INSTR, vp), char_p),
                             first_minus_one.get_address()), untraced, interp)
        tracing = field(field(ts, L.TS_CFRAME, vp), L.CFRAME_USE_TRACING, u8)
        untraced.end_with_conditional(c.new_comparison(eq, tracing, c.zero(u8)), native, interp)
        entry_type = c.new_function_ptr_type(vp, [vp, vp, it])
        native.end_with_return(c.new_call_through_ptr(c.new_cast(target, entry_type),
                                                      [ts, frame, zero]))
        interp.end_with_return(c.new_call(eval_default, [ts, frame, throwflag]))

        # int coconut_eval_breaker(PyThreadState *ts): -1 error, 0 go on, 1 deopt.
        # What ceval's eval_frame_handle_pending does, where the C-API allows: signals
        # and pending calls, a chance for other threads to take the GIL; tracing turned
        # on and asynchronous exceptions are left to the interpreter.
        p = c.new_param(vp, b"ts")
        hf = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_eval_breaker", [p])
        b0, leave, breaker, calls_ok, done = (
            hf.new_block(n) for n in (b"entry", b"leave", b"breaker", b"calls_ok", b"done"))
        b0.end_with_conditional(
            c.new_comparison(ne, field(field(p, L.TS_CFRAME, vp), L.CFRAME_USE_TRACING, u8), c.zero(u8)),
            leave, breaker)
        leave.end_with_return(one)
        status = hf.new_local(it, b"status")
        breaker.add_assignment(status, c.new_call(pending, []))
        error = hf.new_block(b"error")
        breaker.end_with_conditional(c.new_comparison(gccjit.Comparison.LT, status, zero), error, calls_ok)
        error.end_with_return(c.new_rvalue_from_int(it, -1))
        saved = hf.new_local(vp, b"saved")
        calls_ok.add_assignment(saved, c.new_call(save, []))
        calls_ok.add_eval(c.new_call(restore, [saved]))
        calls_ok.end_with_conditional(c.new_comparison(ne, field(p, L.TS_ASYNC_EXC, vp), null),
                                      leave, done)
        done.end_with_return(zero)
        result = c.compile()
        if result is None:
            raise RuntimeError(f"coconut: libgccjit could not build the runtime: {c.get_first_error()}")
        return result

    # -- installing ------------------------------------------------------------------
    def install(self) -> None:
        interp = _api.PyInterpreterState_Get()
        current = _api._PyInterpreterState_GetEvalFrameFunc(interp)
        if current == self.hook_address:
            return
        if current not in (None, DEFAULT_EVAL):
            raise RuntimeError(
                "coconut: another frame evaluator (PEP 523, e.g. a debugger) is installed; "
                "coconut cannot share it — run without it, or call coconut.disable()")
        self.previous = current
        _api._PyInterpreterState_SetEvalFrameFunc(interp, self.hook_address)

    def uninstall(self) -> None:
        interp = _api.PyInterpreterState_Get()
        if _api._PyInterpreterState_GetEvalFrameFunc(interp) == self.hook_address:
            _api._PyInterpreterState_SetEvalFrameFunc(interp, self.previous or DEFAULT_EVAL)

    @property
    def installed(self) -> bool:
        return _api._PyInterpreterState_GetEvalFrameFunc(_api.PyInterpreterState_Get()) == self.hook_address

    def set_entry(self, code, address: int | None) -> None:
        if _api._PyCode_SetExtra(code, self.extra_index, address) != 0:
            raise RuntimeError("coconut: _PyCode_SetExtra failed")
