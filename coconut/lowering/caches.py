"""Fast paths that read CPython 3.11's inline caches at run time.

A function is usually compiled after it ran in the interpreter, so its code's
`co_code_adaptive` holds the instructions the interpreter specialized (PEP 659): a
LOAD_ATTR may have become LOAD_ATTR_INSTANCE_VALUE, with the type version it is valid for
and the index of the value in the instance's values array in the CACHE entries after it.

What is compiled: for an instruction the interpreter has specialized to a form listed in
FORMS when the function is compiled, a fast path for that form; for any other, nothing
but the rule's generic path (code for what the interpreter saw run, none for the paths
it did not see or could not specialize: gcc's time grows with the code).

What runs: the fast path reads the instruction's opcode byte in `co_code_adaptive`
(through `frame->f_code`) and, while it is still that form, the form's cache entries,
and applies exactly the guards of the form's TARGET in ceval.c. A changed form and any
failed guard go to the generic path, never to a deopt: the interpreter's own caches
promise that the fast path computes what the generic path would.

The cache entries are read when the code runs, not copied into the code: the code holds
no process-specific value (the on-disk cache keeps working), and it follows the
interpreter when it specializes the instruction again for another type version or keys
version (the interpreter runs the rest of a call after a deopt, and the function's frames
under a tracer).

Each form helper emits into the builder's current block, jumps to `miss` when the cache
does not serve, and otherwise goes on in the current block. The offsets and cache
layouts are in `coconut/runtime/layout.py`, checked at import on instructions the
interpreter specialized; `L.INLINE_CACHES` is False (no fast paths) when that check could
not run, or with COCONUT_INLINE_CACHES=0.
"""
from __future__ import annotations

import dis
import os
import types

from ..ir import ops
from ..ir.ops import Cond, NULL
from ..runtime import feedback, layout as L


def snapshot(cfg) -> dict[int, str]:
    """{instruction offset: form} of the instructions of `cfg` that the interpreter has
    specialized to a form with a fast path, now (runtime/feedback.py, which keeps FORMS)."""
    return feedback.snapshot(cfg.code, cfg.instructions)


def fast_path(b, ins, emit, join: str, dst, own=None) -> None:
    """The fast path of the form the interpreter had specialized `ins` to when the
    function was compiled (b.cache_forms, a snapshot): `dst = emit(form, miss)` then
    `goto join`; the builder goes on in the miss block, where the rule emits its
    generic path. An instruction that was not specialized to a form with a fast path
    (it never ran, or the interpreter found nothing to specialize) gets only the
    generic path: no code for what the interpreter did not see run. `own(miss)`, where
    the site has a cache of compiled code's own (pic_site: a polymorphic cache), is
    tried after the form's and before the generic path: its value, or `miss`."""
    form = b.cache_forms.get(ins.offset)
    if form is None and class_attr_site(b, ins):
        form = "class attribute"       # (compiled code's own cache: class_attr)
    own = own if own is not None and pic_site(b.cache_forms, b.cfg.code, ins) else None
    if form is None and own is None:
        return
    for make in ((lambda miss: emit(form, miss)) if form is not None else None, own):
        if make is None:
            continue
        miss = b.new_block("generic")
        result = make(miss.name)
        if dst is not None:
            b.emit(ops.Assign(dst, result))
        b.terminate(ops.Jump(join))
        b.current = miss
    b.observe_slow()                   # the generic path may run code


# -- reading the instruction and its cache -------------------------------------------------
def _unit(ins) -> int:
    """The code unit of the instruction itself (after its EXTENDED_ARG prefixes)."""
    return ins.offset + ins.size - 1 - L.CACHE_ENTRIES[ins.name]


def _cache(b, ins, ctype: str, field: int):
    """A cache field, `field` code units after the first CACHE entry (read_u32 and
    read_obj read unaligned little-endian values: plain loads on x86-64)."""
    return b.load(ctype, b.code_object(), L.CO_CODE_ADAPTIVE + 2 * (_unit(ins) + 1 + field))


