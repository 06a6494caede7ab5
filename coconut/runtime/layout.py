"""Struct offsets of CPython 3.11 (x86-64), read from the 3.11.7 headers
(Include/internal/pycore_frame.h, pycore_interp.h, cpython/code.h, ...), and
verified against live objects by `verify()` at import: a wrong constant fails the
import with a clear message instead of corrupting memory later.
"""
from __future__ import annotations

import ctypes
import dis
import os
import sys
import types

# PyObject / PyVarObject
OB_REFCNT = 0
OB_TYPE = 8
OB_SIZE = 16
# PyTupleObject.ob_item, PyListObject.ob_item (a pointer), PyCellObject.ob_ref
TUPLE_ITEMS = 24
LIST_ITEMS = 24
CELL_REF = 16
# PyLongObject.ob_digit[0] (30-bit digits; ob_size is the signed digit count),
# PyFloatObject.ob_fval
LONG_DIGIT0 = 24
FLOAT_VALUE = 16
# rangeiterobject (Objects/rangeobject.c): long index, start, step, len
RANGEITER_INDEX = 16
RANGEITER_START = 24
RANGEITER_STEP = 32
RANGEITER_LEN = 40
# listiterobject / tupleiterobject: Py_ssize_t it_index, it_seq (NULL when exhausted)
SEQITER_INDEX = 16
SEQITER_SEQ = 24
# PyASCIIObject.length (every str); PyDictObject.ma_used is DICT_USED below
STR_LENGTH = 16
# PyTypeObject
TP_FLAGS = 168
# PyFunctionObject
FUNC_DEFAULTS = 56
FUNC_KWDEFAULTS = 64
FUNC_CLOSURE = 72
FUNC_ANNOTATIONS = 112
# PyCodeObject
CO_NLOCALSPLUS = 76
CO_FIRSTTRACEABLE = 168
CO_EXTRA = 176
CO_CODE_ADAPTIVE = 184
# _PyInterpreterFrame
FRAME_FUNC = 0
FRAME_GLOBALS = 8
FRAME_BUILTINS = 16
FRAME_CODE = 32
FRAME_FRAME_OBJ = 40
FRAME_PREVIOUS = 48
FRAME_PREV_INSTR = 56
FRAME_STACKTOP = 64
FRAME_LOCALSPLUS = 72
# PyFrameObject.f_frame
FRAMEOBJ_FRAME = 24
# PyThreadState
TS_INTERP = 16
TS_RECURSION_REMAINING = 32
TS_RECURSION_LIMIT = 36
TS_CFRAME = 56
TS_C_PROFILEFUNC = 64
TS_C_TRACEFUNC = 72
TS_ASYNC_EXC = 144
# PyThreadState.exc_info: the _PyErr_StackItem of the exception being handled (a
# generator's own while it runs); its exc_value (PUSH_EXC_INFO / POP_EXCEPT)
TS_EXC_INFO = 120
EXC_INFO_VALUE = 0
# _PyCFrame
FRAMEOBJ_TRACE_OPCODES = 45      # PyFrameObject.f_trace_opcodes (char)
CFRAME_USE_TRACING = 0
CFRAME_CURRENT_FRAME = 8
# PyInterpreterState.ceval (struct _ceval_state) and its eval_breaker
INTERP_CEVAL = 96
INTERP_EVAL_BREAKER = INTERP_CEVAL + 4
# PyInterpreterState.gc.generations[0]: threshold, count (the cycle collector's
# allocation count: tracked allocations minus deallocations; see gc_count_address)
INTERP_GC_GEN0_THRESHOLD = 688
INTERP_GC_GEN0_COUNT = 692

# Read by coconut_call (runtime/calls.py), which pushes a callee's frame as
# _PyEvalFramePushAndInit does and clears it as _PyEvalFrameClearAndPop does:
# PyFunctionObject, PyCodeObject's counts, PyThreadState's data stack (the chunk,
# its top and limit; _PyStackChunk.data), _PyInterpreterFrame.is_entry/owner,
# PyFrameObject.f_back and its frame data, PyMethodObject.im_func/im_self
FUNC_GLOBALS = 16
FUNC_BUILTINS = 24
FUNC_CODE = 48
FUNC_VECTORCALL = 120
CO_FLAGS = 48
CO_ARGCOUNT = 56
CO_KWONLYARGCOUNT = 64
CO_STACKSIZE = 68
TS_DATASTACK_CHUNK = 296
TS_DATASTACK_TOP = 304
TS_DATASTACK_LIMIT = 312
CHUNK_DATA = 24
FRAME_IS_ENTRY = 68
FRAME_OWNER = 69
FRAME_SPECIALS_SIZE = 9            # words: (sizeof(_PyInterpreterFrame) - 1) / 8
FRAMEOBJ_BACK = 16
FRAMEOBJ_DATA = 48
METHOD_FUNC = 16
TP_NAME = 24                       # PyTypeObject: tp_name (const char *), tp_init, tp_new
TP_INIT = 296
TP_NEW = 312
TP_ALLOC = 304
TP_FREE = 320
METHOD_SELF = 24
# Calls of C functions as 3.11's PRECALL_* specializations make them
# (lowering/ccalls.py): PyCFunctionObject.m_ml / m_self, PyMethodDef.ml_meth / ml_flags,
# PyMethodDescrObject.d_common.d_type / d_method, PyTypeObject.tp_vectorcall; the
# METH_* flags (methodobject.h)
CFUNC_ML = 16
CFUNC_SELF = 24
ML_METH = 8
ML_FLAGS = 16
DESCR_TYPE = 16
DESCR_METHOD = 40
TP_VECTORCALL = 400
METH_KEYWORDS, METH_NOARGS, METH_O, METH_FASTCALL = 0x2, 0x4, 0x8, 0x80
GC_HEAD_NEXT = -16                 # PyGC_Head._gc_next, before the object: 0 = untracked
OWNED_BY_THREAD, OWNED_BY_GENERATOR, OWNED_BY_FRAME_OBJECT = 0, 1, 2
# PyGenObject: gi_frame_state (int8_t) and gi_iframe (the generator's frame, inline).
# Native generator code reaches the state from its frame: FRAME_GEN_STATE is
# GEN_FRAME_STATE - GEN_IFRAME (negative).
GEN_FRAME_STATE = 75
GEN_IFRAME = 80
FRAME_GEN_STATE = GEN_FRAME_STATE - GEN_IFRAME
GEN_CREATED, GEN_SUSPENDED, GEN_EXECUTING = -2, -1, 0     # enum _framestate
CO_GENERATOR = 0x20
CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR = 0x80, 0x100, 0x200
# Code whose frames are suspended and resumed (a generator's, a coroutine's): their
# native entry dispatches on where the frame stopped.
CO_RESUMABLE = CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
GEN_CODE = 16                      # PyGenObject.gi_code
# The rest of _PyGenObject_HEAD (RETURN_GENERATOR's make_gen): gi_weakreflist, gi_name,
# gi_qualname, gi_exc_state {exc_value, previous_item}, gi_origin_or_finalizer,
# gi_hooks_inited, gi_closed, gi_running_async (chars, before gi_frame_state)
GEN_WEAKREFLIST, GEN_NAME, GEN_QUALNAME = 24, 32, 40
GEN_EXC_VALUE, GEN_EXC_PREVIOUS, GEN_ORIGIN_OR_FINALIZER = 48, 56, 64
GEN_HOOKS_INITED, GEN_CLOSED, GEN_RUNNING_ASYNC = 72, 73, 74
GEN_COMPLETED, GEN_CLEARED = 1, 4   # enum _framestate FRAME_COMPLETED, FRAME_CLEARED
FUNC_NAME, FUNC_QUALNAME = 32, 40  # PyFunctionObject.func_name, func_qualname
TS_CORO_ORIGIN_DEPTH = 200         # PyThreadState.coroutine_origin_tracking_depth
# On-stack replacement (runtime/osr.py): PyThreadState.tracing (the depth of trace
# calls), c_traceobj; PyFrameObject.f_lineno (fixed while a trace function runs);
# PyTracebackObject's tb_next, tb_frame, tb_lasti (an int, in bytes).
TS_TRACING = 44
TS_C_TRACEOBJ = 88
FRAMEOBJ_LINENO = 40
TB_NEXT, TB_FRAME, TB_LASTI = 16, 24, 32
TP_AS_ASYNC = 80                   # PyTypeObject.tp_as_async
# PyTypeObject.tp_as_mapping, PyMappingMethods.mp_subscript; Py_TPFLAGS_HEAPTYPE
TP_AS_MAPPING = 112
MP_SUBSCRIPT = 8
MP_ASS_SUBSCRIPT = 16
TPFLAGS_HEAPTYPE = 1 << 9
AM_AWAIT = 0                       # PyAsyncMethods.am_await
AM_AITER = 8                       # PyAsyncMethods.am_aiter (GET_AITER)
AM_ANEXT = 16                      # PyAsyncMethods.am_anext (GET_ANEXT)
TP_BASICSIZE = 32                  # PyTypeObject.tp_basicsize
# PyTypeObject.tp_as_number / tp_as_sequence, PyNumberMethods.nb_bool,
# PySequenceMethods.sq_length, PyMappingMethods.mp_length: what PyObject_IsTrue asks
TP_AS_NUMBER = 96
TP_AS_SEQUENCE = 104
NB_BOOL = 72
SQ_LENGTH = 0
MP_LENGTH = 0
ASYNC_GEN_WRAPPED_VALUE = 16       # _PyAsyncGenWrappedValue.agw_val (ASYNC_GEN_WRAP)
# PyInterpreterState.async_gen (struct _Py_async_gen_state): value_freelist[80],
# value_numfree, asend_freelist[80], asend_numfree; ASYNC_GEN_WRAP takes its wrapper
# from the first free list as _PyAsyncGenValueWrapperNew does (runtime/coroutines.py)
INTERP_ASYNC_GEN = 5816
AG_MAXFREELIST = 80
AG_VALUE_NUMFREE = 8 * AG_MAXFREELIST
AG_ASEND_FREELIST = AG_VALUE_NUMFREE + 8
AG_ASEND_NUMFREE = AG_ASEND_FREELIST + 8 * AG_MAXFREELIST

