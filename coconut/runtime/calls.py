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
* evaluate it as `_PyEval_EvalFrame` would with the hook installed: a compiled
  callee's native entry is called straight away where the hook would call it (the
  code's slot holds one and nothing traces: hook.py's `enter_frame`), anything else
  goes through `coconut_hook` (entries counted for whole-program mode, the
  interpreter, tracing and profiling as for any call);
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


class _Emit:
    """Py_DECREF, Py_XDECREF and a counted loop over the local `i`, emitted into `fn`
    (block names prefixed with `prefix`)."""

    def __init__(self, c, fn, field, dealloc, i, prefix: str = ""):
        self.c, self.fn, self.field, self.dealloc = c, fn, field, dealloc
        self.i, self.prefix = i, prefix
        T = gccjit.TypeKind
        self.long_t, self.null = c.get_type(T.LONG), c.null(c.get_type(T.VOID_PTR))

    def block(self, name: str):
        return self.fn.new_block(f"{self.prefix}{name}".encode())

    def decref(self, blk, o, name):
        """Py_DECREF(o); the block to go on in."""
        c, long_t = self.c, self.long_t
        dead, after = self.block(f"{name}_dealloc"), self.block(f"{name}_done")
        blk.add_assignment_op(self.field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.MINUS, c.one(long_t))
        blk.end_with_conditional(c.new_comparison(gccjit.Comparison.EQ,
                                                  self.field(o, L.OB_REFCNT, long_t),
                                                  c.zero(long_t)), dead, after)
        dead.add_eval(c.new_call(self.dealloc, [o]))
        dead.end_with_jump(after)
        return after

    def xdecref(self, blk, o, name):
        present, after = self.block(f"{name}_present"), self.block(f"{name}_absent")
        blk.end_with_conditional(self.c.new_comparison(gccjit.Comparison.NE, o, self.null),
                                 present, after)
        self.decref(present, o, name).end_with_jump(after)
        return after

    def counted_loop(self, before, start, stop, name, body_fn, after):
        """for (i = start; i < stop; i++) body_fn(block); then `after`."""
        c, i = self.c, self.i
        test, body = self.block(f"{name}_test"), self.block(f"{name}_body")
        before.add_assignment(i, start)
        before.end_with_jump(test)
        test.end_with_conditional(c.new_comparison(gccjit.Comparison.LT, i, stop), body, after)
        body = body_fn(body)
        body.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(self.long_t))
        body.end_with_jump(test)


