"""Calls from native code: `coconut_call`, emitted with libgccjit into the runtime library.

    PyObject *coconut_call(PyThreadState *ts, PyObject *callable, PyObject **args,
                           size_t nargsf, PyObject *kwnames)

has PyObject_Vectorcall's contract (borrowed arguments, a new reference or NULL with an
exception set). Native code calls it for every CALL. For a plain Python function (or a
bound method of one, when the argument vector has its free slot in front) called with
positional arguments that bind without help (no keywords, no `*args`/`**kwargs`
parameter, no keyword-only parameter; missing trailing arguments taken from
`__defaults__`), it does what `_PyFunction_Vectorcall` -> `_PyEval_Vector` does,
without the layers between:

* push the callee's `_PyInterpreterFrame` on the thread's data stack and initialize it
  exactly as `_PyEvalFramePushAndInit` + `_PyFrame_InitializeSpecials` +
  `initialize_locals` do (the arguments and defaults get new references);
* evaluate it through `coconut_hook` itself, as `_PyEval_EvalFrame` would with the hook
  installed: a compiled callee runs its native entry straight away, any other goes to
  the interpreter, entries are counted for whole-program mode, tracing and profiling
  behave as for any call;
* clear and pop it exactly as `_PyEvalFrameClearAndPop` + `_PyFrame_Clear` do, a frame
  object that outlives the call included (`take_ownership`: the frame moves into the
  frame object, which links to its caller's frame object).

Anything else (another kind of callable, keywords, a full data-stack chunk, a function
whose vectorcall was replaced) is PyObject_Vectorcall. The callee's frame is pushed
only when it fits the current chunk (the slow path of `_PyThreadState_BumpFramePointer`
allocates a chunk: PyObject_Vectorcall does that), so popping it is a store.

What the call saves (measured on recursive fib, `perf`): PyObject_Vectorcall,
_PyFunction_Vectorcall, _PyEval_Vector, _PyEvalFramePushAndInit, initialize_locals'
general argument binding, _PyEval_EvalFrame's dispatch, _PyEvalFrameClearAndPop,
_PyFrame_Clear, _PyThreadState_PopFrame and _Py_CheckFunctionResult: about 40% of the
time of a call-bound program.
"""
from __future__ import annotations

import gccjit

from . import layout as L

_LSHIFT, _RSHIFT = 10, 11
CO_OPTIMIZED, CO_VARARGS, CO_VARKEYWORDS = 0x1, 0x4, 0x8


