"""Global lookups that stay fast: `coconut_load_global`, emitted into the runtime library.

3.11's LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN caches are valid while the globals'
keys keep the version they were specialized for, and any new global (or deleted one)
drops that version to 0. The interpreter specializes the instruction again after a few
misses; compiled code never runs the instruction in the interpreter, so its cache
would stay stale forever and every load would be two dict lookups. Each LOAD_GLOBAL
site of compiled code therefore has its own cache (three words in the compiled module,
`ops.SiteCache`), which it checks inline (lowering/caches.py `global_cached`):
`cache[0]` and `cache[1]` are the version tags (PEP 509's ma_version_tag) the globals
and the builtins dicts had when `cache[2]`, the value, was looked up in them. Every
change of a dict gives it a new tag from one process-wide counter, never reused and
never 0: while both tags are equal, these are the same dicts, unchanged, and the
value is the answer (borrowed: the dict holds it). Four loads and three compares,
where the entry-index check it replaced was some twenty lines of C per site (compile
time). A program that keeps storing globals of a module makes its sites miss; each
miss is one or two dict lookups in C.

On a miss (the types of both dicts checked exact first: else the interpreter's
__getitem__ path, a deopt), compiled code calls

    PyObject *coconut_load_global(PyObject *globals, PyObject *builtins, PyObject *name,
                                  long *cache)

which looks the name up as LOAD_GLOBAL does (PyDict_GetItemWithError on the globals,
then the builtins; a borrowed reference, or NULL: with an exception set on an error,
without when the name is missing) and refills the site's cache with the tags read
after the lookups, when both dicts have str-keyed tables (a lookup in them runs no
code); else it zeroes `cache[0]`, which no tag matches.
"""
from __future__ import annotations

import gccjit

from . import layout as L


def emit_load_global(c, field, imported, lookups) -> None:
    """Add coconut_load_global to the runtime's context `c`; `lookups` is the long
    lvalue it counts its calls in (Runtime.global_lookups)."""
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8, u64 = c.get_type(T.UNSIGNED_CHAR), c.get_type(T.UNSIGNED_LONG)
    eq, ne = gccjit.Comparison.EQ, gccjit.Comparison.NE
    null = c.null(vp)
    lookup = imported("PyDict_GetItemWithError", vp, [vp, vp])
    occurred = imported("PyErr_Occurred", vp, [])

    params = [c.new_param(vp, b"globals"), c.new_param(vp, b"builtins"), c.new_param(vp, b"name"),
              c.new_param(long_t.get_pointer(), b"cache")]
    globals_, builtins, name, cache = params
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_load_global", params)
    B = {x: fn.new_block(x.encode()) for x in (
        "entry", "not_global", "lookup_builtins", "found", "unicode", "fill", "forget",
        "missing")}
    value = fn.new_local(vp, b"value")
    slot = [c.new_array_access(cache, c.new_rvalue_from_int(it, i)) for i in range(3)]

    def unicode_keys(d):
        return c.new_comparison(eq, field(field(d, L.DICT_KEYS, vp), L.DK_KIND, u8),
                                c.new_rvalue_from_int(u8, L.DICT_KEYS_UNICODE))
    e = B["entry"]
    e.add_assignment_op(lookups, gccjit.BinaryOp.PLUS, c.one(long_t))
    e.add_assignment(value, c.new_call(lookup, [globals_, name]))
    e.end_with_conditional(c.new_comparison(ne, value, null), B["found"], B["not_global"])
    B["not_global"].end_with_conditional(c.new_comparison(eq, c.new_call(occurred, []), null),
                                         B["lookup_builtins"], B["missing"])
    lb = B["lookup_builtins"]
    lb.add_assignment(value, c.new_call(lookup, [builtins, name]))
    lb.end_with_conditional(c.new_comparison(ne, value, null), B["found"], B["missing"])
    # Only tables of str keys fill the cache: a lookup in them runs no code, so the tags
    # read now are those of the state the value was found in.
    B["found"].end_with_conditional(unicode_keys(globals_), B["unicode"], B["forget"])
    B["unicode"].end_with_conditional(unicode_keys(builtins), B["fill"], B["forget"])
    f = B["fill"]
    f.add_assignment(slot[0], c.new_cast(field(globals_, L.DICT_VERSION_TAG, u64), long_t))
    f.add_assignment(slot[1], c.new_cast(field(builtins, L.DICT_VERSION_TAG, u64), long_t))
    f.add_assignment(c.new_cast(slot[2].get_address(), vp.get_pointer()).dereference(), value)
    f.end_with_return(value)
    B["forget"].add_assignment(slot[0], c.zero(long_t))       # no dict has tag 0
    B["forget"].end_with_return(value)
    B["missing"].end_with_return(null)
