"""The typed rules of the optimizing tier: instructions lowered on unboxed values.

`lower(b, ins, plan, inputs, items)` emits one instruction whose plan (types.plan) is
typed. Inputs arrive in their kinds (a FLOAT input is a C double variable, an OBJ one
an owned reference); outputs leave in the kinds the plan gives. Each rule follows the
CPython 3.11 `ceval.c` TARGET (and the `Objects/*.c` function it calls) of its
instruction for the values it handles, and where it cannot be exact it deopts before
the instruction (the interpreter then raises the exact error):

* float + - * / on C doubles (float_add & co.: IEEE, as CPython), x / 0.0 deopts;
* int + - * // % & | ^ on 64-bit words (long_add & co.), an overflow deopts (the
  interpreter makes the big int), // and % by 0 deopt, / of ints up to 2**53 is the
  correctly rounded double of long_true_divide;
* int with float (float_add's CONVERT_TO_DOUBLE: the int's nearest double);
* comparisons give a C truth value, which POP_JUMP_IF_* branches on directly;
* `for i in range(...)`: the range iterator's fields are read and advanced in place;
* list/tuple subscripts by an unboxed int (list_subscript/tuple_subscript), stores
  into lists (list_ass_subscript), with a generic slow path.

Guards on boxed operands deopt with `site` = the instruction (see types.py), unless
the rule has a generic slow path. Nothing here runs Python code except on slow paths,
which materialize the unboxed locals first (`b.observe_slow()`); decrefs of objects of
unknown type go through `b.decref`, whose dealloc path does the same.
"""
from __future__ import annotations

import dis

from ..ir import ops
from ..ir.ops import Cond, NULL
from ..runtime import layout as L
from . import types as T
from .registry import OPCODES
from . import caches, opcodes

F64, I64, CBOOL, U64 = "f64", "i64", "cbool", "u64"
_RANGE_ITER = type(iter(range(1)))
TWO53 = 1 << 53


def lower(b, ins, plan: T.Plan, inputs: list, items: tuple) -> list:
    return _RULES[plan.op](b, ins, plan, inputs, items)


def _f(value: float) -> ops.FloatConst:
    return ops.FloatConst(value)


def _i(value: int, ctype: str = I64) -> ops.IntConst:
    return ops.IntConst(value, ctype)


def _type_of(b, v):
    return b.load("ptr", v, L.OB_TYPE)


# -- frame and stack ---------------------------------------------------------------------
def _nop(b, ins, plan, inputs, items):
    return []


def _resume(b, ins, plan, inputs, items):
    return OPCODES["RESUME"].lower(b, ins)


def _jump(b, ins, plan, inputs, items):
    b.goto_target()
    return []


def _swap(b, ins, plan, inputs, items):
    values = list(inputs)
    values[0], values[-1] = values[-1], values[0]
    return values


def _load_fast(b, ins, plan, inputs, items):
    ls = b.state.locals[ins.arg]
    if ls.kind != T.OBJ:
        from .lower import home
        return [home(ins.arg, ls.kind)]
    return OPCODES["LOAD_FAST"].lower(b, ins)


def _load_const(b, ins, plan, inputs, items):
    kind = plan.outs[0].kind
    value = b.code.co_consts[ins.arg]
    if kind == T.FLOAT:
        if value != value:
            # A NaN is read from its object: gcc folds arithmetic with a NaN constant
            # to a NaN of its own (the sign bit lost), the processor keeps the operand's.
            return [b.load(F64, b.const(value), L.FLOAT_VALUE)]
        return [_f(value)]
    if kind == T.INT:
        return [_i(value)]
    return OPCODES["LOAD_CONST"].lower(b, ins)


def _store_fast(b, ins, plan, inputs, items):
    """STORE_FAST: an unboxed value goes to the local's home; the frame's slot is
    written where the interpreter's object identity must be kept (a constant, a copy of
    another local) or where the old value may be of any type (its release may run code:
    the new value is in the frame first, as SETLOCAL does)."""
    local, item = plan.store
    value = inputs[0]
    before = b.state.locals[local]
    if local in b.tcx.unboxable and item.kind in (T.FLOAT, T.INT):
        if before.kind != T.OBJ and before.undef:
            # The home may be undefined: then the frame holds the local (any object,
            # e.g. one assigned before the loop), which this store releases now, as
            # SETLOCAL does (its __del__ sees this line).
            from .lower import defined
            frame_held, join = b.new_block("frame_held"), b.new_block("stored")
            b.terminate(ops.Branch(Cond("==", defined(local), _i(0, CBOOL)),
                                   frame_held.name, join.name))
            b.current = frame_held
            _set_frame_local(b, local, b.box(value, T.Item(item.kind)),
                             T.LocalState(item.kind, True))
            b.state = b.state.with_local(local, before)
            b.terminate(ops.Jump(join.name))
            b.current = join
        b.define(local, item.kind, value)
        prov = item.prov
        if (prov and prov[0] in ("const", "local")) or \
                (before.kind == T.OBJ and not before.null) or \
                not b.tcx.stores_virtually(ins, local):
            obj = b.box(value, item if prov and prov[0] in ("const", "local")
                        else T.Item(item.kind))
            _set_frame_local(b, local, obj, T.LocalState(item.kind, True))
        return []
    obj = b.box(value, item)
    _set_frame_local(b, local, obj, T.OBJ_LOCAL)
    return []


def _set_frame_local(b, local, obj, now: "T.LocalState") -> None:
    """SETLOCAL: store, then release the old value. Its release may run code that looks
    at the frame: the other locals are materialized on that path, this one is `now`
    (in the frame already)."""
    old = b.temp()
    b.emit(ops.LoadLocal(old, local))
    if now.kind != T.OBJ:
        b.mark_synced(local)
    b.emit(ops.StoreLocal(local, obj))
    b.state = b.state.with_local(local, now)
    b.xdecref(old)


def _return(b, ins, plan, inputs, items):
    """RETURN_VALUE: the caller clears the frame (its stale boxes go with it); only a
    frame object that outlives the call keeps the locals, so they are materialized
    when there is one."""
    value = b.box(inputs[0], items[0])
    if b.state.unsynced():
        kept, done = b.new_block("frame_object"), b.new_block("return")
        frame_obj = b.load("ptr", ops.Var("frame", "ptr"), L.FRAME_FRAME_OBJ)
        b.terminate(ops.Branch(Cond("!=", frame_obj, NULL), kept.name, done.name))
        b.current = kept
        b.emit_materialize(b.state.unsynced())
        b.terminate(ops.Jump(done.name))
        b.current = done
    b.emit(ops.SetInstr(ins.offset, ins.name))
    b.terminate(ops.Return(value))
    return []


def _copy(b, ins, plan, inputs, items):
    if items[0].kind == T.OBJ:
        b.incref(inputs[0])
    return [*inputs, inputs[0]]


def _pop_top(b, ins, plan, inputs, items):
    if items[0].kind == T.OBJ:
        b.decref(inputs[0])
    return []


def _cached(b, ins, plan, inputs, items):
    """An instruction with an inline-cache fast path (LOAD_ATTR, STORE_ATTR,
    LOAD_METHOD, LOAD_GLOBAL): its own rule, whose generic path materializes the
    locals (caches.fast_path calls b.observe_slow())."""
    boxed = [b.box(v, item) for v, item in zip(inputs, items)]
    b.inputs = boxed
    rule = OPCODES[ins.name]
    return rule.lower(b, ins, *rule.signature.split_inputs(boxed, ins.arg))


# -- unboxing ------------------------------------------------------------------------------
def _guards(b, plan, inputs, items, wants) -> None:
    """Deopt unless each OBJ input can be unboxed to the kind it is wanted in. A copy
    of a local the plan refines must be exactly of that kind; another value wanted as
    a float may also be an int of at most two digits (float ops convert it)."""
    if _pair_unknown(items, wants, plan):
        # float op float, float op int, int op float: as float_add & co. compute them;
        # int op int is int arithmetic, not this speculation's
        one_float = b.new_block("one_float")
        b.split(Cond("==", _type_of(b, inputs[0]), b.const(float)), one_float.name, hint="first_not_float")
        b.deopt_if(Cond("!=", _type_of(b, inputs[1]), b.const(float)),
                   "guard: two ints under a float speculation", plan.site)
        b.terminate(ops.Jump(one_float.name))
        b.current = one_float
    for k, (v, item, want) in enumerate(zip(inputs, items, wants)):
        if item.kind != T.OBJ or want not in (T.FLOAT, T.INT):
            continue
        tp = _type_of(b, v)
        if want == T.FLOAT and _lenient(items, k, plan, wants):
            ok = b.new_block("is_float")
            b.split(Cond("==", tp, b.const(float)), ok.name, hint="not_float")
            b.deopt_if(Cond("!=", tp, b.const(int)), "guard: not a float or an int", plan.site)
            size = b.load("ssize", v, L.OB_SIZE)      # (at most 60 bits: an exact i64)
            b.deopt_if(Cond(">", size, b.int(2, "ssize")), "guard: int too big", plan.site)
            b.deopt_if(Cond("<", size, b.int(-2, "ssize")), "guard: int too big", plan.site)
            b.terminate(ops.Jump(ok.name))
            b.current = ok
        else:
            pytype = float if want == T.FLOAT else int
            b.deopt_if(Cond("!=", tp, b.const(pytype)), f"guard: not {pytype.__name__}",
                       plan.site)
            if want == T.INT:
                size = b.load("ssize", v, L.OB_SIZE)
                b.deopt_if(Cond(">", size, b.int(2, "ssize")), "guard: int beyond 60 bits",
                           plan.site)
                b.deopt_if(Cond("<", size, b.int(-2, "ssize")), "guard: int beyond 60 bits",
                           plan.site)


