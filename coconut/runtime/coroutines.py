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
    return fn


def emit_async_iteration(c, field, imported, get_awaitable) -> None:
    """Add coconut_get_aiter and coconut_get_anext (ceval's GET_AITER and GET_ANEXT,
    with their messages) to the runtime's context `c`; `get_awaitable` is
    coconut_get_awaitable.

    PyObject *coconut_get_aiter(PyObject *obj): `type(obj).__aiter__(obj)` through
    `am_aiter`, which must give an object whose type has `am_anext`; NULL with ceval's
    TypeError otherwise. `obj` is not released (the caller does).

    PyObject *coconut_get_anext(PyObject *aiter): the awaitable of one `async for`
    step: an exact async generator's `am_anext` (its asend object); else `am_anext`'s
    result made awaitable as `_PyCoro_GetAwaitableIter` does (a coroutine, in any state,
    is itself; `am_await`'s iterator), its failures chained under "'async for' received
    an invalid object from __anext__". NULL with the exception set."""
    T = gccjit.TypeKind
    vp, void = c.get_type(T.VOID_PTR), c.get_type(T.VOID)
    long_t, char_p = c.get_type(T.LONG), c.get_type(T.CHAR).get_pointer()
    eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE
    null = c.null(vp)
    u8 = c.get_type(T.UNSIGNED_CHAR)
    coro_type = c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyCoro_Type").get_address(), vp)
    agen_type = c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyAsyncGen_Type").get_address(), vp)
    type_error = c.new_global(gccjit.GlobalKind.IMPORTED, vp, b"PyExc_TypeError")
    occurred = imported("PyErr_Occurred", vp, [])
    dealloc = imported("_Py_Dealloc", void, [vp])

    def variadic(name):
        return c.new_function(gccjit.FunctionKind.IMPORTED, vp, name,
                              [c.new_param(vp, b"exc"), c.new_param(char_p, b"fmt")],
                              is_variadic=True)
    format_, from_cause = variadic(b"PyErr_Format"), variadic(b"_PyErr_FormatFromCause")
    unary = c.new_function_ptr_type(vp, [vp])

    def decref(fn, blk, v, name):
        rc = field(v, L.OB_REFCNT, long_t)
        blk.add_assignment_op(rc, gccjit.BinaryOp.MINUS, c.one(long_t))
        free, after = fn.new_block(f"{name}_free".encode()), fn.new_block(f"{name}_done".encode())
        blk.end_with_conditional(c.new_comparison(eq, rc, c.zero(long_t)), free, after)
        free.add_eval(c.new_call(dealloc, [v]))
        free.end_with_jump(after)
        return after

    def tp_name(v):
        return field(field(v, L.OB_TYPE, vp), L.TP_NAME, char_p)

    # -- coconut_get_aiter ---------------------------------------------------------------
    obj = c.new_param(vp, b"obj")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_get_aiter", [obj])
    am, getter, it = (fn.new_local(vp, n) for n in (b"am", b"getter", b"iter"))
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "has_async", "call", "missing", "got", "check", "has_anext", "no_anext", "fail")}
    B["entry"].add_assignment(am, field(field(obj, L.OB_TYPE, vp), L.TP_AS_ASYNC, vp))
    B["entry"].add_assignment(getter, null)
    B["entry"].end_with_conditional(c.new_comparison(ne, am, null), B["has_async"], B["call"])
    B["has_async"].add_assignment(getter, field(am, L.AM_AITER, vp))
    B["has_async"].end_with_jump(B["call"])
    B["call"].end_with_conditional(c.new_comparison(eq, getter, null), B["missing"], B["got"])
    B["missing"].add_eval(c.new_call(format_, [type_error, c.new_string_literal(
        b"'async for' requires an object with __aiter__ method, got %.100s"), tp_name(obj)]))
    B["missing"].end_with_return(null)
    B["got"].add_assignment(it, c.new_call_through_ptr(c.new_cast(getter, unary), [obj]))
    B["got"].end_with_conditional(c.new_comparison(eq, it, null), B["fail"], B["check"])
    B["fail"].end_with_return(null)
    B["check"].add_assignment(am, field(field(it, L.OB_TYPE, vp), L.TP_AS_ASYNC, vp))
    B["check"].end_with_conditional(c.new_comparison(eq, am, null), B["no_anext"], B["has_anext"])
    ok = fn.new_block(b"ok")
    B["has_anext"].end_with_conditional(c.new_comparison(eq, field(am, L.AM_ANEXT, vp), null),
                                        B["no_anext"], ok)
    ok.end_with_return(it)
    B["no_anext"].add_eval(c.new_call(format_, [type_error, c.new_string_literal(
        b"'async for' received an object from __aiter__ that does not implement __anext__: %.100s"),
        tp_name(it)]))
    decref(fn, B["no_anext"], it, "iter").end_with_return(null)

    # -- coconut_get_anext ---------------------------------------------------------------
    aiter = c.new_param(vp, b"aiter")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_get_anext", [aiter])
    am, getter, nxt, aw = (fn.new_local(vp, n) for n in (b"am", b"getter", b"next_iter", b"awaitable"))
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "agen", "other", "has_async", "call", "missing", "got", "wrap", "no_await",
        "deferred", "coroutine", "not_awaitable", "invalid", "done")}
    tp = field(aiter, L.OB_TYPE, vp)
    B["entry"].add_assignment(am, field(tp, L.TP_AS_ASYNC, vp))
    B["entry"].end_with_conditional(c.new_comparison(eq, tp, agen_type), B["agen"], B["other"])
    B["agen"].end_with_return(c.new_call_through_ptr(
        c.new_cast(field(am, L.AM_ANEXT, vp), unary), [aiter]))
    B["other"].add_assignment(getter, null)
    B["other"].end_with_conditional(c.new_comparison(ne, am, null), B["has_async"], B["call"])
    B["has_async"].add_assignment(getter, field(am, L.AM_ANEXT, vp))
    B["has_async"].end_with_jump(B["call"])
    B["call"].end_with_conditional(c.new_comparison(eq, getter, null), B["missing"], B["got"])
    B["missing"].add_eval(c.new_call(format_, [type_error, c.new_string_literal(
        b"'async for' requires an iterator with __anext__ method, got %.100s"), tp_name(aiter)]))
    B["missing"].end_with_return(null)
    B["got"].add_assignment(nxt, c.new_call_through_ptr(c.new_cast(getter, unary), [aiter]))
    fail = fn.new_block(b"fail")
    fail.end_with_return(null)
    B["got"].end_with_conditional(c.new_comparison(eq, nxt, null), fail, B["wrap"])
    B["wrap"].add_assignment(aw, c.new_call(get_awaitable, [nxt]))
    B["wrap"].end_with_conditional(c.new_comparison(eq, aw, null), B["no_await"], B["done"])
    B["no_await"].end_with_conditional(c.new_comparison(eq, c.new_call(occurred, []), null),
                                       B["deferred"], B["invalid"])
    # coconut_get_awaitable's own cases: a coroutine already started is itself here
    B["deferred"].end_with_conditional(c.new_comparison(eq, field(nxt, L.OB_TYPE, vp), coro_type),
                                       B["coroutine"], B["not_awaitable"])
    B["coroutine"].end_with_return(nxt)                       # the reference moves
    B["not_awaitable"].add_eval(c.new_call(format_, [type_error, c.new_string_literal(
        b"object %.100s can't be used in 'await' expression"), tp_name(nxt)]))
    B["not_awaitable"].end_with_jump(B["invalid"])
    B["invalid"].add_eval(c.new_call(from_cause, [type_error, c.new_string_literal(
        b"'async for' received an invalid object from __anext__: %.100s"), tp_name(nxt)]))
    decref(fn, B["invalid"], nxt, "invalid").end_with_return(null)
    decref(fn, B["done"], nxt, "next").end_with_return(aw)


