"""CALL of a C function as 3.11's specialized PRECALL_* instructions make it.

Where the interpreter specialized a call's PRECALL (its form in `co_code_adaptive`:
`feedback.FORMS["PRECALL"]`, part of the snapshot that keys the compiled code), the
CALL after it calls the C function itself, as ceval.c's instruction of that form does,
instead of the generic call (`coconut_call` -> `PyObject_Vectorcall` -> the callable's
vectorcall wrapper -> `_Py_CheckFunctionResult`):

| form | guards | the call |
|---|---|---|
| `PRECALL_NO_KW_TYPE_1` | the callable is `type` | `Py_TYPE(x)`, no code runs |
| `PRECALL_NO_KW_STR_1`, `_TUPLE_1` | it is `str`, `tuple` | `PyObject_Str`, `PySequence_Tuple` |
| `PRECALL_BUILTIN_CLASS` | a type with `tp_vectorcall` | `tp_vectorcall(tp, args, n, kwnames)` |
| `PRECALL_NO_KW_BUILTIN_O` | a `builtin_function_or_method`, `METH_O` | `ml_meth(m_self, arg)` |
| `PRECALL_NO_KW_BUILTIN_FAST` | the same, `METH_FASTCALL` | `ml_meth(m_self, args, n)` |
| `PRECALL_BUILTIN_FAST_WITH_KEYWORDS` | `METH_FASTCALL\\|METH_KEYWORDS` | `ml_meth(m_self, args, n, kwnames)` |
| `PRECALL_NO_KW_METHOD_DESCRIPTOR_O`, `_NOARGS`, `_FAST`; `PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS` | a `method_descriptor` with those flags, `type(self)` its class or a subclass | `ml_meth(self, ...)` |

The guards are ceval's `DEOPT_IF`s (types, and the flags of the calling convention;
not the callable's identity: one site may call several builtins of one kind; self of a
subclass of the descriptor's class, where ceval misses and makes the generic call,
which calls the same C function); a failure leaves native code before the
call (`ops.Deopt.site`: counted, and past the bound the function is compiled again
with the generic call there, runtime/stability.py). The `METH_O` and `METH_NOARGS`
forms check the recursion limit as ceval does (`_Py_EnterRecursiveCallTstate`); at
the limit they leave too, and the interpreter raises the RecursionError. Everything
else is the generic CALL's: every local materialized before (the function may run
any code), `prev_instr` at the CALL, the error exit, the eval-breaker check after
(not after `type(x)`, as ceval does not check there).
"""
from __future__ import annotations

from ..ir import ops
from ..ir.ops import NULL, Cond
from ..runtime import layout as L

# ceval's flags test, per form: (the callable's kind, ml_flags, takes keywords)
_CFUNC, _DESCR = "builtin_function_or_method", "method_descriptor"
_CFUNC_TYPE, _DESCR_TYPE = type(len), type(list.__dict__["append"])
_FORMS = {
    "PRECALL_NO_KW_BUILTIN_O": (_CFUNC, L.METH_O, False),
    "PRECALL_NO_KW_BUILTIN_FAST": (_CFUNC, L.METH_FASTCALL, False),
    "PRECALL_BUILTIN_FAST_WITH_KEYWORDS": (_CFUNC, L.METH_FASTCALL | L.METH_KEYWORDS, True),
    "PRECALL_NO_KW_METHOD_DESCRIPTOR_O": (_DESCR, L.METH_O, False),
    "PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS": (_DESCR, L.METH_NOARGS, False),
    "PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST": (_DESCR, L.METH_FASTCALL, False),
    "PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS": (_DESCR, L.METH_FASTCALL | L.METH_KEYWORDS,
                                                     True),
}
_ONE_ARG = {"PRECALL_NO_KW_TYPE_1": type, "PRECALL_NO_KW_STR_1": str,
            "PRECALL_NO_KW_TUPLE_1": tuple}
