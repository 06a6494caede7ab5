"""Class attributes read through an instance: `coconut_class_attr`, emitted into the
runtime library.

`self.LIMIT`, where LIMIT is a plain value of the class (a number, a string, a tuple:
no `__get__`) and the instance has no attribute of that name, is a LOAD_ATTR 3.11's
specializer gives up on (3.12 added LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES for it): every
execution is PyObject_GetAttr, a type lookup and an instance-dict lookup. Compiled code
gives such a site a cache of its own (`ops.SiteCache`, lowering/caches.py
`class_attr`): the type's version tag, the version of the class's shared keys, and the
value. While

* the instance's type has that version (the class and its bases are unchanged since:
  the value is still what `_PyType_Lookup` finds, alive in the class's dict; versions
  are never reused),
* the instance has no materialized `__dict__` and has its values array, and
* the class's shared keys (the names instances of the class have set, ht_cached_keys)
  have that version (any new name resets it to 0: dictobject.c insert_into_dictkeys),
  so the name, which was not among them, still is not, and no instance has it,

the value is the answer, as ceval's LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES guards it in
3.12. A miss calls

    PyObject *coconut_class_attr(PyObject *owner, PyObject *name, uint32_t *cache)

which checks all of that from the start (the type has instance values and the generic
tp_getattro; `_PyType_Lookup` finds a value whose type has no tp_descr_get; the shared
keys are split keys with a version, without the name) and fills the cache, returning the
value borrowed; or returns NULL, with no exception, and marks the site given up (version
0, keys version 0xffffffff: the fast path then goes straight to PyObject_GetAttr). It runs
no code of the program: `_PyType_Lookup` and comparing str keys run none, so inlined
callees may call it (lowering/inline.py PURE_C). The shared keys' version is the one the
interpreter gave them when it specialized a method load on an instance of the class
(LOAD_METHOD_WITH_VALUES); libpython does not export the function that assigns one, so
keys without a version give up.
"""
from __future__ import annotations

import gccjit

from . import layout as L

GIVEN_UP = 0xFFFFFFFF
_LSHIFT = 10                   # GCC_JIT_BINARY_OP_LSHIFT (the binding does not name it)


