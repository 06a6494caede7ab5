"""One entry per opcode: its stack signature and its lowering to IR.

Each rule follows the CPython 3.11 `Python/ceval.c` TARGET of the same name; its
docstring says what it does and where it deopts. Inputs arrive as owned references
and outputs leave as owned references. Exact error messages that are costly to
reproduce are left to the interpreter: the rule deopts *before* the instruction.
"""
from __future__ import annotations

import dis
import types

from ..ir import ops
from ..ir.ops import Cond, NULL
from ..runtime import layout as L
from . import caches
from .types import OBJ
from .ccalls import lower_c_call, precall_form
from .registry import op, NOT_NATIVE

# BINARY_OP's oparg -> C function (ceval.c binary_ops[]); power takes a third None.
_NB_FUNCS = {
    "+": "Add", "&": "And", "//": "FloorDivide", "<<": "Lshift", "@": "MatrixMultiply",
    "*": "Multiply", "%": "Remainder", "|": "Or", "**": "Power", ">>": "Rshift",
    "-": "Subtract", "/": "TrueDivide", "^": "Xor",
}


def binary_op_function(oparg: int) -> str:
    symbol = dis._nb_ops[oparg][1]
    inplace = symbol.endswith("=")
    name = _NB_FUNCS[symbol.rstrip("=")]
    return f"PyNumber_{'InPlace' if inplace else ''}{name}"


def _is(a, b) -> Cond:
    return Cond("==", a, b)


def _not_null(v) -> Cond:
    return Cond("!=", v, NULL)


def _type_of(b, v):
    return b.load("ptr", v, L.OB_TYPE)


def _bool_from(b, cond: Cond):
    """A new reference to True or False according to `cond`."""
    res = b.select(cond, b.const(True), b.const(False))
    b.incref(res)
    return res


# -- frame and stack ---------------------------------------------------------------
@op("NOP", sig="--")
def nop(b, ins):
    """NOP: nothing."""
    return []


@op("RESUME", sig="--")
def resume(b, ins):
    """RESUME: at function start (oparg < 2) the eval breaker is checked."""
    if ins.arg < 2 and not b.inline_depth:      # (inlined: the caller's checks serve)
        b.check_eval_breaker(outputs=(), error_at=ins.offset, resume_at=ins.next_offset)
    return []


@op("POP_TOP", sig="value --")
def pop_top(b, ins, value):
    """POP_TOP: release the top of the stack."""
    b.decref(value)
    return []


@op("PUSH_NULL", sig="-- null")
def push_null(b, ins):
    """PUSH_NULL: a NULL that tells CALL it is not a method call."""
    return [NULL]


@op("COPY", sig="items[oparg] -- items[oparg] top")
def copy(b, ins, items):
    """COPY(n): push a new reference to the n-th item from the top."""
    b.incref(items[0])
    return [*items, items[0]]


@op("SWAP", sig="items[oparg] -- items[oparg]")
def swap(b, ins, items):
    """SWAP(n): exchange the top with the n-th item."""
    items = list(items)
    items[0], items[-1] = items[-1], items[0]
    return items


@op("LOAD_CONST", sig="-- value")
def load_const(b, ins):
    """LOAD_CONST: a new reference to co_consts[oparg] (kept alive by the code)."""
    value = b.const(b.code.co_consts[ins.arg])
    b.incref(value)
    return [value]


def _load_local_checked(b, ins, reason):
    value = b.temp()
    b.emit(ops.LoadLocal(value, ins.arg))
    if b.may_be_unbound(ins.arg):
        b.deopt_if(_is(value, NULL), reason)
    b.incref(value)
    return value


@op("LOAD_FAST", sig="-- value")
def load_fast(b, ins):
    """LOAD_FAST: a local; unbound -> deopt (the interpreter raises UnboundLocalError)."""
    return [_load_local_checked(b, ins, "unbound local")]


@op("LOAD_CLOSURE", sig="-- cell")
def load_closure(b, ins):
    """LOAD_CLOSURE: the cell in localsplus[oparg], as LOAD_FAST."""
    return [_load_local_checked(b, ins, "unbound cell")]


@op("STORE_FAST", sig="value --")
def store_fast(b, ins, value):
    """STORE_FAST: SETLOCAL (the old value is released after the store)."""
    old = b.temp()
    b.emit(ops.LoadLocal(old, ins.arg))
    b.emit(ops.StoreLocal(ins.arg, value))
    b.xdecref(old)
    return []


@op("DELETE_FAST", sig="--")
def delete_fast(b, ins):
    """DELETE_FAST: unbound -> deopt (UnboundLocalError from the interpreter)."""
    old = b.temp()
    b.emit(ops.LoadLocal(old, ins.arg))
    b.deopt_if(_is(old, NULL), "unbound local")
    b.emit(ops.StoreLocal(ins.arg, NULL))
    b.decref(old)
    return []


@op("MAKE_CELL", sig="--")
def make_cell(b, ins):
    """MAKE_CELL: wrap localsplus[oparg] (maybe NULL) in a new cell."""
    initial = b.temp()
    b.emit(ops.LoadLocal(initial, ins.arg))
    cell = b.call("PyCell_New", initial)
    b.error_if_null(cell)
    b.emit(ops.StoreLocal(ins.arg, cell))
    b.xdecref(initial)
    return []


@op("COPY_FREE_VARS", sig="--")
def copy_free_vars(b, ins):
    """COPY_FREE_VARS(n): the function's closure cells into the last n locals."""
    func = b.load("obj", ops.Var("frame", "ptr"), L.FRAME_FUNC)
    closure = b.load("obj", func, L.FUNC_CLOSURE)
    first = b.nlocalsplus - ins.arg
    for i in range(ins.arg):
        cell = b.load("obj", closure, L.TUPLE_ITEMS + 8 * i)
        b.incref(cell)
        b.emit(ops.StoreLocal(first + i, cell))
    return []