def _lenient(items, k, plan, wants=None) -> bool:
    """Whether boxed input k, wanted as a float, may also be a small int converted to a
    double: only where Python converts it too, next to an operand known to be a float
    (float_add & co.) or as the one argument of math.sqrt/sin/cos; never for a local the
    plan refines. (Two ints under a float speculation must stay ints: a deopt.)"""
    if _strict(items[k], plan):
        return False
    if len(items) == 1:
        return True
    other = items[1 - k]
    # Two boxed operands both wanted as floats: see _pair_unknown.
    return other.kind == T.FLOAT or (other.kind == T.OBJ and not _strict(other, plan)
                                     and wants is not None and tuple(wants) == (T.FLOAT, T.FLOAT))


def _pair_unknown(items, wants, plan) -> bool:
    """Two boxed operands, both lenient: each may be a float or a small int, and
    _guards checks that one of them is a float where it runs."""
    return (len(items) == 2 and all(it.kind == T.OBJ for it in items)
            and all(w == T.FLOAT for w in wants)
            and all(_lenient(items, k, plan, wants) for k in range(2)))


def _strict(item, plan) -> bool:
    """A boxed copy of a local the plan refines must be exactly of its kind; other
    values wanted as floats may be small ints too."""
    return item.prov is not None and item.prov[0] == "local" and item.prov[1] in plan.refine


def _unbox(b, v, item, want, refine_local: int | None, lenient: bool = False):
    """The C value of input `v` (already guarded) as `want` (a float that may be a
    small int where `lenient`); refines a local."""
    from .lower import home
    if item.kind == want:
        return v
    if item.kind == T.INT and want == T.FLOAT:
        return _as_double(b, v)
    assert item.kind == T.OBJ, (item, want)
    if want == T.FLOAT:
        d = b.temp(F64, "d")
        if not lenient:
            b.emit(ops.Load(d, v, L.FLOAT_VALUE))
        else:
            is_float, is_int, join = b.new_block("unbox_float"), b.new_block("unbox_int"), \
                b.new_block("unboxed")
            b.terminate(ops.Branch(Cond("==", _type_of(b, v), b.const(float)),
                                   is_float.name, is_int.name))
            is_float.ops.append(ops.Load(d, v, L.FLOAT_VALUE))
            is_float.terminator = ops.Jump(join.name)
            b.current = is_int
            # (an i64 converted to a double rounds to nearest, ties to even, as
            # PyLong_AsDouble rounds the int in float_add & co.)
            n = _small_int_value(b, v, one_digit=False)
            b.emit(ops.Assign(d, n))
            b.terminate(ops.Jump(join.name))
            b.current = join
        value = d
    else:
        value = _small_int_value(b, v, one_digit=False)
    if refine_local is not None:
        b.define(refine_local, want, value)
        b.mark_synced(refine_local)            # the frame holds the guarded box
    return value


def _small_int_value(b, v, one_digit: bool):
    """The value of an exact int of at most two 30-bit digits (guarded) as an i64."""
    size = b.load("ssize", v, L.OB_SIZE)
    d0 = b.load("u32", v, L.LONG_DIGIT0)
    mag = b.temp(I64, "mag")
    b.emit(ops.Assign(mag, d0))
    if not one_digit:
        d1 = b.load("u32", v, L.LONG_DIGIT0 + 4)
        hi = b.temp(I64, "hi")
        b.emit(ops.Assign(hi, d1))
        b.emit(ops.BinArith(hi, "<<", hi, _i(30)))
        two = b.temp(I64, "two")           # 1 when the int has two digits
        absz = b.temp(I64, "abs")
        b.emit(ops.Assign(absz, size))
        b.emit(ops.BinArith(absz, "*", absz, absz))          # 0, 1 or 4
        b.emit(ops.BinArith(two, ">>", absz, _i(2)))
        b.emit(ops.BinArith(hi, "*", hi, two))
        b.emit(ops.BinArith(mag, "+", mag, hi))
    # value = sign(size) * magnitude (the magnitude of 0 is 0)
    sign = b.select(Cond("<", size, b.int(0, "ssize")), _i(-1), _i(1), I64)
    out = b.temp(I64, "n")
    b.emit(ops.BinArith(out, "*", mag, sign))
    return out


def _operands(b, plan, inputs, items):
    """Guard, then unbox both operands: (values, release), where `release()` emits
    the release of the boxed operands (exact floats and ints: no code runs). Until
    then a deopt still has the instruction's inputs."""
    _guards(b, plan, inputs, items, plan.want)
    want_all = T.FLOAT if T.FLOAT in plan.want else plan.want[0]
    values = []
    for v, item in zip(inputs, items):
        local = item.prov[1] if item.prov and item.prov[0] == "local" and \
            item.prov[1] in plan.refine and item.kind == T.OBJ else None
        values.append(_unbox(b, v, item, want_all, local,
                             want_all == T.FLOAT and _lenient(items, len(values), plan, plan.want)))

    def release():
        for v, item in zip(inputs, items):
            if item.kind == T.OBJ:
                b.emit(ops.Decref(v))
    return values, release


# -- arithmetic --------------------------------------------------------------------------------
def _binary_op(b, ins, plan, inputs, items):
    symbol = dis._nb_ops[ins.arg][1].rstrip("=")
    res_kind = plan.outs[0].kind
    (x, y), release = _operands(b, plan, inputs, items)
    if res_kind == T.FLOAT and T.FLOAT not in plan.want:
        # int / int: long_true_divide is the correctly rounded double up to 2**53
        _deopt_unless_53_bits(b, plan, x)
        _deopt_unless_53_bits(b, plan, y)
        res = _float_arith(b, plan, "/", x, y)
    elif res_kind == T.FLOAT:
        res = _float_arith(b, plan, symbol, x, y)
    else:
        res = _int_arith(b, plan, symbol, x, y)
    release()
    return [res]


def _arith_obj(b, ins, plan, inputs, items):
    """BINARY_OP of two boxed operands whose result is wanted boxed (types.py says
    when): no guard and no deopt, the generic rule's fast paths (two small ints, two
    floats: as ceval's BINARY_OP_*_INT and *_FLOAT compute them), and binary_ops[oparg]
    on a slow path, materialized first (it may run code)."""
    from .opcodes import binary_op_paths
    return [binary_op_paths(b, ins, *inputs, on_slow=b.observe_slow)]


def _deopt_unless_53_bits(b, plan, v):
    """Deopt unless |v| <= 2**53 for an unboxed int v (exact as a double)."""
    b.deopt_if(Cond(">", v, _i(TWO53)), "int beyond 2**53", plan.site)
    b.deopt_if(Cond("<", v, _i(-TWO53)), "int beyond 2**53", plan.site)


def _float_arith(b, plan, symbol, x, y):
    if symbol == "/":
        b.deopt_if(Cond("==", y, _f(0.0)), "float division by zero")
    r = b.temp(F64, "f")
    b.emit(ops.BinArith(r, symbol, x, y))
    return r