def emit_call(c, field, imported, enter, function_vectorcall, object_new, slot_tp_init,
              init_name, empty_tuple, lasti_shift) -> None:
    """Add coconut_call to the runtime's context `c` (see the module docstring).
    `field(base, offset, type)` is an lvalue at a byte offset, `imported(name, ret,
    params)` a C-API function, `enter(fn, blk, ts, frame, result, done)` emits the
    hook's evaluation of a frame (hook.py's enter_frame: the native entry called
    directly where the hook would call it, else coconut_hook),
    `function_vectorcall` a void * rvalue holding &_PyFunction_Vectorcall (libgccjit
    takes no function's address), `object_new` and `slot_tp_init` the tp_new of
    `object` and the tp_init of a class with a Python __init__ (both static in
    typeobject.c), `init_name` the interned "__init__", `empty_tuple` ().

    `lasti_shift` (a long rvalue: 8 on the patched interpreter, else 0): where the call
    site says so (bit 62 of nargsf: ops.CallVectorcall.frame_inline) and the callee is
    a Python function or a bound method of one, the caller's `prev_instr` moves by that
    many bytes for the call, to the instruction's last cache unit, as ceval's CALL and
    BINARY_SUBSCR_GETITEM leave it when they push the callee's frame themselves (which
    they do only with no PEP 523 hook installed): `f_lasti` seen from the callee is the
    interpreter's. It moves back after a result; after an exception it stays, for the
    caller's error exit (ops.ErrorExit.named): the caller's traceback entry and a
    handler's lasti are the interpreter's too."""
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
    function_type = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyFunction_Type").get_address()
    method_type = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyMethod_Type").get_address()

    params = [c.new_param(vp, b"ts"), c.new_param(vp, b"callable"), c.new_param(vpp, b"args"),
              c.new_param(ulong, b"nargsf"), c.new_param(vp, b"kwnames")]
    ts, callable_, args, nargsf, kwnames = params
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_call", params)
    names = ("entry", "generic", "not_function", "method", "method_function", "function",
             "flags_ok", "simple", "few", "defaults", "count_ok", "has_top", "push",
             "nulls", "fill", "call", "restore_generic", "restore_done", "maybe_type", "type_slots", "type_enter",
             "type_recursion", "type_new", "type_made", "type_init", "init_slow", "init_generic",
             "init_done", "init_result", "init_not_none", "init_failed", "init_leave")
    B = {n: fn.new_block(n.encode()) for n in names}

    def local(type_, name):
        return fn.new_local(type_, name.encode())
    nargs, func, argv, n, saved = (local(ulong, "nargs"), local(vp, "func"), local(vpp, "argv"),
                                   local(long_t, "n"), local(vp, "saved"))
    kind = local(it, "kind")       # 0: a function, 1: a bound method, 2: a class's __init__
    self_obj, init_status = local(vp, "self_obj"), local(it, "init_status")
    code, argcount, ndef, defaults = (local(vp, "code"), local(long_t, "argcount"),
                                      local(long_t, "ndef"), local(vp, "defaults"))
    nlp, size, top, frame = (local(long_t, "nlocalsplus"), local(long_t, "size"),
                             local(vpp, "top"), local(vp, "frame"))
    i, result, obj = local(long_t, "i"), local(vp, "result"), local(vp, "obj")
    shift, moved, caller = local(long_t, "shift"), local(long_t, "moved"), local(vp, "caller")

    def incref(blk, o):
        blk.add_assignment_op(field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))

    emit = _Emit(c, fn, field, dealloc, i)
    decref, counted_loop = emit.decref, emit.counted_loop

    # -- which callable ------------------------------------------------------------
    e = B["entry"]
    top_bit = binop(_LSHIFT, ulong, c.one(ulong), num(63, ulong))   # PY_VECTORCALL_ARGUMENTS_OFFSET
    inline_bit = binop(_LSHIFT, ulong, c.one(ulong), num(62, ulong))   # frame_inline
    e.add_assignment(shift, binop(gccjit.BinaryOp.MULT, long_t, lasti_shift, c.new_cast(
        binop(gccjit.BinaryOp.BITWISE_AND, ulong, binop(_RSHIFT, ulong, nargsf, num(62, ulong)),
              c.one(ulong)), long_t)))
    e.add_assignment(nargsf, binop(gccjit.BinaryOp.BITWISE_AND, ulong, nargsf,
                                   c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong, inline_bit)))
    e.add_assignment(caller, field(field(ts, L.TS_CFRAME, vp), L.CFRAME_CURRENT_FRAME, vp))
    e.add_assignment(nargs, binop(gccjit.BinaryOp.BITWISE_AND, ulong, nargsf,
                                  c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong, top_bit)))
    e.add_assignment(kind, c.zero(it))
    e.add_assignment(argv, args)
    e.add_assignment(n, c.new_cast(nargs, long_t))
    e.add_assignment(func, callable_)
    type_of = field(callable_, L.OB_TYPE, vp)
    e.end_with_conditional(both(cmp(eq, kwnames, null), cmp(eq, type_of, c.new_cast(function_type, vp))),
                           B["function"], B["not_function"])
    offset_flag = cmp(ne, binop(gccjit.BinaryOp.BITWISE_AND, ulong, nargsf, top_bit), c.zero(ulong))
    B["not_function"].end_with_conditional(
        both(both(cmp(eq, kwnames, null), cmp(eq, type_of, c.new_cast(method_type, vp))), offset_flag),
        B["method"], B["maybe_type"])
    def restore(blk):
        """prev_instr back where it was, but after an exception (NULL): the caller's
        error exit takes it as the interpreter leaves it (ops.ErrorExit.named)."""
        back, after = fn.new_block(b"restore_instr"), fn.new_block(b"restored_instr")
        blk.end_with_conditional(cmp(ne, result, null), back, after)
        back.add_assignment(prev_instr, c.new_array_access(
            prev_instr, c.new_unary_op(gccjit.UnaryOp.MINUS, long_t, moved)).get_address())
        back.end_with_jump(after)
        return after

    gen_fn, gen_meth, gen_move, gen_call = (fn.new_block(n) for n in (
        b"generic_function", b"generic_method", b"generic_move", b"generic_call"))
    gb = B["generic"]
    gb.add_assignment(moved, c.zero(long_t))
    gb.end_with_conditional(cmp(eq, shift, c.zero(long_t)), gen_call, gen_fn)
    gen_fn.end_with_conditional(cmp(eq, type_of, c.new_cast(function_type, vp)), gen_move, gen_meth)
    gen_meth.end_with_conditional(
        both(cmp(eq, type_of, c.new_cast(method_type, vp)),
             cmp(eq, field(field(callable_, L.METHOD_FUNC, vp), L.OB_TYPE, vp), c.new_cast(function_type, vp))),
        gen_move, gen_call)
    gen_move.add_assignment(moved, shift)
    gen_move.end_with_jump(gen_call)
    prev_instr = field(caller, L.FRAME_PREV_INSTR, char_p)
    gen_call.add_assignment(prev_instr, c.new_array_access(prev_instr, moved).get_address())
    gen_call.add_assignment(result, c.new_call(vectorcall, [callable_, args, nargsf, kwnames]))
    restore(gen_call).end_with_return(result)
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
    mf.add_assignment(kind, c.one(it))
    mf.end_with_jump(B["function"])
    # Anything but the simple case after that: the slot back, then PyObject_Vectorcall.
    rg = B["restore_generic"]
    not_method = fn.new_block(b"restore_not_method")
    rg.end_with_conditional(cmp(eq, kind, c.one(it)), B["restore_done"], not_method)
    not_method.end_with_conditional(cmp(eq, kind, num(2)), B["init_generic"], B["generic"])
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
    cl.add_assignment(moved, binop(gccjit.BinaryOp.MULT, long_t, shift,
                                   c.new_cast(cmp(ne, kind, num(2)), long_t)))
    cl.add_assignment(prev_instr, c.new_array_access(prev_instr, moved).get_address())
    entered = fn.new_block(b"entered")
    enter(fn, cl, ts, frame, result, entered)
    done = fn.new_block(b"done")
    _emit_clear_and_pop(c, fn, field, imported, ts, frame, restore(entered), done)
    remaining = field(ts, L.TS_RECURSION_REMAINING, it)
    give_back = fn.new_block(b"give_back")
    ret = fn.new_block(b"return")
    not_bound = fn.new_block(b"not_bound")
    done.end_with_conditional(cmp(eq, kind, c.one(it)), give_back, not_bound)
    not_bound.end_with_conditional(cmp(eq, kind, num(2)), B["init_done"], ret)
    give_back.add_assignment(word(argv, num(0)), saved)
    give_back.end_with_jump(ret)
    ret.end_with_return(result)

    # -- a class whose instances are made by object.__new__ and set up by a Python
    # __init__: what type_call does (tp_new, then tp_init = slot_tp_init: __init__ called
    # with the instance in front), under _PyObject_MakeTpCall's recursion count ---------
    pytype = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyType_Type").get_address()
    type_lookup = imported("_PyType_Lookup", vp, [vp, vp])
    check_recursion = imported("_Py_CheckRecursiveCall", it, [vp, char_p])
    tuple_new = imported("PyTuple_New", vp, [long_t])
    err_format = c.new_function(gccjit.FunctionKind.IMPORTED, vp, b"PyErr_Format",
                                [c.new_param(vp, b"exc"), c.new_param(char_p, b"format")],
                                is_variadic=True)
    type_error = c.new_global(gccjit.GlobalKind.IMPORTED, vp, b"PyExc_TypeError")
    slot_fn = c.new_function_ptr_type(vp, [vp, vp, vp])           # tp_new
    init_fn = c.new_function_ptr_type(it, [vp, vp, vp])           # tp_init
    B["maybe_type"].end_with_conditional(
        both(both(cmp(eq, kwnames, null), cmp(eq, type_of, c.new_cast(pytype, vp))), offset_flag),
        B["type_slots"], B["generic"])
    not_abstract = cmp(eq, binop(gccjit.BinaryOp.BITWISE_AND, ulong, field(callable_, L.TP_FLAGS, ulong),
                                 binop(_LSHIFT, ulong, c.one(ulong), num(20, ulong))), c.zero(ulong))
    B["type_slots"].end_with_conditional(
        both(both(cmp(eq, field(callable_, L.TP_NEW, vp), object_new),
                  cmp(eq, field(callable_, L.TP_INIT, vp), slot_tp_init)), not_abstract),
        B["type_enter"], B["generic"])
    # _Py_EnterRecursiveCallTstate(ts, " while calling a Python object")
    te = B["type_enter"]
    before = local(it, "before")
    te.add_assignment(before, remaining)
    te.add_assignment(remaining, binop(gccjit.BinaryOp.MINUS, it, before, c.one(it)))
    te.end_with_conditional(cmp(gccjit.Comparison.LE, before, c.zero(it)), B["type_recursion"], B["type_new"])
    recursion_error = fn.new_block(b"type_recursion_error")
    B["type_recursion"].end_with_conditional(
        cmp(ne, c.new_call(check_recursion, [ts, c.new_string_literal(b" while calling a Python object")]),
            c.zero(it)), recursion_error, B["type_new"])
    recursion_error.end_with_return(null)          # (the check gave the count back)
    # obj = type->tp_new(type, (), NULL): object_new checks excess arguments only for an
    # error that cannot happen here (its tp_init is slot_tp_init), allocates and sets up
    # the instance's dict or inline values.
    tn = B["type_new"]
    tn.add_assignment(self_obj, c.new_call_through_ptr(c.new_cast(field(callable_, L.TP_NEW, vp), slot_fn),
                                                       [callable_, empty_tuple, null]))
    new_failed = fn.new_block(b"type_new_failed")
    tn.end_with_conditional(cmp(eq, self_obj, null), new_failed, B["type_made"])
    new_failed.add_assignment_op(remaining, gccjit.BinaryOp.PLUS, c.one(it))
    new_failed.end_with_return(null)
    # slot_tp_init: __init__ from the type (a function: called with the instance in the
    # free slot before the arguments; anything else: the type's tp_init on a tuple).
    tm = B["type_made"]
    tm.add_assignment(func, c.new_call(type_lookup, [callable_, init_name]))
    tm.add_assignment(kind, num(2))
    tm.add_assignment(argv, c.new_array_access(args, num(-1)).get_address())
    tm.add_assignment(saved, word(argv, num(0)))
    tm.add_assignment(n, binop(gccjit.BinaryOp.PLUS, long_t, n, c.one(long_t)))
    tm.end_with_conditional(both(cmp(ne, func, null), cmp(eq, field(func, L.OB_TYPE, vp),
                                                         c.new_cast(function_type, vp))),
                            B["type_init"], B["init_slow"])
    ti = B["type_init"]
    incref(ti, func)                               # lookup_method's reference
    ti.add_assignment(word(argv, num(0)), self_obj)
    ti.end_with_jump(B["function"])
    # The general case: tp_init(obj, args tuple, NULL).
    sl = B["init_slow"]
    tup = local(vp, "args_tuple")
    sl.add_assignment(tup, c.new_call(tuple_new, [nargs_long := c.new_cast(nargs, long_t)]))
    tuple_failed, fill = fn.new_block(b"init_tuple_failed"), fn.new_block(b"init_fill")
    sl.end_with_conditional(cmp(eq, tup, null), tuple_failed, fill)
    tuple_failed.add_assignment(init_status, num(-1))
    tuple_failed.end_with_jump(B["init_leave"])

    def tuple_item(blk):
        blk.add_assignment(obj, word(args, i))
        incref(blk, obj)
        blk.add_assignment(word(at(tup, L.TUPLE_ITEMS), i), obj)
        return blk
    call_init = fn.new_block(b"init_call_slot")
    counted_loop(fill, c.zero(long_t), nargs_long, "tuple", tuple_item, call_init)
    call_init.add_assignment(init_status, c.new_call_through_ptr(
        c.new_cast(field(callable_, L.TP_INIT, vp), init_fn), [self_obj, tup, null]))
    call_init = decref(call_init, tup, "args_tuple")
    call_init.end_with_jump(B["init_leave"])
    # __init__ as a function whose arguments do not bind simply: vectorcall it.
    B["init_generic"].add_assignment(result, c.new_call(vectorcall, [func, argv, c.new_cast(n, ulong), null]))
    B["init_generic"].end_with_jump(B["init_done"])
    # After __init__ ran: its result must be None (slot_tp_init), else TypeError.
    idn = B["init_done"]
    idn.add_assignment(word(argv, num(0)), saved)
    idn = decref(idn, func, "init_func")
    idn.end_with_conditional(cmp(eq, result, null), B["init_failed"], B["init_result"])
    none = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"_Py_NoneStruct").get_address()
    init_none = fn.new_block(b"init_none")
    B["init_result"].end_with_conditional(cmp(eq, result, c.new_cast(none, vp)),
                                          init_none, B["init_not_none"])
    init_none = decref(init_none, result, "init_none_result")
    init_none.add_assignment(init_status, c.zero(it))
    init_none.end_with_jump(B["init_leave"])
    inn = B["init_not_none"]
    inn.add_eval(c.new_call(err_format, [
        type_error, c.new_string_literal(b"__init__() should return None, not '%.200s'"),
        field(field(result, L.OB_TYPE, vp), L.TP_NAME, char_p)]))
    inn = decref(inn, result, "init_bad_result")
    inn.end_with_jump(B["init_failed"])
    B["init_failed"].add_assignment(init_status, num(-1))
    B["init_failed"].end_with_jump(B["init_leave"])
    # type_call: the instance (or NULL, the instance released), then the recursion count.
    lv = B["init_leave"]
    bad, good = fn.new_block(b"init_bad"), fn.new_block(b"init_good")
    lv.end_with_conditional(cmp(lt, init_status, c.zero(it)), bad, good)
    bad = decref(bad, self_obj, "init_instance")
    bad.add_assignment_op(remaining, gccjit.BinaryOp.PLUS, c.one(it))
    bad.end_with_return(null)
    good.add_assignment_op(remaining, gccjit.BinaryOp.PLUS, c.one(it))
    good.end_with_return(self_obj)
    return fn