def _check_form(b, ins, form: str, miss: str) -> None:
    """Miss when the instruction is no longer `form` (the interpreter may have gone
    back to the adaptive form, or specialized it otherwise, since the code was
    compiled); its cache entries then mean something else."""
    opcode = b.load("byte", b.code_object(), L.CO_CODE_ADAPTIVE + 2 * _unit(ins))
    b.split(Cond("!=", opcode, ops.IntConst(dis._all_opmap[form], "byte")), miss, hint="same_form")


def _type_version_guard(b, ins, tp, field: int, miss: str) -> None:
    """Miss when tp->tp_version_tag != read_u32(cache->version) (ceval's DEOPT_IF).
    ceval asserts that a cached version is not 0; native code checks it, since
    PyType_Modified sets a modified type's tag to 0 and a 0 would match them all."""
    version = _cache(b, ins, "u32", field)
    b.split(Cond("==", version, ops.IntConst(0, "u32")), miss, hint="versioned")
    b.split(Cond("!=", b.load("u32", tp, L.TP_VERSION_TAG), version), miss, hint="type_ok")


def _attr_address(b, form: str, owner, index, miss: str):
    """(address of the attribute, values): `&values->values[index]` with `values =
    *_PyObject_ValuesPointer(owner)`, NULL -> miss, for the *_INSTANCE_VALUE forms;
    `(char *)owner + index` for the *_SLOT forms (values None)."""
    addr = b.temp("ptr", "attr")
    if form.endswith("_SLOT"):
        b.emit(ops.PtrAdd(addr, owner, index))
        return addr, None
    values = b.load("ptr", owner, L.OBJ_VALUES)
    b.split(Cond("==", values, NULL), miss, hint="has_values")
    offset = b.temp("ssize")
    b.emit(ops.BinArith(offset, "*", index, ops.IntConst(8, "ssize")))
    b.emit(ops.PtrAdd(addr, values, offset))
    return addr, values


def _unicode_entry(b, keys, index):
    """&DK_UNICODE_ENTRIES(keys)[index] - DK_INDICES (its me_key is at DK_INDICES, its
    me_value at DK_INDICES + DK_UNICODE_ENTRY_VALUE): the entries follow the
    (1 << dk_log2_index_bytes) bytes of indices."""
    log2 = b.load("byte", keys, L.DK_LOG2_INDEX_BYTES)
    indices, entry, offset = b.temp("ssize"), b.temp("ssize"), b.temp("ssize")
    b.emit(ops.BinArith(indices, "<<", ops.IntConst(1, "ssize"), log2))
    b.emit(ops.BinArith(entry, "*", index, ops.IntConst(L.DK_UNICODE_ENTRY_SIZE, "ssize")))
    b.emit(ops.BinArith(offset, "+", indices, entry))
    at = b.temp("ptr", "entry")
    b.emit(ops.PtrAdd(at, keys, offset))
    return at


def _unicode_entry_value(b, keys, index):
    """DK_UNICODE_ENTRIES(keys)[index].me_value."""
    return b.load("obj", _unicode_entry(b, keys, index), L.DK_INDICES + L.DK_UNICODE_ENTRY_VALUE)


def _hinted_entry(b, ins, owner, miss: str):
    """The guards of TARGET(LOAD_ATTR_WITH_HINT) and TARGET(STORE_ATTR_WITH_HINT) after
    the type version: the instance's materialized __dict__ (its managed dict pointer,
    not NULL), the cached hint below its keys' dk_nentries, unicode keys (general keys,
    which ceval reads too, miss here), the entry's key the instruction's name (the
    same object). Returns (the dict, the entry's address - DK_INDICES)."""
    d = b.load("obj", owner, L.OBJ_MANAGED_DICT)
    b.split(Cond("==", d, NULL), miss, hint="has_dict")
    keys = b.load("ptr", d, L.DICT_KEYS)
    hint = b.temp("ssize")
    b.emit(ops.Assign(hint, _cache(b, ins, "u16", L.ATTR_CACHE_INDEX)))
    b.split(Cond(">=", hint, b.load("ssize", keys, L.DK_NENTRIES)), miss, hint="hint_in_range")
    b.split(Cond("==", b.load("byte", keys, L.DK_KIND),
                 ops.IntConst(L.DICT_KEYS_GENERAL, "byte")), miss, hint="unicode_keys")
    entry = _unicode_entry(b, keys, hint)
    b.split(Cond("!=", b.load("obj", entry, L.DK_INDICES), b.const(b.code.co_names[ins.arg])),
            miss, hint="same_key")
    return d, entry


