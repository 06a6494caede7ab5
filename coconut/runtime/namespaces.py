"""Global lookups that stay fast: `coconut_load_global`, emitted into the runtime library.

3.11's LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN caches are valid while the globals'
keys keep the version they were specialized for, and any new global (or deleted one)
drops that version to 0. The interpreter specializes the instruction again after a few
misses; compiled code never runs the instruction in the interpreter, so its cache
would stay stale forever and every load would be two dict lookups. Each LOAD_GLOBAL
site of compiled code therefore has its own cache (two words in the compiled module,
`ops.SiteCache`), which it checks inline (lowering/caches.py `global_hint`):

* `cache[0] = i + 1`: the name is entry `i` of the globals' keys. Valid while those keys
  are a unicode table with more than `i` entries whose entry `i` has this very name
  object as key and a value: a dict never holds two live entries for one key, a deleted
  entry has no key, and a resize makes a new table (the entry is checked, not a version:
  nothing can be reused under it).
* `cache[0] = -(i + 1)`, `cache[1] = v`, `cache[2] = t`: the name is not a global and
  is entry `i` of the builtins' keys; learned while the globals' keys had version `v`
  and the globals dict had version tag `t` (PEP 509's ma_version_tag). Valid while the
  name cannot have become a global since: the keys still have version `v` and it is not
  0 (any new key drops it to 0; the interpreter gives keys a version when it
  specializes a load from them, and versions are never reused), or the dict still has
  tag `t` (any change of the dict gives it a new tag, never reused: this holds where
  the interpreter gave the keys no version, e.g. in a module only compiled code has
  run) — and the builtins' entry `i` checks out as above.

On a miss, compiled code calls

    PyObject *coconut_load_global(PyObject *globals, PyObject *builtins, PyObject *name,
                                  long *cache)

which looks the name up as LOAD_GLOBAL does (PyDict_GetItemWithError on the globals,
then the builtins; a borrowed reference, or NULL: with an exception set on an error,
without when the name is missing) and refills the site's cache from where it found it
(a scan of the entries for the name object: misses are rare, and the lookup before it
is the real one).
"""
from __future__ import annotations

import gccjit

from . import layout as L