def emit_async_gen_wrap(c, field, imported) -> None:
    """Add coconut_async_gen_wrap to the runtime's context `c`:

    PyObject *coconut_async_gen_wrap(PyThreadState *ts, PyObject *value)

    ASYNC_GEN_WRAP's `_PyAsyncGenValueWrapperNew` (genobject.c; not exported): a new
    `async_generator_wrapped_value` (`_PyAsyncGenWrappedValue_Type`, exported) holding a
    new reference to `value`, tracked by the cycle collector; NULL on MemoryError. As
    there, it comes from the interpreter's free list first (`PyInterpreterState.async_gen`,
    which the wrapper's deallocation fills), `_Py_NewReference`d; else
    `_PyObject_GC_New`. (Without the free list, every value an async generator yields
    was a GC allocation and a free: 7% of async_generators' instructions.)"""
    T = gccjit.TypeKind
    vp, void, long_t = c.get_type(T.VOID_PTR), c.get_type(T.VOID), c.get_type(T.LONG)
    eq = gccjit.Comparison.EQ
    u8 = c.get_type(T.UNSIGNED_CHAR)
    wrapped_type = c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8,
                                           b"_PyAsyncGenWrappedValue_Type").get_address(), vp)
    it = c.get_type(T.INT)
    gc_new = imported("_PyObject_GC_New", vp, [vp])
    gc_track = imported("PyObject_GC_Track", void, [vp])
    new_reference = imported("_Py_NewReference", void, [vp])
    ts, value = c.new_param(vp, b"ts"), c.new_param(vp, b"value")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_async_gen_wrap", [ts, value])
    o, state, n = fn.new_local(vp, b"o"), fn.new_local(vp, b"state"), fn.new_local(it, b"n")
    entry, reuse, alloc, made, fail = (fn.new_block(n) for n in (
        b"entry", b"reuse", b"alloc", b"made", b"fail"))
    char_p = c.get_type(T.CHAR).get_pointer()
    entry.add_assignment(state, c.new_cast(c.new_array_access(
        c.new_cast(field(ts, L.TS_INTERP, vp), char_p),
        c.new_rvalue_from_int(it, L.INTERP_ASYNC_GEN)).get_address(), vp))
    numfree = field(state, L.AG_VALUE_NUMFREE, it)
    entry.add_assignment(n, numfree)
    entry.end_with_conditional(c.new_comparison(gccjit.Comparison.GT, n, c.zero(it)), reuse, alloc)
    reuse.add_assignment(n, c.new_binary_op(gccjit.BinaryOp.MINUS, it, n, c.one(it)))
    reuse.add_assignment(numfree, n)
    reuse.add_assignment(o, c.new_array_access(c.new_cast(state, vp.get_pointer()), n))
    reuse.add_eval(c.new_call(new_reference, [o]))
    reuse.end_with_jump(made)
    alloc.add_assignment(o, c.new_call(gc_new, [wrapped_type]))
    alloc.end_with_conditional(c.new_comparison(eq, o, c.null(vp)), fail, made)
    fail.end_with_return(c.null(vp))
    made.add_assignment(field(o, L.ASYNC_GEN_WRAPPED_VALUE, vp), value)
    made.add_assignment_op(field(value, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))
    made.add_eval(c.new_call(gc_track, [o]))
    made.end_with_return(o)


