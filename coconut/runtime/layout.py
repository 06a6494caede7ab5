"""Struct offsets of CPython 3.11 (x86-64), read from the 3.11.7 headers
(Include/internal/pycore_frame.h, pycore_interp.h, cpython/code.h, ...), and
verified against live objects by `verify()` at import: a wrong constant fails the
import with a clear message instead of corrupting memory later.
"""
from __future__ import annotations

import ctypes
import sys

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
# _PyCFrame
FRAMEOBJ_TRACE_OPCODES = 45      # PyFrameObject.f_trace_opcodes (char)
CFRAME_USE_TRACING = 0
CFRAME_CURRENT_FRAME = 8
# PyInterpreterState.ceval (struct _ceval_state) and its eval_breaker
INTERP_CEVAL = 96
INTERP_EVAL_BREAKER = INTERP_CEVAL + 4

# Type flags
TPFLAGS_BASE_EXC_SUBCLASS = 1 << 30
# _PyInterpreterFrame.f_locals (NULL in function frames), PyTypeObject.tp_iter,
# PyInterpreterState.import_func (the original builtins.__import__), PyDictObject.ma_used
FRAME_LOCALS = 24
TP_ITER = 216
INTERP_IMPORT_FUNC = 1416
DICT_USED = 16

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


def eval_breaker_address() -> int:
    return _api.PyInterpreterState_Get() + INTERP_EVAL_BREAKER


def verify() -> None:
    """Check the offsets against live objects; raise LayoutError on a mismatch."""
    def check(what, got, want):
        if got != want:
            raise LayoutError(f"coconut: struct layout check failed for {what} "
                              f"(got {got!r}, expected {want!r}); this CPython build "
                              f"is not the 3.11 layout coconut supports")

    obj = (1, "two", 3.0)
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

    frame_obj = sys._getframe()
    iframe = _ptr(id(frame_obj) + FRAMEOBJ_FRAME)
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
    check("dict ma_used", ctypes.c_ssize_t.from_address(id({1: 2, 3: 4}) + DICT_USED).value, 2)
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