@op("LOAD_DEREF", sig="-- value")
def load_deref(b, ins):
    """LOAD_DEREF: the cell's content; empty -> deopt (NameError from the interpreter)."""
    cell = b.temp()
    b.emit(ops.LoadLocal(cell, ins.arg))
    value = b.load("obj", cell, L.CELL_REF)
    b.deopt_if(_is(value, NULL), "empty cell")
    b.incref(value)
    return [value]


@op("STORE_DEREF", sig="value --")
def store_deref(b, ins, value):
    """STORE_DEREF: set the cell's content, release the old one."""
    cell = b.temp()
    b.emit(ops.LoadLocal(cell, ins.arg))
    old = b.load("obj", cell, L.CELL_REF)
    b.emit(ops.Store(cell, L.CELL_REF, value))
    b.xdecref(old)
    return []


# -- globals and attributes ----------------------------------------------------------
@op("LOAD_GLOBAL", sig="-- null[oparg&1] value")
def load_global(b, ins):
    """LOAD_GLOBAL: globals, then builtins; a missing name deopts so the interpreter
    raises the NameError. The site's own cache holds the value while neither dict has
    changed (caches.global_cached: two version tags, checked inline, no code runs);
    else both must be exact dicts (or deopt: the interpreter goes through
    __getitem__), and coconut_load_global looks the name up as ceval does and refills
    the cache (runtime/namespaces.py: why not 3.11's own LOAD_GLOBAL_* caches)."""
    frame = ops.Var("frame", "ptr")
    name = b.const(b.code.co_names[ins.arg >> 1])
    globals_ = b.load("obj", frame, L.FRAME_GLOBALS)
    builtins = b.load("obj", frame, L.FRAME_BUILTINS)
    value = b.temp()
    found, miss = b.new_block("found"), b.new_block("global_miss")
    slot = ops.SiteCache(b.ir.site_caches)
    b.ir.site_caches += 1
    b.emit(ops.Assign(value, caches.global_cached(b, globals_, builtins, slot, miss.name)))
    b.terminate(ops.Jump(found.name))
    b.current = miss
    b.deopt_if(Cond("!=", _type_of(b, globals_), b.const(dict)), "globals not a dict")
    b.deopt_if(Cond("!=", _type_of(b, builtins), b.const(dict)), "builtins not a dict")
    if b.inline_depth:
        # Inlined code shows no frame: the lookup must run no code, as where both
        # dicts have only str keys (unicode_eq compares them).
        for d in (globals_, builtins):
            b.deopt_if(Cond("!=", b.load("byte", b.load("ptr", d, L.DICT_KEYS), L.DK_KIND),
                            b.int(L.DICT_KEYS_UNICODE, "byte")), "a dict with other keys")
    else:
        b.observe_slow()                   # a lookup may run a key's __eq__
    got = b.call("coconut_load_global", globals_, builtins, name, slot)
    b.split(_not_null(got), b.assign_and_jump(value, got, found.name), hint="missing")
    b.error_if(_not_null(b.call("PyErr_Occurred")))
    b.terminate(ops.Deopt(ins.offset, b.stack_below(), "global name not found"))
    b.current = found
    b.incref(value)
    return [NULL] * (ins.arg & 1) + [value]


@op("LOAD_ATTR", sig="owner -- value")
def load_attr(b, ins, owner):
    """LOAD_ATTR: PyObject_GetAttr. Where the interpreter specialized it
    (LOAD_ATTR_INSTANCE_VALUE / LOAD_ATTR_SLOT / LOAD_ATTR_MODULE), the value is read
    where its cache says while the cache's guards hold (caches.load_attr); where it ran
    it and could not, a plain class attribute read through an instance comes from the
    site's own cache (caches.class_attr); where the site has a polymorphic cache
    (caches.pic_site: no form, or one that missed), through it."""
    value, join = b.temp(), b.new_block("got_attr")

    def cached(form, miss):
        if form == "class attribute":
            got = caches.class_attr(b, ins, owner, miss)
        else:
            got = caches.load_attr(b, ins, form, owner, miss)
        b.incref(got)
        return got
    def own(miss):
        got = caches.attr_pic(b, ins, owner, miss)
        b.incref(got)
        return got
    caches.fast_path(b, ins, cached, join.name, value, own)
    b.emit(ops.Assign(value, b.call("PyObject_GetAttr", owner, b.const(b.code.co_names[ins.arg]))))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(owner)
    b.error_if_null(value)
    return [value]


@op("STORE_ATTR", sig="value owner --")
def store_attr(b, ins, value, owner):
    """STORE_ATTR: PyObject_SetAttr(owner, name, value). Where the interpreter
    specialized it (STORE_ATTR_INSTANCE_VALUE / STORE_ATTR_SLOT), the value is stored
    where its cache says while the cache's guards hold (caches.store_attr); where the
    site has a polymorphic cache (caches.pic_site), through it."""
    err, join = b.temp("int"), b.new_block("stored")

    def cached(form, miss):
        caches.store_attr(b, ins, form, owner, value, miss)
        return b.int(0)
    def own(miss):
        caches.store_pic(b, ins, owner, value, miss)
        return b.int(0)
    caches.fast_path(b, ins, cached, join.name, err, own)
    b.emit(ops.Assign(err, b.call("PyObject_SetAttr", owner, b.const(b.code.co_names[ins.arg]),
                                  value)))
    b.decref(value)
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(owner)
    b.error_if(Cond("!=", err, b.int(0)))
    return []


