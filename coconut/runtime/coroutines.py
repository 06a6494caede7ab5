"""`coconut_get_awaitable`, emitted with libgccjit into the runtime library: GET_AWAITABLE's
`_PyCoro_GetAwaitableIter` (genobject.c; not exported by libpython), for native code.

    PyObject *coconut_get_awaitable(PyObject *o)

* a coroutine that has not started yet, or a generator of an iterable coroutine
  (`types.coroutine`): `o` itself, a new reference;
* an object whose type has `am_await` (a Future, a Task, a class with `__await__`):
  `am_await(o)`, checked as genobject.c checks it (TypeError when it returns a
  coroutine or something that is not an iterator); NULL with the exception set when it
  fails;
* anything else (no `am_await`; a coroutine already started, which ceval may find
  "being awaited already", or a finished one): NULL *without* an exception. Nothing has
  run: native code deopts before the instruction and the interpreter raises exactly
  what it raises (format_awaitable_error's messages included).
"""
from __future__ import annotations

import gccjit

from . import layout as L


def emit_get_awaitable(c, field, imported) -> None:
    """Add coconut_get_awaitable to the runtime's context `c` (see the module
    docstring). `field(base, offset, type)` is an lvalue at a byte offset,
    `imported(name, ret, params)` a C-API function."""
    T = gccjit.TypeKind
    vp, it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
    long_t, i8, char_p = c.get_type(T.LONG), c.get_type(T.SIGNED_CHAR), c.get_type(T.CHAR).get_pointer()
    eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE
    null = c.null(vp)
    u8 = c.get_type(T.UNSIGNED_CHAR)
    coro_type = c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyCoro_Type").get_address(), vp)
    gen_type = c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyGen_Type").get_address(), vp)
    type_error = c.new_global(gccjit.GlobalKind.IMPORTED, vp, b"PyExc_TypeError")
    iter_check = imported("PyIter_Check", it, [vp])
    set_string = imported("PyErr_SetString", c.get_type(T.VOID), [vp, char_p])
    dealloc = imported("_Py_Dealloc", c.get_type(T.VOID), [vp])
    format_ = c.new_function(gccjit.FunctionKind.IMPORTED, vp, b"PyErr_Format",
                             [c.new_param(vp, b"exc"), c.new_param(char_p, b"fmt")],
                             is_variadic=True)

    o = c.new_param(vp, b"o")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_get_awaitable", [o])
    B = {n: fn.new_block(n.encode()) for n in (
        "entry", "coroutine", "not_coroutine", "generator",
        "other", "has_async", "has_await", "got", "res_coroutine", "res_generator",
        "iterator", "res_not_coroutine", "not_iterator", "release", "defer", "own",
        "fail")}
    tp, getter, res = (fn.new_local(vp, n) for n in (b"tp", b"getter", b"res"))
    refcnt = field(o, L.OB_REFCNT, long_t)

    def is_iterable_coroutine(gen):
        code = field(gen, L.GEN_CODE, vp)
        flags = field(code, L.CO_FLAGS, it)
        return c.new_comparison(ne, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, it, flags,
                                                    c.new_rvalue_from_int(it, L.CO_ITERABLE_COROUTINE)),
                                c.zero(it))

    e = B["entry"]
    e.add_assignment(tp, field(o, L.OB_TYPE, vp))
    e.end_with_conditional(c.new_comparison(eq, tp, coro_type), B["coroutine"],
                           B["not_coroutine"])
    # Only a coroutine that has not started: another one is the interpreter's case.
    B["coroutine"].end_with_conditional(
        c.new_comparison(eq, field(o, L.GEN_FRAME_STATE, i8), c.new_rvalue_from_int(i8, L.GEN_CREATED)),
        B["own"], B["defer"])
    B["not_coroutine"].end_with_conditional(c.new_comparison(eq, tp, gen_type),
                                            B["generator"], B["other"])
    B["generator"].end_with_conditional(is_iterable_coroutine(o), B["own"], B["other"])
    B["own"].add_assignment_op(refcnt, gccjit.BinaryOp.PLUS, c.one(long_t))
    B["own"].end_with_return(o)
    # tp_as_async->am_await
    async_ = field(tp, L.TP_AS_ASYNC, vp)
    B["other"].end_with_conditional(c.new_comparison(ne, async_, null), B["has_async"], B["defer"])
    B["has_async"].add_assignment(getter, field(async_, L.AM_AWAIT, vp))
    B["has_async"].end_with_conditional(c.new_comparison(ne, getter, null), B["has_await"], B["defer"])
    unary = c.new_function_ptr_type(vp, [vp])
    B["has_await"].add_assignment(res, c.new_call_through_ptr(c.new_cast(getter, unary), [o]))
    B["has_await"].end_with_conditional(c.new_comparison(ne, res, null), B["got"], B["fail"])
    rtp = field(res, L.OB_TYPE, vp)
    B["got"].end_with_conditional(c.new_comparison(eq, rtp, coro_type),
                                  B["res_coroutine"], B["res_not_coroutine"])
    B["res_not_coroutine"].end_with_conditional(c.new_comparison(eq, rtp, gen_type),
                                                B["res_generator"], B["not_iterator"])
    B["res_generator"].end_with_conditional(is_iterable_coroutine(res), B["res_coroutine"],
                                            B["not_iterator"])
    B["res_coroutine"].add_eval(c.new_call(set_string, [
        type_error, c.new_string_literal(b"__await__() returned a coroutine")]))
    B["res_coroutine"].end_with_jump(B["release"])
    check = fn.new_block(b"check_iterator")
    B["not_iterator"].end_with_conditional(c.new_comparison(ne, c.new_call(iter_check, [res]), c.zero(it)),
                                           B["iterator"], check)
    B["iterator"].end_with_return(res)
    check.add_eval(c.new_call(format_, [type_error, c.new_string_literal(
        b"__await__() returned non-iterator of type '%.100s'"), field(rtp, L.TP_NAME, char_p)]))
    check.end_with_jump(B["release"])
    rc = field(res, L.OB_REFCNT, long_t)
    B["release"].add_assignment_op(rc, gccjit.BinaryOp.MINUS, c.one(long_t))
    freed = fn.new_block(b"freed")
    B["release"].end_with_conditional(c.new_comparison(eq, rc, c.zero(long_t)), freed, B["fail"])
    freed.add_eval(c.new_call(dealloc, [res]))
    freed.end_with_jump(B["fail"])
    B["fail"].end_with_return(null)
    B["defer"].end_with_return(null)