# -- the forms -----------------------------------------------------------------------------
def load_attr(b, ins, form: str, owner, miss: str):
    """TARGET(LOAD_ATTR_INSTANCE_VALUE) / TARGET(LOAD_ATTR_SLOT): the type version,
    then `values->values[index]` (values not NULL) / `*(owner + index)`; a NULL value
    misses. TARGET(LOAD_ATTR_WITH_HINT): the type version, then the value of the
    entry at the hint in the instance's __dict__ (see _hinted_entry), NULL -> miss.
    TARGET(LOAD_ATTR_MODULE): see _module_attr. Returns the value, borrowed."""
    _check_form(b, ins, form, miss)
    if form == "LOAD_ATTR_MODULE":
        return _module_attr(b, ins, owner, miss)
    _type_version_guard(b, ins, b.load("ptr", owner, L.OB_TYPE), L.ATTR_CACHE_VERSION, miss)
    if form == "LOAD_ATTR_WITH_HINT":
        _, entry = _hinted_entry(b, ins, owner, miss)
        value = b.load("obj", entry, L.DK_INDICES + L.DK_UNICODE_ENTRY_VALUE)
        b.split(Cond("==", value, NULL), miss, hint="hit")
        return value
    index = _cache(b, ins, "u16", L.ATTR_CACHE_INDEX)
    addr, _ = _attr_address(b, form, owner, index, miss)
    value = b.load("obj", addr, 0)
    b.split(Cond("==", value, NULL), miss, hint="hit")
    return value


def store_attr(b, ins, form: str, owner, value, miss: str) -> None:
    """TARGET(STORE_ATTR_INSTANCE_VALUE) / TARGET(STORE_ATTR_SLOT): the type version
    (and values not NULL), then store `value` (the reference is stolen) and release the
    old value. A first value in an instance's values array is added to its insertion
    order (_PyDictValues_AddToInsertionOrder); the old value of a slot may be NULL
    (Py_XDECREF). `owner` is left to the caller."""
    _check_form(b, ins, form, miss)
    _type_version_guard(b, ins, b.load("ptr", owner, L.OB_TYPE), L.ATTR_CACHE_VERSION, miss)
    if form == "STORE_ATTR_WITH_HINT":
        _store_hinted(b, ins, owner, value, miss)
        return
    index = _cache(b, ins, "u16", L.ATTR_CACHE_INDEX)
    addr, values = _attr_address(b, form, owner, index, miss)
    old = b.load("obj", addr, 0)
    b.emit(ops.Store(addr, 0, value))
    if values is None:
        b.xdecref(old)
        return
    release, done = b.new_block("release_old"), b.new_block("stored")
    b.split(Cond("!=", old, NULL), release.name, hint="first_value")
    # _PyDictValues_AddToInsertionOrder(values, index): size = ++values[-2] (a byte);
    # ((uint8_t *)values)[-2 - size] = index.
    size, delta, at = b.temp("ssize"), b.temp("ssize"), b.temp("ptr")
    b.emit(ops.BinArith(size, "+", b.load("byte", values, -2), ops.IntConst(1, "ssize")))
    b.emit(ops.BinArith(delta, "-", ops.IntConst(-2, "ssize"), size))
    b.emit(ops.PtrAdd(at, values, delta))
    b.emit(ops.Store(at, 0, index, "byte"))
    b.emit(ops.Store(values, -2, size, "byte"))
    b.terminate(ops.Jump(done.name))
    release.ops.append(ops.Decref(old))
    release.terminator = ops.Jump(done.name)
    b.current = done