# Type flags
TPFLAGS_BASE_EXC_SUBCLASS = 1 << 30
TPFLAGS_MATCH_SELF = 1 << 22           # _Py_TPFLAGS_MATCH_SELF (MATCH_CLASS: int(x), str(s)...)
# _PyInterpreterFrame.f_locals (NULL in function frames), PyTypeObject.tp_iter,
# PyInterpreterState.import_func (the original builtins.__import__), PyDictObject.ma_used
FRAME_LOCALS = 24
TP_ITER = 216
TP_ITERNEXT = 224                 # PyTypeObject.tp_iternext (FOR_ITER's call)
TP_RICHCOMPARE = 200               # PyTypeObject.tp_richcompare
STR_LENGTH = 16                    # PyASCIIObject.length (code points)
STR_HASH = 24                      # PyASCIIObject.hash (Py_hash_t, -1: not computed yet)
INTERP_IMPORT_FUNC = 1416
DICT_USED = 16
# arrayobject (Modules/arraymodule.c): char *ob_item, Py_ssize_t allocated,
# const struct arraydescr *ob_descr; arraydescr.typecode (a char) comes first
ARRAY_ITEMS = 24
ARRAY_DESCR = 40
DESCR_TYPECODE = 0

# Read by the inline-cache fast paths (coconut/lowering/caches.py), as ceval.c's
# specialized instructions read them:
# PyTypeObject.tp_version_tag (unsigned int), PyHeapTypeObject.ht_cached_keys
TP_VERSION_TAG = 384
HT_CACHED_KEYS = 872
# Class attributes read through an instance (runtime/attributes.py): tp_getattro,
# tp_descr_get, and the flags of a type with instance values and a valid version tag
TP_GETATTRO = 144
TP_DESCR_GET = 272
TPFLAGS_MANAGED_DICT = 1 << 4
TPFLAGS_VALID_VERSION_TAG = 1 << 19
# Polymorphic attribute and method caches (runtime/pic.py): tp_descr_set (a data
# descriptor has one), tp_dictoffset, Py_TPFLAGS_METHOD_DESCRIPTOR (a function or method
# descriptor: LOAD_METHOD pushes it unbound); a member descriptor's PyMemberDef
# (PyMemberDescrObject.d_member, after PyDescr_COMMON) and its type, offset and flags
TP_DESCR_SET = 280
TP_SETATTRO = 152
TP_DICTOFFSET = 288
TPFLAGS_METHOD_DESCRIPTOR = 1 << 17
MEMBERDESCR_MEMBER = 40
MEMBERDEF_TYPE = 8
MEMBERDEF_OFFSET = 16
MEMBERDEF_FLAGS = 24
# An instance of a type with Py_TPFLAGS_MANAGED_DICT has two pointers before its header
# (pycore_object.h): _PyObject_ValuesPointer (obj - 4 words: PyDictValues *) and
# _PyObject_ManagedDictPointer (obj - 3 words: the materialized __dict__ or NULL)
OBJ_VALUES = -32
OBJ_MANAGED_DICT = -24
# PyDictObject.ma_keys; PyDictKeysObject (pycore_dict.h): dk_log2_index_bytes (uint8),
# dk_kind (uint8), dk_version (uint32), dk_indices[] (the entries follow the indices:
# DK_UNICODE_ENTRIES = dk_indices + (1 << dk_log2_index_bytes)); PyDictUnicodeEntry
# {me_key, me_value}
DICT_KEYS = 32
DICT_VERSION_TAG = 24              # uint64_t ma_version_tag (PEP 509): new on every change
DK_LOG2_INDEX_BYTES = 9
DK_KIND = 10
DK_VERSION = 12
DK_INDICES = 32
DK_NENTRIES = 24                   # Py_ssize_t: entries used (deleted ones included)
DK_UNICODE_ENTRY_SIZE = 16
DK_UNICODE_ENTRY_VALUE = 8
DICT_KEYS_UNICODE = 1
DICT_KEYS_GENERAL = 0              # (entries of hash, key, value: not read natively)
DICT_KEYS_SPLIT = 2                # a class's shared keys (ht_cached_keys): unicode entries
# PyModuleObject.md_dict
MODULE_DICT = 16
# Inline caches (pycore_code.h), in code units from the first CACHE entry after the
# instruction. _PyAttrCache: counter, version[2], index; _PyLoadMethodCache: counter,
# type_version[2], dict_offset, keys_version[2], descr[4]; _PyLoadGlobalCache: counter,
# index, module_keys_version[2], builtin_keys_version.
ATTR_CACHE_VERSION = 1
ATTR_CACHE_INDEX = 3
METHOD_CACHE_TYPE_VERSION = 1
METHOD_CACHE_KEYS_VERSION = 4
METHOD_CACHE_DESCR = 6
GLOBAL_CACHE_INDEX = 1
GLOBAL_CACHE_MODULE_VERSION = 2
GLOBAL_CACHE_BUILTIN_VERSION = 4
# _PyBinarySubscrCache: counter, type_version[2], func_version (runtime/feedback.py reads
# the type version).
SUBSCR_CACHE_TYPE_VERSION = 1
CACHE_ENTRIES = {"LOAD_ATTR": 4, "STORE_ATTR": 4, "LOAD_METHOD": 10, "LOAD_GLOBAL": 5}
# Whether native code reads the inline caches: set by verify() once the layouts above
# were checked on instructions the interpreter specialized (not when the interpreter
# cannot specialize: tracing or profiling at import), and COCONUT_INLINE_CACHES=0 turns
# it off (to bisect a miscompile, or to measure what the fast paths bring).
INLINE_CACHES = False

