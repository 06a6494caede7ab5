"""`if x:` without running code where none would run: `coconut_truth`, emitted into the
runtime library.

    int coconut_truth(PyObject *v)

PyObject_IsTrue(v) where it runs no code and cannot fail: 1 or 0 for None, an exact
int (`Py_SIZE != 0`, long_bool), float (`ob_fval != 0.0`, float_bool), str (its
length), list or tuple (`Py_SIZE`), dict (`ma_used`), and 1 for an object whose type
has none of `nb_bool`, `mp_length`, `sq_length` (PyObject_IsTrue's last case: an
instance of a class without `__bool__` or `__len__`); -2 for anything else (a slot
that may run code: the lowering then calls PyObject_IsTrue on its slow path). True and
False are tested inline before it.

It runs no code and looks at no frame (effects.QUIET_CALLS; inline.PURE_C), so a truth
test of an object no longer materializes the frame's virtual locals before it, and an
inlined callee's `if self.child:` no longer leaves native code (it deopted on its
slow path: a callee with one was inlined only to be recompiled as a call).
"""
from __future__ import annotations

from . import layout as L

NAME = "coconut_truth"


def emit_truth(c, field, imported) -> None:
    """Add coconut_truth to the runtime's context `c`."""
    import gccjit
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8, dbl = c.get_type(T.UNSIGNED_CHAR), c.get_type(T.DOUBLE)
    eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE

    def address(name):
        return c.new_cast(c.new_global(gccjit.GlobalKind.IMPORTED, u8, name).get_address(), vp)
    none = address(b"_Py_NoneStruct")
    v = c.new_param(vp, b"v")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, NAME.encode(), [v])
    tp = fn.new_local(vp, b"tp")
    table = fn.new_local(vp, b"table")
    entry = fn.new_block(b"entry")

    def nonzero(value, type_):
        return c.new_cast(c.new_comparison(ne, value, c.new_rvalue_from_int(type_, 0)
                                           if type_ != dbl else c.new_rvalue_from_double(dbl, 0.0)), it)

    # None
    is_none, not_none = fn.new_block(b"none"), fn.new_block(b"not_none")
    entry.end_with_conditional(c.new_comparison(eq, v, none), is_none, not_none)
    is_none.end_with_return(c.zero(it))
    not_none.add_assignment(tp, field(v, L.OB_TYPE, vp))
    blk = not_none
    # exact types whose truth is a field
    for name, offset, type_ in ((b"PyLong_Type", L.OB_SIZE, long_t),
                                (b"PyUnicode_Type", L.STR_LENGTH, long_t),
                                (b"PyList_Type", L.OB_SIZE, long_t),
                                (b"PyTuple_Type", L.OB_SIZE, long_t),
                                (b"PyDict_Type", L.DICT_USED, long_t),
                                (b"PyFloat_Type", L.FLOAT_VALUE, dbl)):
        hit, miss = fn.new_block(b"is_" + name), fn.new_block(b"not_" + name)
        blk.end_with_conditional(c.new_comparison(eq, tp, address(name)), hit, miss)
        hit.end_with_return(nonzero(field(v, offset, type_), type_))
        blk = miss
    # a slot that may run code: not answered
    unknown = fn.new_block(b"unknown")
    unknown.end_with_return(c.new_rvalue_from_int(it, -2))
    for table_offset, slot_offset, label in ((L.TP_AS_NUMBER, L.NB_BOOL, b"nb_bool"),
                                             (L.TP_AS_MAPPING, L.MP_LENGTH, b"mp_length"),
                                             (L.TP_AS_SEQUENCE, L.SQ_LENGTH, b"sq_length")):
        has_table, next_ = fn.new_block(b"has_" + label), fn.new_block(b"no_" + label)
        blk.add_assignment(table, field(tp, table_offset, vp))
        blk.end_with_conditional(c.new_comparison(ne, table, c.null(vp)), has_table, next_)
        has_table.end_with_conditional(c.new_comparison(ne, field(table, slot_offset, vp), c.null(vp)),
                                       unknown, next_)
        blk = next_
    blk.end_with_return(c.one(it))
