"""`x in seq` for an exact str in an exact list or tuple: `coconut_contains_str`,
emitted into the runtime library.

    int coconut_contains_str(PyObject *seq, PyObject *x)

CONTAINS_OP is `PySequence_Contains(seq, x)`: for a list or a tuple, one
`PyObject_RichCompareBool(item, x, Py_EQ)` per item, through `PyObject_RichCompare`,
`do_richcompare` and `PyUnicode_RichCompare` for each. Where `x` and every item compared
are exact strs, no code runs and the answer is each item's identity or string equality;
this helper answers that, item by item: the same object; else equal hashes where both
are computed (equal strs hash alike), equal lengths, then `_PyUnicode_Equal`. It
returns 1 (found) or 0 (not found); -2 where it does not answer (`seq` is no exact list
or tuple, `x` no exact str, or an item that is no exact str is met before a match:
comparing with it may run code), and then nothing has happened that the generic
`PySequence_Contains` would not do again: the lowering calls that. typing's
`attr not in EXCLUDED_ATTRIBUTES` (a list of 30 strs) spent 18% of
typing_runtime_protocols in those layers.
"""
from __future__ import annotations

from . import layout as L

NAME = "coconut_contains_str"


def emit_contains_str(c, field, imported) -> None:
    """Add coconut_contains_str to the runtime's context `c`."""
    import gccjit
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8 = c.get_type(T.UNSIGNED_CHAR)
    eq, ne, lt = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT

    def type_address(name):
        return c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, name).get_address(), vp)
    str_type, list_type, tuple_type = (type_address(n) for n in (
        b"PyUnicode_Type", b"PyList_Type", b"PyTuple_Type"))
    equal = imported("_PyUnicode_Equal", it, [vp, vp])
    seq, x = c.new_param(vp, b"seq"), c.new_param(vp, b"x")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, NAME.encode(), [seq, x])
    B = {n: fn.new_block(n.encode()) for n in (
        "entry", "x_str", "not_list", "is_list", "is_tuple", "loop", "body", "is_str",
        "hashes", "lengths", "compare", "next", "found", "absent", "unknown")}
    items, n, i = fn.new_local(vp.get_pointer(), b"items"), fn.new_local(long_t, b"n"), \
        fn.new_local(long_t, b"i")
    item, hx = fn.new_local(vp, b"item"), fn.new_local(long_t, b"hx")
    hi = fn.new_local(long_t, b"hi")

    def at(base, offset):
        return c.new_cast(c.new_array_access(c.new_cast(base, c.get_type(T.CHAR).get_pointer()),
                                             c.new_rvalue_from_int(it, offset)).get_address(),
                          vp.get_pointer())

    def both(a, b_):
        return c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL), a, b_)

    e = B["entry"]
    e.end_with_conditional(c.new_comparison(eq, field(x, L.OB_TYPE, vp), str_type),
                           B["x_str"], B["unknown"])
    B["x_str"].add_assignment(n, field(seq, L.OB_SIZE, long_t))
    B["x_str"].add_assignment(hx, field(x, L.STR_HASH, long_t))
    B["x_str"].end_with_conditional(c.new_comparison(eq, field(seq, L.OB_TYPE, vp), list_type),
                                    B["is_list"], B["not_list"])
    B["not_list"].end_with_conditional(c.new_comparison(eq, field(seq, L.OB_TYPE, vp), tuple_type),
                                       B["is_tuple"], B["unknown"])
    B["is_list"].add_assignment(items, c.new_cast(field(seq, L.LIST_ITEMS, vp), vp.get_pointer()))
    B["is_list"].add_assignment(i, c.zero(long_t))
    B["is_list"].end_with_jump(B["loop"])
    B["is_tuple"].add_assignment(items, at(seq, L.TUPLE_ITEMS))
    B["is_tuple"].add_assignment(i, c.zero(long_t))
    B["is_tuple"].end_with_jump(B["loop"])
    B["loop"].end_with_conditional(c.new_comparison(lt, i, n), B["body"], B["absent"])
    body = B["body"]
    body.add_assignment(item, c.new_array_access(items, i))
    body.end_with_conditional(c.new_comparison(eq, item, x), B["found"], B["is_str"])
    B["is_str"].end_with_conditional(c.new_comparison(eq, field(item, L.OB_TYPE, vp), str_type),
                                     B["hashes"], B["unknown"])
    B["hashes"].add_assignment(hi, field(item, L.STR_HASH, long_t))
    minus_one = c.new_rvalue_from_int(long_t, -1)
    B["hashes"].end_with_conditional(
        both(both(c.new_comparison(ne, hi, minus_one), c.new_comparison(ne, hx, minus_one)),
             c.new_comparison(ne, hi, hx)), B["next"], B["lengths"])
    B["lengths"].end_with_conditional(
        c.new_comparison(eq, field(item, L.STR_LENGTH, long_t), field(x, L.STR_LENGTH, long_t)),
        B["compare"], B["next"])
    B["compare"].end_with_conditional(
        c.new_comparison(ne, c.new_call(equal, [item, x]), c.zero(it)), B["found"], B["next"])
    B["next"].add_assignment(i, c.new_binary_op(gccjit.BinaryOp.PLUS, long_t, i, c.one(long_t)))
    B["next"].end_with_jump(B["loop"])
    B["found"].end_with_return(c.one(it))
    B["absent"].end_with_return(c.zero(it))
    B["unknown"].end_with_return(c.new_rvalue_from_int(it, -2))
