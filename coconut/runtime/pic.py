"""Polymorphic inline caches for attribute and method loads: `coconut_attr_pic` and
`coconut_method_pic`, emitted into the runtime library.

3.11 specializes a LOAD_ATTR or LOAD_METHOD for one type: a site that sees instances of
several classes (`shape.area()` over a list of shapes, `self.w` in a method that
subclasses inherit) misses its cache, and after a few misses runs the generic lookup
(`PyObject_GetAttr`, `_PyObject_GetMethod`: a walk of the type's MRO through its method
cache, then the instance's keys) until it tries again. Native code compiled before the
interpreter specialized a site (a first call) has no form to read at all. Such a site
gets a cache of its own here, of up to PIC_ENTRIES types, each entry holding what 3.11's
one-type form would hold for that type:

    PyObject *coconut_attr_pic(PyObject *owner, PyObject *name, void *cache)

(an entry: u32 type version, u32 where) returns the attribute, borrowed, as
LOAD_ATTR_INSTANCE_VALUE (`values->values[index]`) or LOAD_ATTR_SLOT (`*(owner +
offset)`, bit 31 set) read it, or NULL (no exception) for the generic lookup; and

    PyObject *coconut_method_pic(PyObject *owner, PyObject *name, void *cache)

(an entry: u32 type version, u32 check, the method borrowed) returns the unbound method
(a function or method descriptor found on the type, which LOAD_METHOD pushes with
`owner`), borrowed, when the instance has no attribute of that name, as
LOAD_METHOD_WITH_VALUES, LOAD_METHOD_NO_DICT and LOAD_METHOD_LAZY_DICT decide it; or NULL;
and `coconut_store_pic` (emit_store_pic) stores as STORE_ATTR_INSTANCE_VALUE and
STORE_ATTR_SLOT would, through entries like coconut_attr_pic's.

An entry serves while the owner's type has the entry's version tag: a type's tag
changes whenever it or a base is modified (PyType_Modified sets it to 0; tags are never
reused), so what `_PyType_Lookup` found for the name (no data descriptor, or the slot's
member descriptor, or the method) is still what it finds. Then, as in ceval:

* an instance value: the instance has its values array (no materialized `__dict__`) and
  the value at the name's index in the class's shared keys is not NULL (a name's index
  never changes: shared keys only grow); NULL (deleted, or never set on this instance)
  goes to the generic lookup;
* a slot: the member at its offset is not NULL;
* a method, type with instance values: no materialized `__dict__`, the values array,
  and the name either not among the shared keys (checked as the keys' `dk_nentries`
  being what it was when the entry was made: a name added since refills the entry) or
  its value NULL in this instance; type without `__dict__` (`tp_dictoffset` 0): nothing
  to check; `__dict__` at an offset (a subclass of a builtin): it is not there yet.

A miss of every entry looks the name up once (`_PyType_Lookup` and comparing str keys:
no code of the program runs, so inlined callees may call these) and fills an entry in
turn (the oldest goes); what cannot be cached (another `tp_getattro`, a data descriptor
such as a property, a materialized `__dict__`, a type without a valid version tag)
returns NULL and counts a failure: past PIC_GIVE_UP failures the site always returns
NULL, and costs a call and a compare.

Cache layout (a site's ops.SiteCache slots, zeroed; PIC_ATTR_BYTES / PIC_METHOD_BYTES):
the entries, then u32 next (the entry the next fill takes), u32 failures.
"""
from __future__ import annotations

import gccjit

from . import layout as L

PIC_ENTRIES = 4
PIC_GIVE_UP = 64
ATTR_ENTRY, METHOD_ENTRY = 8, 16
PIC_ATTR_BYTES = PIC_ENTRIES * ATTR_ENTRY + 8
PIC_METHOD_BYTES = PIC_ENTRIES * METHOD_ENTRY + 8
SLOT_BIT = 1 << 31             # attribute entries: where = the slot's byte offset
# method entries' check word:
NO_DICT = 0xFFFFFFFF           # a type whose instances have no __dict__
ABSENT = 1 << 31               # | dk_nentries: the name is not among the shared keys
LAZY_DICT = 1 << 30            # | tp_dictoffset: the __dict__ there is not made yet
T_OBJECT_EX, READONLY, READ_RESTRICTED = 16, 1, 2   # structmember.h (PY_AUDIT_READ = READ_RESTRICTED)
_LSHIFT = 10                   # GCC_JIT_BINARY_OP_LSHIFT (the binding does not name it)