def _int_arith(b, plan, symbol, x, y):
    r = b.temp(I64, "n")
    if symbol in ("&", "|", "^"):
        b.emit(ops.BinArith(r, symbol, x, y))
        return r
    if symbol in ("+", "-"):
        ux, uy, ur = b.temp(U64, "u"), b.temp(U64, "u"), b.temp(U64, "u")
        b.emit(ops.Assign(ux, x))
        b.emit(ops.Assign(uy, y))
        b.emit(ops.BinArith(ur, symbol, ux, uy))
        b.emit(ops.Assign(r, ur))
        # Overflow: for +, x and y of one sign and r of the other; for -, x and y of
        # different signs and r's sign not x's.
        t1, t2 = b.temp(I64, "ov"), b.temp(I64, "ov")
        if symbol == "+":
            b.emit(ops.BinArith(t1, "^", x, r))
            b.emit(ops.BinArith(t2, "^", y, r))
        else:
            b.emit(ops.BinArith(t1, "^", x, y))
            b.emit(ops.BinArith(t2, "^", x, r))
        b.emit(ops.BinArith(t1, "&", t1, t2))
        b.deopt_if(Cond("<", t1, _i(0)), "int overflow", plan.site)
        return r
    if symbol == "*":
        # The product fits 64 bits when its double does not exceed 2**62 (the double's
        # relative error is 2**-53).
        dx, dy, dp = b.temp(F64, "d"), b.temp(F64, "d"), b.temp(F64, "d")
        b.emit(ops.Assign(dx, x))
        b.emit(ops.Assign(dy, y))
        b.emit(ops.BinArith(dp, "*", dx, dy))
        b.deopt_if(Cond(">", dp, _f(4611686018427387904.0)), "int overflow", plan.site)
        b.deopt_if(Cond("<", dp, _f(-4611686018427387904.0)), "int overflow", plan.site)
        ux, uy, ur = b.temp(U64, "u"), b.temp(U64, "u"), b.temp(U64, "u")
        b.emit(ops.Assign(ux, x))
        b.emit(ops.Assign(uy, y))
        b.emit(ops.BinArith(ur, "*", ux, uy))
        b.emit(ops.Assign(r, ur))
        return r
    if symbol in (">>", "<<"):
        # a negative count: the interpreter's ValueError
        b.deopt_if(Cond("<", y, _i(0)), "negative shift count")
        if symbol == ">>":
            # floor(x / 2**y), an arithmetic shift; from 63 on it is 0 or -1, as x >> 63
            count = b.select(Cond(">", y, _i(63)), _i(63), y, I64)
            b.emit(ops.BinArith(r, ">>", x, count))
            return r
        # x << y fits 64 bits when shifting it back gives x (a count up to 62 here)
        b.deopt_if(Cond(">", y, _i(62)), "int overflow", plan.site)
        ux, ur = b.temp(U64, "u"), b.temp(U64, "u")
        b.emit(ops.Assign(ux, x))
        b.emit(ops.BinArith(ur, "<<", ux, y))
        b.emit(ops.Assign(r, ur))
        back = b.temp(I64, "back")
        b.emit(ops.BinArith(back, ">>", r, y))
        b.deopt_if(Cond("!=", back, x), "int overflow", plan.site)
        return r
    if symbol in ("//", "%"):
        b.deopt_if(Cond("==", y, _i(0)), "integer division or modulo by zero")
        minus_one = b.new_block("minus_one")
        ok = b.new_block("divisor_ok")
        b.terminate(ops.Branch(Cond("==", y, _i(-1)), minus_one.name, ok.name))
        b.current = minus_one
        b.deopt_if(Cond("==", x, _i(T.INT64_MIN)), "int overflow", plan.site)
        b.terminate(ops.Jump(ok.name))
        b.current = ok
        q, m = b.temp(I64, "q"), b.temp(I64, "m")
        b.emit(ops.BinArith(q, "/", x, y))
        b.emit(ops.BinArith(m, "%", x, y))
        # Floor: when the remainder is not 0 and its sign differs from y's.
        signs = b.temp(I64, "signs")
        b.emit(ops.BinArith(signs, "^", m, y))
        adjust = b.select(Cond("<", signs, _i(0)), _i(1), _i(0), I64)
        adjust = b.select(Cond("==", m, _i(0)), _i(0), adjust, I64)
        if symbol == "//":
            b.emit(ops.BinArith(r, "-", q, adjust))
        else:
            t = b.temp(I64, "t")
            b.emit(ops.BinArith(t, "*", adjust, y))
            b.emit(ops.BinArith(r, "+", m, t))
        return r
    raise AssertionError(f"no int rule for {symbol}")


_CMP = {0: "<", 1: "<=", 2: "==", 3: "!=", 4: ">", 5: ">="}


def _compare_op(b, ins, plan, inputs, items):
    (x, y), release = _operands(b, plan, inputs, items)
    if T.FLOAT in plan.want:
        # float_richcompare compares an int with a float exactly: as doubles while the
        # int is exact as a double.
        for v, item in zip(inputs, items):
            if item.kind == T.INT:
                _deopt_unless_53_bits(b, plan, v)
    res = b.select(Cond(_CMP[ins.arg], x, y), _i(1, CBOOL), _i(0, CBOOL), CBOOL)
    release()
    return [res]


def _compare_obj(b, ins, plan, inputs, items):
    """COMPARE_OP where no unboxed speculation applies (the interpreter could not
    specialize it, or saw strs): PyObject_RichCompare, with what it computes without
    running code inline, the result True or False:
    * a float or an int of one digit against a float or an int of one digit (or an
      unboxed one): float_richcompare and long_richcompare compare them exactly as
      doubles or as C longs (an unboxed int as a double only up to 2**53);
    * == and != of two exact strs (_PyUnicode_Equal), where the interpreter saw strs
      (COMPARE_OP_STR_JUMP);
    * == and != of two objects whose types compare by identity (their tp_richcompare is
      object's: None, classes without __eq__): object_richcompare gives `is` for ==,
      and NotImplemented for unequal objects, where do_richcompare falls back to `is`.
    Anything else calls PyObject_RichCompare on a slow path (materialized first)."""
    op = _CMP[ins.arg]
    res = b.temp()
    join, slow = b.new_block("compared"), b.new_block("richcompare")

    def result(cond):
        r = b.select(cond, b.const(True), b.const(False))
        b.incref(r)
        b.emit(ops.Assign(res, r))
        b.terminate(ops.Jump(join.name))

    def number_paths(v, other, other_item, v_left, miss):
        """The paths where boxed `v` is a float or a one-digit int and `other` is of
        `other_item`'s kind (unboxed, or boxed and checked here too); else `miss`."""
        order = (lambda x, y: (x, y)) if v_left else (lambda x, y: (y, x))
        tp = _type_of(b, v)
        is_int = b.new_block("cmp_int")
        b.split(Cond("!=", tp, b.const(float)), is_int.name, hint="cmp_float")
        x = b.load(F64, v, L.FLOAT_VALUE)
        if other_item.kind == T.FLOAT:
            result(Cond(op, *order(x, other)))
        elif other_item.kind == T.INT:
            b.split(Cond(">", other, _i(TWO53)), miss, hint="int_53")
            b.split(Cond("<", other, _i(-TWO53)), miss, hint="int_53")
            result(Cond(op, *order(x, _as_double(b, other))))
        else:
            _boxed_number_paths(b, other, miss,
                                lambda y: result(Cond(op, *order(x, y))),
                                lambda n: result(Cond(op, *order(x, _as_double(b, n)))))
        b.current = is_int
        b.split(Cond("!=", tp, b.const(int)), miss, hint="cmp_not_number")
        n = _one_digit(b, v, miss)
        if other_item.kind == T.FLOAT:
            result(Cond(op, *order(_as_double(b, n), other)))
        elif other_item.kind == T.INT:
            result(Cond(op, *order(n, other)))
        else:
            _boxed_number_paths(b, other, miss,
                                lambda y: result(Cond(op, *order(_as_double(b, n), y))),
                                lambda m: result(Cond(op, *order(n, m))))

    (left, right), (li, ri) = inputs, items
    if li.kind == T.OBJ and ri.kind == T.OBJ:
        not_number = b.new_block("cmp_objects")
        number_paths(left, right, ri, True, not_number.name)
        b.current = not_number
        if ins.arg in (2, 3):
            if b.tcx.fb.get(ins.offset) == "COMPARE_OP_STR_JUMP":
                not_str = b.new_block("cmp_not_str")
                b.split(Cond("!=", _type_of(b, left), b.const(str)), not_str.name, hint="str")
                b.split(Cond("!=", _type_of(b, right), b.const(str)), not_str.name, hint="strs")
                eq = b.call("_PyUnicode_Equal", left, right)
                result(Cond("!=" if ins.arg == 2 else "==", eq, b.int(0)))
                b.current = not_str
            object_rc = b.load("ptr", b.const(object), L.TP_RICHCOMPARE)
            rc_left = b.load("ptr", _type_of(b, left), L.TP_RICHCOMPARE)
            b.split(Cond("!=", rc_left, object_rc), slow.name, hint="rc_left")
            rc_right = b.load("ptr", _type_of(b, right), L.TP_RICHCOMPARE)
            b.split(Cond("!=", rc_right, object_rc), slow.name, hint="rc_right")
            result(Cond(op, left, right))
        else:
            b.terminate(ops.Jump(slow.name))
    elif li.kind == T.OBJ:
        number_paths(left, right, ri, True, slow.name)
    else:
        number_paths(right, left, li, False, slow.name)
    b.current = slow
    b.observe_slow()
    fast_state = b.state               # (box may mark a local synced: on this path only)
    boxed = [b.box(v, item) for v, item in zip(inputs, items)]
    b.emit(ops.Assign(res, b.call("PyObject_RichCompare", *boxed, b.int(ins.arg))))
    for v, item, box in zip(inputs, items, boxed):
        if item.kind != T.OBJ:
            b.decref(box)
    b.terminate(ops.Jump(join.name))
    b.state = fast_state
    b.current = join
    for v, item in zip(inputs, items):
        if item.kind == T.OBJ:
            b.decref(v)
    b.error_if_null(res)                   # (only the slow path's can be NULL)
    return [res]