def emit_class_attr(c, field, imported) -> None:
    """Add coconut_class_attr to the runtime's context `c`."""
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8, u32, u64 = c.get_type(T.UNSIGNED_CHAR), c.get_type(T.UNSIGNED_INT), c.get_type(T.UNSIGNED_LONG)
    eq, ne, lt = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT
    null = c.null(vp)
    type_lookup = imported("_PyType_Lookup", vp, [vp, vp])
    unicode_equal = imported("_PyUnicode_Equal", it, [vp, vp])
    # object's tp_getattro is PyObject_GenericGetAttr (libgccjit takes no function's address)
    object_type = c.new_global(gccjit.GlobalKind.IMPORTED, u8, b"PyBaseObject_Type").get_address()

    params = [c.new_param(vp, b"owner"), c.new_param(vp, b"name"), c.new_param(vp, b"cache")]
    owner, name, cache = params
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_class_attr", params)
    B = {x: fn.new_block(x.encode()) for x in (
        "entry", "generic_getattr", "lookup", "plain_value", "versioned", "values", "keys",
        "split", "test", "body", "other_key", "next", "fill", "fail")}
    tp, descr, keys, entries, key = (fn.new_local(vp, n) for n in (
        b"tp", b"descr", b"keys", b"entries", b"key"))
    i, n = fn.new_local(long_t, b"i"), fn.new_local(long_t, b"n")

    def flag(flags, bit):
        return c.new_comparison(ne, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, u64, flags,
                                                    c.new_rvalue_from_int(u64, bit)), c.zero(u64))

    def both(a, b):
        return c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL), a, b)

    e = B["entry"]
    e.add_assignment(tp, field(owner, L.OB_TYPE, vp))
    e.end_with_conditional(flag(field(tp, L.TP_FLAGS, u64), L.TPFLAGS_MANAGED_DICT),
                           B["generic_getattr"], B["fail"])
    B["generic_getattr"].end_with_conditional(
        c.new_comparison(eq, field(tp, L.TP_GETATTRO, vp), field(object_type, L.TP_GETATTRO, vp)),
        B["lookup"], B["fail"])
    lk = B["lookup"]
    lk.add_assignment(descr, c.new_call(type_lookup, [tp, name]))
    lk.end_with_conditional(c.new_comparison(ne, descr, null), B["plain_value"], B["fail"])
    B["plain_value"].end_with_conditional(
        c.new_comparison(eq, field(field(descr, L.OB_TYPE, vp), L.TP_DESCR_GET, vp), null),
        B["versioned"], B["fail"])
    # (the version _PyType_Lookup left: it assigns one where it can)
    B["versioned"].end_with_conditional(
        both(flag(field(tp, L.TP_FLAGS, u64), L.TPFLAGS_VALID_VERSION_TAG),
             c.new_comparison(ne, field(tp, L.TP_VERSION_TAG, u32), c.zero(u32))),
        B["values"], B["fail"])
    B["values"].end_with_conditional(
        both(c.new_comparison(eq, field(owner, L.OBJ_MANAGED_DICT, vp), null),
             c.new_comparison(ne, field(owner, L.OBJ_VALUES, vp), null)),
        B["keys"], B["fail"])
    B["keys"].add_assignment(keys, field(tp, L.HT_CACHED_KEYS, vp))
    B["keys"].end_with_conditional(c.new_comparison(ne, keys, null), B["split"], B["fail"])
    sp = B["split"]
    log2 = c.new_cast(field(keys, L.DK_LOG2_INDEX_BYTES, u8), long_t)
    sp.add_assignment(entries, c.new_cast(c.new_array_access(
        c.new_cast(keys, c.get_type(T.CHAR).get_pointer()),
        c.new_binary_op(gccjit.BinaryOp.PLUS, long_t, c.new_rvalue_from_int(long_t, L.DK_INDICES),
                        c.new_binary_op(_LSHIFT, long_t, c.one(long_t), log2))
    ).get_address(), vp))
    sp.add_assignment(n, field(keys, L.DK_NENTRIES, long_t))
    sp.add_assignment(i, c.zero(long_t))
    sp.end_with_conditional(
        both(c.new_comparison(eq, field(keys, L.DK_KIND, u8), c.new_rvalue_from_int(u8, L.DICT_KEYS_SPLIT)),
             c.new_comparison(ne, field(keys, L.DK_VERSION, u32), c.zero(u32))),
        B["test"], B["fail"])
    # the name is not among the shared keys (str keys: _PyUnicode_Equal runs no code)
    B["test"].end_with_conditional(c.new_comparison(lt, i, n), B["body"], B["fill"])
    bd = B["body"]
    bd.add_assignment(key, c.new_array_access(c.new_cast(entries, vp.get_pointer()),
                                              c.new_binary_op(gccjit.BinaryOp.MULT, long_t, i,
                                                              c.new_rvalue_from_int(long_t, 2))))
    bd.end_with_conditional(c.new_comparison(eq, key, name), B["fail"], B["other_key"])
    B["other_key"].end_with_conditional(
        both(c.new_comparison(ne, key, null),
             c.new_comparison(ne, c.new_call(unicode_equal, [key, name]), c.zero(it))),
        B["fail"], B["next"])
    B["next"].add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    B["next"].end_with_jump(B["test"])
    f = B["fill"]
    f.add_assignment(field(cache, 0, u32), field(tp, L.TP_VERSION_TAG, u32))
    f.add_assignment(field(cache, 4, u32), field(keys, L.DK_VERSION, u32))
    f.add_assignment(field(cache, 8, vp), descr)
    f.end_with_return(descr)
    x = B["fail"]
    x.add_assignment(field(cache, 0, u32), c.zero(u32))
    x.add_assignment(field(cache, 4, u32),            # GIVEN_UP
                     c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, u32, c.zero(u32)))
    x.end_with_return(null)