_api = ctypes.pythonapi
_api.PyThreadState_Get.restype = ctypes.c_void_p
_api.PyInterpreterState_Get.restype = ctypes.c_void_p


class LayoutError(ImportError):
    pass


def _ptr(addr: int) -> int:
    return ctypes.c_void_p.from_address(addr).value or 0


def _int(addr: int) -> int:
    return ctypes.c_int.from_address(addr).value


def nlocalsplus(code) -> int:
    return _int(id(code) + CO_NLOCALSPLUS)


def code_unit_address(code, offset: int) -> int:
    """The address of code unit `offset` in `co_code_adaptive`."""
    return id(code) + CO_CODE_ADAPTIVE + 2 * offset


def gc_count_address() -> int:
    """The address of the cycle collector's generation-0 allocation count (an int):
    the compiler leaves it as it found it (runtime/hook.py Runtime.compiling)."""
    return _api.PyInterpreterState_Get() + INTERP_GC_GEN0_COUNT


def slot_function(name: str) -> int:
    """The address of typeobject.c's slot_mp_subscript or slot_mp_ass_subscript
    (static): the mapping slots of a class that defines __getitem__ / __setitem__ in
    Python, which look the method up and call it."""
    offset = {"slot_mp_subscript": MP_SUBSCRIPT, "slot_mp_ass_subscript": MP_ASS_SUBSCRIPT}[name]
    return _ptr(_ptr(id(_GetItemProbe) + TP_AS_MAPPING) + offset)


def eval_breaker_address() -> int:
    return _api.PyInterpreterState_Get() + INTERP_EVAL_BREAKER


