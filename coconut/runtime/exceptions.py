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
    occurred = imported("PyErr_Occurred", vp, [])
    set_string = imported("PyErr_SetString", void, [vp, char_p])
    fetch = imported("PyErr_Fetch", void, [vpp, vpp, vpp])
    restore = imported("PyErr_Restore", void, [vp, vp, vp])
    normalize = imported("PyErr_NormalizeException", void, [vpp, vpp, vpp])
    get_frame = imported("PyEval_GetFrame", vp, [])
    tb_here = imported("PyTraceBack_Here", it, [vp])
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
    typ, val, tb, frame = (fn.new_local(vp, n) for n in (b"type", b"value", b"tb", b"frame"))
    B = {n: fn.new_block(n.encode()) for n in (
        "entry", "check", "unset", "traceback", "here", "unwind", "with_tb", "without_tb",
        "release")}
    B["entry"].end_with_conditional(c.new_comparison(ne, add_tb, c.zero(it)),
                                    B["check"], B["unwind"])
    B["check"].end_with_conditional(c.new_comparison(eq, c.new_call(occurred, []), null),
                                    B["unset"], B["traceback"])
    B["unset"].add_eval(c.new_call(set_string, [c.new_cast(exc_global(b"PyExc_SystemError"), vp),
                                                c.new_string_literal(b"error return without exception set")]))
    B["unset"].end_with_jump(B["traceback"])
    # PyEval_GetFrame clears the error if it cannot make the frame object: fetch first
    t = B["traceback"]
    t.add_eval(c.new_call(fetch, [typ.get_address(), val.get_address(), tb.get_address()]))
    t.add_assignment(frame, c.new_call(get_frame, []))
    t.add_eval(c.new_call(restore, [typ, val, tb]))
    t.end_with_conditional(c.new_comparison(ne, frame, null), B["here"], B["unwind"])
    B["here"].add_eval(c.new_call(tb_here, [frame]))
    B["here"].end_with_jump(B["unwind"])
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