def _store_hinted(b, ins, owner, value, miss: str) -> None:
    """TARGET(STORE_ATTR_WITH_HINT) where its guards hold (see _hinted_entry; the old
    value not NULL): ceval replaces the entry's value, tracks the dict for the cycle
    collector if the value may need it, and gives the dict a new PEP 509 version from
    a counter libpython does not export. PyDict_SetItem(dict, name, value) does all
    three for a key that is there (an exact str: no code runs, no resize). The old
    value is held across it and released here, where a deallocation that may run code
    materializes first; `value` is released (PyDict_SetItem took its own)."""
    d, entry = _hinted_entry(b, ins, owner, miss)
    old = b.load("obj", entry, L.DK_INDICES + L.DK_UNICODE_ENTRY_VALUE)
    b.split(Cond("==", old, NULL), miss, hint="has_old")
    b.incref(old)
    err = b.call("PyDict_SetItem", d, b.const(b.code.co_names[ins.arg]), value)
    b.decref(value)
    b.decref(old)
    failed = b.new_block("set_failed")          # (only a failed resize: not here)
    b.split(Cond("!=", err, b.int(0)), failed.name, hint="set")
    cont = b.current
    b.current = failed
    b.decref(owner)                             # (the rule releases it after the join)
    b.error_if(Cond("!=", err, b.int(0)))
    b.terminate(ops.Jump(cont.name))
    b.current = cont


def _module_attr(b, ins, owner, miss: str):
    """LOAD_MODULE_ATTR_OR_METHOD (LOAD_ATTR_MODULE, LOAD_METHOD_MODULE): an exact
    module whose md_dict has its keys at the cached version (that dict has no
    __getattr__: specialization checked), then the value of the unicode entry at the
    cached index, NULL -> miss. Both caches have _PyAttrCache's layout."""
    b.split(Cond("!=", b.load("ptr", owner, L.OB_TYPE), b.const(types.ModuleType)), miss,
            hint="module")
    keys = b.load("ptr", b.load("obj", owner, L.MODULE_DICT), L.DICT_KEYS)
    b.split(Cond("!=", b.load("u32", keys, L.DK_VERSION),
                 _cache(b, ins, "u32", L.ATTR_CACHE_VERSION)), miss, hint="keys_ok")
    value = _unicode_entry_value(b, keys, _cache(b, ins, "u16", L.ATTR_CACHE_INDEX))
    b.split(Cond("==", value, NULL), miss, hint="hit")
    return value


def load_method(b, ins, form: str, owner, miss: str):
    """TARGET(LOAD_METHOD_WITH_VALUES) / TARGET(LOAD_METHOD_NO_DICT): the type version;
    WITH_VALUES also: no materialized __dict__, and the class's shared keys at the
    cached version (no instance attribute can shadow the method). Returns the cached
    method descriptor, borrowed (the caller pushes (descr, owner)).
    TARGET(LOAD_METHOD_MODULE): the module attribute (see _module_attr), borrowed (the
    caller pushes (NULL, attribute))."""
    _check_form(b, ins, form, miss)
    if form == "LOAD_METHOD_MODULE":
        return _module_attr(b, ins, owner, miss)
    tp = b.load("ptr", owner, L.OB_TYPE)
    _type_version_guard(b, ins, tp, L.METHOD_CACHE_TYPE_VERSION, miss)
    if form == "LOAD_METHOD_WITH_VALUES":
        b.split(Cond("!=", b.load("ptr", owner, L.OBJ_MANAGED_DICT), NULL), miss, hint="no_dict")
        keys = b.load("ptr", tp, L.HT_CACHED_KEYS)
        b.split(Cond("!=", b.load("u32", keys, L.DK_VERSION),
                     _cache(b, ins, "u32", L.METHOD_CACHE_KEYS_VERSION)), miss, hint="keys_ok")
    return _cache(b, ins, "obj", L.METHOD_CACHE_DESCR)