def verify() -> None:
    """Check the offsets against live objects; raise LayoutError on a mismatch."""
    global INLINE_CACHES

    def check(what, got, want):
        if got != want:
            raise LayoutError(f"coconut: struct layout check failed for {what} "
                              f"(got {got!r}, expected {want!r}); this CPython build "
                              f"is not the 3.11 layout coconut supports")

    interp = _api.PyInterpreterState_Get()
    gc_thresholds = tuple(ctypes.c_int.from_address(interp + INTERP_GC_GEN0_THRESHOLD + 24 * g).value
                          for g in range(3))
    import gc as _gc
    check("gc generation thresholds", gc_thresholds, _gc.get_threshold())
    _count = ctypes.c_int.from_address(gc_count_address())
    for _ in range(3):                 # (get_count reads the counts, then allocates)
        check("gc generation 0 count", _count.value, _gc.get_count()[0])
        _made = [{i: i} for i in range(7)]
    obj = (1, "two", 3.0)
    it = iter(range(5, 100, 3))
    next(it)
    check("rangeiterobject", tuple(ctypes.c_long.from_address(id(it) + off).value for off in
                                   (RANGEITER_INDEX, RANGEITER_START, RANGEITER_STEP,
                                    RANGEITER_LEN)), (1, 5, 3, 32))
    lit = iter([1, 2, 3])
    next(lit)
    check("listiterobject", (ctypes.c_ssize_t.from_address(id(lit) + SEQITER_INDEX).value,
                             ctypes.c_void_p.from_address(id(lit) + SEQITER_SEQ).value is not None),
          (1, True))
    used = {1: 2, 3: 4}
    check("ma_used", ctypes.c_ssize_t.from_address(id(used) + DICT_USED).value, 2)

    def truth_slots(cls):          # (nb_bool, mp_length, sq_length) present
        def slot(table, offset):
            at = _ptr(id(cls) + table)
            return bool(at) and bool(_ptr(at + offset))
        return (slot(TP_AS_NUMBER, NB_BOOL), slot(TP_AS_MAPPING, MP_LENGTH),
                slot(TP_AS_SEQUENCE, SQ_LENGTH))

    class _Bool:
        def __bool__(self):
            return True

    class _Len:
        def __len__(self):
            return 0
    check("nb_bool, mp_length, sq_length",
          (truth_slots(int), truth_slots(list), truth_slots(_Bool), truth_slots(_Len),
           truth_slots(type("Plain", (), {}))),
          ((True, False, False), (False, True, True), (True, False, False),
           (False, True, True), (False, False, False)))
    probe_dict = {"first": 1, "second": 2, "third": 3}
    del probe_dict["second"]
    probe_keys = _ptr(id(probe_dict) + DICT_KEYS)
    check("dk_nentries, dk_kind", (ctypes.c_ssize_t.from_address(probe_keys + DK_NENTRIES).value,
                                   ctypes.c_uint8.from_address(probe_keys + DK_KIND).value),
          (3, DICT_KEYS_UNICODE))
    tag = ctypes.c_uint64.from_address(id(probe_dict) + DICT_VERSION_TAG).value
    probe_dict["first"] = 0
    check("ma_version_tag", ctypes.c_uint64.from_address(id(probe_dict) + DICT_VERSION_TAG).value > tag,
          True)
    check("str length", ctypes.c_ssize_t.from_address(id("h\u00e9llo\u2603") + STR_LENGTH).value, 6)
    check("ob_digit[1]", ctypes.c_uint32.from_address(id(2**30 * 3 + 7) + LONG_DIGIT0 + 4).value, 3)
    check("ob_digit", ctypes.c_uint32.from_address(id(12345) + LONG_DIGIT0).value, 12345)
    check("ob_size of -7", ctypes.c_ssize_t.from_address(id(-7) + OB_SIZE).value, -1)
    check("ob_fval", ctypes.c_double.from_address(id(obj[2]) + FLOAT_VALUE).value, 3.0)
    check("ob_type", _ptr(id(obj) + OB_TYPE), id(tuple))
    check("ob_size", ctypes.c_ssize_t.from_address(id(obj) + OB_SIZE).value, 3)
    check("tuple items", _ptr(id(obj) + TUPLE_ITEMS + 8), id(obj[1]))
    lst = [obj]
    check("list items", _ptr(_ptr(id(lst) + LIST_ITEMS)), id(obj))
    check("tp_flags", ctypes.c_ulong.from_address(id(ValueError) + TP_FLAGS).value,
          ValueError.__flags__)
    check("BASE_EXC_SUBCLASS", bool(ValueError.__flags__ & TPFLAGS_BASE_EXC_SUBCLASS), True)
    check("MATCH_SELF", (bool(int.__flags__ & TPFLAGS_MATCH_SELF),
                         bool(object.__flags__ & TPFLAGS_MATCH_SELF)), (True, False))

    marker = object()

    def sample(a, b=obj, *, c=lst) -> 0:
        x = a
        return (lambda: marker, x)
    inner = sample(1)[0]
    check("cell ob_ref", _ptr(id(inner.__closure__[0]) + CELL_REF), id(marker))
    check("func_defaults", _ptr(id(sample) + FUNC_DEFAULTS), id(sample.__defaults__))
    check("func_kwdefaults", _ptr(id(sample) + FUNC_KWDEFAULTS), id(sample.__kwdefaults__))
    check("func_closure", _ptr(id(inner) + FUNC_CLOSURE), id(inner.__closure__))
    annotations = sample.__annotations__      # turns the stored tuple into a dict
    check("func_annotations", _ptr(id(sample) + FUNC_ANNOTATIONS), id(annotations))
    code = sample.__code__
    check("co_nlocalsplus", nlocalsplus(code), 5)      # a b c x, free var marker
    check("co_code_adaptive", ctypes.string_at(code_unit_address(code, 0), len(code.co_code)),
          code.co_code)

    check("func_code", _ptr(id(sample) + FUNC_CODE), id(code))
    check("func_globals", _ptr(id(sample) + FUNC_GLOBALS), id(sample.__globals__))
    check("func_builtins", _ptr(id(sample) + FUNC_BUILTINS), id(sample.__builtins__))
    check("vectorcall", _ptr(id(sample) + FUNC_VECTORCALL),
          ctypes.cast(_api._PyFunction_Vectorcall, ctypes.c_void_p).value)
    check("co_flags, co_argcount, co_kwonlyargcount, co_stacksize",
          tuple(_int(id(code) + o) for o in (CO_FLAGS, CO_ARGCOUNT, CO_KWONLYARGCOUNT, CO_STACKSIZE)),
          (code.co_flags, code.co_argcount, code.co_kwonlyargcount, code.co_stacksize))
    class WithInit:
        def __init__(self):
            pass
    check("tp_alloc, tp_free (so tp_init and tp_new before them)",
          (_ptr(id(WithInit) + TP_ALLOC), _ptr(id(WithInit) + TP_FREE)),
          (ctypes.cast(_api.PyType_GenericAlloc, ctypes.c_void_p).value,
           ctypes.cast(_api.PyObject_GC_Del, ctypes.c_void_p).value))
    check("tp_init, tp_new inherited and not", (_ptr(id(WithInit) + TP_NEW) == _ptr(id(object) + TP_NEW),
                                               _ptr(id(WithInit) + TP_INIT) != _ptr(id(object) + TP_INIT),
                                               _ptr(id(_Probe) + TP_INIT) == _ptr(id(WithInit) + TP_INIT)),
          (True, True, True))
    check("tp_name", ctypes.string_at(_ptr(id(WithInit) + TP_NAME)), b"WithInit")
    bound = _Probe(0).method
    check("im_func, im_self", (_ptr(id(bound) + METHOD_FUNC), _ptr(id(bound) + METHOD_SELF)),
          (id(bound.__func__), id(bound.__self__)))
    import builtins as _builtins
    ml = _ptr(id(len) + CFUNC_ML)
    check("PyCFunctionObject m_ml, m_self; PyMethodDef ml_name, ml_flags",
          (ctypes.string_at(_ptr(ml)), _int(ml + ML_FLAGS), _ptr(id(len) + CFUNC_SELF)),
          (b"len", METH_O, id(_builtins)))
    check("METH_FASTCALL | METH_KEYWORDS", _int(_ptr(id(sorted) + CFUNC_ML) + ML_FLAGS),
          METH_FASTCALL | METH_KEYWORDS)
    descr = list.__dict__["append"]
    dml = _ptr(id(descr) + DESCR_METHOD)
    check("PyMethodDescrObject d_type, d_method",
          (_ptr(id(descr) + DESCR_TYPE), ctypes.string_at(_ptr(dml)), _int(dml + ML_FLAGS)),
          (id(list), b"append", METH_O))
    check("METH_NOARGS, METH_FASTCALL",
          (_int(_ptr(id(str.upper) + DESCR_METHOD) + ML_FLAGS),
           _int(_ptr(id(dict.get) + DESCR_METHOD) + ML_FLAGS)), (METH_NOARGS, METH_FASTCALL))
    check("tp_vectorcall", (_ptr(id(dict) + TP_VECTORCALL) != 0,
                            _ptr(id(WithInit) + TP_VECTORCALL) == 0), (True, True))

    frame_obj = sys._getframe()
    iframe = _ptr(id(frame_obj) + FRAMEOBJ_FRAME)
    # read inline (a Python call would push a frame): this frame is the top one
    ts_ = _api.PyThreadState_Get()
    top = ctypes.c_void_p.from_address(ts_ + TS_DATASTACK_TOP).value
    chunk = ctypes.c_void_p.from_address(ts_ + TS_DATASTACK_CHUNK).value
    limit = ctypes.c_void_p.from_address(ts_ + TS_DATASTACK_LIMIT).value
    fcode = frame_obj.f_code
    check("datastack_top", (top - iframe) // 8,
          nlocalsplus(fcode) + fcode.co_stacksize + FRAME_SPECIALS_SIZE)
    check("datastack_chunk, datastack_limit", (chunk + CHUNK_DATA <= iframe < limit,
                                               ctypes.c_size_t.from_address(chunk + 8).value),
          (True, limit - chunk))
    check("frame owner, is_entry", (ctypes.c_uint8.from_address(iframe + FRAME_OWNER).value,
                                    ctypes.c_uint8.from_address(iframe + FRAME_IS_ENTRY).value in (0, 1)),
          (OWNED_BY_THREAD, True))
    check("f_back", _ptr(id(frame_obj) + FRAMEOBJ_BACK), 0)

    def gen_state():
        return ctypes.c_int8.from_address(id(gen) + GEN_FRAME_STATE).value

    def generator():
        yield gen_state()
    gen = generator()
    created = gen_state()
    running = next(gen)
    check("generator frame state, gi_iframe", (created, running, gen_state(),
                                               _ptr(id(gen) + GEN_IFRAME + FRAME_CODE),
                                               ctypes.c_uint8.from_address(id(gen) + GEN_IFRAME + FRAME_OWNER).value,
                                               generator.__code__.co_flags & CO_GENERATOR),
          (GEN_CREATED, GEN_EXECUTING, GEN_SUSPENDED, id(gen.gi_code), OWNED_BY_GENERATOR,
           CO_GENERATOR))
    check("gi_name, gi_qualname, gi_weakreflist, gi_exc_state",
          (_ptr(id(gen) + GEN_NAME), _ptr(id(gen) + GEN_QUALNAME), _ptr(id(gen) + GEN_WEAKREFLIST),
           _ptr(id(gen) + GEN_EXC_VALUE), _ptr(id(gen) + GEN_EXC_PREVIOUS)),
          (id(gen.__name__), id(gen.__qualname__), 0, 0, 0))
    check("func_name, func_qualname", (_ptr(id(generator) + FUNC_NAME), _ptr(id(generator) + FUNC_QUALNAME)),
          (id(generator.__name__), id(generator.__qualname__)))
    gen.close()
    check("FRAME_CLEARED after close", gen_state(), GEN_CLEARED)

    async def coroutine():
        pass
    coro = coroutine()
    check("gi_code, tp_as_async->am_await", (
        _ptr(id(coro) + GEN_CODE), _ptr(id(type(coro)) + TP_AS_ASYNC) != 0,
        _ptr(id(object) + TP_AS_ASYNC), ctypes.c_int8.from_address(id(coro) + GEN_FRAME_STATE).value),
        (id(coroutine.__code__), True, 0, GEN_CREATED))
    coro.close()

    async def agen():
        yield
    # coroutines have am_await but no am_aiter/am_anext; async generators have all three
    coro_am, agen_am = _ptr(id(type(coro)) + TP_AS_ASYNC), _ptr(id(type(agen())) + TP_AS_ASYNC)
    wrapped = ctypes.c_void_p.in_dll(_api, "_PyAsyncGenWrappedValue_Type")
    wrapped = ctypes.addressof(wrapped)
    check("_PyAsyncGenWrappedValue (PyObject_HEAD, agw_val)",
          (ctypes.string_at(_ptr(wrapped + TP_NAME)), _ptr(wrapped + TP_BASICSIZE)),
          (b"async_generator_wrapped_value", ASYNC_GEN_WRAPPED_VALUE + 8))
    probe_str = "layout-probe"
    probe_hash = hash(probe_str)          # (computed, then cached in the object)
    check("str hash", ctypes.c_ssize_t.from_address(id(probe_str) + STR_HASH).value,
          probe_hash)
    # The async generator free lists: 100 asend objects freed at once fill theirs (80);
    # the wrappers' holds only wrappers
    state = _api.PyInterpreterState_Get() + INTERP_ASYNC_GEN
    gens = [agen() for _ in range(AG_MAXFREELIST + 20)]
    sends = [g.__anext__() for g in gens]
    asend_type = id(type(sends[0]))
    del sends
    numfree = _int(state + AG_VALUE_NUMFREE)
    check("async generator free lists",
          (_int(state + AG_ASEND_NUMFREE),
           {_ptr(_ptr(state + AG_ASEND_FREELIST + 8 * k) + OB_TYPE)
            for k in range(AG_MAXFREELIST)},
           0 <= numfree <= AG_MAXFREELIST,
           {_ptr(_ptr(state + 8 * k) + OB_TYPE) for k in range(numfree)} <= {wrapped}),
          (AG_MAXFREELIST, {asend_type}, True, True))
    del gens
    check("am_aiter, am_anext", (
        _ptr(coro_am + AM_AWAIT) != 0, _ptr(coro_am + AM_AITER), _ptr(coro_am + AM_ANEXT),
        _ptr(agen_am + AM_AITER) != 0, _ptr(agen_am + AM_ANEXT) != 0), (True, 0, 0, True, True))

    def owned():
        return sys._getframe()
    done = owned()
    check("frame object's own frame data", (_ptr(id(done) + FRAMEOBJ_FRAME),
                                            ctypes.c_uint8.from_address(id(done) + FRAMEOBJ_DATA + FRAME_OWNER).value,
                                            _ptr(id(done) + FRAMEOBJ_BACK),
                                            _ptr(id(done) + GC_HEAD_NEXT) != 0),
          (id(done) + FRAMEOBJ_DATA, OWNED_BY_FRAME_OBJECT, id(frame_obj), True))
    check("frame f_code", _ptr(iframe + FRAME_CODE), id(frame_obj.f_code))
    check("frame f_globals", _ptr(iframe + FRAME_GLOBALS), id(frame_obj.f_globals))
    check("frame f_builtins", _ptr(iframe + FRAME_BUILTINS), id(frame_obj.f_builtins))
    back = frame_obj.f_back
    if back is not None:
        check("frame previous", _ptr(_ptr(iframe + FRAME_PREVIOUS) + FRAME_CODE),
              id(back.f_code))
    check("frame localsplus", _ptr(iframe + FRAME_LOCALSPLUS + 8 * frame_obj.f_code.co_varnames.index("check")), id(check))

    ts = _api.PyThreadState_Get()
    check("tstate interp", _ptr(ts + TS_INTERP), _api.PyInterpreterState_Get())
    check("recursion_limit", _int(ts + TS_RECURSION_LIMIT), sys.getrecursionlimit())
    depth0 = _int(ts + TS_RECURSION_REMAINING)

    def deeper():
        return _int(ts + TS_RECURSION_REMAINING)
    check("recursion_remaining", deeper(), depth0 - 1)
    cframe = _ptr(ts + TS_CFRAME)
    # read inline: a call to a Python helper would itself be the current frame
    current = ctypes.c_void_p.from_address(cframe + CFRAME_CURRENT_FRAME).value
    check("cframe current_frame", current, iframe)
    check("cframe use_tracing (uint8_t)", ctypes.c_uint8.from_address(cframe + CFRAME_USE_TRACING).value, int(sys.gettrace() is not None or sys.getprofile() is not None) * 255)
    check("async_exc", _ptr(ts + TS_ASYNC_EXC), 0)
    depth = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(depth + 3)
    try:
        check("coroutine_origin_tracking_depth", _int(ts + TS_CORO_ORIGIN_DEPTH), depth + 3)
    finally:
        sys.set_coroutine_origin_tracking_depth(depth)
    try:
        raise KeyError("layout probe")
    except KeyError as handled:
        # read inline, as above: sys.exc_info() is what tstate->exc_info holds (the
        # thread state's own exc_state, or a running generator's: import may run inside
        # one). The fields around it were checked just before; an aligned pointer is
        # checked before it is read.
        info = _ptr(ts + TS_EXC_INFO)
        check("exc_info is a pointer", info != 0 and info % 8 == 0, True)
        check("exc_info->exc_value",
              ctypes.c_void_p.from_address(info + EXC_INFO_VALUE).value, id(handled))
        probe_tb = handled.__traceback__
        check("traceback tb_frame, tb_lasti, tb_next",
              (_ptr(id(probe_tb) + TB_FRAME), _int(id(probe_tb) + TB_LASTI),
               _ptr(id(probe_tb) + TB_NEXT)),
              (id(probe_tb.tb_frame), probe_tb.tb_lasti, 0))
        del probe_tb
    check("tracing", _int(ts + TS_TRACING), 0)
    frame_obj.f_trace_opcodes = True
    check("f_trace_opcodes", ctypes.c_char.from_address(id(frame_obj) + FRAMEOBJ_TRACE_OPCODES).value, b"\x01")
    frame_obj.f_trace_opcodes = False
    if sys.gettrace() is None and sys.getprofile() is None:
        check("c_tracefunc", _ptr(ts + TS_C_TRACEFUNC), 0)
        check("c_profilefunc", _ptr(ts + TS_C_PROFILEFUNC), 0)
        sys.setprofile(lambda *args: None)
        profiling, tracing = ctypes.c_void_p.from_address(ts + TS_C_PROFILEFUNC).value, \
            ctypes.c_void_p.from_address(ts + TS_C_TRACEFUNC).value
        sys.setprofile(None)
        check("c_profilefunc set", (profiling is not None, tracing), (True, None))
        seen_lineno = []

        def tracer(frame, event, arg):
            if event == "line" and frame is frame_obj and not seen_lineno:
                seen_lineno.append((ctypes.c_int.from_address(id(frame) + FRAMEOBJ_LINENO).value,
                                    frame.f_lineno, _int(ts + TS_TRACING),
                                    ctypes.c_void_p.from_address(ts + TS_C_TRACEOBJ).value == id(tracer)))
            return tracer
        frame_obj.f_trace = tracer
        sys.settrace(tracer)
        try:
            _line = 1     # a line event of this frame
        finally:
            sys.settrace(None)
            frame_obj.f_trace = None
        check("f_lineno, tracing, c_traceobj under a trace function",
              seen_lineno and (seen_lineno[0][0] == seen_lineno[0][1] > 0, seen_lineno[0][2:]),
              (True, (1, True)))

    # f_locals of a frame running with explicit locals (exec with a mapping)
    seen = []

    def probe():
        f = sys._getframe(1)
        seen.append(_ptr(_ptr(id(f) + FRAMEOBJ_FRAME) + FRAME_LOCALS))
    namespace = {}
    exec("probe()", {"probe": probe}, namespace)
    check("frame f_locals", seen, [id(namespace)])
    check("tp_iter", (_ptr(id(type(iter([]))) + TP_ITER), _ptr(id(int) + TP_ITER)),
          (ctypes.cast(_api.PyObject_SelfIter, ctypes.c_void_p).value, 0))
    check("tp_iternext", (_ptr(id(type(iter([]))) + TP_ITERNEXT) != 0, _ptr(id(int) + TP_ITERNEXT),
                          _ptr(id(type((lambda: (yield))())) + TP_ITERNEXT) ==
                          _ptr(id(type(iter(()))) + TP_ITERNEXT)), (True, 0, False))
    class _Plain:
        pass

    class _Eq:
        def __eq__(self, other):
            return True
    richcompare = [_ptr(id(t) + TP_RICHCOMPARE) for t in (object, type(None), _Plain, int, _Eq)]
    check("tp_richcompare", (richcompare[0] == richcompare[1] == richcompare[2],
                             richcompare[0] in richcompare[3:], 0 in richcompare),
          (True, False, False))
    check("str length", [ctypes.c_ssize_t.from_address(id(t) + STR_LENGTH).value
                         for t in ("abc", "\u20ac" * 5, "\U0001f600" * 2)], [3, 5, 2])
    used = {1: 2, 3: 4}
    check("dict ma_used", ctypes.c_ssize_t.from_address(id(used) + DICT_USED).value, 2)
    import array
    doubles, ints = array.array("d", [1.5, -2.25]), array.array("i", [7])
    check("array ob_item", _ptr(id(doubles) + ARRAY_ITEMS), doubles.buffer_info()[0])
    check("array items", ctypes.c_double.from_address(_ptr(id(doubles) + ARRAY_ITEMS) + 8).value,
          -2.25)
    check("array typecode", [ctypes.c_char.from_address(_ptr(id(a) + ARRAY_DESCR) +
                                                         DESCR_TYPECODE).value
                             for a in (doubles, ints)], [b"d", b"i"])
    import builtins
    original_import = builtins.__dict__.get("__import__")
    if type(original_import) is type(len) and getattr(original_import, "__self__", None) is builtins:
        check("interp import_func",
              _ptr(_api.PyInterpreterState_Get() + INTERP_IMPORT_FUNC), id(original_import))

    # _ceval_state starts with recursion_limit; eval_breaker is the next int (header).
    # (A pending call would show eval_breaker set, but the interpreter consumes it
    # at the very CALL that adds it, before Python code can look.)
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(limit + 1234)
        check("interp ceval.recursion_limit",
              _int(_api.PyInterpreterState_Get() + INTERP_CEVAL), limit + 1234)
    finally:
        sys.setrecursionlimit(limit)

    INLINE_CACHES = _verify_inline_caches(check) and \
        os.environ.get("COCONUT_INLINE_CACHES", "1") not in ("0", "", "no", "false", "off")


