"""Exception handling for native code, emitted with libgccjit into the runtime library:
what ceval does between an error and the first instruction of a handler, and
CHECK_EXC_MATCH's test (ceval's `check_except_type_valid` is static).

    PyObject *coconut_catch(int add_traceback)

ceval's `error:` and `exception_unwind:` for a frame whose handler native code runs
itself (lowering/handlers.py). With `add_traceback` (an error raised at an instruction):
a SystemError if no exception is set ("error return without exception set"), then
`PyTraceBack_Here` on the current frame's frame object (native code has linked its frame
as the thread's current one, and named the instruction in `prev_instr`: the traceback
entry's line). Without it (RERAISE: the exception keeps its traceback), neither. Then,
as `exception_unwind`, the exception is fetched, normalized, given its traceback (or
None) and returned: a new reference, which the handler finds on its stack. The thread's
exception is cleared. Tracing (`call_exc_trace`) is not done here: under a trace
function native code leaves for the interpreter instead.

    int coconut_exc_match(PyObject *left, PyObject *right)

CHECK_EXC_MATCH: -1 with TypeError("catching classes that do not inherit from
BaseException is not allowed") when `right` (or an item of a tuple `right`) is not an
exception class, else `PyErr_GivenExceptionMatches(left, right)` (no Python code runs:
subclass tests go along the MRO, never through `__subclasscheck__`).

    int coconut_do_raise(PyThreadState *tstate, PyObject *exc, PyObject *cause)

RAISE_VARARGS: ceval's static `do_raise`, which steals `exc` and `cause` (either may be
NULL). `raise` (exc NULL): the exception being handled (`_PyErr_GetTopmostException`)
is set again with its traceback, and 1 is returned (the unwind adds no traceback entry);
RuntimeError("No active exception to reraise") if there is none. `raise C` calls the
class (TypeError if that gives no exception instance); `raise e`; `from` a class (called),
an instance or None sets `__cause__`; anything else is a TypeError with ceval's messages.
Returns 0 with the exception set (the unwind adds the traceback entry).

    PyObject *coconut_raise_out(PyThreadState *ts, _PyInterpreterFrame *frame,
                                int add_traceback)

The shared tail of native code's `ErrorExit`s that no handler of the frame covers
(`ErrorExit.leaves`), called with the frame unlinked, its stack spilled and
`prev_instr` at the raising instruction. Under a tracer or profiler (but statistics'
instruction counter) it is `coconut_resume(ts, frame, 1)`: the interpreter reports the
events (a re-raise, without `add_traceback`, checked for a tracer before it restored
the exception). Otherwise ceval's `error:` (the SystemError check, `PyTraceBack_Here`:
with `add_traceback`),
`exception_unwind:` with no handler (the stack released, top first, with XDECREF) and
`exit_unwind:`, with the frame the thread's current one and its recursion counted
meanwhile, as in ceval; then NULL.
"""
from __future__ import annotations

import gccjit

from . import layout as L

TPFLAGS_TUPLE_SUBCLASS = 1 << 26
TPFLAGS_TYPE_SUBCLASS = 1 << 31
CANNOT_CATCH_MSG = b"catching classes that do not inherit from BaseException is not allowed"