# -- compiled code's own caches --------------------------------------------------------
def class_attr_site(b, ins) -> bool:
    """Whether LOAD_ATTR `ins` gets the class-attribute path (class_attr): the
    interpreter ran it and could not specialize it (3.11 has no form for a plain class
    attribute read through an instance; feedback.failed_to_specialize), and no fast
    path of a form is compiled for it."""
    return (ins.name == "LOAD_ATTR" and L.INLINE_CACHES and ins.offset not in b.cache_forms
            and feedback.failed_to_specialize(b.cfg.code, ins))


def class_attr(b, ins, owner, miss: str):
    """A plain value of the owner's class, read through the instance (what 3.12's
    LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES reads), from the site's own cache
    (ops.SiteCache: u32 type version, u32 shared-keys version, the value): while the
    owner's type has that version, the owner has its values and no __dict__, and the
    class's shared keys have that version (runtime/attributes.py says why that is
    exact). Else coconut_class_attr checks it all and fills the cache (it runs no code);
    NULL, or a site it gave up on: `miss`. Returns the value, borrowed."""
    from ..runtime.attributes import GIVEN_UP
    cache = ops.SiteCache(b.ir.site_caches)
    b.ir.site_caches += 1
    fill, got = b.new_block("class_attr_fill"), b.new_block("class_attr")
    value = b.temp("obj", "class_attr")
    tp = b.load("ptr", owner, L.OB_TYPE)
    version = b.load("u32", cache, 0)
    b.split(Cond("==", version, ops.IntConst(0, "u32")), fill.name, hint="cached")
    b.split(Cond("!=", b.load("u32", tp, L.TP_VERSION_TAG), version), fill.name, hint="same_type")
    b.split(Cond("!=", b.load("ptr", owner, L.OBJ_MANAGED_DICT), NULL), miss, hint="no_dict")
    b.split(Cond("==", b.load("ptr", owner, L.OBJ_VALUES), NULL), miss, hint="has_values")
    keys = b.load("ptr", tp, L.HT_CACHED_KEYS)
    b.split(Cond("!=", b.load("u32", keys, L.DK_VERSION), b.load("u32", cache, 4)), fill.name,
            hint="same_keys")
    b.emit(ops.Assign(value, b.load("obj", cache, 8)))
    b.terminate(ops.Jump(got.name))
    b.current = fill
    b.split(Cond("==", b.load("u32", cache, 4), ops.IntConst(GIVEN_UP, "u32")), miss,
            hint="not_given_up")
    found = b.call("coconut_class_attr", owner, b.const(b.code.co_names[ins.arg]), cache)
    b.split(Cond("==", found, NULL), miss, hint="class_attr")
    b.emit(ops.Assign(value, found))
    b.terminate(ops.Jump(got.name))
    b.current = got
    return value


# -- compiled code's own polymorphic caches (runtime/pic.py) --------------------------------
PIC = os.environ.get("COCONUT_PIC", "1") not in ("0", "", "no", "off", "false")


def pic_site(forms: dict, code, ins) -> bool:
    """Whether LOAD_ATTR / LOAD_METHOD / STORE_ATTR `ins` gets a polymorphic cache of
    its own (attr_pic / method_pic / store_pic): one without a form (it had not run when the code was
    compiled, or another type came each time the interpreter tried), but not a LOAD_ATTR
    the interpreter ran and could not specialize (a property, a class attribute:
    class_attr's sites); and, after its form's fast path, one whose form has missed in
    the interpreter (feedback.missed: another type came; this variant is keyed by
    them, jit._build_native_steps). A form that never missed gets none: the code on
    its cold path is not free (gcc lays out and allocates registers around it)."""
    if not (PIC and L.INLINE_CACHES) or ins.name not in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR"):
        return False
    form = forms.get(ins.offset)
    if form is None:
        return not (ins.name == "LOAD_ATTR" and feedback.failed_to_specialize(code, ins))
    return form not in ("LOAD_ATTR_MODULE", "LOAD_METHOD_MODULE") and feedback.missed(code, ins)