# -- inline caches -----------------------------------------------------------------------
class _Probe:
    def __init__(self, value):
        self.first = None
        self.value = value

    def method(self):
        return self


class _SlotProbe:
    __slots__ = ("slot",)


class _DictSubclass(dict):
    pass


_PROBE_GLOBAL = ["a module global"]


def _cache_probe(obj, slotted, items):
    value = obj.value                 # LOAD_ATTR_INSTANCE_VALUE
    obj.value = value                 # STORE_ATTR_INSTANCE_VALUE
    slot = slotted.slot               # LOAD_ATTR_SLOT
    slotted.slot = slot               # STORE_ATTR_SLOT
    obj.method()                      # LOAD_METHOD_WITH_VALUES
    items.append(len(items))          # LOAD_METHOD_NO_DICT, LOAD_GLOBAL_BUILTIN
    items.append(sys.maxsize)         # LOAD_ATTR_MODULE (a name bound by an import)
    module = sys
    module.getrecursionlimit()        # LOAD_METHOD_MODULE (another name)
    return _PROBE_GLOBAL              # LOAD_GLOBAL_MODULE


class _GetItemProbe:
    def __getitem__(self, key):
        return key

    def __setitem__(self, key, value):
        self.stored = key, value


def _hint_probe(obj):
    value = obj.hinted                # LOAD_ATTR_WITH_HINT (the instance's __dict__ exists)
    obj.hinted = value                # STORE_ATTR_WITH_HINT