def emit_exceptions(c, field, imported) -> None:
    """Add coconut_catch and coconut_exc_match to the runtime's context `c`.
    `field(base, offset, type)` is an lvalue at a byte offset, `imported(name, ret,
    params)` a C-API function."""
    T = gccjit.TypeKind
    vp, it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
    void, long_t, ulong = c.get_type(T.VOID), c.get_type(T.LONG), c.get_type(T.UNSIGNED_LONG)
    char_p = c.get_type(T.CHAR).get_pointer()
    vpp = vp.get_pointer()
    eq, ne, ge = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.GE
    null = c.null(vp)
    u8 = c.get_type(T.UNSIGNED_CHAR)

    def exc_global(name: bytes):
        return c.new_global(gccjit.GlobalKind.IMPORTED, vp, name)

    none = c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"_Py_NoneStruct").get_address(), vp)
    set_string = imported("PyErr_SetString", void, [vp, char_p])
    fetch = imported("PyErr_Fetch", void, [vpp, vpp, vpp])
    restore = imported("PyErr_Restore", void, [vp, vp, vp])
    normalize = imported("PyErr_NormalizeException", void, [vpp, vpp, vpp])
    set_tb = imported("PyException_SetTraceback", it, [vp, vp])
    matches = imported("PyErr_GivenExceptionMatches", it, [vp, vp])
    dealloc = imported("_Py_Dealloc", void, [vp])

    def xdecref(fn, blk, value, name: str):
        """Py_XDECREF(value) at the end of `blk`; returns the block after it."""
        dec, free, after = (fn.new_block(f"{name}_{s}".encode()) for s in ("dec", "free", "done"))
        blk.end_with_conditional(c.new_comparison(ne, value, null), dec, after)
        rc = field(value, L.OB_REFCNT, long_t)
        dec.add_assignment_op(rc, gccjit.BinaryOp.MINUS, c.one(long_t))
        dec.end_with_conditional(c.new_comparison(eq, rc, c.zero(long_t)), free, after)
        free.add_eval(c.new_call(dealloc, [value]))
        free.end_with_jump(after)
        return after

    # -- coconut_catch ---------------------------------------------------------------
    add_tb = c.new_param(it, b"add_traceback")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_catch", [add_tb])
    typ, val, tb = (fn.new_local(vp, n) for n in (b"type", b"value", b"tb"))
    B = {n: fn.new_block(n.encode()) for n in (
        "entry", "check", "unwind", "with_tb", "without_tb", "release")}
    B["entry"].end_with_conditional(c.new_comparison(ne, add_tb, c.zero(it)),
                                    B["check"], B["unwind"])
    _error_label(c, fn, imported, B["check"], B["unwind"])
    u = B["unwind"]
    u.add_eval(c.new_call(fetch, [typ.get_address(), val.get_address(), tb.get_address()]))
    u.add_eval(c.new_call(normalize, [typ.get_address(), val.get_address(), tb.get_address()]))
    u.end_with_conditional(c.new_comparison(ne, tb, null), B["with_tb"], B["without_tb"])
    B["with_tb"].add_eval(c.new_call(set_tb, [val, tb]))
    B["with_tb"].end_with_jump(B["release"])
    B["without_tb"].add_eval(c.new_call(set_tb, [val, none]))
    B["without_tb"].end_with_jump(B["release"])
    after = xdecref(fn, B["release"], tb, "tb")
    after = xdecref(fn, after, typ, "type")
    after.end_with_return(val)

    # -- coconut_exc_match -----------------------------------------------------------
    left, right = c.new_param(vp, b"left"), c.new_param(vp, b"right")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_exc_match", [left, right])
    i, n, item = fn.new_local(long_t, b"i"), fn.new_local(long_t, b"n"), fn.new_local(vp, b"item")
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "single", "tuple", "loop", "check_item", "next", "match", "bad")}

    def flag(obj, bit):
        flags = field(obj, L.TP_FLAGS, ulong)
        if bit == TPFLAGS_TYPE_SUBCLASS:      # 1 << 31: past a C int, the binding's limit
            return c.new_comparison(gccjit.Comparison.LT, c.new_cast(flags, it), c.zero(it))
        return c.new_comparison(ne, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, ulong, flags,
                                                    c.new_rvalue_from_int(ulong, bit)),
                                c.zero(ulong))

    def is_exception_class(obj):       # PyExceptionClass_Check
        return c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL),
                               flag(field(obj, L.OB_TYPE, vp), TPFLAGS_TYPE_SUBCLASS),
                               flag(obj, L.TPFLAGS_BASE_EXC_SUBCLASS))

    B["entry"].end_with_conditional(flag(field(right, L.OB_TYPE, vp), TPFLAGS_TUPLE_SUBCLASS),
                                    B["tuple"], B["single"])
    B["single"].end_with_conditional(is_exception_class(right), B["match"], B["bad"])
    B["tuple"].add_assignment(n, field(right, L.OB_SIZE, long_t))
    B["tuple"].add_assignment(i, c.zero(long_t))
    B["tuple"].end_with_jump(B["loop"])
    B["loop"].end_with_conditional(c.new_comparison(ge, i, n), B["match"], B["check_item"])
    items = c.new_cast(c.new_array_access(c.new_cast(right, char_p),
                                          c.new_rvalue_from_int(it, L.TUPLE_ITEMS)).get_address(), vpp)
    B["check_item"].add_assignment(item, c.new_array_access(items, i))
    B["check_item"].end_with_conditional(is_exception_class(item), B["next"], B["bad"])
    B["next"].add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    B["next"].end_with_jump(B["loop"])
    B["match"].end_with_return(c.new_call(matches, [left, right]))
    B["bad"].add_eval(c.new_call(set_string, [c.new_cast(exc_global(b"PyExc_TypeError"), vp),
                                              c.new_string_literal(CANNOT_CATCH_MSG)]))
    B["bad"].end_with_return(c.new_rvalue_from_int(it, -1))

    # -- coconut_do_raise ------------------------------------------------------------
    ts, exc, cause = c.new_param(vp, b"tstate"), c.new_param(vp, b"exc"), c.new_param(vp, b"cause")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_do_raise", [ts, exc, cause])
    typ, val, tb, fixed, info = (fn.new_local(vp, n) for n in (b"type", b"value", b"tb", b"fixed", b"info"))
    topmost = imported("_PyErr_GetTopmostException", vp, [vp])
    call0 = imported("PyObject_CallNoArgs", vp, [vp])
    set_object = imported("PyErr_SetObject", void, [vp, vp])
    set_cause = imported("PyException_SetCause", void, [vp, vp])
    get_tb = imported("PyException_GetTraceback", vp, [vp])
    format_ = c.new_function(gccjit.FunctionKind.IMPORTED, vp, b"PyErr_Format",
                             [c.new_param(vp, b"exc"), c.new_param(char_p, b"fmt")],
                             is_variadic=True)
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "bare", "no_active", "active", "given", "cls", "called", "not_instance",
        "not_class", "instance", "neither", "raised", "has_cause", "cause_cls",
        "cause_called", "cause_not_cls", "cause_inst", "cause_not_inst", "cause_none",
        "cause_bad", "set_cause", "set", "raise_error")}
    one, zero = c.one(it), c.zero(it)

    def incref(blk, v):
        blk.add_assignment_op(field(v, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))

    def is_instance(v):                 # PyExceptionInstance_Check
        return flag(field(v, L.OB_TYPE, vp), L.TPFLAGS_BASE_EXC_SUBCLASS)

    def decref_then(blk, v, name, then):
        after = xdecref(fn, blk, v, name)
        after.end_with_jump(then)

    e = B["entry"]
    e.add_assignment(typ, null)
    e.add_assignment(val, null)
    e.end_with_conditional(c.new_comparison(eq, exc, null), B["bare"], B["given"])
    # raise: the exception being handled, again, with its traceback
    B["bare"].add_assignment(info, c.new_call(topmost, [ts]))
    B["bare"].add_assignment(val, field(info, L.EXC_INFO_VALUE, vp))
    B["bare"].end_with_conditional(
        c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, c.get_type(T.BOOL),
                        c.new_comparison(eq, val, null), c.new_comparison(eq, val, none)),
        B["no_active"], B["active"])
    B["no_active"].add_eval(c.new_call(set_string, [c.new_cast(exc_global(b"PyExc_RuntimeError"), vp),
                                                    c.new_string_literal(b"No active exception to reraise")]))
    B["no_active"].end_with_return(zero)
    a = B["active"]
    a.add_assignment(typ, field(val, L.OB_TYPE, vp))
    incref(a, typ)
    incref(a, val)
    a.add_eval(c.new_call(restore, [typ, val, c.new_call(get_tb, [val])]))
    a.end_with_return(one)
    # raise C / raise e
    B["given"].end_with_conditional(is_exception_class(exc), B["cls"], B["not_class"])
    B["cls"].add_assignment(typ, exc)
    B["cls"].add_assignment(val, c.new_call(call0, [exc]))
    B["cls"].end_with_conditional(c.new_comparison(eq, val, null), B["raise_error"], B["called"])
    B["called"].end_with_conditional(is_instance(val), B["raised"], B["not_instance"])
    B["not_instance"].add_eval(c.new_call(format_, [
        c.new_cast(exc_global(b"PyExc_TypeError"), vp),
        c.new_string_literal(b"calling %R should have returned an instance of BaseException, not %R"),
        typ, field(val, L.OB_TYPE, vp)]))
    B["not_instance"].end_with_jump(B["raise_error"])
    B["not_class"].end_with_conditional(is_instance(exc), B["instance"], B["neither"])
    B["instance"].add_assignment(val, exc)
    B["instance"].add_assignment(typ, field(exc, L.OB_TYPE, vp))
    incref(B["instance"], typ)
    B["instance"].end_with_jump(B["raised"])
    nb = fn.new_block(b"neither_message")
    decref_then(B["neither"], exc, "exc", nb)
    nb.add_eval(c.new_call(set_string, [c.new_cast(exc_global(b"PyExc_TypeError"), vp),
                                        c.new_string_literal(b"exceptions must derive from BaseException")]))
    nb.end_with_jump(B["raise_error"])
    # from cause
    B["raised"].end_with_conditional(c.new_comparison(ne, cause, null), B["has_cause"], B["set"])
    B["has_cause"].end_with_conditional(is_exception_class(cause), B["cause_cls"], B["cause_not_cls"])
    B["cause_cls"].add_assignment(fixed, c.new_call(call0, [cause]))
    B["cause_cls"].end_with_conditional(c.new_comparison(eq, fixed, null), B["raise_error"],
                                        B["cause_called"])
    decref_then(B["cause_called"], cause, "cause_cls", B["set_cause"])
    B["cause_not_cls"].end_with_conditional(is_instance(cause), B["cause_inst"], B["cause_not_inst"])
    B["cause_inst"].add_assignment(fixed, cause)
    B["cause_inst"].end_with_jump(B["set_cause"])
    B["cause_not_inst"].end_with_conditional(c.new_comparison(eq, cause, none), B["cause_none"],
                                             B["cause_bad"])
    B["cause_none"].add_assignment(fixed, null)
    decref_then(B["cause_none"], cause, "cause_none", B["set_cause"])
    B["cause_bad"].add_eval(c.new_call(set_string, [c.new_cast(exc_global(b"PyExc_TypeError"), vp),
                                                    c.new_string_literal(b"exception causes must derive from BaseException")]))
    B["cause_bad"].end_with_jump(B["raise_error"])
    B["set_cause"].add_eval(c.new_call(set_cause, [val, fixed]))     # steals fixed
    B["set_cause"].end_with_jump(B["set"])
    s_ = B["set"]
    s_.add_eval(c.new_call(set_object, [typ, val]))
    after = xdecref(fn, s_, val, "set_value")
    after = xdecref(fn, after, typ, "set_type")
    after.end_with_return(zero)
    after = xdecref(fn, B["raise_error"], val, "err_value")
    after = xdecref(fn, after, typ, "err_type")
    after = xdecref(fn, after, cause, "err_cause")
    after.end_with_return(zero)