@op("LOAD_METHOD", sig="obj -- meth_or_null self_or_meth")
def load_method(b, ins, obj):
    """LOAD_METHOD: _PyObject_GetMethod; an unbound method pushes (meth, self),
    anything else (NULL, attr). Where the interpreter specialized it, while the cache's
    guards hold (caches.load_method): LOAD_METHOD_WITH_VALUES / LOAD_METHOD_NO_DICT push
    the cached descriptor with self, LOAD_METHOD_MODULE (NULL, the module attribute)."""
    meth = b.temp("obj", "meth")
    first, second = b.temp(), b.temp()
    method, attribute, join = b.new_block("method"), b.new_block("attribute"), b.new_block("join")

    def cached(form, miss):
        descr = caches.load_method(b, ins, form, obj, miss)
        b.incref(descr)
        return descr
    def own(miss):
        descr = caches.method_pic(b, ins, obj, miss)
        b.incref(descr)
        return descr
    module = b.cache_forms.get(ins.offset) == "LOAD_METHOD_MODULE"     # (NULL, attr)
    caches.fast_path(b, ins, cached, attribute.name if module else method.name, meth,
                     None if module else own)
    b.emit(ops.Assign(meth, NULL))
    found = b.call("_PyObject_GetMethod", obj, b.const(b.code.co_names[ins.arg]),
                   ops.AddressOf(meth))
    b.error_if(_is(meth, NULL), keep=(obj,))
    b.terminate(ops.Branch(Cond("!=", found, b.int(0)), method.name, attribute.name))
    method.ops += [ops.Assign(first, meth), ops.Assign(second, obj)]           # (meth, self)
    attribute.ops += [ops.Assign(first, NULL), ops.Assign(second, meth), ops.Decref(obj)]
    method.terminator = attribute.terminator = ops.Jump(join.name)
    b.current = join
    return [first, second]


# -- operators -------------------------------------------------------------------
# Guarded fast paths: exact ints of at most one 30-bit digit, exact floats. The
# guards fall back to the generic C-API call, never to a deopt.
_INT_ARITH = {"+": "+", "-": "-", "*": "*", "&": "&", "|": "|", "^": "^"}
_FLOAT_ARITH = {"+": "+", "-": "-", "*": "*"}
_CMP = {0: "<", 1: "<=", 2: "==", 3: "!=", 4: ">", 5: ">="}


def _with_fast_paths(b, lhs, rhs, int_fast, float_fast, generic):
    """res = int_fast(a, b) / float_fast(x, y) when both operands fit, else generic().
    Each callback emits into the current block and returns the result value."""
    res = b.temp()
    join = b.new_block("join")
    for kind, fast in (("int", int_fast), ("float", float_fast)):
        if fast is None:
            continue
        slow = b.new_block(f"not_{kind}")
        pytype = int if kind == "int" else float
        for v in (lhs, rhs):
            b.split(Cond("!=", _type_of(b, v), b.const(pytype)), slow.name, hint=f"{kind}_guard")
        if kind == "int":
            values = []
            for v in (lhs, rhs):
                size = b.load("ssize", v, L.OB_SIZE)
                b.split(Cond("<", size, b.int(-1, "ssize")), slow.name, hint="int_guard")
                b.split(Cond(">", size, b.int(1, "ssize")), slow.name, hint="int_guard")
                digit = b.load("int", v, L.LONG_DIGIT0)
                value = b.temp("ssize")
                b.emit(ops.BinArith(value, "*", size, digit))
                values.append(value)
        else:
            values = [b.load("double", v, L.FLOAT_VALUE) for v in (lhs, rhs)]
        b.emit(ops.Assign(res, fast(*values)))
        b.terminate(ops.Jump(join.name))
        b.current = slow
    b.emit(ops.Assign(res, generic()))
    b.terminate(ops.Jump(join.name))
    b.current = join
    return res


def _arith(b, op, ctype, box):
    def fast(x, y):
        r = b.temp(ctype)
        b.emit(ops.BinArith(r, op, x, y))
        return b.call(box, r)
    return fast


@op("BINARY_OP", sig="lhs rhs -- res")
def binary_op(b, ins, lhs, rhs):
    """BINARY_OP: binary_ops[oparg](lhs, rhs) — PyNumber_*, power with None; small
    ints (+ - * & | ^) and floats (+ - *) computed inline, as 3.11's BINARY_OP_*_INT
    and *_FLOAT specializations do."""
    return [binary_op_paths(b, ins, lhs, rhs)]


def binary_op_paths(b, ins, lhs, rhs, on_slow=None):
    """BINARY_OP's result (both operands released): the fast paths inline, else
    binary_ops[oparg] after `on_slow()` (the typed tier's materialization: only that
    path may run code)."""
    func = binary_op_function(ins.arg)
    symbol = dis._nb_ops[ins.arg][1].rstrip("=")
    args = (lhs, rhs, b.const(None)) if func.endswith("Power") else (lhs, rhs)
    int_fast = _arith(b, _INT_ARITH[symbol], "ssize", "PyLong_FromLong") \
        if symbol in _INT_ARITH else None
    float_fast = _arith(b, _FLOAT_ARITH[symbol], "double", "PyFloat_FromDouble") \
        if symbol in _FLOAT_ARITH else None

    def generic():
        if on_slow is not None:
            on_slow()
        return b.call(func, *args)
    local = _appended_local(b, ins, symbol)
    if local is None:
        res = _with_fast_paths(b, lhs, rhs, int_fast, float_fast, generic)
        b.decref(lhs, rhs)
        b.error_if_null(res)
        return res
    # `x += s` / `x = x + s` of strs: extended in place (runtime/str_append.py), as
    # BINARY_OP_INPLACE_ADD_UNICODE does, where x's slot holds the left operand.
    out, other, join = b.temp(), b.new_block("not_str_append"), b.new_block("str_appended")
    for v in (lhs, rhs):
        b.split(Cond("!=", _type_of(b, v), b.const(str)), other.name, hint="str_guard")
    held = b.temp()
    b.emit(ops.LoadLocal(held, local))
    b.split(Cond("!=", held, lhs), other.name, hint="str_guard")
    appended = b.call("coconut_str_iadd", lhs, rhs)
    b.emit(ops.StoreLocal(local, appended))     # (the old value may have moved or died)
    b.decref(rhs)
    b.emit(ops.Assign(out, appended))
    b.terminate(ops.Jump(join.name))
    b.current = other
    res = _with_fast_paths(b, lhs, rhs, int_fast, float_fast, generic)
    b.decref(lhs, rhs)
    b.emit(ops.Assign(out, res))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.error_if_null(out)
    return out