def _one_digit(b, v, miss: str):
    """The value of exact int `v` as an i64 when it has at most one digit, else miss
    (digit 0 times the size, -1, 0 or 1: a zero's digit is not read as its value)."""
    size = b.load("ssize", v, L.OB_SIZE)
    b.split(Cond(">", size, b.int(1, "ssize")), miss, hint="one_digit")
    b.split(Cond("<", size, b.int(-1, "ssize")), miss, hint="one_digit")
    digit = b.load("u32", v, L.LONG_DIGIT0)
    n = b.temp(I64, "n")
    b.emit(ops.Assign(n, digit))
    out = b.temp(I64, "n")
    sz = b.temp(I64, "size")
    b.emit(ops.Assign(sz, size))
    b.emit(ops.BinArith(out, "*", n, sz))
    return out


def _as_double(b, n):
    """An unboxed int as a C double."""
    d = b.temp(F64, "d")
    b.emit(ops.Assign(d, n))
    return d


def _boxed_number_paths(b, v, miss: str, on_float, on_int) -> None:
    """on_float(double) where boxed `v` is a float, on_int(i64) where it is an int of
    one digit (each ends its block), else miss."""
    tp = _type_of(b, v)
    is_int = b.new_block("cmp_other_int")
    b.split(Cond("!=", tp, b.const(float)), is_int.name, hint="cmp_other_float")
    on_float(b.load(F64, v, L.FLOAT_VALUE))
    b.current = is_int
    b.split(Cond("!=", tp, b.const(int)), miss, hint="cmp_other_number")
    on_int(_one_digit(b, v, miss))


def _is(b, ins, plan, inputs, items):
    """IS_OP: identity of two objects, as a C truth value (inverted when oparg is 1)."""
    left, right = inputs
    res = b.select(Cond("!=" if ins.arg else "==", left, right), _i(1, CBOOL), _i(0, CBOOL),
                   CBOOL)
    b.decref(left)
    b.decref(right)
    return [res]


def _negative(b, ins, plan, inputs, items):
    (x,) = inputs
    r = b.temp(T.CTYPE[items[0].kind], "neg")
    if items[0].kind == T.INT:
        b.deopt_if(Cond("==", x, _i(T.INT64_MIN)), "int overflow", plan.site)
        b.emit(ops.BinArith(r, "-", _i(0), x))
    else:
        b.emit(ops.Neg(r, x))                      # float_neg: the sign of 0.0 and nan too
    return [r]


def _not(b, ins, plan, inputs, items):
    return [b.select(Cond("==", inputs[0], _i(0, CBOOL)), _i(1, CBOOL), _i(0, CBOOL), CBOOL)]


# -- branches ------------------------------------------------------------------------------------
def _truth(b, ins, plan, inputs, items):
    """POP_JUMP_IF_TRUE / FALSE: a C truth value branches directly; an object is tested
    as PyObject_IsTrue does: True and False inline, then coconut_truth (None, exact
    numbers, strs and containers, instances without __bool__ / __len__), the rest on a
    slow path."""
    (v,), kind = inputs, items[0].kind
    jump_if_true = ins.name.endswith("TRUE")
    if kind in (T.BOOL, T.INT, T.FLOAT):
        zero = _f(0.0) if kind == T.FLOAT else _i(0, T.CTYPE[kind])
        b.branch_to_target(Cond("!=" if jump_if_true else "==", v, zero))
        return []
    truth = opcodes.truth_of(b, v, on_slow=b.observe_slow)
    b.branch_to_target(Cond("!=" if jump_if_true else "==", truth, b.int(0)))
    return []


def _none(b, ins, plan, inputs, items):
    (v,), kind = inputs, items[0].kind
    if_none = "NOT_NONE" not in ins.name
    if kind != T.OBJ:                      # an unboxed value is never None
        if not if_none:
            b.goto_target()
        return []
    b.decref(v)
    b.branch_to_target(Cond("==" if if_none else "!=", v, b.const(None)))
    return []


# -- iteration ----------------------------------------------------------------------------------
def _range(b, ins, plan, inputs, items):
    if ins.name == "GET_ITER":
        return _get_iter_range(b, ins, plan, inputs, items)
    return _for_iter_range(b, ins, plan, inputs, items)