def emit_raise_out(c, field, imported, traced, resume) -> None:
    """Add coconut_raise_out (module docstring) to the runtime's context `c`; `traced(ts)`
    is the runtime's tracing test, `resume` the coconut_resume function."""
    T = gccjit.TypeKind
    vp, it, void, long_t = (c.get_type(k) for k in (T.VOID_PTR, T.INT, T.VOID, T.LONG))
    char_p = c.get_type(T.CHAR).get_pointer()
    vpp = vp.get_pointer()
    eq, ne, gt = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.GT
    null = c.null(vp)
    dealloc = imported("_Py_Dealloc", void, [vp])

    ts, frame, add_tb = c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(it, b"add_traceback")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_raise_out", [ts, frame, add_tb])
    v = fn.new_local(vp, b"v")
    top, base = fn.new_local(it, b"top"), fn.new_local(it, b"base")
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "traced", "native", "check", "pop", "pop_one", "dec", "free", "popped")}
    B["entry"].end_with_conditional(traced(ts), B["traced"], B["native"])
    B["traced"].end_with_return(c.new_call(resume, [ts, frame, c.one(it)]))
    current = field(field(ts, L.TS_CFRAME, vp), L.CFRAME_CURRENT_FRAME, vp)
    remaining = field(ts, L.TS_RECURSION_REMAINING, it)
    n = B["native"]
    n.add_assignment(current, frame)                  # linked again, as in ceval
    n.add_assignment_op(remaining, gccjit.BinaryOp.MINUS, c.one(it))
    n.end_with_conditional(c.new_comparison(ne, add_tb, c.zero(it)), B["check"], B["pop"])
    _error_label(c, fn, imported, B["check"], B["pop"])
    p = B["pop"]
    p.add_assignment(base, field(field(frame, L.FRAME_CODE, vp), L.CO_NLOCALSPLUS, it))
    p.add_assignment(top, field(frame, L.FRAME_STACKTOP, it))
    p.end_with_conditional(c.new_comparison(gt, top, base), B["pop_one"], B["popped"])
    o = B["pop_one"]
    o.add_assignment_op(top, gccjit.BinaryOp.MINUS, c.one(it))
    locals_ = c.new_cast(c.new_array_access(c.new_cast(frame, char_p),
                                            c.new_rvalue_from_int(it, L.FRAME_LOCALSPLUS)).get_address(), vpp)
    o.add_assignment(v, c.new_array_access(locals_, top))
    o.add_assignment(field(frame, L.FRAME_STACKTOP, it), top)
    o.end_with_conditional(c.new_comparison(ne, v, null), B["dec"], B["pop"])
    rc = field(v, L.OB_REFCNT, long_t)
    B["dec"].add_assignment_op(rc, gccjit.BinaryOp.MINUS, c.one(long_t))
    B["dec"].end_with_conditional(c.new_comparison(eq, rc, c.zero(long_t)), B["free"], B["pop"])
    B["free"].add_eval(c.new_call(dealloc, [v]))
    B["free"].end_with_jump(B["pop"])
    d = B["popped"]
    d.add_assignment(current, field(frame, L.FRAME_PREVIOUS, vp))
    d.add_assignment_op(remaining, gccjit.BinaryOp.PLUS, c.one(it))
    d.end_with_return(null)