def _pic_cache(b, size: int, miss: str):
    """Consecutive site-cache slots for `size` bytes (ops.SiteCache: zeroed words); a
    site given up (its failure count, the last u32, at PIC_GIVE_UP) goes to `miss`
    without a call."""
    from ..runtime.pic import PIC_GIVE_UP
    cache = ops.SiteCache(b.ir.site_caches)
    b.ir.site_caches += -(-size // (8 * ops.SITE_CACHE_WORDS))
    b.split(Cond(">=", b.load("u32", cache, size - 4), ops.IntConst(PIC_GIVE_UP, "u32")), miss,
            hint="pic_given_up")
    return cache


def attr_pic(b, ins, owner, miss: str):
    """The attribute from the site's polymorphic cache (coconut_attr_pic: instance
    values and slots of up to PIC_ENTRIES types), borrowed; NULL: `miss`."""
    from ..runtime.pic import PIC_ATTR_BYTES
    cache = _pic_cache(b, PIC_ATTR_BYTES, miss)
    got = b.call("coconut_attr_pic", owner, b.const(b.code.co_names[ins.arg]), cache)
    b.split(Cond("==", got, NULL), miss, hint="pic")
    return got


def method_pic(b, ins, owner, miss: str):
    """The unbound method from the site's polymorphic cache (coconut_method_pic),
    borrowed; NULL: `miss`."""
    from ..runtime.pic import PIC_METHOD_BYTES
    cache = _pic_cache(b, PIC_METHOD_BYTES, miss)
    got = b.call("coconut_method_pic", owner, b.const(b.code.co_names[ins.arg]), cache)
    b.split(Cond("==", got, NULL), miss, hint="pic")
    return got


def store_pic(b, ins, owner, value, miss: str):
    """STORE_ATTR through the site's polymorphic cache (coconut_store_pic): stored (the
    value's reference taken, the old value released here), or `miss` with nothing
    done."""
    from ..runtime.pic import PIC_ATTR_BYTES
    cache = _pic_cache(b, PIC_ATTR_BYTES, miss)
    stored = b.temp("int", "stored")
    b.emit(ops.Assign(stored, b.int(0)))
    old = b.call("coconut_store_pic", owner, b.const(b.code.co_names[ins.arg]), value,
                 cache, ops.AddressOf(stored))
    b.split(Cond("==", stored, b.int(0)), miss, hint="pic")
    b.xdecref(old)


# -- compiled code's own LOAD_GLOBAL cache (runtime/namespaces.py) -------------------------
def global_cached(b, globals_, builtins, slot, miss: str):
    """The value the site's cache `slot` (ops.SiteCache, filled by coconut_load_global)
    holds, while it is still the answer: `slot[0]` is the globals dict's version tag
    (PEP 509's ma_version_tag) and `slot[1]` the builtins dict's when the value
    `slot[2]` was looked up in them. Any change of a dict gives it a new tag from one
    process-wide counter (never reused, never 0), so equal tags mean these very dicts,
    unchanged since: the name is where it was and the value (borrowed from the dict) is
    alive. Both are exact dicts then (only exact dicts fill the cache; the builtins'
    type is checked before reading its tag, as it may be any object). Else `miss`."""
    b.split(Cond("!=", b.load("u64", globals_, L.DICT_VERSION_TAG), b.load("u64", slot, 0)),
            miss, hint="globals_same")
    b.split(Cond("!=", b.load("ptr", builtins, L.OB_TYPE), b.const(dict)), miss,
            hint="builtins_dict")
    b.split(Cond("!=", b.load("u64", builtins, L.DICT_VERSION_TAG), b.load("u64", slot, 8)),
            miss, hint="builtins_same")
    return b.load("obj", slot, 16)
