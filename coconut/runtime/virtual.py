"""Bringing an unboxed local's frame slot up to date: `coconut_sync_i64`,
`coconut_sync_f64`, `coconut_sync_bool`, emitted into the runtime library.

An unboxed local (lowering/types.py) lives in a C variable; its frame slot holds a stale
box, or NULL. Wherever anything could look at the frame (a deallocation that may run a
finalizer, a call, the eval breaker's slow path, an exit to the interpreter) the lowering
materializes it (`Builder.emit_materialize`):

    void coconut_sync_i64(_PyInterpreterFrame *frame, Py_ssize_t index, long value)

boxes `value` (PyLong_FromLong; PyFloat_FromDouble, PyBool_FromLong for the others),
stores it into `frame->localsplus[index]` and releases the stale box there (an int, a
float, a bool or NULL: releasing it runs no code). All of that used to be emitted inline
at every such point (the box, the swap, the stale box's Py_XDECREF with its dealloc
call: four blocks), once per local per point, on paths that are cold by construction;
one call is smaller code for the instruction cache and less C for gcc.
"""
from __future__ import annotations

from . import layout as L

# the unboxed C type (lowering/types.py CTYPE) -> (helper, the boxing function it calls,
# the value's gccjit.TypeKind)
SYNC = {"i64": ("coconut_sync_i64", "PyLong_FromLong", "LONG"),
        "f64": ("coconut_sync_f64", "PyFloat_FromDouble", "DOUBLE"),
        "cbool": ("coconut_sync_bool", "PyBool_FromLong", "LONG")}
NAMES = tuple(name for name, _, _ in SYNC.values())


def emit_sync_helpers(c, field, imported) -> None:
    """Add the coconut_sync_* helpers to the runtime's context `c`."""
    import gccjit
    T = gccjit.TypeKind
    vp, long_t = c.get_type(T.VOID_PTR), c.get_type(T.LONG)
    void = c.get_type(T.VOID)
    dealloc = imported("_Py_Dealloc", void, [vp])
    for name, box_name, value_kind in SYNC.values():
        value_t = c.get_type(getattr(T, value_kind))
        box_fn = imported(box_name, vp, [value_t])
        frame, index, value = (c.new_param(vp, b"frame"), c.new_param(long_t, b"index"),
                               c.new_param(value_t, b"value"))
        fn = c.new_function(gccjit.FunctionKind.EXPORTED, void, name.encode(),
                            [frame, index, value])
        entry, release, free, done = (fn.new_block(n) for n in (
            b"entry", b"release", b"free", b"done"))
        old, box = fn.new_local(vp, b"old"), fn.new_local(vp, b"box")
        rc = fn.new_local(long_t, b"rc")
        slots = c.new_cast(c.new_array_access(c.new_cast(frame, c.get_type(T.CHAR).get_pointer()),
                                              c.new_rvalue_from_int(long_t, L.FRAME_LOCALSPLUS)
                                              ).get_address(), vp.get_pointer())
        slot = c.new_array_access(slots, index)
        entry.add_assignment(box, c.new_call(box_fn, [value]))
        entry.add_assignment(old, slot)
        entry.add_assignment(slot, box)
        entry.end_with_conditional(c.new_comparison(gccjit.Comparison.EQ, old, c.null(vp)),
                                   done, release)
        release.add_assignment(rc, c.new_binary_op(gccjit.BinaryOp.MINUS, long_t,
                                                   field(old, L.OB_REFCNT, long_t),
                                                   c.one(long_t)))
        release.add_assignment(field(old, L.OB_REFCNT, long_t), rc)
        release.end_with_conditional(c.new_comparison(gccjit.Comparison.EQ, rc, c.zero(long_t)),
                                     free, done)
        free.add_eval(c.new_call(dealloc, [old]))
        free.end_with_jump(done)
        done.end_with_void_return()