def emit_load_global(c, field, imported, lookups) -> None:
    """Add coconut_load_global to the runtime's context `c`; `lookups` is the long
    lvalue it counts its calls in (Runtime.global_lookups)."""
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8, u32 = c.get_type(T.UNSIGNED_CHAR), c.get_type(T.UNSIGNED_INT)
    char_p = c.get_type(T.CHAR).get_pointer()
    eq, ne, lt = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT
    null = c.null(vp)
    lookup = imported("PyDict_GetItemWithError", vp, [vp, vp])
    occurred = imported("PyErr_Occurred", vp, [])

    def num(value, type_=long_t):
        return c.new_rvalue_from_int(type_, value)

    # long coconut_entry_index(PyObject *dict, PyObject *name): the index of the entry
    # whose key is `name` (this object) in the dict's unicode keys, or -1.
    sp = [c.new_param(vp, b"dict"), c.new_param(vp, b"name")]
    scan = c.new_function(gccjit.FunctionKind.INTERNAL, long_t, b"coconut_entry_index", sp)
    keys, i, n, entries = (scan.new_local(vp, b"keys"), scan.new_local(long_t, b"i"),
                           scan.new_local(long_t, b"n"), scan.new_local(char_p, b"entries"))
    s0, test, body, next_, found, none = (scan.new_block(x) for x in (
        b"entry", b"test", b"body", b"next", b"found", b"none"))
    s0.add_assignment(keys, field(sp[0], L.DICT_KEYS, vp))
    unicode_ = scan.new_block(b"unicode")
    s0.end_with_conditional(c.new_comparison(eq, field(keys, L.DK_KIND, u8),
                                             num(L.DICT_KEYS_UNICODE, u8)), unicode_, none)
    unicode_.add_assignment(n, field(keys, L.DK_NENTRIES, long_t))
    indices_bytes = c.new_binary_op(10, long_t, c.one(long_t),      # 1 << dk_log2_index_bytes
                                    c.new_cast(field(keys, L.DK_LOG2_INDEX_BYTES, u8), long_t))
    unicode_.add_assignment(entries, c.new_array_access(
        c.new_cast(keys, char_p),
        c.new_binary_op(gccjit.BinaryOp.PLUS, long_t, num(L.DK_INDICES), indices_bytes)).get_address())
    unicode_.add_assignment(i, c.zero(long_t))
    unicode_.end_with_jump(test)
    test.end_with_conditional(c.new_comparison(lt, i, n), body, none)
    entry = c.new_array_access(entries, c.new_binary_op(
        gccjit.BinaryOp.MULT, long_t, i, num(L.DK_UNICODE_ENTRY_SIZE))).get_address()
    body.end_with_conditional(c.new_comparison(eq, field(entry, 0, vp), sp[1]), found, next_)
    next_.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    next_.end_with_jump(test)
    found.end_with_return(i)
    none.end_with_return(num(-1))

    params = [c.new_param(vp, b"globals"), c.new_param(vp, b"builtins"), c.new_param(vp, b"name"),
              c.new_param(long_t.get_pointer(), b"cache")]
    globals_, builtins, name, cache = params
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_load_global", params)
    B = {x: fn.new_block(x.encode()) for x in (
        "entry", "global", "not_global", "lookup_builtins", "builtin", "versioned", "learn",
        "forget", "missing")}
    value, index, version = fn.new_local(vp, b"value"), fn.new_local(long_t, b"index"), fn.new_local(u32, b"version")
    slot0 = c.new_array_access(cache, c.zero(it))
    slot1 = c.new_array_access(cache, c.one(it))
    slot2 = c.new_array_access(cache, c.new_rvalue_from_int(it, 2))
    tag = fn.new_local(c.get_type(T.UNSIGNED_LONG), b"tag")
    e = B["entry"]
    e.add_assignment_op(lookups, gccjit.BinaryOp.PLUS, c.one(long_t))
    e.add_assignment(value, c.new_call(lookup, [globals_, name]))
    e.end_with_conditional(c.new_comparison(ne, value, null), B["global"], B["not_global"])
    g = B["global"]
    g.add_assignment(slot0, c.new_binary_op(gccjit.BinaryOp.PLUS, long_t,
                                            c.new_call(scan, [globals_, name]), c.one(long_t)))
    g.end_with_return(value)
    B["not_global"].end_with_conditional(c.new_comparison(eq, c.new_call(occurred, []), null),
                                         B["lookup_builtins"], B["missing"])
    lb = B["lookup_builtins"]
    lb.add_assignment(version, field(field(globals_, L.DICT_KEYS, vp), L.DK_VERSION, u32))
    lb.add_assignment(tag, field(globals_, L.DICT_VERSION_TAG, c.get_type(T.UNSIGNED_LONG)))
    lb.add_assignment(value, c.new_call(lookup, [builtins, name]))
    lb.end_with_conditional(c.new_comparison(ne, value, null), B["builtin"], B["missing"])
    b = B["builtin"]
    b.add_assignment(index, c.new_call(scan, [builtins, name]))
    b.end_with_jump(B["versioned"])
    B["versioned"].end_with_conditional(c.new_comparison(gccjit.Comparison.GE, index, c.zero(long_t)),
                                        B["learn"], B["forget"])
    B["learn"].add_assignment(slot0, c.new_unary_op(gccjit.UnaryOp.MINUS, long_t,
                                                    c.new_binary_op(gccjit.BinaryOp.PLUS, long_t,
                                                                    index, c.one(long_t))))
    B["learn"].add_assignment(slot1, c.new_cast(version, long_t))
    B["learn"].add_assignment(slot2, c.new_cast(tag, long_t))
    B["learn"].end_with_return(value)
    B["forget"].add_assignment(slot0, c.zero(long_t))
    B["forget"].end_with_return(value)
    B["missing"].end_with_return(null)
