"""Class and mapping patterns for native code, emitted with libgccjit into the runtime
library: ceval's static `match_class` (with `match_class_attr`) and `match_keys`, as 3.11
has them, step for step (the same calls in the same order, the same messages).

    PyObject *coconut_match_class(PyObject *subject, PyObject *type, Py_ssize_t nargs,
                                  PyObject *names)

MATCH_CLASS: the tuple of the matched attributes (the `nargs` positional sub-patterns
through `type.__match_args__`, or the subject itself for a type with
_Py_TPFLAGS_MATCH_SELF and no `__match_args__`; then the keyword sub-patterns
`names`); None when the subject does not match (not an instance, an attribute missing:
its AttributeError is cleared); NULL with the exception set on an error ("called match
pattern must be a type", a `__match_args__` that is not a tuple or has an item that is
not a str, too many positional sub-patterns, an attribute named twice, whatever
`isinstance` or an attribute's getter raises). A new reference; nothing is stolen.

    PyObject *coconut_match_keys(PyObject *map, PyObject *keys)

MATCH_KEYS: the tuple of `map`'s values for the tuple `keys`, looked up with
`map.get(key, dummy)` (found as a method by `_PyObject_GetMethod`, so a dict
subclass's `__missing__` never runs); None when a key is missing; NULL with the
exception set on an error (ValueError "mapping pattern checks duplicate key (%R)", or
whatever `get`, hashing or comparing raises). A new reference; nothing is stolen.
"""
from __future__ import annotations

import gccjit

from . import layout as L

TPFLAGS_TYPE_SUBCLASS = 1 << 31


class _Emitter:
    """The few C idioms the two functions are written with, over one gccjit function."""

    def __init__(self, c, field, imported, fn):
        T = gccjit.TypeKind
        self.c, self.field, self.imported, self.fn = c, field, imported, fn
        self.vp, self.it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
        self.long, self.ulong = c.get_type(T.LONG), c.get_type(T.UNSIGNED_LONG)
        self.void, self.char_p = c.get_type(T.VOID), c.get_type(T.CHAR).get_pointer()
        self.null = c.null(self.vp)
        self.format = c.new_function(gccjit.FunctionKind.IMPORTED, self.vp, b"PyErr_Format",
                                     [c.new_param(self.vp, b"exc"),
                                      c.new_param(self.char_p, b"fmt")], is_variadic=True)
        self._n = 0

    def block(self, name: str):
        self._n += 1
        return self.fn.new_block(f"{name}_{self._n}".encode())

    def local(self, type_, name: str):
        return self.fn.new_local(type_, name.encode())

    def cmp(self, op: str, a, b):
        kinds = {"==": gccjit.Comparison.EQ, "!=": gccjit.Comparison.NE,
                 "<": gccjit.Comparison.LT, ">=": gccjit.Comparison.GE}
        return self.c.new_comparison(kinds[op], a, b)

    def num(self, value: int, type_=None):
        return self.c.new_rvalue_from_int(type_ or self.long, value)

    def call(self, name: str, ret, args, params=None):
        """A call of the C-API function `name` (parameters: void * unless given)."""
        fn = self.imported(name, ret, params or [self.vp] * len(args))
        return self.c.new_call(fn, args)

    def global_address(self, name: bytes):
        u8 = self.c.get_type(gccjit.TypeKind.UNSIGNED_CHAR)
        return self.c.new_cast(self.c.new_global(gccjit.GlobalKind.IMPORTED, u8, name).get_address(),
                               self.vp)

    def exc(self, name: bytes):
        return self.c.new_global(gccjit.GlobalKind.IMPORTED, self.vp, name)

    def type_of(self, obj):
        return self.field(obj, L.OB_TYPE, self.vp)

    def tp_name(self, type_):
        return self.field(type_, L.TP_NAME, self.char_p)

    def has_flag(self, type_, bit: int):
        flags = self.field(type_, L.TP_FLAGS, self.ulong)
        if bit == TPFLAGS_TYPE_SUBCLASS:        # 1 << 31: past a C int, the binding's limit
            return self.cmp("<", self.c.new_cast(flags, self.it), self.c.zero(self.it))
        return self.cmp("!=", self.c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, self.ulong, flags,
                                                   self.c.new_rvalue_from_int(self.ulong, bit)),
                        self.c.zero(self.ulong))

    def item(self, tuple_, index):
        items = self.c.new_cast(
            self.c.new_array_access(self.c.new_cast(tuple_, self.char_p),
                                    self.c.new_rvalue_from_int(self.it, L.TUPLE_ITEMS)).get_address(),
            self.vp.get_pointer())
        return self.c.new_array_access(items, index)

    def raise_format(self, blk, exc_name: bytes, fmt: bytes, *args):
        blk.add_eval(self.c.new_call(self.format, [self.exc(exc_name),
                                                   self.c.new_string_literal(fmt), *args]))

    def incref(self, blk, obj):
        blk.add_assignment_op(self.field(obj, L.OB_REFCNT, self.long), gccjit.BinaryOp.PLUS,
                              self.c.one(self.long))

    def decref(self, blk, obj):
        """Py_DECREF(obj) at the end of `blk`; returns the block after it."""
        free, after = self.block("free"), self.block("decref_done")
        rc = self.field(obj, L.OB_REFCNT, self.long)
        blk.add_assignment_op(rc, gccjit.BinaryOp.MINUS, self.c.one(self.long))
        blk.end_with_conditional(self.cmp("==", rc, self.c.zero(self.long)), free, after)
        free.add_eval(self.call("_Py_Dealloc", self.void, [obj]))
        free.end_with_jump(after)
        return after

    def xdecref(self, blk, obj):
        """Py_XDECREF(obj) at the end of `blk`; returns the block after it."""
        dec = self.block("xdecref")
        done = self.block("xdecref_done")
        blk.end_with_conditional(self.cmp("!=", obj, self.null), dec, done)
        after = self.decref(dec, obj)
        after.end_with_jump(done)
        return done

    def none(self):
        return self.global_address(b"_Py_NoneStruct")

    def return_none(self, blk):
        self.incref(blk, self.none())
        blk.end_with_return(self.none())


