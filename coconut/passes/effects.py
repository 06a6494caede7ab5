"""What each op reads, writes and may do: the one place the passes learn it from.

Every question is answered conservatively: an op type this module does not know (a new
op added to `coconut/ir/ops.py`) reads all its operands, writes its `dst`, may run
arbitrary Python code, release references and write any memory. A pass that is unsure
leaves the op alone.
"""
from __future__ import annotations

from ..ir import ops
from ..ir.cfg import field_values, operand_items
from ..runtime import layout as L

# C functions (names in backend/capi.py) that release no reference, run no Python code
# (no GC collection: they allocate no GC-tracked object), read no refcount, change no
# memory a Load of this IR reads, and do not release the GIL. Anything not listed is
# assumed to do all of that.
QUIET_CALLS = frozenset({
    "PyLong_FromLong",        # a small int from the cache or a new int (PyObject_Malloc)
    "PyFloat_FromDouble",     # the float free list or PyObject_Malloc
    "PyErr_Occurred",         # reads tstate->curexc_type
    "PySequence_Check",       # reads type slots
    "PyBool_FromLong",        # a new reference to True or False
    "PyType_IsSubtype",       # reads the types' tp_mro (or tp_base chain)
    "_PyUnicode_Equal",       # compares two strs' lengths, kinds and data
    "coconut_contains_str",   # reads a list's or tuple's items, compares strs (contains.py)
    "coconut_truth",          # reads an object's size or value, its type's slots (truth.py)
    # the site's polymorphic cache (pic.py): reads the type, the instance, the shared keys,
    # writes the site's own cache; _PyType_Lookup may give a type without a version tag
    # one (0 -> a new tag: a guard that read the 0 before misses, as it would have)
    "coconut_attr_pic", "coconut_method_pic",
})

# Ops that compute a value into `dst` from their operands and do nothing else: removable
# when `dst` is never read (a Load reads memory, but never memory that changes when it
# is not done).
PURE = tuple(getattr(ops, name) for name in ("Assign", "Load", "BinArith", "PtrAdd",
                                             "LoadLocal", "Neg") if hasattr(ops, name))


def key(value):
    """A hashable identity for a value: two values with the same key hold the same
    thing at the same point (the same variable, or the same constant object)."""
    if isinstance(value, ops.Var):
        return ("var", value.name)
    if isinstance(value, ops.ObjConst):
        return ("obj", id(value.obj))
    if isinstance(value, ops.IntConst):
        return ("int", value.value, value.ctype)
    if isinstance(value, ops.Address):
        return ("addr", value.name)
    if isinstance(value, ops.AddressOf):
        return ("addressof", value.var.name)
    if isinstance(value, ops.SiteCache):
        return ("site_cache", value.index)
    if isinstance(value, ops.UnitAddress):
        return ("unit", value.offset)
    return ("other", id(value))


def defs(op) -> list[ops.Var]:
    """The variables `op` writes: its `dst`, and variables passed by address (a C
    out-parameter: written by the callee)."""
    out = []
    for name, field in operand_items(op):
        if type(field) is ops.Var:
            if name == "dst":
                out.append(field)
        elif type(field) is ops.AddressOf:
            out.append(field.var)
        elif type(field) is tuple:
            out.extend(v.var for v in field if type(v) is ops.AddressOf)
    return out


def uses(op) -> list[ops.Var]:
    """The variables `op` (or a terminator) reads. A variable passed by address counts
    as read (the callee may read it)."""
    out = []
    for name, field in operand_items(op):
        if type(field) is ops.Var:
            if name != "dst":
                out.append(field)
        elif isinstance(field, (tuple, ops.Cond, ops.AddressOf)):
            out.extend(v for v in field_values(field) if type(v) is ops.Var)
    return out


def ctype_of(value) -> str:
    return getattr(value, "ctype", "obj")


def reads_refcount(op) -> bool:
    """A Load of ob_refcnt through an object (`Py_REFCNT(x)`)."""
    return (isinstance(op, ops.Load) and op.offset == L.OB_REFCNT
            and ctype_of(op.base) == "obj")


def may_release(op) -> bool:
    """Whether `op` may release a reference, run Python code, read a refcount, store
    (publish) a reference, or do anything else that needs the refcounts it sees to be
    the ones the lowering wrote: a barrier for refcount.py."""
    if isinstance(op, ops.Load):
        return reads_refcount(op)
    if isinstance(op, PURE + (ops.SetInstr, ops.Incref)):
        return False
    if isinstance(op, ops.Store):
        return (op.ctype in ("obj", "ptr") or ctype_of(op.src) in ("obj", "ptr")
                or (op.offset == L.OB_REFCNT and ctype_of(op.base) == "obj"))
    if isinstance(op, ops.CallC):
        return op.func not in QUIET_CALLS
    return True       # Decref, StoreLocal, CallVectorcall, CallArray, unknown ops


def may_observe_frame(op) -> bool:
    """Whether `op` may read frame->prev_instr (f_lineno, tracebacks): anything that
    may run Python code or release a reference (a finalizer may inspect the frame), and
    an explicit Load of the field."""
    if isinstance(op, ops.SetInstr):
        return False
    if isinstance(op, ops.Load):
        return op.offset == L.FRAME_PREV_INSTR and ctype_of(op.base) == "ptr"
    if isinstance(op, ops.Store):
        return False
    return may_release(op)


def may_write_memory(op) -> bool:
    """Whether `op` may write memory that a Load or LoadLocal reads (anything but pure
    ops, Incref and SetInstr, whose writes redundant_loads.py handles itself)."""
    if isinstance(op, PURE) or isinstance(op, (ops.Incref, ops.SetInstr)):
        return False
    return not (isinstance(op, ops.CallC) and op.func in QUIET_CALLS)