def _emit_clear_and_pop(c, fn, field, imported, ts, frame, blk, done, pop: bool = True) -> None:
    """In `fn`, from `blk`: clear the Python frame `frame` (pushed by the caller on the
    thread's data stack, not a chunk's first, and no longer the current frame) and pop
    it, exactly as `_PyEvalFrameClearAndPop` + `_PyFrame_Clear` do, a frame object that
    outlives the call included (`take_ownership`: the frame moves into the frame
    object, which links to its caller's frame object); then jump to `done`. Without
    `pop`, `_PyFrame_Clear` alone (a generator's frame, unlinked: gen_send_ex2's end;
    the recursion count is not touched)."""
    T = gccjit.TypeKind
    vp, it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
    long_t, u8 = c.get_type(T.LONG), c.get_type(T.UNSIGNED_CHAR)
    vpp, char_p = vp.get_pointer(), c.get_type(T.CHAR).get_pointer()
    eq, ne, lt, gt = (gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT,
                      gccjit.Comparison.GT)
    null = c.null(vp)

    def num(value, type_=it):
        return c.new_rvalue_from_int(type_, value)

    def cmp(op, a, b):
        return c.new_comparison(op, a, b)

    def binop(op, type_, a, b):
        return c.new_binary_op(op, type_, a, b)

    def word(base, index):
        return c.new_array_access(c.new_cast(base, vpp), index)

    def at(base, offset):
        return c.new_cast(c.new_array_access(c.new_cast(base, char_p), num(offset)).get_address(), vp)

    void = c.get_type(T.VOID)
    dealloc = imported("_Py_Dealloc", void, [vp])
    decref_fn = imported("Py_DecRef", void, [vp])
    get_back = imported("PyFrame_GetBack", vp, [vp])
    gc_track = imported("PyObject_GC_Track", void, [vp])
    names = ("has_frame_obj", "shared_frame_obj", "own_frame_obj", "copied", "complete",
             "back", "untracked", "linked", "clear", "cleared", "pop")
    B = {n: fn.new_block(f"pop_{n}".encode()) for n in names}

    def local(type_, name):
        return fn.new_local(type_, f"pop_{name}".encode())
    i, fo, back, obj = local(long_t, "i"), local(vp, "frame_obj"), local(vp, "back"), local(vp, "obj")

    emit = _Emit(c, fn, field, dealloc, i, "pop_")
    decref, xdecref, counted_loop = emit.decref, emit.xdecref, emit.counted_loop

    localsplus = c.new_cast(at(frame, L.FRAME_LOCALSPLUS), vpp)
    cl = blk
    # _PyEvalFrameClearAndPop: the recursion count lowered while clearing.
    remaining = field(ts, L.TS_RECURSION_REMAINING, it)
    if pop:
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
    if pop:
        pp.add_assignment_op(remaining, gccjit.BinaryOp.PLUS, c.one(it))
        pp.add_assignment(field(ts, L.TS_DATASTACK_TOP, vpp), c.new_cast(frame, vpp))
    release = fn.new_block(b"pop_release")
    pp.end_with_conditional(cmp(ne, fo, null), release, done)
    release.add_eval(c.new_call(decref_fn, [fo]))
    release.end_with_jump(done)