_TPFLAGS_TYPE_SUBCLASS = 1 << 31
# The flags that choose the calling convention, as specialize.c tests them (METH_VARARGS,
# METH_KEYWORDS, METH_NOARGS, METH_O, METH_FASTCALL, METH_METHOD). ceval's instruction
# compares all the flags, so that a classmethod's builtin (`int.from_bytes`,
# `dict.fromkeys`: METH_CLASS) or a METH_COEXIST slot wrapper (`frozenset.__contains__`)
# misses at every call and takes the generic call, which calls the same `ml_meth` the
# same way; here they take the fast path (a deopt each time cost more).
_CONVENTION = 0x1 | 0x2 | 0x4 | 0x8 | 0x80 | 0x200


def precall_form(b, ins) -> str | None:
    """The specialized form of the PRECALL before CALL `ins` that this module makes,
    or None (the generic call)."""
    if b.inline_depth or b.tcx is None or not b.tcx.enabled or ins.offset in b.avoid:
        return None
    prev = b.cfg.instruction_before(ins.offset)
    if prev is None or prev.name != "PRECALL":
        return None
    form = b.cache_forms.get(prev.offset)
    return form if form in _FORMS or form in _ONE_ARG or form == "PRECALL_BUILTIN_CLASS" \
        else None


def lower_c_call(b, ins, form, meth_or_null, self_or_callable, args, kwnames):
    """The call's result (a new reference), or None where the call's shape is not the
    form's (then the generic call)."""
    n_kw = len(kwnames) if kwnames else 0
    kind, flags, keywords = _FORMS.get(form, (None, None, form == "PRECALL_BUILTIN_CLASS"))
    if n_kw and not keywords:
        return None
    # (meth, self, args) after LOAD_METHOD found a method descriptor; (NULL, callable,
    # args) otherwise: the shape ceval's is_method() tells, known here where the NULL
    # was pushed (PUSH_NULL, LOAD_GLOBAL), else guarded
    below = b.state.stack[len(b.state.stack) - len(args) - 2] if b.state is not None else None
    known_null = below is not None and below.prov == ("null",)
    is_meth = kind == _DESCR and not known_null
    total = ([self_or_callable] if is_meth else []) + list(args)
    callable_ = meth_or_null if is_meth else self_or_callable
    if form in _ONE_ARG and (len(total) != 1 or is_meth):
        return None
    if form in ("PRECALL_NO_KW_BUILTIN_O", "PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS") and \
            len(total) != 1:
        return None
    if form == "PRECALL_NO_KW_METHOD_DESCRIPTOR_O" and len(total) != 2:
        return None
    if kind == _DESCR and not total:
        return None
    site = ins.offset
    why = f"CALL: not the {form[8:]} the interpreter saw"
    if kwnames:
        # The keyword names are compile-time state here (KW_NAMES emitted nothing): the
        # interpreter must run KW_NAMES again, so a keyword call leaves before it (it and
        # PRECALL leave the stack as it is)
        kw_ins = b.cfg.instruction_before(b.cfg.instruction_before(ins.offset).offset)
        assert kw_ins.name == "KW_NAMES", kw_ins
        stack = b.stack_below() + tuple(b.inputs)
        guard_failed = b.exit_block("deopt", ops.Deopt(kw_ins.offset, stack, why, site))
    else:
        guard_failed = b.deopt_block(why, site)

    def deopt_if(cond):
        b.split(cond, guard_failed)
    if not known_null:
        deopt_if(Cond("==" if is_meth else "!=", meth_or_null, NULL))
    if form in _ONE_ARG:
        deopt_if(Cond("!=", callable_, b.const(_ONE_ARG[form])))
    elif form == "PRECALL_BUILTIN_CLASS":
        tflags = b.load("u64", b.load("ptr", callable_, L.OB_TYPE), L.TP_FLAGS)
        bit = b.temp("u64", "is_type")
        b.emit(ops.BinArith(bit, "&", tflags, b.int(_TPFLAGS_TYPE_SUBCLASS, "u64")))
        deopt_if(Cond("==", bit, b.int(0, "u64")))
        fn = b.load("ptr", callable_, L.TP_VECTORCALL)
        deopt_if(Cond("==", fn, NULL))
    else:
        deopt_if(Cond("!=", b.load("ptr", callable_, L.OB_TYPE),
                      b.const(_CFUNC_TYPE if kind == _CFUNC else _DESCR_TYPE)))
        ml = b.load("ptr", callable_, L.CFUNC_ML if kind == _CFUNC else L.DESCR_METHOD)
        conv = b.temp("int", "conv")
        b.emit(ops.BinArith(conv, "&", b.load("int", ml, L.ML_FLAGS), b.int(_CONVENTION)))
        deopt_if(Cond("!=", conv, b.int(flags)))
        if kind == _DESCR:
            # self's type is the descriptor's class, or a subclass (method_vectorcall_*'s
            # descr_check; ceval's instruction misses on a subclass and takes that
            # generic call, which calls ml_meth the same way: a dict subclass's get)
            d_type = b.load("ptr", callable_, L.DESCR_TYPE)
            self_type = b.load("ptr", total[0], L.OB_TYPE)
            exact, other = b.new_block("descr_self"), b.new_block("descr_subclass")
            b.terminate(ops.Branch(Cond("==", self_type, d_type), exact.name, other.name))
            b.current = other
            sub = b.call("PyType_IsSubtype", self_type, d_type)
            deopt_if(Cond("==", sub, b.int(0)))
            b.terminate(ops.Jump(exact.name))
            b.current = exact
        fn = b.load("ptr", ml, L.ML_METH)
    checked = flags in (L.METH_O, L.METH_NOARGS)
    tstate = ops.Var("tstate", "ptr")
    if checked:       # _Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")
        remaining = b.load("int", tstate, L.TS_RECURSION_REMAINING)
        b.deopt_if(Cond("<=", remaining, b.int(0)), "CALL: at the recursion limit")
        less = b.temp("int", "remaining")
        b.emit(ops.BinArith(less, "-", remaining, b.int(1)))
        b.emit(ops.Store(tstate, L.TS_RECURSION_REMAINING, less, "int"))
    b.emit(ops.SetInstr(ins.offset, ins.name))
    res = b.temp()
    kw = b.const(kwnames) if kwnames else NULL
    if form == "PRECALL_NO_KW_TYPE_1":
        b.emit(ops.Load(res, total[0], L.OB_TYPE))
        b.incref(res)
    elif form == "PRECALL_NO_KW_STR_1":
        b.emit(ops.Assign(res, b.call("PyObject_Str", total[0])))
    elif form == "PRECALL_NO_KW_TUPLE_1":
        b.emit(ops.Assign(res, b.call("PySequence_Tuple", total[0])))
    elif form == "PRECALL_BUILTIN_CLASS":
        b.emit(ops.CallPtr(res, fn, (callable_,), tuple(total), len(total) - n_kw, (kw,)))
    elif kind == _CFUNC:
        self_ = b.load("obj", callable_, L.CFUNC_SELF)
        if flags == L.METH_O:
            b.emit(ops.CallPtr(res, fn, (self_, total[0])))
        elif keywords:
            b.emit(ops.CallPtr(res, fn, (self_,), tuple(total), len(total) - n_kw, (kw,)))
        else:
            b.emit(ops.CallPtr(res, fn, (self_,), tuple(total)))
    elif flags == L.METH_O:
        b.emit(ops.CallPtr(res, fn, (total[0], total[1])))
    elif flags == L.METH_NOARGS:
        b.emit(ops.CallPtr(res, fn, (total[0], NULL)))
    elif keywords:
        b.emit(ops.CallPtr(res, fn, (total[0],), tuple(total[1:]), len(total) - 1 - n_kw, (kw,)))
    else:
        b.emit(ops.CallPtr(res, fn, (total[0],), tuple(total[1:])))
    if checked:       # _Py_LeaveRecursiveCallTstate
        now = b.load("int", tstate, L.TS_RECURSION_REMAINING)
        more = b.temp("int", "remaining")
        b.emit(ops.BinArith(more, "+", now, b.int(1)))
        b.emit(ops.Store(tstate, L.TS_RECURSION_REMAINING, more, "int"))
    b.decref(callable_, *total)       # (a meth_or_null not passed on is NULL)
    b.error_if_null(res)
    if form != "PRECALL_NO_KW_TYPE_1":
        b.check_eval_breaker(outputs=(res,), error_at=ins.offset, resume_at=ins.next_offset)
    return [res]