def emit_patterns(c, field, imported) -> None:
    """Add coconut_match_class and coconut_match_keys (the module docstring) to the
    runtime's context `c`. `field(base, offset, type)` is an lvalue at a byte offset,
    `imported(name, ret, params)` a C-API function."""
    _emit_match_class(c, field, imported)
    _emit_match_keys(c, field, imported)


def _emit_match_class(c, field, imported) -> None:
    T = gccjit.TypeKind
    vp, long_t, it = c.get_type(T.VOID_PTR), c.get_type(T.LONG), c.get_type(T.INT)
    subject, type_, nargs, names = (c.new_param(vp, b"subject"), c.new_param(vp, b"type"),
                                    c.new_param(long_t, b"nargs"), c.new_param(vp, b"names"))
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_match_class",
                        [subject, type_, nargs, names])
    e = _Emitter(c, field, imported, fn)
    seen, attrs, match_args, attr, name, res = (
        e.local(vp, n) for n in ("seen", "attrs", "match_args", "attr", "name", "res"))
    allowed, i, r = e.local(long_t, "allowed"), e.local(long_t, "i"), e.local(it, "r")
    match_self = e.local(it, "match_self")
    zero_i = c.zero(it)

    entry = fn.new_block(b"entry")
    not_type, is_type, isinstance_done, no_match_early = (
        e.block(n) for n in ("not_type", "is_type", "isinstance_done", "no_match_early"))
    fail, error_early = e.block("fail"), e.block("error_early")
    entry.end_with_conditional(e.has_flag(e.type_of(type_), TPFLAGS_TYPE_SUBCLASS), is_type, not_type)
    e.raise_format(not_type, b"PyExc_TypeError", b"called match pattern must be a type")
    not_type.end_with_jump(error_early)
    error_early.end_with_return(e.null)
    # First, an isinstance check
    is_type.add_assignment(r, e.call("PyObject_IsInstance", it, [subject, type_]))
    is_type.end_with_conditional(c.new_comparison(gccjit.Comparison.GT, r, zero_i),
                                 isinstance_done, no_match_early)
    # <= 0: no match, or an error (NULL is returned then: the caller's PyErr_Occurred)
    maybe_error = e.block("maybe_error")
    no_match_early.end_with_conditional(e.cmp("<", r, zero_i), error_early, maybe_error)
    e.return_none(maybe_error)
    b = isinstance_done
    b.add_assignment(seen, e.call("PySet_New", vp, [e.null]))
    have_seen, have_attrs, seen_failed = e.block("have_seen"), e.block("have_attrs"), e.block("seen_failed")
    b.end_with_conditional(e.cmp("==", seen, e.null), error_early, have_seen)
    have_seen.add_assignment(attrs, e.call("PyList_New", vp, [c.zero(long_t)], [long_t]))
    have_seen.add_assignment(match_args, e.null)
    have_seen.end_with_conditional(e.cmp("==", attrs, e.null), seen_failed, have_attrs)
    e.decref(seen_failed, seen).end_with_return(e.null)

    positional, keywords = e.block("positional"), e.block("keywords")
    have_attrs.end_with_conditional(e.cmp("!=", nargs, c.zero(long_t)), positional, keywords)
    # The positional sub-patterns, through __match_args__
    got, missing, not_tuple, checked = (e.block(n) for n in ("got", "missing", "not_tuple", "checked"))
    positional.add_assignment(match_self, zero_i)
    positional.add_assignment(match_args, e.call("PyObject_GetAttrString", vp,
                                                 [type_, c.new_string_literal(b"__match_args__")],
                                                 [vp, e.char_p]))
    positional.end_with_conditional(e.cmp("!=", match_args, e.null), got, missing)
    got.end_with_conditional(e.cmp("==", e.type_of(match_args), e.global_address(b"PyTuple_Type")),
                             checked, not_tuple)
    e.raise_format(not_tuple, b"PyExc_TypeError", b"%s.__match_args__ must be a tuple (got %s)",
                   e.tp_name(type_), e.tp_name(e.type_of(match_args)))
    not_tuple.end_with_jump(fail)
    attribute_error = e.block("attribute_error")
    missing.end_with_conditional(
        e.cmp("!=", e.call("PyErr_ExceptionMatches", it, [e.exc(b"PyExc_AttributeError")]), zero_i),
        attribute_error, fail)
    a = attribute_error
    a.add_eval(e.call("PyErr_Clear", e.void, []))
    # _Py_TPFLAGS_MATCH_SELF counts only where the type does not define __match_args__
    a.add_assignment(match_args, e.call("PyTuple_New", vp, [c.zero(long_t)], [long_t]))
    a.add_assignment(match_self, c.new_cast(e.has_flag(type_, L.TPFLAGS_MATCH_SELF), it))
    a.end_with_jump(checked)
    self_allowed, count_allowed, compare = e.block("self_allowed"), e.block("count_allowed"), e.block("compare")
    checked.end_with_conditional(e.cmp("!=", match_self, zero_i), self_allowed, count_allowed)
    self_allowed.add_assignment(allowed, c.one(long_t))
    self_allowed.end_with_jump(compare)
    count_allowed.add_assignment(allowed, field(match_args, L.OB_SIZE, long_t))
    count_allowed.end_with_jump(compare)
    too_many, enough = e.block("too_many"), e.block("enough")
    compare.end_with_conditional(e.cmp("<", allowed, nargs), too_many, enough)
    one_allowed, many_allowed = e.block("one_allowed"), e.block("many_allowed")
    too_many.end_with_conditional(e.cmp("==", allowed, c.one(long_t)), one_allowed, many_allowed)
    for blk, suffix in ((one_allowed, b""), (many_allowed, b"s")):
        e.raise_format(blk, b"PyExc_TypeError",
                       b"%s() accepts %d positional sub-pattern" + suffix + b" (%d given)",
                       e.tp_name(type_), c.new_cast(allowed, it), c.new_cast(nargs, it))
        blk.end_with_jump(fail)
    take_self, by_name, positional_done = e.block("take_self"), e.block("by_name"), e.block("positional_done")
    enough.end_with_conditional(e.cmp("!=", match_self, zero_i), take_self, by_name)
    take_self.add_eval(e.call("PyList_Append", it, [attrs, subject]))   # (ceval ignores its result)
    take_self.end_with_jump(positional_done)
    loop, body, not_str = e.block("loop"), e.block("body"), e.block("not_str")
    by_name.add_assignment(i, c.zero(long_t))
    by_name.end_with_jump(loop)
    loop.end_with_conditional(e.cmp("<", i, nargs), body, positional_done)
    body.add_assignment(name, e.item(match_args, i))
    is_str = e.block("is_str")
    body.end_with_conditional(e.cmp("==", e.type_of(name), e.global_address(b"PyUnicode_Type")),
                              is_str, not_str)
    e.raise_format(not_str, b"PyExc_TypeError", b"__match_args__ elements must be strings (got %s)",
                   e.tp_name(e.type_of(name)))
    not_str.end_with_jump(fail)
    after = _match_class_attr(e, is_str, subject, type_, name, seen, attr, attrs, fail)
    after.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    after.end_with_jump(loop)
    done = e.decref(positional_done, match_args)      # Py_CLEAR(match_args)
    done.add_assignment(match_args, e.null)
    done.end_with_jump(keywords)
    # The keyword sub-patterns
    kloop, kbody, finish = e.block("kloop"), e.block("kbody"), e.block("finish")
    keywords.add_assignment(i, c.zero(long_t))
    keywords.end_with_jump(kloop)
    kloop.end_with_conditional(e.cmp("<", i, field(names, L.OB_SIZE, long_t)), kbody, finish)
    kbody.add_assignment(name, e.item(names, i))
    after = _match_class_attr(e, kbody, subject, type_, name, seen, attr, attrs, fail)
    after.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    after.end_with_jump(kloop)
    finish.add_assignment(res, e.call("PyList_AsTuple", vp, [attrs]))
    after = e.decref(finish, attrs)
    after = e.decref(after, seen)
    after.end_with_return(res)           # (NULL if PyList_AsTuple failed: its error)
    # fail: the match failed, with an error set or not
    after = e.xdecref(fail, match_args)
    after = e.decref(after, seen)
    after = e.decref(after, attrs)
    no_match = e.block("no_match")
    after.end_with_conditional(e.cmp("!=", e.call("PyErr_Occurred", vp, []), e.null),
                               error_early, no_match)
    e.return_none(no_match)