def emit_call(c, field, imported, hook_fn, function_vectorcall) -> None:
    """Add coconut_call to the runtime's context `c` (see the module docstring).
    `field(base, offset, type)` is an lvalue at a byte offset, `imported(name, ret,
    params)` a C-API function, `hook_fn` the hook (coconut_hook) of the same context,
    `function_vectorcall` a void * rvalue holding &_PyFunction_Vectorcall (libgccjit
    takes no function's address)."""
    T = gccjit.TypeKind
    vp, it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
    long_t, ulong, u8 = c.get_type(T.LONG), c.get_type(T.UNSIGNED_LONG), c.get_type(T.UNSIGNED_CHAR)
    void, bool_t = c.get_type(T.VOID), c.get_type(T.BOOL)
    vpp = vp.get_pointer()
    char_p = c.get_type(T.CHAR).get_pointer()
    eq, ne, lt, gt, ge = (gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT,
                          gccjit.Comparison.GT, gccjit.Comparison.GE)
    null = c.null(vp)

    def num(value, type_=it):
        return c.new_rvalue_from_int(type_, value)

    def cmp(op, a, b):
        return c.new_comparison(op, a, b)

    def binop(op, type_, a, b):
        return c.new_binary_op(op, type_, a, b)

    def both(a, b):
        return binop(gccjit.BinaryOp.LOGICAL_AND, bool_t, a, b)

    def word(base, index):
        """((PyObject **)base)[index], an lvalue."""
        return c.new_array_access(c.new_cast(base, vpp), index)

    def at(base, offset):
        """(char *)base + offset, as a void *."""
        return c.new_cast(c.new_array_access(c.new_cast(base, char_p), num(offset)).get_address(), vp)

    vectorcall = imported("PyObject_Vectorcall", vp, [vp, vpp, ulong, vp])
    dealloc = imported("_Py_Dealloc", void, [vp])
    decref_fn = imported("Py_DecRef", void, [vp])
    get_back = imported("PyFrame_GetBack", vp, [vp])
    gc_track = imported("PyObject_GC_Track", void, [vp])
    function_type = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyFunction_Type").get_address()
    method_type = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyMethod_Type").get_address()

    params = [c.new_param(vp, b"ts"), c.new_param(vp, b"callable"), c.new_param(vpp, b"args"),
              c.new_param(ulong, b"nargsf"), c.new_param(vp, b"kwnames")]
    ts, callable_, args, nargsf, kwnames = params
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_call", params)
    names = ("entry", "generic", "not_function", "method", "method_function", "function",
             "flags_ok", "simple", "few", "defaults", "count_ok", "has_top", "push",
             "nulls", "fill", "call", "has_frame_obj", "shared_frame_obj", "own_frame_obj",
             "copied", "complete", "back", "untracked", "linked", "clear", "cleared", "pop",
             "restore_generic", "restore_done")
    B = {n: fn.new_block(n.encode()) for n in names}

    def local(type_, name):
        return fn.new_local(type_, name.encode())
    nargs, func, argv, n, saved = (local(ulong, "nargs"), local(vp, "func"), local(vpp, "argv"),
                                   local(long_t, "n"), local(vp, "saved"))
    is_method = local(it, "is_method")
    code, argcount, ndef, defaults = (local(vp, "code"), local(long_t, "argcount"),
                                      local(long_t, "ndef"), local(vp, "defaults"))
    nlp, size, top, frame = (local(long_t, "nlocalsplus"), local(long_t, "size"),
                             local(vpp, "top"), local(vp, "frame"))
    i, result, fo, back, obj = (local(long_t, "i"), local(vp, "result"), local(vp, "frame_obj"),
                                local(vp, "back"), local(vp, "obj"))

    def incref(blk, o):
        blk.add_assignment_op(field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))

    def decref(blk, o, name):
        """Py_DECREF(o); the block to go on in."""
        dead, after = fn.new_block(f"{name}_dealloc".encode()), fn.new_block(f"{name}_done".encode())
        blk.add_assignment_op(field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.MINUS, c.one(long_t))
        blk.end_with_conditional(cmp(eq, field(o, L.OB_REFCNT, long_t), c.zero(long_t)), dead, after)
        dead.add_eval(c.new_call(dealloc, [o]))
        dead.end_with_jump(after)
        return after

    def xdecref(blk, o, name):
        present, after = fn.new_block(f"{name}_present".encode()), fn.new_block(f"{name}_absent".encode())
        blk.end_with_conditional(cmp(ne, o, null), present, after)
        decref(present, o, name).end_with_jump(after)
        return after

    # -- which callable ------------------------------------------------------------
    e = B["entry"]
    top_bit = binop(_LSHIFT, ulong, c.one(ulong), num(63, ulong))   # PY_VECTORCALL_ARGUMENTS_OFFSET
    e.add_assignment(nargs, binop(gccjit.BinaryOp.BITWISE_AND, ulong, nargsf,
                                  c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong, top_bit)))
    e.add_assignment(is_method, c.zero(it))
    e.add_assignment(argv, args)
    e.add_assignment(n, c.new_cast(nargs, long_t))
    e.add_assignment(func, callable_)
    type_of = field(callable_, L.OB_TYPE, vp)
    e.end_with_conditional(both(cmp(eq, kwnames, null), cmp(eq, type_of, c.new_cast(function_type, vp))),
                           B["function"], B["not_function"])
    B["not_function"].end_with_conditional(
        both(both(cmp(eq, kwnames, null), cmp(eq, type_of, c.new_cast(method_type, vp))),
             cmp(ne, binop(gccjit.BinaryOp.BITWISE_AND, ulong, nargsf, top_bit), c.zero(ulong))),
        B["method"], B["generic"])
    B["generic"].end_with_return(c.new_call(vectorcall, [callable_, args, nargsf, kwnames]))
    # A bound method: its function with self in the free slot before the arguments,
    # as method_vectorcall does (the slot is given back before returning).
    m = B["method"]
    m.add_assignment(func, field(callable_, L.METHOD_FUNC, vp))
    m.end_with_conditional(cmp(eq, field(func, L.OB_TYPE, vp), c.new_cast(function_type, vp)),
                           B["method_function"], B["generic"])
    mf = B["method_function"]
    mf.add_assignment(argv, c.new_array_access(args, num(-1)).get_address())
    mf.add_assignment(saved, word(argv, num(0)))
    mf.add_assignment(word(argv, num(0)), field(callable_, L.METHOD_SELF, vp))
    mf.add_assignment(n, binop(gccjit.BinaryOp.PLUS, long_t, n, c.one(long_t)))
    mf.add_assignment(is_method, c.one(it))
    mf.end_with_jump(B["function"])
    # Anything but the simple case after that: the slot back, then PyObject_Vectorcall.
    rg = B["restore_generic"]
    rg.end_with_conditional(cmp(ne, is_method, c.zero(it)), B["restore_done"], B["generic"])
    B["restore_done"].add_assignment(word(argv, num(0)), saved)
    B["restore_done"].end_with_jump(B["generic"])

    # -- a function whose positional arguments bind simply ----------------------------
    f = B["function"]
    f.add_assignment(code, field(func, L.FUNC_CODE, vp))
    flags = field(code, L.CO_FLAGS, it)
    f.end_with_conditional(
        both(cmp(eq, field(func, L.FUNC_VECTORCALL, vp), function_vectorcall),
             cmp(eq, binop(gccjit.BinaryOp.BITWISE_AND, it, flags,
                           num(CO_OPTIMIZED | CO_VARARGS | CO_VARKEYWORDS)), num(CO_OPTIMIZED))),
        B["flags_ok"], rg)
    fo_ = B["flags_ok"]
    fo_.add_assignment(argcount, c.new_cast(field(code, L.CO_ARGCOUNT, it), long_t))
    fo_.end_with_conditional(both(cmp(eq, field(code, L.CO_KWONLYARGCOUNT, it), c.zero(it)),
                                  cmp(ge, argcount, n)), B["simple"], rg)
    B["simple"].add_assignment(ndef, c.zero(long_t))
    B["simple"].end_with_conditional(cmp(eq, n, argcount), B["count_ok"], B["few"])
    # Fewer arguments than parameters: the rest from __defaults__ (initialize_locals).
    B["few"].add_assignment(defaults, field(func, L.FUNC_DEFAULTS, vp))
    B["few"].end_with_conditional(cmp(ne, defaults, null), B["defaults"], rg)
    B["defaults"].add_assignment(ndef, field(defaults, L.OB_SIZE, long_t))
    B["defaults"].end_with_conditional(
        cmp(ge, n, binop(gccjit.BinaryOp.MINUS, long_t, argcount, ndef)), B["count_ok"], rg)

    # -- push the frame (_PyThreadState_BumpFramePointer's fast path) -------------------
    ok = B["count_ok"]
    ok.add_assignment(nlp, c.new_cast(field(code, L.CO_NLOCALSPLUS, it), long_t))
    ok.add_assignment(size, binop(gccjit.BinaryOp.PLUS, long_t,
                                  binop(gccjit.BinaryOp.PLUS, long_t, nlp,
                                        c.new_cast(field(code, L.CO_STACKSIZE, it), long_t)),
                                  num(L.FRAME_SPECIALS_SIZE, long_t)))
    ok.add_assignment(top, field(ts, L.TS_DATASTACK_TOP, vpp))
    ok.end_with_conditional(cmp(ne, top, c.null(vpp)), B["has_top"], rg)
    chunk_data = at(field(ts, L.TS_DATASTACK_CHUNK, vp), L.CHUNK_DATA)
    B["has_top"].end_with_conditional(
        both(cmp(lt, c.new_array_access(top, size).get_address(), field(ts, L.TS_DATASTACK_LIMIT, vpp)),
             cmp(ne, c.new_cast(top, vp), chunk_data)),
        B["push"], rg)
    p = B["push"]
    p.add_assignment(field(ts, L.TS_DATASTACK_TOP, vpp), c.new_array_access(top, size).get_address())
    p.add_assignment(frame, c.new_cast(top, vp))
    incref(p, func)
    incref(p, code)
    p.add_assignment(field(frame, L.FRAME_FUNC, vp), func)
    p.add_assignment(field(frame, L.FRAME_CODE, vp), code)
    p.add_assignment(field(frame, L.FRAME_BUILTINS, vp), field(func, L.FUNC_BUILTINS, vp))
    p.add_assignment(field(frame, L.FRAME_GLOBALS, vp), field(func, L.FUNC_GLOBALS, vp))
    p.add_assignment(field(frame, L.FRAME_LOCALS, vp), null)
    p.add_assignment(field(frame, L.FRAME_STACKTOP, it), c.new_cast(nlp, it))
    p.add_assignment(field(frame, L.FRAME_FRAME_OBJ, vp), null)
    p.add_assignment(field(frame, L.FRAME_PREV_INSTR, vp), at(code, L.CO_CODE_ADAPTIVE - 2))
    p.add_assignment(field(frame, L.FRAME_IS_ENTRY, u8), c.zero(u8))
    p.add_assignment(field(frame, L.FRAME_OWNER, u8), num(L.OWNED_BY_THREAD, u8))
    localsplus = c.new_cast(at(frame, L.FRAME_LOCALSPLUS), vpp)

    def counted_loop(before, start, stop, name, body_fn, after):
        """for (i = start; i < stop; i++) body_fn(block); then `after`."""
        test, body = fn.new_block(f"{name}_test".encode()), fn.new_block(f"{name}_body".encode())
        before.add_assignment(i, start)
        before.end_with_jump(test)
        test.end_with_conditional(cmp(lt, i, stop), body, after)
        body = body_fn(body)
        body.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
        body.end_with_jump(test)

    def take_arg(blk):
        blk.add_assignment(obj, word(argv, i))
        incref(blk, obj)
        blk.add_assignment(c.new_array_access(localsplus, i), obj)
        return blk

    def clear_slot(blk):
        blk.add_assignment(c.new_array_access(localsplus, i), null)
        return blk

    def take_default(blk):
        # localsplus[i] = defaults[ndef - argcount + i]
        blk.add_assignment(obj, word(at(defaults, L.TUPLE_ITEMS),
                                     binop(gccjit.BinaryOp.PLUS, long_t,
                                           binop(gccjit.BinaryOp.MINUS, long_t, ndef, argcount), i)))
        incref(blk, obj)
        blk.add_assignment(c.new_array_access(localsplus, i), obj)
        return blk
    counted_loop(p, c.zero(long_t), n, "args", take_arg, B["nulls"])
    counted_loop(B["nulls"], n, nlp, "nulls", clear_slot, B["fill"])
    # (argcount - ndef <= n here: the slots n..argcount all take defaults.)
    counted_loop(B["fill"], n, argcount, "defaults", take_default, B["call"])

    # -- evaluate it, as _PyEval_EvalFrame does with the hook installed ---------------------
    cl = B["call"]
    cl.add_assignment(result, c.new_call(hook_fn, [ts, frame, c.zero(it)]))
    # _PyEvalFrameClearAndPop: the recursion count lowered while clearing.
    remaining = field(ts, L.TS_RECURSION_REMAINING, it)
    cl.add_assignment_op(remaining, gccjit.BinaryOp.MINUS, c.one(it))
    cl.add_assignment(fo, field(frame, L.FRAME_FRAME_OBJ, vp))
    cl.end_with_conditional(cmp(ne, fo, null), B["has_frame_obj"], B["clear"])
    # _PyFrame_Clear with a frame object: one that outlives the call takes the frame.
    h = B["has_frame_obj"]
    h.add_assignment(field(frame, L.FRAME_FRAME_OBJ, vp), null)
    h.end_with_conditional(cmp(gt, field(fo, L.OB_REFCNT, long_t), c.one(long_t)),
                           B["shared_frame_obj"], B["own_frame_obj"])
    B["own_frame_obj"].add_eval(c.new_call(decref_fn, [fo]))
    B["own_frame_obj"].end_with_jump(B["clear"])
    # take_ownership(f, frame): the caller's frame object first (PyFrame_GetBack reads
    # f->f_frame->previous, still this frame), then the frame copied into f.
    s = B["shared_frame_obj"]
    s.add_assignment(back, c.new_call(get_back, [fo]))
    data = at(fo, L.FRAMEOBJ_DATA)
    words = binop(gccjit.BinaryOp.PLUS, long_t, num(L.FRAME_SPECIALS_SIZE, long_t),
                  c.new_cast(field(frame, L.FRAME_STACKTOP, it), long_t))

    def copy_word(blk):
        blk.add_assignment(word(data, i), word(frame, i))
        return blk
    counted_loop(s, c.zero(long_t), words, "copy", copy_word, B["copied"])
    cp = B["copied"]
    cp.add_assignment(field(fo, L.FRAMEOBJ_FRAME, vp), data)
    cp.add_assignment(field(data, L.FRAME_OWNER, u8), num(L.OWNED_BY_FRAME_OBJECT, u8))
    fcode = field(data, L.FRAME_CODE, vp)
    first = c.new_cast(c.new_array_access(
        c.new_cast(at(fcode, L.CO_CODE_ADAPTIVE), c.get_type(T.UNSIGNED_SHORT).get_pointer()),
        field(fcode, L.CO_FIRSTTRACEABLE, it)).get_address(), vp)
    incomplete = fn.new_block(b"incomplete")
    cp.end_with_conditional(cmp(lt, c.new_cast(field(data, L.FRAME_PREV_INSTR, vp), char_p),
                                c.new_cast(first, char_p)), incomplete, B["complete"])
    incomplete.add_assignment(field(data, L.FRAME_PREV_INSTR, vp), first)
    incomplete.end_with_jump(B["complete"])
    B["complete"].end_with_conditional(cmp(ne, back, null), B["back"], B["linked"])
    B["back"].add_assignment(field(fo, L.FRAMEOBJ_BACK, vp), back)        # PyFrame_GetBack's reference
    B["back"].add_assignment(field(data, L.FRAME_PREVIOUS, vp), null)
    B["back"].end_with_jump(B["linked"])
    lk = B["linked"]
    lk.end_with_conditional(cmp(eq, field(fo, L.GC_HEAD_NEXT, vp), null), B["untracked"], B["pop"])
    B["untracked"].add_eval(c.new_call(gc_track, [fo]))
    B["untracked"].end_with_jump(B["pop"])
    # (the frame object's reference is dropped with the pop, below)

    # _PyFrame_Clear without one: the locals and the value stack, f_locals, f_func, f_code.
    def clear_local(blk):
        blk.add_assignment(obj, c.new_array_access(localsplus, i))
        return xdecref(blk, obj, "local")
    counted_loop(B["clear"], c.zero(long_t), c.new_cast(field(frame, L.FRAME_STACKTOP, it), long_t),
                 "clear", clear_local, B["cleared"])
    cd = B["cleared"]
    cd.add_assignment(obj, field(frame, L.FRAME_LOCALS, vp))
    cd = xdecref(cd, obj, "f_locals")
    cd.add_assignment(obj, field(frame, L.FRAME_FUNC, vp))
    cd = decref(cd, obj, "f_func")
    cd.add_assignment(obj, field(frame, L.FRAME_CODE, vp))
    cd = decref(cd, obj, "f_code")
    cd.add_assignment(fo, null)
    cd.end_with_jump(B["pop"])
    # _PyThreadState_PopFrame (the frame is not a chunk's first: see push), then the
    # reference of a frame object that took the frame.
    pp = B["pop"]
    pp.add_assignment_op(remaining, gccjit.BinaryOp.PLUS, c.one(it))
    pp.add_assignment(field(ts, L.TS_DATASTACK_TOP, vpp), c.new_cast(frame, vpp))
    done = fn.new_block(b"done")
    release = fn.new_block(b"release")
    pp.end_with_conditional(cmp(ne, fo, null), release, done)
    release.add_eval(c.new_call(decref_fn, [fo]))
    release.end_with_jump(done)
    give_back = fn.new_block(b"give_back")
    ret = fn.new_block(b"return")
    done.end_with_conditional(cmp(ne, is_method, c.zero(it)), give_back, ret)
    give_back.add_assignment(word(argv, num(0)), saved)
    give_back.end_with_jump(ret)
    ret.end_with_return(result)
    return fn