def _error_label(c, fn, imported, entry, after) -> None:
    """End block `entry` of `fn` with ceval's `error:` (a SystemError if no exception is
    set; the traceback entry on the current frame's frame object), then go to `after`.
    PyEval_GetFrame clears the error if it cannot make the frame object: the exception
    is fetched around it."""
    T = gccjit.TypeKind
    vp, it, void = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.VOID)
    vpp, char_p = vp.get_pointer(), c.get_type(T.CHAR).get_pointer()
    eq, ne, null = gccjit.Comparison.EQ, gccjit.Comparison.NE, c.null(vp)
    fetch = imported("PyErr_Fetch", void, [vpp, vpp, vpp])
    restore = imported("PyErr_Restore", void, [vp, vp, vp])
    typ, val, tb, fobj = (fn.new_local(vp, n) for n in (b"err_type", b"err_value", b"err_tb", b"err_frame"))
    unset, trace, here = (fn.new_block(n) for n in (b"err_unset", b"err_traceback", b"err_here"))
    entry.end_with_conditional(
        c.new_comparison(eq, c.new_call(imported("PyErr_Occurred", vp, []), []), null), unset, trace)
    unset.add_eval(c.new_call(imported("PyErr_SetString", void, [vp, char_p]), [
        c.new_global(gccjit.GlobalKind.IMPORTED, vp, b"PyExc_SystemError"),
        c.new_string_literal(b"error return without exception set")]))
    unset.end_with_jump(trace)
    trace.add_eval(c.new_call(fetch, [typ.get_address(), val.get_address(), tb.get_address()]))
    trace.add_assignment(fobj, c.new_call(imported("PyEval_GetFrame", vp, []), []))
    trace.add_eval(c.new_call(restore, [typ, val, tb]))
    trace.end_with_conditional(c.new_comparison(ne, fobj, null), here, after)
    here.add_eval(c.new_call(imported("PyTraceBack_Here", it, [vp]), [fobj]))
    here.end_with_jump(after)