def emit_return_generator(c, field, imported) -> None:
    """Add coconut_return_generator to the runtime's context `c`:

    PyObject *coconut_return_generator(PyThreadState *ts, _PyInterpreterFrame *frame)

    RETURN_GENERATOR for native code: ceval's rule with `_Py_MakeCoro` (genobject.c's
    make_gen; neither is exported) for a frame that its caller clears and pops
    (`is_entry`: native code is entered from _PyEval_Vector, through the hook, or from
    coconut_call, which clears the frame as _PyEval_Vector does). The generator
    (coroutine, async generator: by the function's co_flags) gets the function's code,
    name and qualname, is tracked by the cycle collector, and gets a copy of the frame
    (header, locals, cells: `_PyFrame_Copy` with an empty stack, `previous` NULL), owned
    by it, in state FRAME_CREATED; the frame is left as ceval leaves it (stacktop 0,
    f_locals NULL, new references to f_func and f_code, which _PyFrame_Clear releases). Returns the
    generator; NULL with MemoryError; NULL without an exception where ceval would do
    more (a coroutine under sys.set_coroutine_origin_tracking_depth, which records its
    origin; a frame object already made): native code deopts before the instruction,
    nothing done."""
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    i8, u8 = c.get_type(T.SIGNED_CHAR), c.get_type(T.UNSIGNED_CHAR)
    char_p, vpp = c.get_type(T.CHAR).get_pointer(), vp.get_pointer()
    eq, ne, lt = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT
    null = c.null(vp)

    def type_address(name: bytes):
        return c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, name).get_address(), vp)

    def incref(blk, o):
        blk.add_assignment_op(field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))

    new_var = imported("_PyObject_GC_NewVar", vp, [vp, long_t])
    track = imported("PyObject_GC_Track", c.get_type(T.VOID), [vp])
    ts, frame = c.new_param(vp, b"ts"), c.new_param(vp, b"frame")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_return_generator", [ts, frame])
    func, code, gen, type_ = (fn.new_local(vp, n) for n in (b"func", b"code", b"gen", b"type"))
    kind, i, n = fn.new_local(it, b"kind"), fn.new_local(long_t, b"i"), fn.new_local(long_t, b"n")
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "no_frame_object", "not_generator", "is_generator", "not_async_generator",
        "is_async_generator", "is_coroutine", "untracked_origin", "typed", "made", "copy",
        "copy_word", "copied", "defer", "fail")}
    e = B["entry"]
    e.add_assignment(func, field(frame, L.FRAME_FUNC, vp))
    e.add_assignment(code, field(func, L.FUNC_CODE, vp))
    e.add_assignment(kind, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, it, field(code, L.CO_FLAGS, it),
                                           c.new_rvalue_from_int(it, L.CO_RESUMABLE)))
    e.end_with_conditional(c.new_comparison(eq, field(frame, L.FRAME_FRAME_OBJ, vp), null),
                           B["no_frame_object"], B["defer"])
    B["no_frame_object"].end_with_conditional(
        c.new_comparison(eq, kind, c.new_rvalue_from_int(it, L.CO_GENERATOR)),
        B["is_generator"], B["not_generator"])
    B["is_generator"].add_assignment(type_, type_address(b"PyGen_Type"))
    B["is_generator"].end_with_jump(B["typed"])
    B["not_generator"].end_with_conditional(
        c.new_comparison(eq, kind, c.new_rvalue_from_int(it, L.CO_ASYNC_GENERATOR)),
        B["is_async_generator"], B["not_async_generator"])
    B["is_async_generator"].add_assignment(type_, type_address(b"PyAsyncGen_Type"))
    B["is_async_generator"].end_with_jump(B["typed"])
    B["not_async_generator"].end_with_conditional(
        c.new_comparison(eq, kind, c.new_rvalue_from_int(it, L.CO_COROUTINE)),
        B["is_coroutine"], B["defer"])
    # a coroutine's origin is recorded (compute_cr_origin) under a tracking depth
    B["is_coroutine"].end_with_conditional(
        c.new_comparison(eq, field(ts, L.TS_CORO_ORIGIN_DEPTH, it), c.zero(it)),
        B["untracked_origin"], B["defer"])
    B["untracked_origin"].add_assignment(type_, type_address(b"PyCoro_Type"))
    B["untracked_origin"].end_with_jump(B["typed"])
    B["defer"].end_with_return(null)
    t = B["typed"]
    t.add_assignment(gen, c.new_call(new_var, [type_, c.new_cast(
        c.new_binary_op(gccjit.BinaryOp.PLUS, it, field(code, L.CO_NLOCALSPLUS, it),
                        field(code, L.CO_STACKSIZE, it)), long_t)]))
    t.end_with_conditional(c.new_comparison(eq, gen, null), B["fail"], B["made"])
    B["fail"].end_with_return(null)
    m = B["made"]                                           # make_gen
    m.add_assignment(field(gen, L.GEN_FRAME_STATE, i8), c.new_rvalue_from_int(i8, L.GEN_CLEARED))
    m.add_assignment(field(gen, L.GEN_CODE, vp), code)
    incref(m, code)
    m.add_assignment(field(gen, L.GEN_WEAKREFLIST, vp), null)
    m.add_assignment(field(gen, L.GEN_EXC_VALUE, vp), null)
    m.add_assignment(field(gen, L.GEN_EXC_PREVIOUS, vp), null)
    for offset, source in ((L.GEN_NAME, L.FUNC_NAME), (L.GEN_QUALNAME, L.FUNC_QUALNAME)):
        m.add_assignment(field(gen, offset, vp), field(func, source, vp))
        incref(m, field(func, source, vp))
    # _Py_MakeCoro's part for async generators and coroutines (a generator's are unused)
    m.add_assignment(field(gen, L.GEN_ORIGIN_OR_FINALIZER, vp), null)
    for offset in (L.GEN_HOOKS_INITED, L.GEN_CLOSED, L.GEN_RUNNING_ASYNC):
        m.add_assignment(field(gen, offset, u8), c.zero(u8))
    m.add_eval(c.new_call(track, [gen]))
    # RETURN_GENERATOR: _PyFrame_Copy(frame, gen->gi_iframe), the stack empty
    m.add_assignment(field(frame, L.FRAME_STACKTOP, it), field(field(frame, L.FRAME_CODE, vp),
                                                                 L.CO_NLOCALSPLUS, it))
    m.add_assignment(n, c.new_cast(c.new_binary_op(
        gccjit.BinaryOp.PLUS, it, field(frame, L.FRAME_STACKTOP, it),
        c.new_rvalue_from_int(it, L.FRAME_LOCALSPLUS // 8)), long_t))
    m.add_assignment(i, c.zero(long_t))
    m.end_with_jump(B["copy"])
    src = c.new_cast(frame, vpp)
    dst = c.new_cast(c.new_array_access(c.new_cast(gen, char_p),
                                        c.new_rvalue_from_int(it, L.GEN_IFRAME)).get_address(), vpp)
    B["copy"].end_with_conditional(c.new_comparison(lt, i, n), B["copy_word"], B["copied"])
    B["copy_word"].add_assignment(c.new_array_access(dst, i), c.new_array_access(src, i))
    B["copy_word"].add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    B["copy_word"].end_with_jump(B["copy"])
    d = B["copied"]
    # (_PyFrame_Copy leaves no dangling pointer to the old frame: gi_frame.f_back None)
    d.add_assignment(field(gen, L.GEN_IFRAME + L.FRAME_PREVIOUS, vp), null)
    d.add_assignment(field(gen, L.GEN_FRAME_STATE, i8), c.new_rvalue_from_int(i8, L.GEN_CREATED))
    d.add_assignment(field(gen, L.GEN_IFRAME + L.FRAME_OWNER, u8),
                     c.new_rvalue_from_int(u8, L.OWNED_BY_GENERATOR))
    # the frame as ceval leaves an entry frame for its caller to clear
    d.add_assignment(field(frame, L.FRAME_STACKTOP, it), c.zero(it))
    d.add_assignment(field(frame, L.FRAME_LOCALS, vp), null)
    incref(d, field(frame, L.FRAME_FUNC, vp))
    incref(d, field(frame, L.FRAME_CODE, vp))
    d.end_with_return(gen)


def emit_send(c, field, imported, enter) -> None:
    """Add coconut_send and coconut_gen_next to the runtime's context `c`; `enter(fn,
    block, ts, frame, result, done)` emits the hook's evaluation of a suspended
    generator frame (hook.py: its native entry called directly, or coconut_hook).

    int coconut_send(PyThreadState *ts, PyObject *receiver, PyObject *arg, PyObject **result)

    PyIter_Send's contract (PYGEN_NEXT 1: `*result` yielded; PYGEN_RETURN 0: `*result`
    returned; PYGEN_ERROR -1: an exception set), for SEND (`yield from`, `await`). An
    exact generator or coroutine that is suspended (or just created, sent None) is
    resumed as gen_send_ex2 (genobject.c, not exported) resumes it, but with its frame
    evaluated as `_PyEval_EvalFrame` would with the hook installed, without it where
    the hook would call the native entry: a compiled generator's native code resumes
    straight away (no PyIter_Send, PyGen_am_send, gen_send_ex2, _PyEval_EvalFrame,
    coconut_hook between two native frames of a `yield from` chain); anything else,
    and a generator in any other state (running, finished: the errors' messages are
    gen_send_ex2's), is PyIter_Send.

    PyObject *coconut_gen_next(PyThreadState *ts, PyObject *iterator)

    PyIter_Next(iterator) (FOR_ITER's call: NULL when exhausted, StopIteration
    cleared, or with another exception set), with an exact generator resumed the same
    way (gen_iternext: sent nothing; a value it returns is dropped with the
    StopIteration it would be in)."""
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    i8, u8 = c.get_type(T.SIGNED_CHAR), c.get_type(T.UNSIGNED_CHAR)
    char_p, vpp = c.get_type(T.CHAR).get_pointer(), vp.get_pointer()
    eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE
    null = c.null(vp)
    void = c.get_type(T.VOID)

    def address(name: bytes):
        return c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, name).get_address(), vp)
    gen_type, coro_type, none = address(b"PyGen_Type"), address(b"PyCoro_Type"), address(b"_Py_NoneStruct")
    stop_iteration = c.new_global(gccjit.GlobalKind.IMPORTED, vp, b"PyExc_StopIteration")
    runtime_error = c.new_global(gccjit.GlobalKind.IMPORTED, vp, b"PyExc_RuntimeError")
    matches = imported("PyErr_ExceptionMatches", it, [vp])
    from_cause = c.new_function(gccjit.FunctionKind.IMPORTED, vp, b"_PyErr_FormatFromCause",
                                [c.new_param(vp, b"exc"), c.new_param(char_p, b"fmt")],
                                is_variadic=True)
    dealloc = imported("_Py_Dealloc", void, [vp])
    iter_send = imported("PyIter_Send", it, [vp, vp, vpp])
    iter_next = imported("PyIter_Next", vp, [vp])
    from .calls import _Emit, _emit_clear_and_pop

    def num(value, type_=it):
        return c.new_rvalue_from_int(type_, value)

    def state(gen):
        return field(gen, L.GEN_FRAME_STATE, i8)

    def incref(blk, o):
        blk.add_assignment_op(field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))

    # static int coconut_gen_resume(ts, gen, arg, result): gen_send_ex2(gen, arg, result,
    # 0, 0) for a generator or coroutine in state FRAME_CREATED or FRAME_SUSPENDED (the
    # callers check it; arg None or NULL when created); arg NULL: sent nothing (a None
    # returned is then no value: *result NULL).
    params = [c.new_param(vp, n) for n in (b"ts", b"gen", b"arg")] + [c.new_param(vpp, b"result")]
    ts, gen, arg, result = params
    fn = c.new_function(gccjit.FunctionKind.INTERNAL, it, b"coconut_gen_resume", params)
    frame, res, sent, exc_value = (fn.new_local(vp, n) for n in (b"frame", b"res", b"sent", b"exc_value"))
    B = {k: fn.new_block(k.encode()) for k in (
        "entry", "still_running", "state_set", "got", "yielded", "returned",
        "returned_none", "no_value", "failed", "stop_iteration", "coroutine", "generator",
        "finish", "exc_value", "exc_cleared", "cleared")}
    e = B["entry"]
    e.add_assignment(frame, c.new_cast(c.new_array_access(c.new_cast(gen, char_p),
                                                          num(L.GEN_IFRAME)).get_address(), vp))
    # the value sent (None for nothing) pushed on the frame's stack
    e.add_assignment(sent, arg)
    choose_none, chosen = fn.new_block(b"send_none"), fn.new_block(b"sent_chosen")
    e.end_with_conditional(c.new_comparison(eq, arg, null), choose_none, chosen)
    choose_none.add_assignment(sent, none)
    choose_none.end_with_jump(chosen)
    e = chosen
    incref(e, sent)
    stacktop = field(frame, L.FRAME_STACKTOP, it)
    e.add_assignment(c.new_array_access(c.new_cast(c.new_array_access(
        c.new_cast(frame, char_p), num(L.FRAME_LOCALSPLUS)).get_address(), vpp), stacktop), sent)
    e.add_assignment_op(stacktop, gccjit.BinaryOp.PLUS, c.one(it))
    e.add_assignment(field(frame, L.FRAME_PREVIOUS, vp),
                     field(field(ts, L.TS_CFRAME, vp), L.CFRAME_CURRENT_FRAME, vp))
    exc_state = c.new_cast(c.new_array_access(c.new_cast(gen, char_p),
                                              num(L.GEN_EXC_VALUE)).get_address(), vp)
    e.add_assignment(field(gen, L.GEN_EXC_PREVIOUS, vp), field(ts, L.TS_EXC_INFO, vp))
    e.add_assignment(field(ts, L.TS_EXC_INFO, vp), exc_state)
    e.add_assignment(state(gen), c.new_rvalue_from_int(i8, L.GEN_EXECUTING))
    evaluated = fn.new_block(b"evaluated")
    enter(fn, e, ts, frame, res, evaluated)
    e = evaluated
    e.end_with_conditional(c.new_comparison(eq, state(gen), c.new_rvalue_from_int(i8, L.GEN_EXECUTING)),
                           B["still_running"], B["state_set"])
    B["still_running"].add_assignment(state(gen), c.new_rvalue_from_int(i8, L.GEN_COMPLETED))
    B["still_running"].end_with_jump(B["state_set"])
    s = B["state_set"]
    s.add_assignment(field(ts, L.TS_EXC_INFO, vp), field(gen, L.GEN_EXC_PREVIOUS, vp))
    s.add_assignment(field(gen, L.GEN_EXC_PREVIOUS, vp), null)
    s.add_assignment(field(frame, L.FRAME_PREVIOUS, vp), null)
    s.end_with_conditional(c.new_comparison(ne, res, null), B["got"], B["failed"])
    B["got"].end_with_conditional(
        c.new_comparison(eq, state(gen), c.new_rvalue_from_int(i8, L.GEN_SUSPENDED)),
        B["yielded"], B["returned"])
    B["yielded"].add_assignment(result.dereference(), res)
    B["yielded"].end_with_return(num(1))                    # PYGEN_NEXT
    # a None returned to gen_iternext (nothing sent) is no value (a generator's: never
    # an async generator's here)
    B["returned"].end_with_conditional(c.new_comparison(eq, res, none), B["returned_none"], B["finish"])
    B["returned_none"].end_with_conditional(c.new_comparison(eq, arg, null), B["no_value"], B["finish"])
    nv = B["no_value"]
    nv.add_assignment_op(field(res, L.OB_REFCNT, long_t), gccjit.BinaryOp.MINUS, c.one(long_t))
    nv.add_assignment(res, null)                            # (None is immortal enough)
    nv.end_with_jump(B["finish"])
    B["failed"].end_with_conditional(
        c.new_comparison(ne, c.new_call(matches, [stop_iteration]), c.zero(it)),
        B["stop_iteration"], B["finish"])
    B["stop_iteration"].end_with_conditional(
        c.new_comparison(eq, field(gen, L.OB_TYPE, vp), coro_type), B["coroutine"], B["generator"])
    for name, msg in (("coroutine", b"coroutine raised StopIteration"),
                      ("generator", b"generator raised StopIteration")):
        B[name].add_eval(c.new_call(from_cause, [runtime_error, c.new_string_literal(b"%s"),
                                                 c.new_string_literal(msg)]))
        B[name].end_with_jump(B["finish"])
    # the frame released: the exception state's value first (_PyErr_ClearExcState)
    f = B["finish"]
    f.add_assignment(exc_value, field(gen, L.GEN_EXC_VALUE, vp))
    f.end_with_conditional(c.new_comparison(ne, exc_value, null), B["exc_value"], B["exc_cleared"])
    ev = B["exc_value"]
    ev.add_assignment(field(gen, L.GEN_EXC_VALUE, vp), null)
    _Emit(c, fn, field, dealloc, None).decref(ev, exc_value, "exc_value").end_with_jump(B["exc_cleared"])
    xc = B["exc_cleared"]
    xc.add_assignment(state(gen), c.new_rvalue_from_int(i8, L.GEN_CLEARED))
    _emit_clear_and_pop(c, fn, field, imported, ts, frame, xc, B["cleared"], pop=False)
    B["cleared"].add_assignment(result.dereference(), res)
    done_ok, done_err = fn.new_block(b"done_returned"), fn.new_block(b"done_error")
    B["cleared"].end_with_conditional(c.new_comparison(ne, res, null), done_ok, done_err)
    done_ok.end_with_return(num(0))                         # PYGEN_RETURN
    done_err.end_with_return(num(-1))                       # PYGEN_ERROR
    resume = fn

    def resumable(in_fn, blk, g, sent_value, yes, no):
        """In `in_fn`, branch from `blk` to `yes` when `g` is suspended, or created and
        sent None (`sent_value`; None: nothing sent), else to `no`."""
        st = state(g)
        created = in_fn.new_block(b"created")
        suspended = c.new_comparison(eq, st, c.new_rvalue_from_int(i8, L.GEN_SUSPENDED))
        blk.end_with_conditional(suspended, yes, created)
        if sent_value is None:
            created.end_with_conditional(
                c.new_comparison(eq, st, c.new_rvalue_from_int(i8, L.GEN_CREATED)), yes, no)
        else:
            both = c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL),
                                   c.new_comparison(eq, st, c.new_rvalue_from_int(i8, L.GEN_CREATED)),
                                   c.new_comparison(eq, sent_value, none))
            created.end_with_conditional(both, yes, no)

    # -- coconut_send ----------------------------------------------------------------------
    params = [c.new_param(vp, n) for n in (b"ts", b"receiver", b"arg")] + [c.new_param(vpp, b"result")]
    ts, recv, arg, result = params
    fn_ = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_send", params)
    tp = fn_.new_local(vp, b"tp")
    entry, gen_like, not_gen, generic, go = (fn_.new_block(n) for n in (
        b"entry", b"generator_like", b"not_generator", b"generic", b"resume"))
    entry.add_assignment(tp, field(recv, L.OB_TYPE, vp))
    entry.end_with_conditional(c.new_comparison(eq, tp, gen_type), gen_like, not_gen)
    not_gen.end_with_conditional(c.new_comparison(eq, tp, coro_type), gen_like, generic)
    resumable(fn_, gen_like, recv, arg, go, generic)
    go.end_with_return(c.new_call(resume, [ts, recv, arg, result]))
    generic.end_with_return(c.new_call(iter_send, [recv, arg, result]))

    # -- coconut_gen_next ------------------------------------------------------------------
    ts, iterator = c.new_param(vp, b"ts"), c.new_param(vp, b"iterator")
    fn_ = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_gen_next", [ts, iterator])
    got = fn_.new_local(vp, b"got")
    status = fn_.new_local(it, b"status")
    entry, is_gen, generic, go, returned, value, done = (fn_.new_block(n) for n in (
        b"entry", b"generator", b"generic", b"resume", b"returned", b"value", b"done"))
    entry.end_with_conditional(c.new_comparison(eq, field(iterator, L.OB_TYPE, vp), gen_type),
                               is_gen, generic)
    resumable(fn_, is_gen, iterator, None, go, generic)
    go.add_assignment(status, c.new_call(resume, [ts, iterator, null, got.get_address()]))
    go.end_with_conditional(c.new_comparison(eq, status, c.one(it)), done, returned)
    done.end_with_return(got)
    # returned (a value other than None: gen_iternext's StopIteration(value), which
    # PyIter_Next clears) or raised (the exception stays set)
    nothing = fn_.new_block(b"nothing")
    returned.end_with_conditional(c.new_comparison(ne, got, null), value, nothing)
    nothing.end_with_return(null)
    _Emit(c, fn_, field, dealloc, None).decref(value, got, "value").end_with_return(null)
    generic.end_with_return(c.new_call(iter_next, [iterator]))
