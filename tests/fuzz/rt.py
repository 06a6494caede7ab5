"""Run-time support shared by generated fuzz programs and the fuzz runner.

* ``canon(v)``: a JSON-able, type-exact description of a value that never runs program
  code (no ``==``, no ``repr`` of program objects). Floats are described by their bit
  pattern *and* their repr, so -0.0 != 0.0 and nan payloads/signs differ; memory
  addresses are cut out of every string.
* ``snap(frame)``: what a program hook (``__eq__``, ``__add__``, ``__del__``) saw of the
  frame that triggered it: function name, line and ``f_locals``, canonicalized at once
  (the log keeps no reference to program objects). Frames outside generated programs
  (the runner's) are recorded by name only.

Generated programs import ``snap`` from here; their file names start with ``<fuzz``.
"""
import os
import re
import struct
import types

PROGRAM_FILE_PREFIX = "<fuzz"
# COCONUT_FUZZ_LOOSE_NAN=1 (run.py --loose-nan): every NaN compares equal to every other,
# whatever its sign and payload; for hunting other bugs while NaN-sign ones are open.
LOOSE_NAN = os.environ.get("COCONUT_FUZZ_LOOSE_NAN", "") not in ("", "0")
_ADDR = re.compile(r"0x[0-9a-fA-F]{6,}")


def _s(text):
    return _ADDR.sub("0x?", text)


def fbits(x):
    if LOOSE_NAN and x != x:
        return "nan"
    return struct.pack("<d", x).hex()


def canon(v, _depth=0):
    """Type-exact, address-free, bit-exact description of a value (JSON-able)."""
    if _depth > 12:
        return ["<too deep>"]
    t = type(v)
    if v is None or t is bool:
        return [t.__name__, v]
    if t is str:
        return ["str", _s(v) if len(v) < 2000 else _s(v[:2000]) + "...%d" % len(v)]
    if t is int:
        return ["int", v] if -2**62 < v < 2**62 else ["int", hex(v)]
    if t is float:
        return ["float", repr(v), fbits(v)]
    if t is complex:
        return ["complex", repr(v), fbits(v.real), fbits(v.imag)]
    rec = lambda x: canon(x, _depth + 1)  # noqa: E731
    if t is list or t is tuple:
        return [t.__name__, [rec(x) for x in v[:200]], len(v)]
    if t is dict:
        return ["dict", [[rec(k), rec(x)] for k, x in list(v.items())[:200]]]
    if t is range or t is slice:
        return [t.__name__, _s(repr(v))]
    if isinstance(v, int) and not isinstance(v, bool):      # int subclass
        return ["int-sub", t.__qualname__, int.__repr__(v)]
    if isinstance(v, float):
        return ["float-sub", t.__qualname__, float.__repr__(v), fbits(v)]
    if isinstance(v, BaseException):
        return canon_exception(v)
    if isinstance(v, type):
        return ["type", v.__qualname__]
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return [t.__name__, getattr(v, "__qualname__", "?")]
    if isinstance(v, types.ModuleType):
        return ["module", v.__name__]
    if isinstance(v, types.FrameType):
        return ["frame", v.f_code.co_name]
    try:
        d = object.__getattribute__(v, "__dict__")
    except AttributeError:
        d = None
    if type(d) is dict:
        return ["obj", t.__qualname__, [[k, rec(x)] for k, x in d.items()]]
    return ["other", t.__qualname__]


def canon_exception(e):
    try:
        msg = str(e)
    except Exception as ex:  # noqa: BLE001
        msg = "<str raised %s>" % type(ex).__name__
    return ["exception", type(e).__qualname__, _s(msg)]


def snap(frame):
    """Canonical snapshot of ``frame`` as seen from a hook: (name, line, locals)."""
    if frame is None:
        return ["<no frame>"]
    code = frame.f_code
    if not code.co_filename.startswith(PROGRAM_FILE_PREFIX):
        return ["<outside>", code.co_name]
    loc = frame.f_locals
    return [code.co_name, frame.f_lineno, [[k, canon(x)] for k, x in loc.items()]]