def _match_class_attr(e, blk, subject, type_, name, seen, attr, attrs, fail):
    """ceval's match_class_attr, then the attribute appended to `attrs` (and released);
    emitted at the end of `blk`, going to `fail` when it gives NULL. Returns the block
    after it."""
    c, it = e.c, e.it
    zero_i = c.zero(it)
    add, dup, unseen, got, missing, clear, seen_before = (e.block(n) for n in (
        "add", "dup", "unseen", "got_attr", "missing_attr", "clear", "seen_before"))
    blk.end_with_conditional(e.cmp("!=", e.call("PySet_Contains", it, [seen, name]), zero_i), dup, add)
    add.end_with_conditional(e.cmp("!=", e.call("PySet_Add", it, [seen, name]), zero_i), dup, unseen)
    dup.end_with_conditional(e.cmp("==", e.call("PyErr_Occurred", e.vp, []), e.null), seen_before, fail)
    e.raise_format(seen_before, b"PyExc_TypeError", b"%s() got multiple sub-patterns for attribute %R",
                   e.tp_name(type_), name)
    seen_before.end_with_jump(fail)
    unseen.add_assignment(attr, e.call("PyObject_GetAttr", e.vp, [subject, name]))
    unseen.end_with_conditional(e.cmp("==", attr, e.null), missing, got)
    missing.end_with_conditional(
        e.cmp("!=", e.call("PyErr_ExceptionMatches", it, [e.exc(b"PyExc_AttributeError")]), zero_i),
        clear, fail)
    clear.add_eval(e.call("PyErr_Clear", e.void, []))
    clear.end_with_jump(fail)
    got.add_eval(e.call("PyList_Append", it, [attrs, attr]))     # (ceval ignores its result)
    return e.decref(got, attr)