def emit_inlined_frames(c, field, imported, resume_fn) -> None:
    """The frames of inlined callees (lowering/inline.py), materialized where native
    code leaves an inlined body for the interpreter or lets code look at it:

        _PyInterpreterFrame *coconut_inl_push(PyThreadState *ts, PyObject *func,
                                              long prev, long depth, PyObject **values,
                                              long n)

    pushes a frame for the Python function `func` on the thread's data stack, set up as
    `_PyFrame_PushUnchecked` + `_PyFrame_InitializeSpecials` do, with the first values
    of `values` (its locals, then `depth` entries of its value stack: references the
    frame takes; n < 0: lent, the frame takes new references) and `prev_instr` at byte
    `prev` of `co_code_adaptive`. The inlining site checked that
    the current data-stack chunk has room for it (a full chunk: Py_FatalError).

        PyObject *coconut_inl_finish(PyThreadState *ts, _PyInterpreterFrame *frame,
                                     int throwflag, PyObject *obj)

    runs it in the interpreter (coconut_resume: throwflag 0 resumes after
    `prev_instr`, 1 unwinds the pending exception from it), or with throwflag -1 does
    not run it but makes it the current frame, frees `obj` (if not NULL: a reference
    count that reached 0) and clears it with it current; then it is cleared and popped
    as `_PyEvalFrameClearAndPop` does. Returns the frame's result (NULL with an
    exception set, and always NULL for -1).

        void coconut_inl_dealloc(PyThreadState *ts, PyObject *func, long prev,
                                 PyObject *obj, PyObject **values, long n)

    frees `obj`, whose count reached 0 in an inlined body: an exact int, float or str at
    once (its deallocator runs no code), anything else with the callee's frame
    materialized (its locals, `values`, lent) and current."""
    T = gccjit.TypeKind
    vp, it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
    long_t, u8 = c.get_type(T.LONG), c.get_type(T.UNSIGNED_CHAR)
    vpp, char_p = vp.get_pointer(), c.get_type(T.CHAR).get_pointer()
    void = c.get_type(T.VOID)
    eq, lt, ge = gccjit.Comparison.EQ, gccjit.Comparison.LT, gccjit.Comparison.GE
    null = c.null(vp)

    def num(value, type_=it):
        return c.new_rvalue_from_int(type_, value)

    def at(base, offset):
        return c.new_cast(c.new_array_access(c.new_cast(base, char_p), num(offset)).get_address(), vp)

    fatal = imported("Py_FatalError", void, [char_p])
    # -- push ----------------------------------------------------------------------
    params = [c.new_param(vp, b"ts"), c.new_param(vp, b"func"), c.new_param(long_t, b"prev"),
              c.new_param(long_t, b"depth"), c.new_param(vpp, b"values"), c.new_param(long_t, b"n")]
    ts, func, prev, depth, values, n = params
    fn = push_fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_inl_push", params)
    entry, full, push = fn.new_block(b"entry"), fn.new_block(b"full"), fn.new_block(b"push")
    code, size, top, frame, i = (fn.new_local(vp, b"code"), fn.new_local(long_t, b"size"),
                                 fn.new_local(vpp, b"top"), fn.new_local(vp, b"frame"),
                                 fn.new_local(long_t, b"i"))
    entry.add_assignment(code, field(func, L.FUNC_CODE, vp))
    entry.add_assignment(size, c.new_binary_op(
        gccjit.BinaryOp.PLUS, long_t,
        c.new_cast(field(code, L.CO_NLOCALSPLUS, it), long_t),
        c.new_binary_op(gccjit.BinaryOp.PLUS, long_t,
                        c.new_cast(field(code, L.CO_STACKSIZE, it), long_t),
                        num(L.FRAME_SPECIALS_SIZE, long_t))))
    entry.add_assignment(top, field(ts, L.TS_DATASTACK_TOP, vpp))
    entry.end_with_conditional(
        c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, c.get_type(T.BOOL),
                        c.new_comparison(eq, top, c.null(vpp)),
                        c.new_comparison(ge, c.new_array_access(top, size).get_address(),
                                         field(ts, L.TS_DATASTACK_LIMIT, vpp))),
        full, push)
    full.add_eval(c.new_call(fatal, [c.new_string_literal(b"coconut: no room for an inlined frame")]))
    full.end_with_return(null)
    push.add_assignment(field(ts, L.TS_DATASTACK_TOP, vpp), c.new_array_access(top, size).get_address())
    push.add_assignment(frame, c.new_cast(top, vp))
    for o in (func, code):
        push.add_assignment_op(field(o, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))
    push.add_assignment(field(frame, L.FRAME_FUNC, vp), func)
    push.add_assignment(field(frame, L.FRAME_CODE, vp), code)
    push.add_assignment(field(frame, L.FRAME_BUILTINS, vp), field(func, L.FUNC_BUILTINS, vp))
    push.add_assignment(field(frame, L.FRAME_GLOBALS, vp), field(func, L.FUNC_GLOBALS, vp))
    push.add_assignment(field(frame, L.FRAME_LOCALS, vp), null)
    push.add_assignment(field(frame, L.FRAME_FRAME_OBJ, vp), null)
    push.add_assignment(field(frame, L.FRAME_PREV_INSTR, vp),
                        c.new_cast(c.new_array_access(c.new_cast(at(code, L.CO_CODE_ADAPTIVE), char_p),
                                                      prev).get_address(), vp))
    push.add_assignment(field(frame, L.FRAME_IS_ENTRY, u8), c.zero(u8))
    push.add_assignment(field(frame, L.FRAME_OWNER, u8), num(L.OWNED_BY_THREAD, u8))
    localsplus = c.new_cast(at(frame, L.FRAME_LOCALSPLUS), vpp)
    test, body, done = fn.new_block(b"test"), fn.new_block(b"copy"), fn.new_block(b"done")
    lend, lent, value = fn.new_block(b"lend"), fn.new_block(b"lent"), fn.new_local(vp, b"value")
    count, lending = fn.new_local(long_t, b"count"), fn.new_local(it, b"lending")
    push.add_assignment(lending, c.new_cast(c.new_comparison(lt, n, c.zero(long_t)), it))
    push.add_assignment(count, c.new_binary_op(
        gccjit.BinaryOp.PLUS, long_t, c.new_cast(field(code, L.CO_NLOCALSPLUS, it), long_t), depth))
    push.add_assignment(field(frame, L.FRAME_STACKTOP, it), c.new_cast(count, it))
    push.add_assignment(i, c.zero(long_t))
    push.end_with_jump(test)
    test.end_with_conditional(c.new_comparison(lt, i, count), body, done)
    body.add_assignment(value, c.new_array_access(values, i))
    body.add_assignment(c.new_array_access(localsplus, i), value)
    body.end_with_conditional(
        c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL),
                        c.new_comparison(gccjit.Comparison.NE, lending, c.zero(it)),
                        c.new_comparison(gccjit.Comparison.NE, value, null)), lend, lent)
    lend.add_assignment_op(field(value, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))
    lend.end_with_jump(lent)
    lent.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    lent.end_with_jump(test)
    done.end_with_return(frame)

    # -- finish --------------------------------------------------------------------
    params = [c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(it, b"throwflag"),
              c.new_param(vp, b"obj")]
    ts, frame, throwflag, obj = params
    fn = finish_fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_inl_finish", params)
    entry, run, link, clear, done = (fn.new_block(n_) for n_ in (
        b"entry", b"run", b"link", b"clear", b"done"))
    free, cleared, unlink = fn.new_block(b"free"), fn.new_block(b"cleared"), fn.new_block(b"unlink")
    result, previous = fn.new_local(vp, b"result"), fn.new_local(vp, b"previous")
    linked = fn.new_local(it, b"linked")
    entry.add_assignment(result, null)
    entry.add_assignment(linked, c.zero(it))
    entry.end_with_conditional(c.new_comparison(lt, throwflag, c.zero(it)), link, run)
    run.add_assignment(result, c.new_call(resume_fn, [ts, frame, throwflag]))
    run.end_with_jump(clear)
    # Not run: the frame is the thread's current frame while `obj` is freed and while
    # it is cleared (as a returning frame is in ceval), with its caller's as previous.
    current = field(field(ts, L.TS_CFRAME, vp), L.CFRAME_CURRENT_FRAME, vp)
    link.add_assignment(previous, current)
    link.add_assignment(field(frame, L.FRAME_PREVIOUS, vp), previous)
    link.add_assignment(current, frame)
    link.add_assignment(linked, c.one(it))
    link.end_with_conditional(c.new_comparison(gccjit.Comparison.NE, obj, null), free, clear)
    free.add_eval(c.new_call(imported("_Py_Dealloc", void, [vp]), [obj]))
    free.end_with_jump(clear)
    _emit_clear_and_pop(c, fn, field, imported, ts, frame, clear, cleared)
    cleared.end_with_conditional(c.new_comparison(eq, linked, c.zero(it)), done, unlink)
    unlink.add_assignment(current, previous)
    unlink.end_with_jump(done)
    done.end_with_return(result)

    # -- dealloc -------------------------------------------------------------------
    params = [c.new_param(vp, b"ts"), c.new_param(vp, b"func"), c.new_param(long_t, b"prev"),
              c.new_param(vp, b"obj"), c.new_param(vpp, b"values"), c.new_param(long_t, b"n")]
    ts, func, prev, obj, values, n = params
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, void, b"coconut_inl_dealloc", params)
    entry, plain, framed = fn.new_block(b"entry"), fn.new_block(b"plain"), fn.new_block(b"framed")
    tp = field(obj, L.OB_TYPE, vp)
    is_plain = None
    for name in (b"PyLong_Type", b"PyFloat_Type", b"PyUnicode_Type"):
        test = c.new_comparison(eq, tp, c.new_cast(
            c.new_global(gccjit.GlobalKind.IMPORTED, u8, name).get_address(), vp))
        is_plain = test if is_plain is None else c.new_binary_op(
            gccjit.BinaryOp.LOGICAL_OR, c.get_type(T.BOOL), is_plain, test)
    entry.end_with_conditional(is_plain, plain, framed)
    plain.add_eval(c.new_call(imported("_Py_Dealloc", void, [vp]), [obj]))
    plain.end_with_void_return()
    pushed = c.new_call(push_fn, [ts, func, prev, c.zero(long_t), values,
                                  c.new_unary_op(gccjit.UnaryOp.MINUS, long_t, n)])
    framed.add_eval(c.new_call(finish_fn, [ts, pushed, num(-1), obj]))
    framed.end_with_void_return()
