"""`s += t` (and `s = s + t`) of strs stored back into the same local, extended in place
as 3.11's BINARY_OP_INPLACE_ADD_UNICODE does: `coconut_str_iadd`, emitted into the
runtime library.

    PyObject *coconut_str_iadd(PyObject *left, PyObject *right)

The lowering calls it (opcodes.binary_op_paths) only where the instruction after the
BINARY_OP is `STORE_FAST x`, both operands are exact strs and the frame's slot of `x`
holds `left` (the guards ceval's specialization has). Then the caller owns two
references to `left`: the operand's and the slot's. Like ceval, it drops the operand's
(`_Py_DECREF_NO_DEALLOC`: the slot's remains) and hands the slot's to
`PyUnicode_Append`, which extends `left` in place where nothing else holds it (its
count is 1 then, it is not hashed nor interned: `unicode_modifiable`) and makes a new
str otherwise. The result comes back with two references, the slot's and the stack's
(the lowering stores it into the slot at once: `left` may have moved or died), or NULL
with an exception set (MemoryError, OverflowError), as ceval leaves the local then.
It must not be a quiet call (effects.QUIET_CALLS): the refcount pass puts every pending
incref back before a call that is not, so the counts it reads (and the in-place test)
are the lowering's, the interpreter's.

Without it, `PyNumber_InPlaceAdd` makes a new str at every step: a loop building a
string with `s += piece` took quadratic time (400,000 steps of `s += "ab"`: 4.1 s
compiled, 12.8 ms in the interpreter).
"""
from __future__ import annotations

from . import layout as L

NAME = "coconut_str_iadd"


def emit_str_iadd(c, field, imported) -> None:
    """Add coconut_str_iadd to the runtime's context `c`."""
    import gccjit
    T = gccjit.TypeKind
    vp, long_t = c.get_type(T.VOID_PTR), c.get_type(T.LONG)
    append = c.new_function(gccjit.FunctionKind.IMPORTED, c.get_type(T.VOID),
                            b"PyUnicode_Append",
                            [c.new_param(vp.get_pointer(), b"p_left"), c.new_param(vp, b"right")])
    left, right = c.new_param(vp, b"left"), c.new_param(vp, b"right")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, NAME.encode(), [left, right])
    entry, made, done = (fn.new_block(n) for n in (b"entry", b"made", b"done"))
    p = fn.new_local(vp, b"p")
    entry.add_assignment(p, left)
    entry.add_assignment_op(field(left, L.OB_REFCNT, long_t), gccjit.BinaryOp.MINUS, c.one(long_t))
    entry.add_eval(c.new_call(append, [p.get_address(), right]))
    entry.end_with_conditional(c.new_comparison(gccjit.Comparison.NE, p, c.null(vp)), made, done)
    made.add_assignment_op(field(p, L.OB_REFCNT, long_t), gccjit.BinaryOp.PLUS, c.one(long_t))
    made.end_with_jump(done)
    done.end_with_return(p)