def _get_iter_range(b, ins, plan, inputs, items):
    """GET_ITER of what `range(...)` returned: range_iter runs no code; anything else
    (range was rebound) takes the generic path, which materializes."""
    (iterable,) = inputs
    it = b.temp()
    fast, slow, join = b.new_block("range"), b.new_block("not_range"), b.new_block("got_iter")
    b.terminate(ops.Branch(Cond("==", _type_of(b, iterable), b.const(range)), fast.name, slow.name))
    fast.ops.append(ops.CallC(it, "PyObject_GetIter", (iterable,)))
    fast.terminator = ops.Jump(join.name)
    b.current = slow
    b.observe_slow()
    b.emit(ops.CallC(it, "PyObject_GetIter", (iterable,)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(iterable)
    b.emit(ops.SetInstr(ins.offset, ins.name))
    b.error_if_null(it)
    return [it]


def _for_iter_range(b, ins, plan, inputs, items):
    """FOR_ITER over a range iterator (rangeiter_next): index < len gives
    start + index * step (unsigned arithmetic, as rangeiter_next) and advances index;
    any other iterator deopts (the site)."""
    (it,) = inputs
    b.deopt_if(Cond("!=", _type_of(b, it), b.const(_RANGE_ITER)), "FOR_ITER: not a range iterator",
               plan.site)
    index = b.load(I64, it, L.RANGEITER_INDEX)
    length = b.load(I64, it, L.RANGEITER_LEN)
    got = b.new_block("next")
    b.split(Cond("<", index, length), got.name, hint="exhausted")
    b.emit(ops.Decref(it))                 # a range iterator: no code runs
    b.goto_target()
    b.current = got
    start = b.load(U64, it, L.RANGEITER_START)
    step = b.load(U64, it, L.RANGEITER_STEP)
    uindex, value, nxt = b.temp(U64, "u"), b.temp(U64, "u"), b.temp(I64, "idx")
    b.emit(ops.Assign(uindex, index))
    b.emit(ops.BinArith(value, "*", uindex, step))
    b.emit(ops.BinArith(value, "+", value, start))
    b.emit(ops.BinArith(nxt, "+", index, _i(1)))
    b.emit(ops.Store(it, L.RANGEITER_INDEX, nxt, I64))
    out = b.temp(I64, "i")
    b.emit(ops.Assign(out, value))
    return [it, out]


# -- containers ------------------------------------------------------------------------------
def _index_in(b, idx, size, miss: str):
    """idx adjusted for a negative index (idx + size), or miss when out of range."""
    adj = b.temp(I64, "idx")
    neg = b.select(Cond("<", idx, _i(0)), size, _i(0), I64)
    b.emit(ops.BinArith(adj, "+", idx, neg))
    uidx, usize = b.temp(U64, "u"), b.temp(U64, "u")
    b.emit(ops.Assign(uidx, adj))
    b.emit(ops.Assign(usize, size))
    b.split(Cond(">=", uidx, usize), miss, hint="in_range")
    return adj


def _items_address(b, container, is_list: bool, adj):
    """(address, offset) of item `adj` of a list (its ob_item array) or a tuple (its
    inline items, from TUPLE_ITEMS)."""
    base = b.load("ptr", container, L.LIST_ITEMS) if is_list else container
    return _word_address(b, base, adj), (0 if is_list else L.TUPLE_ITEMS)


def _word_address(b, base, adj):
    """base + 8 * adj: the address of 8-byte item `adj` (an object pointer, a double)."""
    byte = b.temp(I64, "off")
    b.emit(ops.BinArith(byte, "*", adj, _i(8)))
    addr = b.temp("ptr", "item")
    b.emit(ops.PtrAdd(addr, base, byte))
    return addr


def _int_index(b, plan, inputs, items):
    """The index operand (the last input) as an unboxed int: an OBJ one (the
    interpreter had specialized the subscript to an int index) is guarded, unboxed
    and released (exact ints: no code runs); (index, the inputs as the slow path
    wants them: the index boxed again)."""
    if items[-1].kind == T.INT:
        return inputs[-1]
    _guards(b, plan, inputs[-1:], items[-1:], (T.INT,))
    local = items[-1].prov[1] if _strict(items[-1], plan) else None
    idx = _unbox(b, inputs[-1], items[-1], T.INT, local)
    b.emit(ops.Decref(inputs[-1]))
    return idx


def _subscr_int(b, ins, plan, inputs, items):
    """BINARY_SUBSCR of a list or tuple by an int (list_subscript, tuple_subscript:
    negative indexes count from the end); anything else, and an index out of range,
    takes PyObject_GetItem (materialized first: it may run code)."""
    container = inputs[0]
    idx = _int_index(b, plan, inputs, items)
    b.inputs = [container, idx]
    res, join, slow = b.temp(), b.new_block("got_item"), b.new_block("getitem")
    tp = _type_of(b, container)
    for pytype in (list, tuple):
        other = b.new_block("not_" + pytype.__name__)
        b.split(Cond("!=", tp, b.const(pytype)), other.name, hint=pytype.__name__)
        size = b.load(I64, container, L.OB_SIZE)
        adj = _index_in(b, idx, size, slow.name)
        addr, offset = _items_address(b, container, pytype is list, adj)
        item = b.load("obj", addr, offset)
        b.incref(item)
        b.emit(ops.Assign(res, item))
        b.terminate(ops.Jump(join.name))
        b.current = other
    # a str (unicode_getitem, in range: the character's str) or an array.array
    # (array_item, in range: the typecode's getitem, C only)
    for pytype, length in ((str, L.STR_LENGTH), (_ARRAY, L.OB_SIZE)):
        other = b.new_block("not_" + pytype.__name__)
        b.split(Cond("!=", tp, b.const(pytype)), other.name if pytype is str else slow.name,
                hint=pytype.__name__)
        adj = _index_in(b, idx, b.load(I64, container, length), slow.name)
        b.emit(ops.Assign(res, b.call("PySequence_GetItem", container, adj)))
        b.terminate(ops.Jump(join.name))
        b.current = other
    b.terminate(ops.Jump(slow.name))
    b.current = slow
    b.observe_slow()
    boxed = b.call("PyLong_FromLong", idx)
    b.error_if_null(boxed, keep=(container, idx))
    b.emit(ops.Assign(res, b.call("PyObject_GetItem", container, boxed)))
    b.emit(ops.Decref(boxed))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(container)
    b.emit(ops.SetInstr(ins.offset, ins.name))
    b.error_if_null(res)
    return [res]


def _store_subscr_int(b, ins, plan, inputs, items):
    """STORE_SUBSCR into a list by an unboxed int (list_ass_subscript); anything else
    (and an index out of range: IndexError) takes PyObject_SetItem."""
    value, container = inputs[:2]
    idx = _int_index(b, plan, inputs, items)
    err, join, slow = b.temp("int"), b.new_block("stored"), b.new_block("setitem")
    if _unboxed_temporary(items[0]):
        boxed = b.new_block("box_value")
        _store_double(b, value, items[0], container, idx, err, join.name, boxed.name, True)
        b.current = boxed
    value = b.box(value, items[0])
    b.inputs = [value, container, idx]
    not_list = b.new_block("not_list")
    b.split(Cond("!=", _type_of(b, container), b.const(list)), not_list.name, hint="list")
    size = b.load(I64, container, L.OB_SIZE)
    adj = _index_in(b, idx, size, slow.name)
    addr, offset = _items_address(b, container, True, adj)
    old = b.load("obj", addr, offset)
    b.emit(ops.Store(addr, offset, value))
    b.emit(ops.Assign(err, b.int(0)))
    b.decref(old)
    b.terminate(ops.Jump(join.name))
    # an exact float into an array of doubles: written as one; an exact float or int
    # into another array.array: array_ass_item (C only, or it raises)
    b.current = not_list
    other_array = b.new_block("other_array")
    _store_double(b, value, T.OBJ_ITEM, container, idx, err, join.name, other_array.name,
                  True)
    b.current = other_array
    _float_or_int(b, value, slow.name)
    b.split(Cond("!=", _type_of(b, container), b.const(_ARRAY)), slow.name, hint="array")
    adj = _index_in(b, idx, b.load(I64, container, L.OB_SIZE), slow.name)
    b.emit(ops.Assign(err, b.call("PySequence_SetItem", container, adj, value)))
    b.decref(value)
    b.terminate(ops.Jump(join.name))
    b.current = slow
    b.observe_slow()
    boxed = b.call("PyLong_FromLong", idx)
    b.error_if_null(boxed, keep=(value, container, idx))
    b.emit(ops.Assign(err, b.call("PyObject_SetItem", container, boxed, value)))
    b.emit(ops.Decref(boxed))
    b.decref(value)
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(container)
    b.emit(ops.SetInstr(ins.offset, ins.name))
    b.error_if(Cond("!=", err, b.int(0)))
    return []


# -- iteration over lists and tuples ---------------------------------------------------------
_LIST_ITER, _TUPLE_ITER = type(iter([])), type(iter(()))


def _for_iter_seq(b, ins, plan, inputs, items):
    """FOR_ITER: a list or tuple iterator is advanced inline (listiter_next,
    tupleiter_next: at the end it drops its sequence); any other iterator's tp_iternext
    runs on a slow path (PyIter_Next, which clears StopIteration; coconut_gen_next
    resumes a generator directly), after the locals are materialized."""
    (it,) = inputs
    item, got, done = b.temp(), b.new_block("next"), b.new_block("exhausted")
    tp = _type_of(b, it)
    slow = b.new_block("iternext")
    for pytype, is_list in ((_LIST_ITER, True), (_TUPLE_ITER, False)):
        other = b.new_block("not_" + pytype.__name__)
        b.split(Cond("!=", tp, b.const(pytype)), other.name, hint=pytype.__name__)
        seq = b.load("obj", it, L.SEQITER_SEQ)
        b.split(Cond("==", seq, NULL), done.name, hint="has_seq")
        index = b.load(I64, it, L.SEQITER_INDEX)
        size = b.load(I64, seq, L.OB_SIZE)
        end = b.new_block("seq_end")
        b.split(Cond(">=", index, size), end.name, hint="in_seq")
        addr, offset = _items_address(b, seq, is_list, index)
        b.emit(ops.Load(item, addr, offset))
        b.incref(item)
        nxt = b.temp(I64, "idx")
        b.emit(ops.BinArith(nxt, "+", index, _i(1)))
        b.emit(ops.Store(it, L.SEQITER_INDEX, nxt, I64))
        b.terminate(ops.Jump(got.name))
        b.current = end
        b.emit(ops.Store(it, L.SEQITER_SEQ, NULL))
        b.decref(seq)
        b.terminate(ops.Jump(done.name))
        b.current = other
    b.terminate(ops.Jump(slow.name))
    b.current = slow
    b.observe_slow()
    b.emit(ops.Assign(item, b.call("coconut_gen_next", ops.Var("tstate", "ptr"), it)))
    b.split(Cond("!=", item, NULL), got.name, hint="stopped")
    b.error_if(Cond("!=", b.call("PyErr_Occurred"), NULL), keep=(it,))
    b.terminate(ops.Jump(done.name))
    b.current = done
    b.decref(it)
    b.goto_target()
    b.current = got
    return [it, item]


# -- calls of builtins ---------------------------------------------------------------------------
def _callee_guard(b, plan, callee, expected, what: str) -> None:
    b.deopt_if(Cond("!=", callee, b.const(expected)), f"CALL: {what} rebound", plan.site)


def _builtin_call(b, ins, plan, inputs, items):
    """CALL of len, abs, min, max, float, int or isinstance (builtins): the callee is
    guarded to be the builtin (else deopt), then it is computed inline (bltinmodule.c:
    len -> PyObject_Size with lists, tuples, dicts and strs inline; min/max of two keep
    the first of equals; int() of a float truncates, deopt when it does not fit)."""
    import builtins
    null, callee, *args = inputs
    name = items[1].prov[1]
    _callee_guard(b, plan, callee, getattr(builtins, name), name)
    kinds = [it.kind for it in items[2:]]
    if name in ("len", "isinstance"):          # they take objects
        args = [b.box(v, item) for v, item in zip(args, items[2:])]
    if name == "int" and kinds[0] == T.FLOAT:
        x = args[0]
        b.deopt_if(Cond("!=", x, x), "int() of nan", plan.site)
        b.deopt_if(Cond(">=", x, _f(9223372036854775808.0)), "int() beyond 64 bits", plan.site)
        b.deopt_if(Cond("<", x, _f(-9223372036854775808.0)), "int() beyond 64 bits", plan.site)
    if name == "abs" and kinds[0] == T.INT:
        b.deopt_if(Cond("==", args[0], _i(T.INT64_MIN)), "int overflow", plan.site)
    b.emit(ops.Decref(callee))                 # the builtin: kept alive by the code
    if name == "len":
        return [_len(b, ins, args[0])]
    if name == "isinstance":
        prov = items[3].prov
        return [_isinstance(b, ins, *args, prov[1] if prov and prov[0] == "const" else None)]
    if name == "abs":
        r = b.temp(T.CTYPE[kinds[0]], "abs")
        if kinds[0] == T.FLOAT:
            b.emit(ops.Abs(r, args[0]))
        else:
            neg = b.temp(I64, "neg")
            b.emit(ops.BinArith(neg, "-", _i(0), args[0]))
            r = b.select(Cond("<", args[0], _i(0)), neg, args[0], I64)
        return [r]
    if name in ("min", "max"):
        x, y = args
        return [b.select(Cond("<" if name == "min" else ">", y, x), y, x, T.CTYPE[kinds[0]])]
    if name == "float":
        r = b.temp(F64, "d")
        b.emit(ops.Assign(r, args[0]))
        return [r]
    r = b.temp(I64, "n")                       # int()
    b.emit(ops.Assign(r, args[0]))
    return [r]


def _len(b, ins, x):
    res, join, slow = b.temp(I64, "len"), b.new_block("got_len"), b.new_block("len_call")
    tp = _type_of(b, x)
    for pytype, offset in ((list, L.OB_SIZE), (tuple, L.OB_SIZE), (str, L.STR_LENGTH),
                           (dict, L.DICT_USED)):
        other = b.new_block("not_" + pytype.__name__)
        b.split(Cond("!=", tp, b.const(pytype)), other.name, hint=pytype.__name__)
        b.emit(ops.Load(res, x, offset))
        b.terminate(ops.Jump(join.name))
        b.current = other
    b.terminate(ops.Jump(slow.name))
    b.current = slow
    b.observe_slow()
    b.emit(ops.Assign(res, b.call("PyObject_Size", x)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(x)
    b.error_if(Cond("<", res, _i(0)))
    return res


# Builtin types whose instances' __class__ is object's descriptor (their MRO is theirs
# and object's; not proxies): for them, object_isinstance's __class__ lookup gives the
# type itself, so isinstance is PyType_IsSubtype.
_PLAIN_INSTANCES = (int, str, tuple, float, type(None), list, dict, bool, bytes, set,
                    frozenset, complex)


def _isinstance(b, ins, x, cls, const=None):
    """isinstance(x, cls): true when type(x) is cls; when cls is a plain class (its
    metaclass exactly `type`: no __instancecheck__) and x an instance of one of the
    builtin types of _PLAIN_INSTANCES, PyType_IsSubtype (no code runs: ceval's
    object_isinstance would also look up x.__class__, which for these is type(x));
    else PyObject_IsInstance, materialized first. `const`: cls is that constant; a
    tuple of plain classes is tested class by class, as object_recursive_isinstance
    does."""
    res, join, slow = b.temp("int", "inst"), b.new_block("got_inst"), b.new_block("inst_call")
    tp = _type_of(b, x)
    if const is None or type(const) is tuple:
        tuple_path = b.new_block("inst_tuple")
        b.split(Cond("==", _type_of(b, cls), b.const(tuple)), tuple_path.name, hint="not_tuple")
        rest = b.current
        b.current = tuple_path
        _isinstance_tuple(b, tp, x, cls, res, join, slow)
        b.current = rest
    b.split(Cond("!=", tp, cls), slow.name, hint="exact")
    b.emit(ops.Assign(res, b.int(1)))
    b.terminate(ops.Jump(join.name))
    b.current = slow
    subtype, generic = b.new_block("inst_subtype"), b.new_block("inst_generic")
    b.split(Cond("!=", _type_of(b, cls), b.const(type)), generic.name, hint="plain_class")
    for plain in _PLAIN_INSTANCES:
        b.split(Cond("==", tp, b.const(plain)), subtype.name, hint="not_" + plain.__name__)
    b.terminate(ops.Jump(generic.name))
    b.current = subtype
    b.emit(ops.Assign(res, b.call("PyType_IsSubtype", tp, cls)))
    b.terminate(ops.Jump(join.name))
    b.current = generic
    b.observe_slow()
    b.emit(ops.Assign(res, b.call("PyObject_IsInstance", x, cls)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(x)
    b.decref(cls)
    b.error_if(Cond("<", res, b.int(0)))
    return b.select(Cond("!=", res, b.int(0)), _i(1, CBOOL), _i(0, CBOOL), CBOOL)


MAX_ISINSTANCE_TUPLE = 4


def _isinstance_tuple(b, tp, x, cls, res, join, slow) -> None:
    """isinstance(x, cls) where cls is an exact tuple of up to MAX_ISINSTANCE_TUPLE
    plain classes (exactly of metaclass `type`): object_recursive_isinstance tests them
    in turn under a recursion check (at the limit it raises: the slow path then), each
    by exact type, then for instances of _PLAIN_INSTANCES by PyType_IsSubtype. Else
    `slow`. Sets `res` and jumps to `join`."""
    n = b.load("ssize", cls, L.OB_SIZE)
    b.split(Cond(">", n, b.int(MAX_ISINSTANCE_TUPLE, "ssize")), slow.name, hint="short")
    remaining = b.load("int", ops.Var("tstate", "ptr"), L.TS_RECURSION_REMAINING)
    b.split(Cond("<=", remaining, b.int(0)), slow.name, hint="recursion")
    found, missed = b.new_block("inst_found"), b.new_block("inst_missed")
    exact_done = b.new_block("inst_exact_done")
    items = []
    for i in range(MAX_ISINSTANCE_TUPLE):
        b.split(Cond("<=", n, b.int(i, "ssize")), exact_done.name, hint=f"item{i}")
        item = b.load("obj", cls, L.TUPLE_ITEMS + 8 * i)
        b.split(Cond("!=", _type_of(b, item), b.const(type)), slow.name, hint=f"plain{i}")
        b.split(Cond("==", tp, item), found.name, hint=f"not_exact{i}")
        items.append(item)
    b.terminate(ops.Jump(exact_done.name))
    b.current = exact_done
    subtype = b.new_block("inst_subtypes")
    for plain in _PLAIN_INSTANCES:
        b.split(Cond("==", tp, b.const(plain)), subtype.name, hint="not_" + plain.__name__)
    b.terminate(ops.Jump(slow.name))
    b.current = subtype
    for i in range(len(items)):
        b.split(Cond("<=", n, b.int(i, "ssize")), missed.name, hint=f"sub{i}")
        item = b.load("obj", cls, L.TUPLE_ITEMS + 8 * i)
        b.split(Cond("!=", b.call("PyType_IsSubtype", tp, item), b.int(0)), found.name,
                hint=f"not_sub{i}")
    b.terminate(ops.Jump(missed.name))
    b.current = missed
    b.emit(ops.Assign(res, b.int(0)))
    b.terminate(ops.Jump(join.name))
    b.current = found
    b.emit(ops.Assign(res, b.int(1)))
    b.terminate(ops.Jump(join.name))


def _math_call(b, ins, plan, inputs, items):
    """CALL of math.sqrt / sin / cos (the module's attribute, guarded) on a C double
    (mathmodule.c math_1: libm's result; sqrt of a negative and sin/cos of inf deopt,
    the interpreter raises ValueError)."""
    import math
    meth, callee, arg = inputs
    name = items[1].prov[1]
    b.deopt_if(Cond("!=", meth, NULL), f"CALL: {name} is a method", plan.site)
    _callee_guard(b, plan, callee, getattr(math, name), f"math.{name}")
    sub = T.Plan(True, "float", want=(plan.want[2],), site=plan.site)   # (an int: converted)
    (x,), release = _operands(b, sub, [arg], items[2:])
    if items[2].kind == T.INT or plan.want[2] == T.INT:
        d = b.temp(F64, "d")
        b.emit(ops.Assign(d, x))
        x = d
    if name == "sqrt":
        b.deopt_if(Cond("<", x, _f(0.0)), "math domain error", plan.site)
    else:
        t = b.temp(F64, "d")
        b.emit(ops.BinArith(t, "-", x, x))       # nan unless x is finite
        b.deopt_if(Cond("!=", t, _f(0.0)), "math domain error", plan.site)
    r = b.temp(F64, "f")
    b.emit(ops.CallC(r, name, (x,)))
    release()
    b.emit(ops.Decref(callee))
    return [r]


_LIST_APPEND = list.__dict__["append"]


def _list_append(b, ins, plan, inputs, items):
    """CALL of list.append on an exact list (PRECALL_NO_KW_LIST_APPEND: PyList_Append);
    any other `x.append(v)` is the generic call, on a slow path."""
    meth, obj, value = inputs
    value = b.box(value, items[2])
    res, join = b.temp(), b.new_block("appended")
    fast, slow = b.new_block("list_append"), b.new_block("append_call")
    b.split(Cond("!=", meth, b.const(_LIST_APPEND)), slow.name, hint="is_append")
    b.split(Cond("!=", _type_of(b, obj), b.const(list)), slow.name, hint="is_list")
    b.terminate(ops.Jump(fast.name))
    b.current = fast
    err = b.call("PyList_Append", obj, value)
    b.emit(ops.Decref(meth))                    # the descriptor: kept alive by list
    b.decref(value)
    b.decref(obj)
    b.error_if(Cond("<", err, b.int(0)))
    none = b.const(None)
    b.incref(none)
    b.emit(ops.Assign(res, none))
    b.terminate(ops.Jump(join.name))
    b.current = slow
    b.observe_slow()
    b.inputs = [meth, obj, value]
    out = OPCODES["CALL"].lower(b, ins, meth, obj, [value])
    b.emit(ops.Assign(res, out[0]))
    b.terminate(ops.Jump(join.name))
    b.current = join
    return [res]


def _subscr_dict(b, ins, plan, inputs, items):
    """BINARY_SUBSCR of an exact dict whose keys are all strs by an exact str
    (BINARY_SUBSCR_DICT; dict_subscript: such a lookup compares strs only, no code
    runs); a missing key and anything else take PyObject_GetItem, materialized first
    (KeyError, __missing__, __eq__ of other keys)."""
    d, key = inputs
    res, join, slow = b.temp(), b.new_block("got_item"), b.new_block("getitem")
    b.split(Cond("!=", _type_of(b, d), b.const(dict)), slow.name, hint="dict")
    b.split(Cond("!=", _type_of(b, key), b.const(str)), slow.name, hint="str_key")
    keys = b.load("ptr", d, L.DICT_KEYS)
    kind = b.load("byte", keys, L.DK_KIND)
    b.split(Cond("==", kind, ops.IntConst(0, "byte")), slow.name, hint="str_keys")  # GENERAL
    got = b.call("PyDict_GetItemWithError", d, key)
    b.split(Cond("==", got, NULL), slow.name, hint="found")   # (no error: strs compare)
    b.incref(got)
    b.emit(ops.Assign(res, got))
    return _getitem_slow_path(b, ins, res, join, slow, d, key)


def _python_slot_function(b, container, method: str, slot: str, slot_offset: int,
                          miss: str):
    """The plain Python function `method` ("__getitem__", "__setitem__") that the
    mapping slot of `container`'s type would look up and call, or a jump to `miss`.
    PyObject_GetItem/SetItem call the type's mp_subscript/mp_ass_subscript, which for
    a class defining the method in Python is typeobject.c's slot_mp_subscript /
    slot_mp_ass_subscript: `_PyType_Lookup(type, method)` along the MRO at every call,
    then vectorcall_method calls a function unbound, with the container first. The
    site keeps its own cache instead (ops.SiteCache: type, type version, function,
    the function borrowed from the type's dict while the version holds, as the
    interpreter's own caches hold theirs). A miss looks the method up once: a heap
    type whose slot is that slot function (its address is a link, resolved when a
    cached module is loaded) and a plain function found fill the cache; anything else
    (a callable object, a staticmethod, a C base's slot) goes to `miss`. Returns a
    new reference to the function (vectorcall_method holds one too: the call may
    delete the method from its class)."""
    lookup, got = b.new_block("lookup"), b.new_block("found_" + method.strip("_"))
    cache = ops.SiteCache(b.ir.site_caches)
    b.ir.site_caches += 1
    fn = b.temp("obj", method.strip("_"))
    tp = _type_of(b, container)
    b.split(Cond("!=", tp, b.load("ptr", cache, 0)), lookup.name, hint="same_type")
    version = b.load("u32", tp, L.TP_VERSION_TAG)
    b.split(Cond("==", version, ops.IntConst(0, "u32")), lookup.name, hint="versioned")
    b.split(Cond("!=", version, b.load("u32", cache, 8)), lookup.name, hint="same_version")
    b.emit(ops.Assign(fn, b.load("obj", cache, 16)))
    b.terminate(ops.Jump(got.name))
    b.current = lookup
    flags = b.temp("u64")
    b.emit(ops.BinArith(flags, "&", b.load("u64", tp, L.TP_FLAGS),
                        ops.IntConst(L.TPFLAGS_HEAPTYPE, "u64")))
    b.split(Cond("==", flags, ops.IntConst(0, "u64")), miss, hint="heap_type")
    mapping = b.load("ptr", tp, L.TP_AS_MAPPING)
    b.split(Cond("==", mapping, ops.IntConst(0, "ptr")), miss, hint="mapping")
    b.split(Cond("!=", b.load("ptr", mapping, slot_offset),
                 ops.Address(slot, L.slot_function(slot))), miss, hint="python_" + method.strip("_"))
    found = b.call("_PyType_Lookup", tp, b.const(method))
    b.split(Cond("==", found, NULL), miss, hint="found")
    b.split(Cond("!=", _type_of(b, found), b.const(type(_python_slot_function))), miss,
            hint="function")
    b.emit(ops.Assign(fn, found))
    # the version _PyType_Lookup left (it assigns one where it can); 0: not cached
    b.emit(ops.Store(cache, 0, tp, "ptr"))
    b.emit(ops.Store(cache, 8, b.load("u32", tp, L.TP_VERSION_TAG), "u32"))
    b.emit(ops.Store(cache, 16, found, "obj"))
    b.terminate(ops.Jump(got.name))
    b.current = got
    b.incref(fn)
    return fn


def _subscr_getitem(b, ins, plan, inputs, items):
    """BINARY_SUBSCR where the interpreter saw an instance of a class with a Python
    __getitem__ (feedback: BINARY_SUBSCR_GETITEM): the function is called directly with
    (container, sub) through coconut_call, which pushes its frame as ceval does
    (_python_slot_function: no slot_mp_subscript, no MRO lookup per call); anything else
    takes PyObject_GetItem. Both run code: materialized first (an unboxed int index is
    boxed)."""
    container, sub = b.inputs = [b.box(v, item) for v, item in zip(inputs, items)]
    b.observe_slow()
    res, join, slow = b.temp(), b.new_block("got_item"), b.new_block("getitem")
    fn = _python_slot_function(b, container, "__getitem__", "slot_mp_subscript",
                               L.MP_SUBSCRIPT, slow.name)
    got = b.temp()
    b.emit(ops.CallVectorcall(got, fn, (container, sub), b.int(0), 2, NULL, frame_inline=True))
    b.decref(fn)
    b.emit(ops.Assign(res, got))
    return _getitem_slow_path(b, ins, res, join, slow, container, sub, materialized=True)


def _getitem_slow_path(b, ins, res, join, slow, container, key, materialized=False):
    """The end of a BINARY_SUBSCR fast path (the current block, `res` set): the slow
    block takes PyObject_GetItem, materialized first (it may run code; `materialized`:
    the rule did that before both paths); both join."""
    b.terminate(ops.Jump(join.name))
    b.current = slow
    if not materialized:
        b.observe_slow()
    b.emit(ops.Assign(res, b.call("PyObject_GetItem", container, key)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(container)
    b.decref(key)
    if materialized:                       # (coconut_call may have moved prev_instr)
        b.error_if_null(res, named=True)
        return [res]
    b.emit(ops.SetInstr(ins.offset, ins.name))
    b.error_if_null(res)
    return [res]


# -- array.array -----------------------------------------------------------------------------
_ARRAY = __import__("array").array


def _float_or_int(b, value, miss: str) -> None:
    """Go on where `value` is an exact float or int (an array's setitem converts it
    without running code), else miss."""
    value_ok = b.new_block("array_value")
    tp = _type_of(b, value)
    b.split(Cond("==", tp, b.const(float)), value_ok.name, hint="not_float_value")
    b.split(Cond("!=", tp, b.const(int)), miss, hint="int_value")
    b.terminate(ops.Jump(value_ok.name))
    b.current = value_ok


def _array_index(b, container, index, miss: str):
    """The in-range index (negative ones counted from the end) of an exact
    array.array `container` by an exact int `index` of one digit, else miss:
    array_subscr with such an index runs no code (no __index__)."""
    b.split(Cond("!=", _type_of(b, container), b.const(_ARRAY)), miss, hint="array")
    return _index_in(b, _int_of_one_digit(b, index, miss),
                     b.load(I64, container, L.OB_SIZE), miss)


def _int_of_one_digit(b, index, miss: str):
    """The value of `index` where it is an exact int of one digit, else miss."""
    b.split(Cond("!=", _type_of(b, index), b.const(int)), miss, hint="int_index")
    return _one_digit(b, index, miss)


def _double_items(b, container, miss: str):
    """The items (C doubles) of `container` where it is an exact array.array of
    typecode 'd' (d_getitem and d_setitem read and write them as they are), else miss."""
    b.split(Cond("!=", _type_of(b, container), b.const(_ARRAY)), miss, hint="array")
    descr = b.load("ptr", container, L.ARRAY_DESCR)
    typecode = b.load("byte", descr, L.DESCR_TYPECODE)
    b.split(Cond("!=", typecode, b.int(ord("d"), "byte")), miss, hint="doubles")
    return b.load("ptr", container, L.ARRAY_ITEMS)


def _subscr_float(b, ins, plan, inputs, items):
    """BINARY_SUBSCR speculated to give a C double, where the value goes on into float
    arithmetic the interpreter specialized and the subscript itself stayed generic:
    an array.array of typecode 'd' by an int in range is its item (array_item runs
    d_getitem, which boxes it); anything else is PyObject_GetItem on a slow path
    (materialized first), whose result is unboxed where it is an exact float; any
    other result goes to the interpreter after the subscript, on its stack (a deopt
    at the next instruction: the speculation failed, the subscript ran once)."""
    container, index = inputs
    res, join = b.temp(F64, "d"), b.new_block("got_double")
    slow = b.new_block("getitem")
    data = _double_items(b, container, slow.name)
    idx = index if items[1].kind == T.INT else _int_of_one_digit(b, index, slow.name)
    adj = _index_in(b, idx, b.load(I64, container, L.OB_SIZE), slow.name)
    b.emit(ops.Assign(res, b.load(F64, _word_address(b, data, adj), 0)))
    b.decref(container)
    if items[1].kind == T.OBJ:
        b.decref(index)
    b.terminate(ops.Jump(join.name))
    b.current = slow
    b.observe_slow()
    fast_state = b.state
    key = index
    if items[1].kind == T.INT:
        key = b.call("PyLong_FromLong", index)
        b.error_if_null(key, keep=(container, index))
    got = b.call("PyObject_GetItem", container, key)
    b.decref(container, key)
    b.error_if_null(got)
    other = b.new_block("not_a_float")
    b.split(Cond("!=", _type_of(b, got), b.const(float)), other.name, hint="a_float")
    b.emit(ops.Assign(res, b.load(F64, got, L.FLOAT_VALUE)))
    b.decref(got)
    b.terminate(ops.Jump(join.name))
    b.current = other
    b.terminate(ops.Deopt(ins.next_offset, b.stack_below() + (got,),
                          "guard: the subscript's value is not a float", plan.site))
    b.state = fast_state
    b.current = join
    return [res]


def _store_double(b, value, item, container, idx, err, join: str, miss: str,
                  release: bool) -> None:
    """Where `container` is an exact array.array of typecode 'd', `idx` (an unboxed
    int) in its range and `value` a float (unboxed, or an exact float box), write it
    as the C double d_setitem would (no code runs), set err = 0 (a boxed value
    released where `release`) and jump to `join`; else go on at `miss`."""
    data = _double_items(b, container, miss)
    adj = _index_in(b, idx, b.load(I64, container, L.OB_SIZE), miss)
    if item.kind == T.FLOAT:
        d = value
    else:
        b.split(Cond("!=", _type_of(b, value), b.const(float)), miss, hint="float_value")
        d = b.load(F64, value, L.FLOAT_VALUE)
    b.emit(ops.Store(_word_address(b, data, adj), 0, d, F64))
    if item.kind == T.OBJ and release:
        b.decref(value)
    b.emit(ops.Assign(err, b.int(0)))
    b.terminate(ops.Jump(join))


def _unboxed_temporary(item) -> bool:
    """A float that STORE_SUBSCR may write without a box: not a copy of a local (whose
    box the generic path must lend: the same object, as in the interpreter)."""
    return item.kind == T.FLOAT and not (item.prov and item.prov[0] == "local")


def _subscr_array(b, ins, plan, inputs, items):
    """BINARY_SUBSCR that the interpreter does not specialize: a str by an int of one
    digit is unicode_getitem (PySequence_GetItem, in range: the character's str, as
    unicode_subscript does after PyNumber_AsSsize_t, which runs no code for an exact
    int), an array.array by one array_item (the typecode's getitem, C only); anything
    else PyObject_GetItem, materialized first (it may run code)."""
    container, index = inputs
    res, join, slow = b.temp(), b.new_block("got_item"), b.new_block("getitem")
    not_str = b.new_block("not_str")
    b.split(Cond("!=", _type_of(b, container), b.const(str)), not_str.name, hint="str")
    adj = _index_in(b, _int_of_one_digit(b, index, slow.name),
                    b.load(I64, container, L.STR_LENGTH), slow.name)
    b.emit(ops.Assign(res, b.call("PySequence_GetItem", container, adj)))
    b.terminate(ops.Jump(join.name))
    b.current = not_str
    adj = _array_index(b, container, index, slow.name)
    b.emit(ops.Assign(res, b.call("PySequence_GetItem", container, adj)))
    return _getitem_slow_path(b, ins, res, join, slow, container, index)


def _store_subscr_array(b, ins, plan, inputs, items):
    """STORE_SUBSCR that the interpreter does not specialize: an exact float or int
    into an array.array by an int is array_ass_item (PySequence_SetItem, in range: the
    typecode's setitem converts a float or an int without running code, or raises); a
    class with a Python __setitem__ is called directly; anything else
    PyObject_SetItem, materialized first."""
    value, container, index = inputs
    err, join, slow = b.temp("int"), b.new_block("stored"), b.new_block("setitem")
    finished = b.new_block("stored_double")
    if _unboxed_temporary(items[0]):
        boxed = b.new_block("box_value")
        _store_double(b, value, items[0], container, _int_of_one_digit(b, index, boxed.name),
                      err, finished.name, boxed.name, False)
        b.current = boxed
    value = b.box(value, items[0])
    b.inputs = [value, container, index]
    other_array = b.new_block("other_array")
    _store_double(b, value, T.OBJ_ITEM, container, _int_of_one_digit(b, index, other_array.name),
                  err, join.name, other_array.name, False)
    b.current = other_array
    _float_or_int(b, value, slow.name)
    adj = _array_index(b, container, index, slow.name)
    b.emit(ops.Assign(err, b.call("PySequence_SetItem", container, adj, value)))
    b.terminate(ops.Jump(join.name))
    # Anything else: a class with a Python __setitem__ is called directly (as
    # _subscr_getitem; slot_mp_ass_subscript returns -1 or 0 and drops the result),
    # the rest is PyObject_SetItem. Both run code: materialized first.
    b.current = slow
    b.observe_slow()
    generic = b.new_block("setitem_generic")
    fn = _python_slot_function(b, container, "__setitem__", "slot_mp_ass_subscript",
                               L.MP_ASS_SUBSCRIPT, generic.name)
    got = b.temp()
    b.emit(ops.CallVectorcall(got, fn, (container, index, value), b.int(0), 3, NULL))
    b.decref(fn)
    failed, done = b.new_block("setitem_failed"), b.new_block("setitem_done")
    b.split(Cond("==", got, NULL), failed.name, hint="set")
    b.decref(got)
    b.emit(ops.Assign(err, b.int(0)))
    b.terminate(ops.Jump(join.name))
    b.current = failed
    b.emit(ops.Assign(err, b.int(-1)))
    b.terminate(ops.Jump(join.name))
    b.current = generic
    b.emit(ops.Assign(err, b.call("PyObject_SetItem", container, index, value)))
    b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(value)
    b.terminate(ops.Jump(finished.name))
    b.current = finished
    b.decref(container)
    b.decref(index)
    b.emit(ops.SetInstr(ins.offset, ins.name))
    b.error_if(Cond("!=", err, b.int(0)))
    return []


def _inline_call(b, ins, plan, inputs, items):
    from .inline import lower_call
    return lower_call(b, ins, plan, inputs, items)


def _inline_getitem(b, ins, plan, inputs, items):
    from .inline import lower_getitem
    return lower_getitem(b, ins, plan, inputs, items)


def _inline_setitem(b, ins, plan, inputs, items):
    from .inline import lower_setitem
    return lower_setitem(b, ins, plan, inputs, items)


_RULES = {
    "inline_call": _inline_call,
    "inline_setitem": _inline_setitem,
    "inline_getitem": _inline_getitem,
    "nop": _nop, "precall": _nop, "resume": _resume, "jump": _jump, "swap": _swap,
    "load_fast": _load_fast, "load_const": _load_const, "store_fast": _store_fast,
    "pop_top": _pop_top, "cached": _cached,
    "negative": _negative, "not": _not, "truth": _truth, "none": _none, "range": _range,
    "subscr_int": _subscr_int, "store_subscr_int": _store_subscr_int,
    "for_iter_seq": _for_iter_seq, "builtin_call": _builtin_call, "math_call": _math_call,
    "list_append": _list_append, "is": _is, "return": _return, "copy": _copy,
    "subscr_dict": _subscr_dict, "subscr_array": _subscr_array,
    "subscr_getitem": _subscr_getitem, "compare_obj": _compare_obj,
    "store_subscr_array": _store_subscr_array, "subscr_float": _subscr_float,
    "arith_obj": _arith_obj,
}


def _numeric(b, ins, plan, inputs, items):
    if ins.name == "COMPARE_OP":
        return _compare_op(b, ins, plan, inputs, items)
    return _binary_op(b, ins, plan, inputs, items)


for _name in ("float", "int", "mixed"):
    _RULES[_name] = _numeric