def _appended_local(b, ins, symbol: str) -> int | None:
    """The local `x` of `x = x + s` / `x += s`: BINARY_OP `+` followed by STORE_FAST x,
    where x's frame slot holds its value (not an unboxed one: the typed tier's state
    says OBJ), outside inlined code (no frame slot there), and not at a site the
    interpreter specialized for ints or floats (no str came there); else None."""
    if symbol != "+" or b.inline_depth:
        return None
    feedback = getattr(b.tcx, "fb", None) or {}
    if feedback.get(ins.offset) in ("BINARY_OP_ADD_INT", "BINARY_OP_ADD_FLOAT"):
        return None
    nxt = b.cfg.by_offset.get(ins.next_offset)
    if nxt is None or nxt.name != "STORE_FAST":
        return None
    if b.state is not None and b.state.locals[nxt.arg].kind != OBJ:
        return None
    return nxt.arg


@op("COMPARE_OP", sig="left right -- res")
def compare_op(b, ins, left, right):
    """COMPARE_OP: PyObject_RichCompare(left, right, oparg); small ints and floats
    compared inline (as COMPARE_OP_INT_JUMP / FLOAT_JUMP do)."""
    def fast(x, y):
        r = b.select(Cond(_CMP[ins.arg], x, y), b.const(True), b.const(False))
        b.incref(r)
        return r
    res = _with_fast_paths(b, left, right, fast, fast, lambda: b.call(
        "PyObject_RichCompare", left, right, b.int(ins.arg)))
    b.decref(left, right)
    b.error_if_null(res)
    return [res]


@op("IS_OP", sig="left right -- res")
def is_op(b, ins, left, right):
    """IS_OP: identity, inverted when oparg is 1."""
    res = _bool_from(b, Cond("!=" if ins.arg else "==", left, right))
    b.decref(left, right)
    return [res]