def _subscr_probe(obj):
    return obj[0]                     # BINARY_SUBSCR of a class with a Python __getitem__


def _u16(addr: int) -> int:
    return ctypes.c_uint16.from_address(addr).value


def _u32(addr: int) -> int:
    return ctypes.c_uint32.from_address(addr).value


def _verify_inline_caches(check) -> bool:
    """Let the interpreter specialize `_cache_probe`, then check each specialized form's
    cache fields and the object fields its guards read against the live objects. False
    (native code reads no caches) when nothing was specialized: tracing or profiling."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return False
    for name, n in CACHE_ENTRIES.items():
        check(f"cache entries of {name}", dis._inline_cache_entries[dis.opmap[name]], n)
    items: list = []
    probe, slotted = _Probe(items), _SlotProbe()
    slotted.slot = items
    # A fresh copy of the code each time: its caches start empty.
    code = _cache_probe.__code__.replace()
    fresh_probe = types.FunctionType(code, globals())
    for _ in range(10):           # quickened at the 8th call, specialized at the 9th
        fresh_probe(probe, slotted, items)
    want = {"value": ("LOAD_ATTR_INSTANCE_VALUE", "STORE_ATTR_INSTANCE_VALUE"),
            "slot": ("LOAD_ATTR_SLOT", "STORE_ATTR_SLOT"),
            "method": ("LOAD_METHOD_WITH_VALUES",), "append": ("LOAD_METHOD_NO_DICT",),
            "len": ("LOAD_GLOBAL_BUILTIN",), "_PROBE_GLOBAL": ("LOAD_GLOBAL_MODULE",),
            "maxsize": ("LOAD_ATTR_MODULE",), "getrecursionlimit": ("LOAD_METHOD_MODULE",)}
    sites = {}
    for ins in dis.get_instructions(code):
        if ins.opname in CACHE_ENTRIES and ins.argval in want:
            unit = ins.offset // 2
            form = dis._all_opname[ctypes.c_uint8.from_address(code_unit_address(code, unit)).value]
            sites[form] = code_unit_address(code, unit + 1)     # its first cache entry
    if sorted(sites) != sorted(f for forms in want.values() for f in forms):
        return False          # not specialized (a frame evaluator that traces?)

    def cache_u16(form, unit):
        return _u16(sites[form] + 2 * unit)

    def cache_u32(form, unit):
        return _u32(sites[form] + 2 * unit)

    # Types: the version tag, and PyType_Modified resets it.
    version = cache_u32("LOAD_ATTR_INSTANCE_VALUE", ATTR_CACHE_VERSION)
    check("tp_version_tag", _u32(id(_Probe) + TP_VERSION_TAG), version)
    check("tp_version_tag of a list", _u32(id(list) + TP_VERSION_TAG),
          cache_u32("LOAD_METHOD_NO_DICT", METHOD_CACHE_TYPE_VERSION))
    check("a type version is not 0", version != 0, True)
    # Instance values: values->values[index] of a managed-dict instance; no dict yet.
    values = _ptr(id(probe) + OBJ_VALUES)
    index = cache_u16("LOAD_ATTR_INSTANCE_VALUE", ATTR_CACHE_INDEX)
    check("instance values[index]", _ptr(values + 8 * index), id(items))
    check("STORE_ATTR cache = LOAD_ATTR cache",
          (cache_u32("STORE_ATTR_INSTANCE_VALUE", ATTR_CACHE_VERSION),
           cache_u16("STORE_ATTR_INSTANCE_VALUE", ATTR_CACHE_INDEX)), (version, index))
    check("insertion order of instance values (used size, order)",
          (ctypes.c_uint8.from_address(values - 2).value,
           ctypes.c_uint8.from_address(values - 3).value,
           ctypes.c_uint8.from_address(values - 4).value), (2, 0, index))
    check("no managed dict yet", _ptr(id(probe) + OBJ_MANAGED_DICT), 0)
    other = _Probe(0)
    materialized = other.__dict__
    check("managed dict", _ptr(id(other) + OBJ_MANAGED_DICT), id(materialized))
    check("no values once the dict exists", _ptr(id(other) + OBJ_VALUES), 0)
    # Slots: the member's byte offset.
    check("slot offset", _ptr(id(slotted) + cache_u16("LOAD_ATTR_SLOT", ATTR_CACHE_INDEX)),
          id(items))
    check("STORE_ATTR_SLOT cache", cache_u16("STORE_ATTR_SLOT", ATTR_CACHE_INDEX),
          cache_u16("LOAD_ATTR_SLOT", ATTR_CACHE_INDEX))
    # Methods: the borrowed descriptor; the class's shared keys and their version.
    check("LOAD_METHOD descr", _ptr(sites["LOAD_METHOD_WITH_VALUES"] + 2 * METHOD_CACHE_DESCR),
          id(_Probe.__dict__["method"]))
    check("LOAD_METHOD_NO_DICT descr", _ptr(sites["LOAD_METHOD_NO_DICT"] + 2 * METHOD_CACHE_DESCR),
          id(list.__dict__["append"]))
    check("LOAD_METHOD type version",
          cache_u32("LOAD_METHOD_WITH_VALUES", METHOD_CACHE_TYPE_VERSION), version)
    cached_keys = _ptr(id(_Probe) + HT_CACHED_KEYS)
    check("ht_cached_keys version", _u32(cached_keys + DK_VERSION),
          cache_u32("LOAD_METHOD_WITH_VALUES", METHOD_CACHE_KEYS_VERSION))
    # Class attributes through an instance (runtime/attributes.py).
    check("Py_TPFLAGS_MANAGED_DICT, Py_TPFLAGS_VALID_VERSION_TAG",
          (bool(_Probe.__flags__ & TPFLAGS_MANAGED_DICT),
           bool(_Probe.__flags__ & TPFLAGS_VALID_VERSION_TAG),
           bool(int.__flags__ & TPFLAGS_MANAGED_DICT)), (True, True, False))
    check("tp_getattro", _ptr(id(_Probe) + TP_GETATTRO),
          ctypes.cast(_api.PyObject_GenericGetAttr, ctypes.c_void_p).value)
    check("tp_descr_get", (_ptr(id(property) + TP_DESCR_GET) != 0, _ptr(id(int) + TP_DESCR_GET)),
          (True, 0))
    check("shared keys kind", ctypes.c_uint8.from_address(cached_keys + DK_KIND).value,
          DICT_KEYS_SPLIT)
    # Polymorphic caches (runtime/pic.py).
    check("tp_setattro", _ptr(id(_Probe) + TP_SETATTRO),
          ctypes.cast(_api.PyObject_GenericSetAttr, ctypes.c_void_p).value)
    check("tp_descr_set", (_ptr(id(property) + TP_DESCR_SET) != 0,
                           _ptr(id(types.FunctionType) + TP_DESCR_SET)), (True, 0))
    check("tp_dictoffset", [ctypes.c_ssize_t.from_address(id(t) + TP_DICTOFFSET).value
                            for t in (_Probe, _SlotProbe, _DictSubclass, object)],
          [t.__dictoffset__ for t in (_Probe, _SlotProbe, _DictSubclass, object)])
    check("Py_TPFLAGS_METHOD_DESCRIPTOR",
          [bool(t.__flags__ & TPFLAGS_METHOD_DESCRIPTOR)
           for t in (types.FunctionType, type(list.append), property, int)],
          [True, True, False, False])
    member = _ptr(id(_SlotProbe.__dict__["slot"]) + MEMBERDESCR_MEMBER)
    check("member descriptor (name, type, offset, flags)",
          (ctypes.string_at(_ptr(member)), ctypes.c_int.from_address(member + MEMBERDEF_TYPE).value,
           ctypes.c_ssize_t.from_address(member + MEMBERDEF_OFFSET).value,
           ctypes.c_int.from_address(member + MEMBERDEF_FLAGS).value),
          (b"slot", 16, cache_u16("LOAD_ATTR_SLOT", ATTR_CACHE_INDEX), 0))
    check("member descriptor's d_type", _ptr(id(_SlotProbe.__dict__["slot"]) + DESCR_TYPE),
          id(_SlotProbe))

    # Globals: keys versions and the unicode entries of the globals and builtins dicts.
    def entry(keys, index):
        entries = keys + DK_INDICES + (1 << ctypes.c_uint8.from_address(
            keys + DK_LOG2_INDEX_BYTES).value)
        at = entries + DK_UNICODE_ENTRY_SIZE * index
        return _ptr(at), _ptr(at + DK_UNICODE_ENTRY_VALUE)

    # Attributes in an instance's materialized __dict__: the hint is the entry's index.
    hinted = _Probe(0)
    hinted.__dict__ = {"other": 1, "hinted": ["a value"]}     # a combined dict
    hint_code = _hint_probe.__code__.replace()
    hint_probe = types.FunctionType(hint_code, globals())
    for _ in range(10):
        hint_probe(hinted)
    hint_sites = {}
    for ins in dis.get_instructions(hint_code):
        if ins.opname in ("LOAD_ATTR", "STORE_ATTR"):
            unit = ins.offset // 2
            form = dis._all_opname[ctypes.c_uint8.from_address(code_unit_address(hint_code, unit)).value]
            hint_sites[form] = code_unit_address(hint_code, unit + 1)
    check("attribute forms of a materialized __dict__", sorted(hint_sites),
          ["LOAD_ATTR_WITH_HINT", "STORE_ATTR_WITH_HINT"])
    hkeys = _ptr(_ptr(id(hinted) + OBJ_MANAGED_DICT) + DICT_KEYS)
    check("instance dict keys kind", ctypes.c_uint8.from_address(hkeys + DK_KIND).value,
          DICT_KEYS_UNICODE)
    general = {1: 2}                   # (kept alive while its keys are read)
    check("general keys kind", ctypes.c_uint8.from_address(_ptr(id(general) + DICT_KEYS) +
                                                          DK_KIND).value, DICT_KEYS_GENERAL)
    for form in ("LOAD_ATTR_WITH_HINT", "STORE_ATTR_WITH_HINT"):
        check(f"{form} hint", entry(hkeys, _u16(hint_sites[form] + 2 * ATTR_CACHE_INDEX)),
              (id("hinted"), id(hinted.hinted)))
        check(f"{form} type version", _u32(hint_sites[form] + 2 * ATTR_CACHE_VERSION),
              _u32(id(_Probe) + TP_VERSION_TAG))
    gkeys = _ptr(id(globals()) + DICT_KEYS)
    check("globals keys kind", ctypes.c_uint8.from_address(gkeys + DK_KIND).value,
          DICT_KEYS_UNICODE)
    check("globals keys version", _u32(gkeys + DK_VERSION),
          cache_u32("LOAD_GLOBAL_MODULE", GLOBAL_CACHE_MODULE_VERSION))
    check("LOAD_GLOBAL_BUILTIN module version",
          cache_u32("LOAD_GLOBAL_BUILTIN", GLOBAL_CACHE_MODULE_VERSION),
          _u32(gkeys + DK_VERSION))
    check("global entry", entry(gkeys, cache_u16("LOAD_GLOBAL_MODULE", GLOBAL_CACHE_INDEX)),
          (id("_PROBE_GLOBAL"), id(_PROBE_GLOBAL)))
    import builtins
    bkeys = _ptr(id(builtins.__dict__) + DICT_KEYS)
    check("builtins keys version", _u32(bkeys + DK_VERSION),
          cache_u16("LOAD_GLOBAL_BUILTIN", GLOBAL_CACHE_BUILTIN_VERSION))
    check("builtin entry", entry(bkeys, cache_u16("LOAD_GLOBAL_BUILTIN", GLOBAL_CACHE_INDEX))[1],
          id(len))
    check("module md_dict", _ptr(id(sys) + MODULE_DICT), id(sys.__dict__))
    mkeys = _ptr(id(sys.__dict__) + DICT_KEYS)
    check("LOAD_ATTR_MODULE keys version", _u32(mkeys + DK_VERSION),
          cache_u32("LOAD_ATTR_MODULE", ATTR_CACHE_VERSION))
    check("LOAD_ATTR_MODULE entry",
          entry(mkeys, cache_u16("LOAD_ATTR_MODULE", ATTR_CACHE_INDEX))[1], id(sys.maxsize))
    check("LOAD_METHOD_MODULE entry",
          entry(mkeys, cache_u16("LOAD_METHOD_MODULE", ATTR_CACHE_INDEX))[1],
          id(sys.getrecursionlimit))
    # mp_subscript of a class with a Python __getitem__ (slot_mp_subscript): called, it
    # calls the method; a heap type.
    subscript = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object, ctypes.py_object)(
        slot_function("slot_mp_subscript"))
    check("slot_mp_subscript", subscript(_GetItemProbe(), "key"), "key")
    assign = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.py_object, ctypes.py_object)(
        slot_function("slot_mp_ass_subscript"))
    stored = _GetItemProbe()
    check("slot_mp_ass_subscript", (assign(stored, "key", "value"), stored.stored),
          (0, ("key", "value")))
    check("heap type flag", bool(ctypes.c_ulong.from_address(id(_GetItemProbe) + TP_FLAGS).value
                                 & TPFLAGS_HEAPTYPE), True)
    check("static type flag", bool(ctypes.c_ulong.from_address(id(dict) + TP_FLAGS).value
                                   & TPFLAGS_HEAPTYPE), False)
    # BINARY_SUBSCR of a class with a Python __getitem__: the specializer writes the
    # class's type version into the cache whether it then specializes
    # (BINARY_SUBSCR_GETITEM) or refuses (under a frame-evaluation hook: adaptive).
    code = _subscr_probe.__code__.replace()
    fresh_probe = types.FunctionType(code, globals())
    getitem_probe = _GetItemProbe()
    for _ in range(10):
        fresh_probe(getitem_probe)
    subscr = next(ins for ins in dis.get_instructions(code) if ins.opname == "BINARY_SUBSCR")
    unit = subscr.offset // 2
    form = dis._all_opname[ctypes.c_uint8.from_address(code_unit_address(code, unit)).value]
    if form not in ("BINARY_SUBSCR_GETITEM", "BINARY_SUBSCR_ADAPTIVE"):
        return False
    check("BINARY_SUBSCR's cached type version",
          _u32(code_unit_address(code, unit + 1) + 2 * SUBSCR_CACHE_TYPE_VERSION),
          _u32(id(_GetItemProbe) + TP_VERSION_TAG))
    # A class attribute assigned: PyType_Modified drops the version (the guard then fails).
    _Probe.marker = None
    check("tp_version_tag after a type change", _u32(id(_Probe) + TP_VERSION_TAG), 0)
    del _Probe.marker
    return True