def _emit_match_keys(c, field, imported) -> None:
    T = gccjit.TypeKind
    vp, long_t, it = c.get_type(T.VOID_PTR), c.get_type(T.LONG), c.get_type(T.INT)
    map_, keys = c.new_param(vp, b"map"), c.new_param(vp, b"keys")
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_match_keys", [map_, keys])
    e = _Emitter(c, field, imported, fn)
    nkeys, i = e.local(long_t, "nkeys"), e.local(long_t, "i")
    get, seen, dummy, values, key, value = (
        e.local(vp, n) for n in ("get", "seen", "dummy", "values", "key", "value"))
    meth_found = e.local(it, "meth_found")
    args = fn.new_local(c.new_array_type(vp, 3), b"args")
    get_name = c.new_global(gccjit.GlobalKind.INTERNAL, vp, b"coconut_match_keys_get")
    zero_i = c.zero(it)

    entry = fn.new_block(b"entry")
    empty, some, fail = e.block("empty"), e.block("some"), e.block("fail")
    entry.add_assignment(nkeys, field(keys, L.OB_SIZE, long_t))
    entry.end_with_conditional(e.cmp("==", nkeys, c.zero(long_t)), empty, some)
    empty.end_with_return(e.call("PyTuple_New", vp, [c.zero(long_t)], [long_t]))   # no keys, no items
    for v in (get, seen, dummy, values):
        some.add_assignment(v, e.null)
    # map.get(key, dummy): atomic, and no __missing__ in a dict subclass
    intern, have_name = e.block("intern"), e.block("have_name")
    some.end_with_conditional(e.cmp("==", get_name, e.null), intern, have_name)
    intern.add_assignment(get_name, e.call("PyUnicode_InternFromString", vp,
                                           [c.new_string_literal(b"get")], [e.char_p]))
    intern.end_with_conditional(e.cmp("==", get_name, e.null), fail, have_name)
    b = have_name
    b.add_assignment(meth_found, e.call("_PyObject_GetMethod", it, [map_, get_name, get.get_address()],
                                        [vp, vp, vp.get_pointer()]))
    have_get, have_seen, have_dummy, have_values = (
        e.block(n) for n in ("have_get", "have_seen", "have_dummy", "have_values"))
    b.end_with_conditional(e.cmp("==", get, e.null), fail, have_get)
    have_get.add_assignment(seen, e.call("PySet_New", vp, [e.null]))
    have_get.end_with_conditional(e.cmp("==", seen, e.null), fail, have_seen)
    have_seen.add_assignment(dummy, e.call("PyObject_CallNoArgs", vp,
                                           [e.global_address(b"PyBaseObject_Type")]))
    have_seen.end_with_conditional(e.cmp("==", dummy, e.null), fail, have_dummy)
    have_dummy.add_assignment(values, e.call("PyTuple_New", vp, [nkeys], [long_t]))
    have_dummy.end_with_conditional(e.cmp("==", values, e.null), fail, have_values)
    loop, body, add, dup, duplicate, unseen, done = (e.block(n) for n in (
        "loop", "body", "add", "dup", "duplicate", "unseen", "done"))
    have_values.add_assignment(i, c.zero(long_t))
    have_values.end_with_jump(loop)
    loop.end_with_conditional(e.cmp("<", i, nkeys), body, done)
    body.add_assignment(key, e.item(keys, i))
    body.end_with_conditional(e.cmp("!=", e.call("PySet_Contains", it, [seen, key]), zero_i), dup, add)
    add.end_with_conditional(e.cmp("!=", e.call("PySet_Add", it, [seen, key]), zero_i), dup, unseen)
    dup.end_with_conditional(e.cmp("==", e.call("PyErr_Occurred", vp, []), e.null), duplicate, fail)
    e.raise_format(duplicate, b"PyExc_ValueError", b"mapping pattern checks duplicate key (%R)", key)
    duplicate.end_with_jump(fail)
    u = unseen
    for k, v in enumerate((map_, key, dummy)):
        u.add_assignment(c.new_array_access(args, c.new_rvalue_from_int(it, k)), v)
    as_method, as_function, called = e.block("as_method"), e.block("as_function"), e.block("called")
    u.end_with_conditional(e.cmp("!=", meth_found, zero_i), as_method, as_function)
    vectorcall_params = [vp, vp.get_pointer(), c.get_type(T.SIZE_T), vp]
    as_method.add_assignment(value, e.call(
        "PyObject_Vectorcall", vp, [get, c.new_array_access(args, c.new_rvalue_from_int(it, 0)).get_address(),
                                    c.new_rvalue_from_int(c.get_type(T.SIZE_T), 3), e.null],
        vectorcall_params))
    as_method.end_with_jump(called)
    as_function.add_assignment(value, e.call(
        "PyObject_Vectorcall", vp, [get, c.new_array_access(args, c.new_rvalue_from_int(it, 1)).get_address(),
                                    c.new_rvalue_from_int(c.get_type(T.SIZE_T), 2), e.null],
        vectorcall_params))
    as_function.end_with_jump(called)
    got, is_dummy = e.block("got"), e.block("is_dummy")
    not_null = e.block("not_null")
    called.end_with_conditional(e.cmp("==", value, e.null), fail, not_null)
    not_null.end_with_conditional(e.cmp("==", value, dummy), is_dummy, got)
    # key not in map: None
    after = e.decref(is_dummy, value)
    after = e.decref(after, values)
    e.incref(after, e.none())
    after.add_assignment(values, e.none())
    after.end_with_jump(done)
    got.add_assignment(e.item(values, i), value)      # PyTuple_SET_ITEM
    got.add_assignment_op(i, gccjit.BinaryOp.PLUS, c.one(long_t))
    got.end_with_jump(loop)
    after = e.decref(done, get)
    after = e.decref(after, seen)
    after = e.decref(after, dummy)
    after.end_with_return(values)
    after = e.xdecref(fail, get)
    after = e.xdecref(after, seen)
    after = e.xdecref(after, dummy)
    after = e.xdecref(after, values)
    after.end_with_return(e.null)