@op("CONTAINS_OP", sig="left right -- res")
def contains_op(b, ins, left, right):
    """CONTAINS_OP: PySequence_Contains(right, left), inverted when oparg is 1; an exact
    str in an exact list or tuple of strs first without it (coconut_contains_str,
    runtime/contains.py: -2 where it does not answer, nothing done)."""
    found = b.temp("int", "found")
    generic, join = b.new_block("contains_call"), b.new_block("contained")
    b.split(Cond("!=", _type_of(b, left), b.const(str)), generic.name, hint="str_needle")
    quick = b.call("coconut_contains_str", right, left)
    b.split(Cond("==", quick, b.int(-2)), generic.name, hint="str_in_seq")
    b.emit(ops.Assign(found, quick))
    b.terminate(ops.Jump(join.name))
    b.current = generic
    b.emit(ops.Assign(found, b.call("PySequence_Contains", right, left)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(left, right)
    b.error_if_negative(found)
    return [_bool_from(b, Cond("==" if ins.arg else "!=", found, b.int(0)))]


@op("UNARY_POSITIVE", "UNARY_NEGATIVE", "UNARY_INVERT", sig="value -- res")
def unary_number(b, ins, value):
    """UNARY_POSITIVE / NEGATIVE / INVERT: PyNumber_Positive / Negative / Invert."""
    func = {"UNARY_POSITIVE": "PyNumber_Positive", "UNARY_NEGATIVE": "PyNumber_Negative",
            "UNARY_INVERT": "PyNumber_Invert"}[ins.name]
    res = b.call(func, value)
    b.decref(value)
    b.error_if_null(res)
    return [res]


def truth_of(b, value, on_slow=None):
    """PyObject_IsTrue(value) as a C int (True and False inline, then coconut_truth where
    no code runs, then PyObject_IsTrue after `on_slow()`: the typed tier's
    materialization); releases value; error if it fails."""
    truth = b.temp("int")
    join, slow = b.new_block("truth"), b.new_block("is_true_call")
    b.split(_is(value, b.const(True)), b.assign_and_jump(truth, b.int(1), join.name), hint="not_true")
    b.split(_is(value, b.const(False)), b.assign_and_jump(truth, b.int(0), join.name), hint="not_bool")
    quick = b.call("coconut_truth", value)   # (runs no code: runtime/truth.py)
    b.split(Cond("!=", quick, b.int(-2)), b.assign_and_jump(truth, quick, join.name),
            hint="truth_slot")
    b.terminate(ops.Jump(slow.name))
    b.current = slow
    if on_slow is not None:
        on_slow()
    b.emit(ops.Assign(truth, b.call("PyObject_IsTrue", value)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(value)
    b.error_if_negative(truth)
    return truth


@op("UNARY_NOT", sig="value -- res")
def unary_not(b, ins, value):
    """UNARY_NOT: not PyObject_IsTrue(value)."""
    return [_bool_from(b, Cond("==", truth_of(b, value), b.int(0)))]


# -- jumps -------------------------------------------------------------------------
@op("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", sig="--", jump="--")
def jump(b, ins):
    """JUMP_*: JUMP_BACKWARD checks the eval breaker on the way (in the jump edge)."""
    b.goto_target()
    return []


@op("POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_TRUE",
    "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_FALSE", sig="cond --", jump="cond --")
def pop_jump_if_bool(b, ins, cond):
    """POP_JUMP_*_IF_TRUE / FALSE: PyObject_IsTrue (True/False are its fast path)."""
    truth = truth_of(b, cond)
    b.branch_to_target(Cond("!=" if ins.name.endswith("TRUE") else "==", truth, b.int(0)))
    return []


@op("POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
    sig="value --", jump="value --")
def pop_jump_if_none(b, ins, value):
    """POP_JUMP_*_IF_NONE / NOT_NONE: identity with None."""
    b.decref(value)
    b.branch_to_target(Cond("!=" if "NOT_NONE" in ins.name else "==", value, b.const(None)))
    return []


@op("JUMP_IF_TRUE_OR_POP", "JUMP_IF_FALSE_OR_POP", sig="cond --", jump="cond -- cond")
def jump_if_or_pop(b, ins, cond):
    """JUMP_IF_TRUE_OR_POP / FALSE: keep cond when jumping, pop it otherwise."""
    truth = b.call("PyObject_IsTrue", cond)
    b.error_if_negative(truth, keep=(cond,))
    b.branch_to_target(Cond("!=" if "TRUE" in ins.name else "==", truth, b.int(0)), (cond,))
    b.decref(cond)
    return []


# -- iteration ---------------------------------------------------------------------
@op("GET_ITER", sig="iterable -- iter")
def get_iter(b, ins, iterable):
    """GET_ITER: PyObject_GetIter."""
    it = b.call("PyObject_GetIter", iterable)
    b.decref(iterable)
    b.error_if_null(it)
    return [it]


@op("FOR_ITER", sig="iter -- iter next", jump="iter --")
def for_iter(b, ins, it):
    """FOR_ITER: PyIter_Next (it clears StopIteration; coconut_gen_next: a generator
    resumed directly); exhausted -> pop and jump."""
    nxt = b.call("coconut_gen_next", ops.Var("tstate", "ptr"), it)
    got = b.new_block("next")
    b.split(_not_null(nxt), got.name, hint="exhausted")
    b.error_if(_not_null(b.call("PyErr_Occurred")), keep=(it,))
    b.decref(it)
    b.goto_target()
    b.current = got
    return [it, nxt]


# -- calls -------------------------------------------------------------------------
@op("KW_NAMES", sig="--")
def kw_names(b, ins):
    """KW_NAMES: the keyword names of the next CALL (compile-time state)."""
    b.pending_kwnames = b.code.co_consts[ins.arg]
    return []


@op("PRECALL", sig="--")
def precall(b, ins):
    """PRECALL: nothing natively (unpacking a bound method is what vectorcall does)."""
    return []


@op("CALL", sig="meth_or_null self_or_callable args[oparg] -- res")
def call(b, ins, meth_or_null, self_or_callable, args):
    """CALL: PyObject_Vectorcall with PY_VECTORCALL_ARGUMENTS_OFFSET; (meth, self, args)
    when LOAD_METHOD found a method, else (NULL, callable, args)."""
    kwnames = b.pending_kwnames
    b.pending_kwnames = None
    form = precall_form(b, ins)
    if form is not None:          # a C function the interpreter calls specialized
        out = lower_c_call(b, ins, form, meth_or_null, self_or_callable, args, kwnames)
        if out is not None:
            return out
    n_kw = len(kwnames) if kwnames else 0
    is_method = _not_null(meth_or_null)
    callable_, skip = b.select_many(is_method, [(meth_or_null, self_or_callable, "obj"),
                                                (b.int(0), b.int(1), "int")])
    res = b.temp()
    b.emit(ops.SetInstr(ins.offset, ins.name))   # (the error exit takes prev_instr as is)
    b.emit(ops.CallVectorcall(res, callable_, (self_or_callable, *args), skip,
                              len(args) + 1 - n_kw,
                              b.const(kwnames) if kwnames else NULL, frame_inline=True))
    b.xdecref(meth_or_null)
    b.decref(self_or_callable, *args)
    b.error_if_null(res, named=True)       # (coconut_call may have moved prev_instr)
    b.check_eval_breaker(outputs=(res,), error_at=ins.offset, resume_at=ins.next_offset)
    return [res]


@op("MAKE_FUNCTION", sig="extras[popcount(oparg&15)] code -- func")
def make_function(b, ins, extras, code):
    """MAKE_FUNCTION: PyFunction_New(code, globals), then the extras (closure,
    annotations, kwdefaults, defaults: top first) are stolen into the function."""
    globals_ = b.load("obj", ops.Var("frame", "ptr"), L.FRAME_GLOBALS)
    func = b.call("PyFunction_New", code, globals_)
    b.decref(code)
    b.error_if_null(func, keep=tuple(extras))
    fields = [(0x08, L.FUNC_CLOSURE), (0x04, L.FUNC_ANNOTATIONS),
              (0x02, L.FUNC_KWDEFAULTS), (0x01, L.FUNC_DEFAULTS)]
    remaining = list(extras)
    for flag, offset in fields:
        if ins.arg & flag:
            b.emit(ops.Store(func, offset, remaining.pop()))
    return [func]


@op("YIELD_VALUE", sig="value -- sent")
def yield_value(b, ins, value):
    """YIELD_VALUE: suspend the generator (its frame lives in the generator object):
    the locals are in the frame already (a generic instruction), the stack below the
    value goes to the frame as ceval's _PyFrame_SetStackPointer leaves it (boxed),
    prev_instr names this instruction, gi_frame_state becomes FRAME_SUSPENDED, and
    the value is returned as at a return (the frame unlinked, the recursion count
    given back). gen_send_ex2 pushes the value sent in and enters the frame again:
    native code then resumes at the next instruction (lower.py's resume dispatch)."""
    below = [b.box(v, item) for v, item in zip(b.stack_below(), b.state.stack)]
    for i, v in enumerate(below):
        b.emit(ops.StoreLocal(b.nlocalsplus + i, v))
    frame = ops.Var("frame", "ptr")
    b.emit(ops.Store(frame, L.FRAME_STACKTOP, b.int(b.nlocalsplus + len(below)), "int"))
    # (int8_t) FRAME_SUSPENDED, -1
    b.emit(ops.Store(frame, L.FRAME_GEN_STATE, b.int(L.GEN_SUSPENDED & 0xFF, "byte"), "byte"))
    b.terminate(ops.Return(value))
    return []


@op("GET_YIELD_FROM_ITER", sig="iterable -- iter")
def get_yield_from_iter(b, ins, iterable):
    """GET_YIELD_FROM_ITER (yield from): a generator stays itself, anything else but a
    coroutine becomes iter(it); a coroutine deopts (the interpreter raises its
    TypeError in a plain generator, or delegates to it in a types.coroutine one)."""
    tp = _type_of(b, iterable)
    b.deopt_if(_is(tp, b.const(types.CoroutineType)), "yield from a coroutine")
    res = b.temp()
    is_gen, other, join = b.new_block("generator"), b.new_block("other"), b.new_block("iter")
    b.terminate(ops.Branch(_is(tp, b.const(types.GeneratorType)), is_gen.name, other.name))
    is_gen.ops.append(ops.Assign(res, iterable))
    is_gen.terminator = ops.Jump(join.name)
    b.current = other
    it = b.call("PyObject_GetIter", iterable)
    b.decref(iterable)
    b.error_if_null(it)
    b.emit(ops.Assign(res, it))
    b.terminate(ops.Jump(join.name))
    b.current = join
    return [res]


@op("GET_AWAITABLE", sig="iterable -- iter")
def get_awaitable(b, ins, iterable):
    """GET_AWAITABLE (await, in a coroutine): the awaitable's iterator, as
    _PyCoro_GetAwaitableIter makes it (coconut_get_awaitable, runtime/coroutines.py): a
    coroutine not started yet itself, else the type's am_await. Where that function
    says so (no am_await; a coroutine already started, which ceval may find "being
    awaited already") nothing has run: deopt, and the interpreter raises exactly."""
    it = b.call("coconut_get_awaitable", iterable)
    got = b.new_block("awaitable")
    b.split(_not_null(it), got.name, hint="no_awaitable")
    b.deopt_if(Cond("==", b.call("PyErr_Occurred"), NULL), "await: the interpreter's case")
    b.decref(iterable)
    b.terminate(ops.Jump(b.exit_block("error", ops.ErrorExit(ins.offset, b.stack_below()))))
    b.current = got
    b.decref(iterable)
    return [it]


@op("GET_AITER", sig="obj -- iter")
def get_aiter(b, ins, obj):
    """GET_AITER (`async for`): coconut_get_aiter, ceval's `am_aiter` call and checks
    with its messages (runtime/coroutines.py)."""
    it = b.call("coconut_get_aiter", obj)
    b.decref(obj)
    b.error_if_null(it)
    return [it]


@op("GET_ANEXT", sig="aiter -- aiter awaitable")
def get_anext(b, ins, aiter):
    """GET_ANEXT (each `async for` step): coconut_get_anext, the awaitable of `am_anext`
    as ceval makes it (runtime/coroutines.py)."""
    awaitable = b.call("coconut_get_anext", aiter)
    b.error_if_null(awaitable, keep=(aiter,))
    return [aiter, awaitable]


@op("ASYNC_GEN_WRAP", sig="value -- wrapped")
def async_gen_wrap(b, ins, value):
    """ASYNC_GEN_WRAP (before an async generator's YIELD_VALUE): the value in an
    async_generator_wrapped_value (coconut_async_gen_wrap), which tells the async
    generator's asend a yield from an await."""
    wrapped = b.call("coconut_async_gen_wrap", ops.Var("tstate", "ptr"), value)
    b.error_if_null(wrapped, keep=(value,))
    b.decref(value)
    return [wrapped]


@op("SEND", sig="receiver v -- receiver retval", jump="receiver v -- retval")
def send(b, ins, receiver, v):
    """SEND (the loop of yield from): ceval's untraced path, PyIter_Send (coconut_send:
    a suspended generator or coroutine resumed without the layers between). The receiver
    returned: pop it, push its value and jump; it yielded: push the value (YIELD_VALUE
    passes it on). Under a tracer it deopts first (ceval then calls tp_iternext or
    send() itself and reports the StopIteration)."""
    tracefunc = b.load("ptr", ops.Var("tstate", "ptr"), L.TS_C_TRACEFUNC)
    if b.count_trace is not None:
        # statistics' instruction counter is a trace function that sees no exception
        # event: under it the untraced path is exact
        untraced = b.new_block("untraced")
        b.split(Cond("==", tracefunc, ops.IntConst(0, "ptr")), untraced.name, hint="traced")
        b.deopt_if(Cond("!=", tracefunc, ops.Address("count_trace", b.count_trace)),
                   "SEND under a tracer")
        b.terminate(ops.Jump(untraced.name))
        b.current = untraced
    else:
        b.deopt_if(Cond("!=", tracefunc, ops.IntConst(0, "ptr")), "SEND under a tracer")
    retval = b.temp()
    b.emit(ops.Assign(retval, NULL))
    status = b.call("coconut_send", ops.Var("tstate", "ptr"), receiver, v, ops.AddressOf(retval))
    b.decref(v)
    b.error_if(Cond("<", status, b.int(0)), keep=(receiver,))
    yielded = b.new_block("yielded")
    b.split(Cond("!=", status, b.int(0)), yielded.name, hint="returned")
    b.decref(receiver)
    b.goto_target((retval,))
    b.current = yielded
    return [receiver, retval]


@op("RETURN_GENERATOR", sig="--")
def return_generator(b, ins):
    """RETURN_GENERATOR (a generator function's call, after its MAKE_CELLs and
    COPY_FREE_VARS): coconut_return_generator makes the generator, coroutine or async
    generator, moves the frame (exact: a generic instruction) into it and leaves the
    frame as ceval leaves an entry frame; the call returns the generator. Where ceval
    would do more (coroutine origin tracking) nothing has run: deopt."""
    gen = b.call("coconut_return_generator", ops.Var("tstate", "ptr"), ops.Var("frame", "ptr"))
    made = b.new_block("generator_made")
    b.split(_not_null(gen), made.name, hint="no_generator")
    b.deopt_if(Cond("==", b.call("PyErr_Occurred"), NULL), "RETURN_GENERATOR: the interpreter's case")
    b.terminate(ops.Jump(b.exit_block("error", ops.ErrorExit(ins.offset, b.stack_below()))))
    b.current = made
    b.terminate(ops.Return(gen))
    return []


@op("RETURN_VALUE", sig="value --")
def return_value(b, ins, value):
    """RETURN_VALUE: leave native code (the stack is empty here)."""
    assert b.base == 0, "RETURN_VALUE with a non-empty stack"
    b.terminate(ops.Return(value))
    return []


# -- containers ----------------------------------------------------------------------
@op("BUILD_TUPLE", sig="items[oparg] -- tuple")
def build_tuple(b, ins, items):
    """BUILD_TUPLE: PyTuple_New, items stolen into ob_item."""
    tup = b.call("PyTuple_New", b.int(len(items), "ssize"))
    b.error_if_null(tup, keep=tuple(items))
    for i, item in enumerate(items):
        b.emit(ops.Store(tup, L.TUPLE_ITEMS + 8 * i, item))
    return [tup]


@op("BUILD_LIST", sig="items[oparg] -- list")
def build_list(b, ins, items):
    """BUILD_LIST: PyList_New, items stolen into ob_item."""
    lst = b.call("PyList_New", b.int(len(items), "ssize"))
    b.error_if_null(lst, keep=tuple(items))
    if items:
        storage = b.load("ptr", lst, L.LIST_ITEMS)
        for i, item in enumerate(items):
            b.emit(ops.Store(storage, 8 * i, item))
    return [lst]


@op("BUILD_SET", sig="items[oparg] -- set")
def build_set(b, ins, items):
    """BUILD_SET: PySet_New(NULL) and PySet_Add of each item, in order."""
    s = b.call("PySet_New", NULL)
    b.error_if_null(s, keep=tuple(items))
    for i, item in enumerate(items):
        err = b.call("PySet_Add", s, item)
        b.decref(item)
        b.error_if_negative(err, keep=(s, *items[i + 1:]))
    return [s]


@op("BUILD_MAP", sig="items[oparg*2] -- map")
def build_map(b, ins, items):
    """BUILD_MAP: a presized dict, PyDict_SetItem of each pair in order."""
    d = b.call("_PyDict_NewPresized", b.int(len(items) // 2, "ssize"))
    b.error_if_null(d, keep=tuple(items))
    for i in range(0, len(items), 2):
        err = b.call("PyDict_SetItem", d, items[i], items[i + 1])
        b.decref(items[i], items[i + 1])
        b.error_if_negative(err, keep=(d, *items[i + 2:]))
    return [d]


@op("BUILD_CONST_KEY_MAP", sig="values[oparg] keys -- map")
def build_const_key_map(b, ins, values, keys):
    """BUILD_CONST_KEY_MAP: keys is an exact tuple of len oparg (else deopt: the
    interpreter raises SystemError); PyDict_SetItem pairwise."""
    b.deopt_if(Cond("!=", _type_of(b, keys), b.const(tuple)), "const keys not a tuple")
    size = b.load("ssize", keys, L.OB_SIZE)
    b.deopt_if(Cond("!=", size, b.int(len(values), "ssize")), "const keys of wrong size")
    d = b.call("_PyDict_NewPresized", b.int(len(values), "ssize"))
    b.error_if_null(d, keep=(*values, keys))
    for i, value in enumerate(values):
        key = b.load("obj", keys, L.TUPLE_ITEMS + 8 * i)
        err = b.call("PyDict_SetItem", d, key, value)
        b.decref(value)
        b.error_if_negative(err, keep=(d, *values[i + 1:], keys))
    b.decref(keys)
    return [d]


@op("BUILD_SLICE", sig="items[oparg] -- slice")
def build_slice(b, ins, items):
    """BUILD_SLICE: PySlice_New(start, stop, step or NULL)."""
    step = items[2] if len(items) == 3 else NULL
    res = b.call("PySlice_New", items[0], items[1], step)
    b.decref(*items)
    b.error_if_null(res)
    return [res]


@op("BUILD_STRING", sig="pieces[oparg] -- str")
def build_string(b, ins, pieces):
    """BUILD_STRING: _PyUnicode_JoinArray('', pieces, n)."""
    res = b.temp()
    b.emit(ops.CallArray(res, "_PyUnicode_JoinArray", (b.const(""),), tuple(pieces)))
    b.decref(*pieces)
    b.error_if_null(res)
    return [res]


@op("LIST_APPEND", sig="list unused[oparg-1] value -- list unused[oparg-1]")
def list_append(b, ins, lst, unused, value):
    """LIST_APPEND(i): PyList_Append(PEEK(i), value)."""
    err = b.call("PyList_Append", lst, value)
    b.decref(value)
    b.error_if_negative(err, keep=(lst, *unused))
    return [lst, *unused]


@op("SET_ADD", sig="set unused[oparg-1] value -- set unused[oparg-1]")
def set_add(b, ins, s, unused, value):
    """SET_ADD(i): PySet_Add(PEEK(i), value)."""
    err = b.call("PySet_Add", s, value)
    b.decref(value)
    b.error_if_negative(err, keep=(s, *unused))
    return [s, *unused]


@op("MAP_ADD", sig="map unused[oparg-1] key value -- map unused[oparg-1]")
def map_add(b, ins, d, unused, key, value):
    """MAP_ADD(i): PyDict_SetItem(PEEK(i + 1), key, value)."""
    err = b.call("PyDict_SetItem", d, key, value)
    b.decref(key, value)
    b.error_if_negative(err, keep=(d, *unused))
    return [d, *unused]


@op("BINARY_SUBSCR", sig="container sub -- res")
def binary_subscr(b, ins, container, sub):
    """BINARY_SUBSCR: PyObject_GetItem."""
    res = b.call("PyObject_GetItem", container, sub)
    b.decref(container, sub)
    b.error_if_null(res)
    return [res]


@op("STORE_SUBSCR", sig="value container sub --")
def store_subscr(b, ins, value, container, sub):
    """STORE_SUBSCR: PyObject_SetItem(container, sub, value)."""
    err = b.call("PyObject_SetItem", container, sub, value)
    b.decref(value, container, sub)
    b.error_if(Cond("!=", err, b.int(0)))
    return []


@op("DELETE_SUBSCR", sig="container sub --")
def delete_subscr(b, ins, container, sub):
    """DELETE_SUBSCR: PyObject_DelItem."""
    err = b.call("PyObject_DelItem", container, sub)
    b.decref(container, sub)
    b.error_if(Cond("!=", err, b.int(0)))
    return []


@op("UNPACK_SEQUENCE", sig="seq -- items[oparg]")
def unpack_sequence(b, ins, seq):
    """UNPACK_SEQUENCE(n): exact tuples and lists of length n natively (first item
    ends on top); anything else deopts (unpack_iterable and its messages)."""
    n = ins.arg
    tp = _type_of(b, seq)
    size = b.load("ssize", seq, L.OB_SIZE)
    b.deopt_if(Cond("!=", size, b.int(n, "ssize")), "unpack of another length")
    outs = [b.temp() for _ in range(n)]
    is_tuple, is_list, join = b.new_block("tuple"), b.new_block("list"), b.new_block("unpacked")
    b.split(_is(tp, b.const(tuple)), is_tuple.name, hint="not_tuple")
    b.deopt_if(Cond("!=", tp, b.const(list)), "unpack of a non-tuple, non-list")
    b.terminate(ops.Jump(is_list.name))
    for blk, storage in ((is_tuple, None), (is_list, "list")):
        b.current = blk
        base, offset = seq, L.TUPLE_ITEMS
        if storage:
            base, offset = b.load("ptr", seq, L.LIST_ITEMS), 0
        for i, out in enumerate(outs):
            b.emit(ops.Load(out, base, offset + 8 * i))
        b.terminate(ops.Jump(join.name))
    b.current = join
    b.incref(*outs)
    b.decref(seq)
    return list(reversed(outs))


# -- strings -------------------------------------------------------------------------
@op("FORMAT_VALUE", sig="value spec[(oparg&4)>>2] -- res")
def format_value(b, ins, value, spec):
    """FORMAT_VALUE: optional str/repr/ascii conversion, then PyObject_Format."""
    conversion = {0: None, 1: "PyObject_Str", 2: "PyObject_Repr", 3: "PyObject_ASCII"}[ins.arg & 3]
    spec = spec[0] if spec else NULL
    if conversion:
        converted = b.call(conversion, value)
        b.decref(value)
        b.error_if_null(converted, keep=(spec,) if spec is not NULL else ())
        value = converted
    res = b.call("PyObject_Format", value, spec)
    b.decref(value)
    if spec is not NULL:
        b.decref(spec)
    b.error_if_null(res)
    return [res]


# -- structural pattern matching ----------------------------------------------------
TPFLAGS_SEQUENCE, TPFLAGS_MAPPING = 1 << 5, 1 << 6


def _match_flag(b, subject, flag: int):
    flags = b.load("ssize", b.load("ptr", subject, L.OB_TYPE), L.TP_FLAGS)
    bit = b.temp("ssize", "flag")
    b.emit(ops.BinArith(bit, "&", flags, b.int(flag, "ssize")))
    return _bool_from(b, Cond("!=", bit, b.int(0, "ssize")))


@op("MATCH_MAPPING", sig="subject -- subject res")
def match_mapping(b, ins, subject):
    """MATCH_MAPPING: True when the subject's type has Py_TPFLAGS_MAPPING."""
    return [subject, _match_flag(b, subject, TPFLAGS_MAPPING)]


@op("MATCH_SEQUENCE", sig="subject -- subject res")
def match_sequence(b, ins, subject):
    """MATCH_SEQUENCE: True when the subject's type has Py_TPFLAGS_SEQUENCE."""
    return [subject, _match_flag(b, subject, TPFLAGS_SEQUENCE)]


@op("GET_LEN", sig="obj -- obj len")
def get_len(b, ins, obj):
    """GET_LEN: len(TOS) pushed above it (PyObject_Length, then an int)."""
    n = b.call("PyObject_Size", obj)
    b.error_if(Cond("<", n, b.int(0, "ssize")), keep=(obj,))
    res = b.call("PyLong_FromLong", n)
    b.error_if_null(res, keep=(obj,))
    return [obj, res]


@op("MATCH_CLASS", sig="subject type names -- attrs")
def match_class(b, ins, subject, type_, names):
    """MATCH_CLASS: the tuple of the attributes a class pattern matched, or None
    (coconut_match_class: ceval's match_class, its errors and messages)."""
    attrs = b.call("coconut_match_class", subject, type_, b.int(ins.arg, "ssize"), names)
    b.decref(names)
    b.decref(type_)
    b.error_if_null(attrs, keep=(subject,))
    b.decref(subject)
    return [attrs]


@op("MATCH_KEYS", sig="subject keys -- subject keys values")
def match_keys(b, ins, subject, keys):
    """MATCH_KEYS: the tuple of the subject's values for the keys, or None when one is
    missing (coconut_match_keys: ceval's match_keys, `map.get(key, dummy)`)."""
    values = b.call("coconut_match_keys", subject, keys)
    b.error_if_null(values, keep=(subject, keys))
    return [subject, keys, values]


def _not_native(reason: str, *names: str) -> None:
    for name in names:
        NOT_NATIVE[name] = reason


# Every other 3.11 opcode, and why it deopts (the interpreter runs it).
_not_native("never an instruction of its own (the front end folds it in)",
            "CACHE", "EXTENDED_ARG")
_not_native("except* handlers run in the interpreter (libpython does not export "
            "_PyExc_PrepReraiseStar)", "CHECK_EG_MATCH", "PREP_RERAISE_STAR")
_not_native("module bodies only (star imports, interactive echo) stay interpreted",
            "IMPORT_STAR", "PRINT_EXPR")