class _Fn:
    """Helpers for emitting one of the functions (and its _fill)."""

    def __init__(self, c, field, imported, name: bytes, entry_size: int, exported: bool = True,
                 store: bool = False):
        T = gccjit.TypeKind
        self.c, self.field = c, field
        self.vp, self.it = c.get_type(T.VOID_PTR), c.get_type(T.INT)
        self.long_t, self.u32, self.u64 = (c.get_type(T.LONG), c.get_type(T.UNSIGNED_INT),
                                           c.get_type(T.UNSIGNED_LONG))
        self.bool_t, self.u8 = c.get_type(T.BOOL), c.get_type(T.UNSIGNED_CHAR)
        self.null = c.null(self.vp)
        self.type_lookup = imported("_PyType_Lookup", self.vp, [self.vp, self.vp])
        self.unicode_equal = imported("_PyUnicode_Equal", self.it, [self.vp, self.vp])
        self.is_subtype = imported("PyType_IsSubtype", self.it, [self.vp, self.vp])
        self.object_type = c.new_global(gccjit.GlobalKind.IMPORTED, self.u8,
                                        b"PyBaseObject_Type").get_address()
        self.member_type = c.new_global(gccjit.GlobalKind.IMPORTED, self.u8,
                                        b"PyMemberDescr_Type").get_address()
        self.params = [c.new_param(self.vp, b"owner"), c.new_param(self.vp, b"name")] + (
            [c.new_param(self.vp, b"value")] if store else []) + [c.new_param(self.vp, b"cache")] + (
            [c.new_param(self.it.get_pointer(), b"stored")] if store else [])
        self.setattro = store
        self.fn = c.new_function(gccjit.FunctionKind.EXPORTED if exported else gccjit.FunctionKind.INTERNAL,
                                 self.vp, name, self.params)
        self.entry_size = entry_size
        self.n = 0

    def block(self, name: str):
        self.n += 1
        return self.fn.new_block(f"{name}{self.n}".encode())

    def local(self, type_, name: str):
        return self.fn.new_local(type_, name.encode())

    def num(self, value, type_=None):
        type_ = type_ or self.it
        if value > 0x7FFFFFFF:         # (the binding takes a C int): (high << 16) + low
            high = self.c.new_binary_op(_LSHIFT, type_, self.c.new_rvalue_from_int(type_, value >> 16),
                                        self.c.new_rvalue_from_int(type_, 16))
            return self.c.new_binary_op(gccjit.BinaryOp.PLUS, type_, high,
                                        self.c.new_rvalue_from_int(type_, value & 0xFFFF))
        return self.c.new_rvalue_from_int(type_, value)

    def cmp(self, op, a, b):
        return self.c.new_comparison(op, a, b)

    def eq(self, a, b):
        return self.cmp(gccjit.Comparison.EQ, a, b)

    def ne(self, a, b):
        return self.cmp(gccjit.Comparison.NE, a, b)

    def both(self, a, b):
        return self.c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, self.bool_t, a, b)

    def band(self, type_, a, b):
        return self.c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, type_, a, b)

    def flag(self, flags, bit):
        return self.ne(self.band(self.u64, flags, self.num(bit, self.u64)), self.num(0, self.u64))

    def at(self, base, offset):
        """(char *)base + offset (an rvalue offset), as a void *."""
        char_p = self.c.get_type(gccjit.TypeKind.CHAR).get_pointer()
        return self.c.new_cast(self.c.new_array_access(self.c.new_cast(base, char_p), offset)
                               .get_address(), self.vp)

    def word(self, base, index):
        """((void **)base)[index], an lvalue."""
        return self.c.new_array_access(self.c.new_cast(base, self.vp.get_pointer()), index)

    def entry_field(self, cache, e, offset, type_):
        return self.field(cache, e * self.entry_size + offset, type_)

    def control(self, cache, offset):
        """u32 next (0) / failures (4), after the entries."""
        return self.field(cache, PIC_ENTRIES * self.entry_size + offset, self.u32)

    def probe(self, blk, tp, version, cache, on_hit, miss):
        """version = tp->tp_version_tag; for each entry whose version it is: on_hit(e)
        (a block to jump to); none: `miss`. A tag of 0 (no valid version) misses."""
        blk.add_assignment(version, self.field(tp, L.TP_VERSION_TAG, self.u32))
        first = self.block("probe")
        blk.end_with_conditional(self.eq(version, self.num(0, self.u32)), miss, first)
        current = first
        for e in range(PIC_ENTRIES):
            following = self.block("probe") if e + 1 < PIC_ENTRIES else miss
            current.end_with_conditional(self.eq(self.entry_field(cache, e, 0, self.u32), version),
                                         on_hit(e), following)
            current = following

    def begin(self, owner, cache, on_hit):
        """The function's start, shared by all: tp = Py_TYPE(owner), the entries
        probed (`probe`, on_hit(e) per entry), and the blocks `miss` (no entry),
        `hit` (where on_hit's blocks go) and `give_up` (return NULL). Returns (tp,
        miss, hit)."""
        tp, version = self.local(self.vp, "tp"), self.local(self.u32, "version")
        entry, miss, hit = (self.block(x) for x in ("entry", "miss", "hit"))
        self.give_up = self.block("given_up")
        self.give_up.end_with_return(self.null)
        entry.add_assignment(tp, self.field(owner, L.OB_TYPE, self.vp))
        self.probe(entry, tp, version, cache, lambda e: on_hit(e, hit), miss)
        return tp, miss, hit

    def lookup_common(self, blk, owner, name, cache, tp, descr, fail, next_blk):
        """The miss path's start: the site has not given up, the type's tp_getattro (a
        store: tp_setattro) is the generic one, `descr = _PyType_Lookup(tp, name)`, the type has a valid
        version (the lookup assigns one where it can); then `next_blk`."""
        c = self.c
        getattro, lookup = self.block("getattro"), self.block("lookup")
        blk.end_with_conditional(
            self.cmp(gccjit.Comparison.GE, self.control(cache, 4), self.num(PIC_GIVE_UP, self.u32)),
            self.give_up, getattro)
        slot = L.TP_SETATTRO if self.setattro else L.TP_GETATTRO
        getattro.end_with_conditional(
            self.eq(self.field(tp, slot, self.vp), self.field(self.object_type, slot, self.vp)),
            lookup, fail)
        lookup.add_assignment(descr, c.new_call(self.type_lookup, [tp, name]))
        lookup.end_with_conditional(
            self.both(self.flag(self.field(tp, L.TP_FLAGS, self.u64), L.TPFLAGS_VALID_VERSION_TAG),
                      self.ne(self.field(tp, L.TP_VERSION_TAG, self.u32), self.num(0, self.u32))),
            next_blk, fail)

    def find_key(self, blk, keys, name, index, found, absent):
        """index = the position of `name` among the split keys `keys` (str keys:
        _PyUnicode_Equal runs no code): `found`; not there: `absent`."""
        c, long_t = self.c, self.long_t
        entries, key, n = self.local(self.vp, "entries"), self.local(self.vp, "key"), self.local(long_t, "n")
        test, body, other, nxt = (self.block(x) for x in ("key_test", "key_body", "key_other", "key_next"))
        log2 = c.new_cast(self.field(keys, L.DK_LOG2_INDEX_BYTES, self.u8), long_t)
        blk.add_assignment(entries, self.at(keys, c.new_binary_op(
            gccjit.BinaryOp.PLUS, long_t, self.num(L.DK_INDICES, long_t),
            c.new_binary_op(_LSHIFT, long_t, c.one(long_t), log2))))
        blk.add_assignment(n, self.field(keys, L.DK_NENTRIES, long_t))
        blk.add_assignment(index, c.zero(long_t))
        blk.end_with_jump(test)
        test.end_with_conditional(self.cmp(gccjit.Comparison.LT, index, n), body, absent)
        body.add_assignment(key, self.word(entries, c.new_binary_op(
            gccjit.BinaryOp.MULT, long_t, index, self.num(L.DK_UNICODE_ENTRY_SIZE // 8, long_t))))
        body.end_with_conditional(self.eq(key, name), found, other)
        other.end_with_conditional(
            self.both(self.ne(key, self.null),
                      self.ne(c.new_call(self.unicode_equal, [key, name]), self.num(0))),
            found, nxt)
        nxt.add_assignment_op(index, gccjit.BinaryOp.PLUS, c.one(long_t))
        nxt.end_with_jump(test)

    def take_entry(self, blk, cache, slot):
        """slot = the entry the fill takes (round robin); next advances."""
        c = self.c
        nxt = self.control(cache, 0)
        blk.add_assignment(slot, c.new_cast(self.band(self.u32, nxt, self.num(PIC_ENTRIES - 1, self.u32)),
                                            self.long_t))
        blk.add_assignment_op(nxt, gccjit.BinaryOp.PLUS, self.num(1, self.u32))

    def slot_entry(self, cache, slot, offset, type_):
        c = self.c
        return self.field(self.at(cache, c.new_binary_op(
            gccjit.BinaryOp.MULT, self.long_t, slot, self.num(self.entry_size, self.long_t))),
            offset, type_)

    def managed_values(self, blk, owner, values, ok, no):
        """No materialized __dict__ and the values array (into `values`): `ok`."""
        has = self.block("has_values")
        blk.add_assignment(values, self.field(owner, L.OBJ_VALUES, self.vp))
        blk.end_with_conditional(self.eq(self.field(owner, L.OBJ_MANAGED_DICT, self.vp), self.null),
                                 has, no)
        has.end_with_conditional(self.ne(values, self.null), ok, no)


def emit_attr_pic(c, field, imported) -> None:
    """Add coconut_attr_pic to the runtime's context `c` (see the module docstring):
    the entries only, calling coconut_attr_pic_fill on a miss (a leaf: no registers
    saved on the way to a hit), which does it all again and fills an entry."""
    _emit_attr_pic(c, field, imported, _emit_attr_pic(c, field, imported, None))


def emit_store_pic(c, field, imported) -> None:
    """Add coconut_store_pic (and its coconut_store_pic_fill: as emit_attr_pic) to the
    runtime's context `c`:

        PyObject *coconut_store_pic(PyObject *owner, PyObject *name, PyObject *value,
                                    void *cache, int *stored)

    STORE_ATTR through the site's polymorphic cache (its entries as coconut_attr_pic's,
    for the generic tp_setattro; a slot that is not READONLY): where an entry serves,
    `value` (its reference taken) goes where STORE_ATTR_INSTANCE_VALUE or
    STORE_ATTR_SLOT would put it, a first value of the instance is added to its
    values' insertion order, *stored = 1, and the old value is returned (NULL: there
    was none) for the caller to release (that may run code); else nothing happens and
    *stored stays 0. A name not among the shared keys yet (the first store of it) is
    left to the generic store, which adds it."""
    _emit_attr_pic(c, field, imported, _emit_attr_pic(c, field, imported, None, True), True)


def _emit_attr_pic(c, field, imported, fill_fn, store=False):
    kind = b"coconut_store_pic" if store else b"coconut_attr_pic"
    F = _Fn(c, field, imported, kind if fill_fn else kind + b"_fill", ATTR_ENTRY, fill_fn is not None,
            store)
    if store:
        owner, name, value, cache, stored = F.params
    else:
        (owner, name, cache), value, stored = F.params, None, None
    vp, u32, long_t = F.vp, F.u32, F.long_t
    descr, values, member = (F.local(vp, x) for x in ("descr", "values", "member"))
    where = F.local(u32, "where")
    index, slot, offset = F.local(long_t, "index"), F.local(long_t, "slot"), F.local(long_t, "offset")

    # -- the entries ---------------------------------------------------------------
    def on_hit(e, hit):
        b = F.block("entry_hit")
        b.add_assignment(where, F.entry_field(cache, e, 4, u32))
        b.end_with_jump(hit)
        return b
    tp, miss, hit = F.begin(owner, cache, on_hit)
    read_slot, read_value, has_values = F.block("read_slot"), F.block("read_value"), F.block("values")
    hit.end_with_conditional(F.ne(F.band(u32, where, F.num(SLOT_BIT, u32)), F.num(0, u32)),
                             read_slot, has_values)
    slot_offset = c.new_cast(F.band(u32, where, F.num(SLOT_BIT - 1, u32)), long_t)
    F.managed_values(has_values, owner, values, read_value, F.give_up)
    if store:
        old_value = F.local(vp, "old")
        _store(F, read_slot, F.word(F.at(owner, slot_offset), F.num(0)), value, old_value, stored)
        _store(F, read_value, F.word(values, c.new_cast(where, long_t)), value, old_value, stored,
               values, c.new_cast(where, long_t))
    else:
        read_slot.end_with_return(F.word(F.at(owner, slot_offset), F.num(0)))
        read_value.end_with_return(F.word(values, c.new_cast(where, long_t)))

    # -- a miss: look the name up, fill an entry ------------------------------------
    if fill_fn is not None:
        miss.end_with_return(c.new_call(fill_fn, F.params))
        return F.fn
    fail = F.block("fail")
    fail.add_assignment_op(F.control(cache, 4), gccjit.BinaryOp.PLUS, F.num(1, u32))
    fail.end_with_return(F.null)
    found, member_b, member_ok, subtype, not_member, instance, keys_ok, search, \
        got_index = (F.block(x) for x in (
            "found", "member", "member_ok", "subtype", "not_member", "instance",
            "keys_ok", "search", "got_index"))
    F.lookup_common(miss, owner, name, cache, tp, descr, fail, found)
    found.end_with_conditional(F.eq(descr, F.null), instance, member_b)
    member_b.end_with_conditional(F.eq(field(descr, L.OB_TYPE, vp), c.new_cast(F.member_type, vp)),
                                  member_ok, not_member)
    # A slot (a member descriptor of type T_OBJECT_EX, not audited, of a base of the
    # owner's type): its offset, as LOAD_ATTR_SLOT.
    member_ok.add_assignment(member, field(descr, L.MEMBERDESCR_MEMBER, vp))
    member_ok.add_assignment(offset, field(member, L.MEMBERDEF_OFFSET, long_t))
    member_ok.end_with_conditional(
        F.both(F.both(F.eq(field(member, L.MEMBERDEF_TYPE, F.it), F.num(T_OBJECT_EX)),
                      F.eq(F.band(F.it, field(member, L.MEMBERDEF_FLAGS, F.it),
                                  F.num(READONLY if store else READ_RESTRICTED)), F.num(0))),
               F.both(F.cmp(gccjit.Comparison.GT, offset, F.num(0, long_t)),
                      F.cmp(gccjit.Comparison.LT, offset, F.num(0xFFFF, long_t)))),
        subtype, fail)
    fill_slot = F.block("fill_slot")
    subtype.end_with_conditional(
        F.ne(c.new_call(F.is_subtype, [tp, field(descr, L.DESCR_TYPE, vp)]), F.num(0)),
        fill_slot, fail)
    F.take_entry(fill_slot, cache, slot)
    fill_slot.add_assignment(F.slot_entry(cache, slot, 0, u32), field(tp, L.TP_VERSION_TAG, u32))
    fill_slot.add_assignment(F.slot_entry(cache, slot, 4, u32),
                             c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, u32, c.new_cast(offset, u32),
                                             F.num(SLOT_BIT, u32)))
    fill_slot.add_assignment(where, c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, u32,
                                                    c.new_cast(offset, u32), F.num(SLOT_BIT, u32)))
    fill_slot.end_with_jump(hit)
    # Any other data descriptor (a property, a __dict__ getset...) comes first: not cached.
    not_member.end_with_conditional(F.eq(field(field(descr, L.OB_TYPE, vp), L.TP_DESCR_SET, vp), F.null),
                                    instance, fail)
    # An instance value: a type with instance values, this instance's values array, the
    # name's index among the shared keys.
    has_dict_flag = F.block("managed")
    instance.end_with_conditional(F.flag(field(tp, L.TP_FLAGS, F.u64), L.TPFLAGS_MANAGED_DICT),
                                  has_dict_flag, fail)
    F.managed_values(has_dict_flag, owner, values, keys_ok, fail)
    keys = F.local(vp, "keys")
    keys_ok.add_assignment(keys, field(tp, L.HT_CACHED_KEYS, vp))
    keys_ok.end_with_conditional(
        F.both(F.ne(keys, F.null),
               F.eq(field(keys, L.DK_KIND, F.u8), F.num(L.DICT_KEYS_SPLIT, F.u8))), search, fail)
    F.find_key(search, keys, name, index, got_index, fail)
    F.take_entry(got_index, cache, slot)
    got_index.add_assignment(F.slot_entry(cache, slot, 0, u32), field(tp, L.TP_VERSION_TAG, u32))
    got_index.add_assignment(F.slot_entry(cache, slot, 4, u32), c.new_cast(index, u32))
    got_index.add_assignment(where, c.new_cast(index, u32))
    got_index.end_with_jump(hit)
    return F.fn


def _store(F, blk, slot, value, old_value, stored, values=None, index=None):
    """old = *slot; *slot = value; a first value of an instance's values array goes
    into its insertion order (_PyDictValues_AddToInsertionOrder: size = ++values[-2],
    ((uint8_t *)values)[-2 - size] = index); *stored = 1; return old."""
    c = F.c
    blk.add_assignment(old_value, slot)
    blk.add_assignment(slot, value)
    blk.add_assignment(c.new_array_access(stored, F.num(0)), F.num(1))
    if values is None:
        blk.end_with_return(old_value)
        return
    first, done = F.block("first_value"), F.block("stored")
    blk.end_with_conditional(F.eq(old_value, F.null), first, done)
    size = F.local(F.long_t, "size")
    u8p = F.u8.get_pointer()
    first.add_assignment(size, c.new_binary_op(gccjit.BinaryOp.PLUS, F.long_t, c.new_cast(
        c.new_array_access(c.new_cast(values, u8p), F.num(-2, F.long_t)), F.long_t), F.num(1, F.long_t)))
    first.add_assignment(c.new_array_access(c.new_cast(values, u8p), c.new_binary_op(
        gccjit.BinaryOp.MINUS, F.long_t, F.num(-2, F.long_t), size)), c.new_cast(index, F.u8))
    first.add_assignment(c.new_array_access(c.new_cast(values, u8p), F.num(-2, F.long_t)),
                         c.new_cast(size, F.u8))
    first.end_with_jump(done)
    done.end_with_return(old_value)


def emit_method_pic(c, field, imported) -> None:
    """Add coconut_method_pic (and its coconut_method_pic_fill: as emit_attr_pic) to the
    runtime's context `c` (see the module docstring)."""
    _emit_method_pic(c, field, imported, _emit_method_pic(c, field, imported, None))


def _emit_method_pic(c, field, imported, fill_fn):
    F = _Fn(c, field, imported, b"coconut_method_pic" if fill_fn else b"coconut_method_pic_fill",
            METHOD_ENTRY, fill_fn is not None)
    owner, name, cache = F.params
    vp, u32, long_t = F.vp, F.u32, F.long_t
    descr, values, keys = (F.local(vp, x) for x in ("descr", "values", "keys"))
    check = F.local(u32, "check")
    index, slot, offset = F.local(long_t, "index"), F.local(long_t, "slot"), F.local(long_t, "offset")

    # -- the entries ---------------------------------------------------------------
    def on_hit(e, hit):
        b = F.block("entry_hit")
        b.add_assignment(check, F.entry_field(cache, e, 4, u32))
        b.add_assignment(descr, F.entry_field(cache, e, 8, vp))
        b.end_with_jump(hit)
        return b
    tp, miss, hit = F.begin(owner, cache, on_hit)
    method = F.block("method")
    method.end_with_return(descr)
    not_nodict, lazy, managed, values_ok, absent, present = (F.block(x) for x in (
        "not_no_dict", "lazy", "managed", "values_ok", "absent", "present"))
    hit.end_with_conditional(F.eq(check, F.num(NO_DICT, u32)), method, not_nodict)
    not_nodict.end_with_conditional(
        F.eq(F.band(u32, check, F.num(ABSENT | LAZY_DICT, u32)), F.num(LAZY_DICT, u32)), lazy, managed)
    lazy.end_with_conditional(
        F.eq(F.word(F.at(owner, c.new_cast(F.band(u32, check, F.num(0xFFFF, u32)), long_t)), F.num(0)),
             F.null), method, F.give_up)
    F.managed_values(managed, owner, values, values_ok, F.give_up)
    values_ok.end_with_conditional(F.ne(F.band(u32, check, F.num(ABSENT, u32)), F.num(0, u32)),
                                   absent, present)
    # still absent while the shared keys have as many entries as when it was checked
    absent.end_with_conditional(
        F.eq(c.new_cast(F.band(u32, check, F.num(ABSENT - 1, u32)), long_t),
             field(field(tp, L.HT_CACHED_KEYS, vp), L.DK_NENTRIES, long_t)), method, miss)
    present.end_with_conditional(F.eq(F.word(values, c.new_cast(check, long_t)), F.null),
                                 method, F.give_up)

    # -- a miss: look the name up, fill an entry ------------------------------------
    if fill_fn is not None:
        miss.end_with_return(c.new_call(fill_fn, F.params))
        return F.fn
    fail = F.block("fail")
    fail.add_assignment_op(F.control(cache, 4), gccjit.BinaryOp.PLUS, F.num(1, u32))
    fail.end_with_return(F.null)
    found, is_method, managed_t, other_t, lazy_t, keys_ok, search, got_index, not_there, \
        fill = (F.block(x) for x in (
            "found", "is_method", "managed_t", "other_t", "lazy_t", "keys_ok", "search",
            "got_index", "not_there", "fill"))
    F.lookup_common(miss, owner, name, cache, tp, descr, fail, found)
    found.end_with_conditional(
        F.both(F.ne(descr, F.null),
               F.flag(field(field(descr, L.OB_TYPE, vp), L.TP_FLAGS, F.u64), L.TPFLAGS_METHOD_DESCRIPTOR)),
        is_method, fail)
    is_method.end_with_conditional(F.flag(field(tp, L.TP_FLAGS, F.u64), L.TPFLAGS_MANAGED_DICT),
                                   managed_t, other_t)
    # instances without a __dict__, or with one at an offset
    nodict_t = F.block("no_dict_t")
    other_t.add_assignment(offset, field(tp, L.TP_DICTOFFSET, long_t))
    other_t.end_with_conditional(F.eq(offset, F.num(0, long_t)), nodict_t, lazy_t)
    nodict_t.add_assignment(check, F.num(NO_DICT, u32))
    nodict_t.end_with_jump(fill)
    lazy_fill = F.block("lazy_fill")
    lazy_t.end_with_conditional(
        F.both(F.cmp(gccjit.Comparison.GT, offset, F.num(0, long_t)),
               F.cmp(gccjit.Comparison.LT, offset, F.num(0xFFFF, long_t))), lazy_fill, fail)
    lazy_fill.add_assignment(check, c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, u32,
                                                    c.new_cast(offset, u32), F.num(LAZY_DICT, u32)))
    lazy_fill.end_with_jump(fill)
    # instance values: the name's index among the shared keys, or absent
    F.managed_values(managed_t, owner, values, keys_ok, fail)
    keys_ok.add_assignment(keys, field(tp, L.HT_CACHED_KEYS, vp))
    keys_ok.end_with_conditional(
        F.both(F.both(F.ne(keys, F.null),
                      F.eq(field(keys, L.DK_KIND, F.u8), F.num(L.DICT_KEYS_SPLIT, F.u8))),
               F.cmp(gccjit.Comparison.LT, field(keys, L.DK_NENTRIES, long_t),
                     F.num(ABSENT >> 1, long_t))), search, fail)
    F.find_key(search, keys, name, index, got_index, not_there)
    got_index.add_assignment(check, c.new_cast(index, u32))
    got_index.end_with_jump(fill)
    not_there.add_assignment(check, c.new_binary_op(
        gccjit.BinaryOp.BITWISE_OR, u32, c.new_cast(field(keys, L.DK_NENTRIES, long_t), u32),
        F.num(ABSENT, u32)))
    not_there.end_with_jump(fill)
    F.take_entry(fill, cache, slot)
    fill.add_assignment(F.slot_entry(cache, slot, 0, u32), field(tp, L.TP_VERSION_TAG, u32))
    fill.add_assignment(F.slot_entry(cache, slot, 4, u32), check)
    fill.add_assignment(F.slot_entry(cache, slot, 8, vp), descr)
    fill.end_with_jump(hit)
    return F.fn
