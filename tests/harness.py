"""Differential harness: a compiled function must behave exactly like the interpreted one.

For a function ``f`` and a list of argument tuples:

* the *reference* is an independent interpreted twin, ``clone_function(f)``: a new function
  object on a fresh copy of ``f.__code__`` (nested code objects copied too), so compiling
  ``f`` does not touch it;
* each case is called ``calls`` times on ``copy.deepcopy`` of its arguments, and every call
  is reduced to an *outcome*: return value or exception (type, message, cause, context),
  the (function, line) frames of its traceback outside this module, the arguments
  afterwards (side effects), what it printed, the warnings it issued (with the file and
  line they are attributed to), and ``sys.exc_info()`` afterwards;
* ``check_function`` compares the reference against two compiled variants: a *cold*
  copy compiled before it ever ran, and ``f`` itself compiled after a warm-up that lets
  CPython quicken/specialise its bytecode.

Values are compared through ``canon()``: a JSON-able structure that includes types (so
``1 != 1.0 != True``), uses ``repr`` for floats (so nan == nan, 0.0 != -0.0) and
strips memory addresses from reprs.
"""
import contextlib
import copy
import dis
import io
import json
import math
import os
import re
import sys
import types
import warnings

HARNESS_FILE = os.path.abspath(__file__)
_ADDR = re.compile(r"0x[0-9a-fA-F]+")
_GEN_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async gen


def interpreted(code):
    """Whether coconut leaves ``code`` to the interpreter by design: never now
    (generators, coroutines and async generators are compiled)."""
    return False

DEFAULT_CALLS = 3
WARMUP_CALLS = 10


# ----------------------------------------------------------------------------- cloning

def clone_code(code):
    """A fresh code object equal to ``code``; nested code objects are copied as well."""
    consts = tuple(clone_code(c) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_consts=consts)


def clone_function(f):
    """An independent twin of ``f``: same globals, defaults, closure; a fresh code object."""
    g = types.FunctionType(clone_code(f.__code__), f.__globals__, f.__name__,
                           f.__defaults__, f.__closure__)
    if f.__kwdefaults__ is not None:
        g.__kwdefaults__ = dict(f.__kwdefaults__)
    g.__qualname__ = f.__qualname__
    g.__annotations__ = dict(f.__annotations__)
    g.__dict__.update(f.__dict__)
    return g


def nested_codes(code):
    """Code objects nested in ``code`` (comprehensions, lambdas, inner defs), recursively."""
    out = []
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out.append(c)
            out.extend(nested_codes(c))
    return out


# ----------------------------------------------------------------------------- outcomes

def canon(v, _depth=0, _seen=None):
    """JSON-able, type-exact, address-free description of a value."""
    if _seen is None:
        _seen = set()
    if _depth > 40:
        return ["<too deep>"]
    t = type(v)
    if v is None or t is bool or t is str:
        return [t.__name__, v]
    if t is int:
        return ["int", v] if -2**62 < v < 2**62 else ["int", hex(v)]
    if t is float or t is complex:
        return [t.__name__, repr(v)]
    if t is bytes or t is bytearray:
        return [t.__name__, v.hex()]
    if t in (range, slice):
        return [t.__name__, repr(v)]
    if id(v) in _seen:
        return ["<cycle>", t.__name__]
    _seen = _seen | {id(v)}
    rec = lambda x: canon(x, _depth + 1, _seen)  # noqa: E731
    if t is list or t is tuple:
        return [t.__name__, [rec(x) for x in v]]
    if t is set or t is frozenset:
        items = [rec(x) for x in v]
        return [t.__name__, sorted(items, key=lambda x: json.dumps(x, sort_keys=True))]
    if t is dict:
        return ["dict", [[rec(k), rec(x)] for k, x in v.items()]]
    if isinstance(v, BaseException):
        return canon_exception(v, _depth + 1)
    if isinstance(v, types.FunctionType):
        cells = []
        for c in v.__closure__ or ():
            try:
                cells.append(rec(c.cell_contents))
            except ValueError:
                cells.append(["<empty cell>"])
        return ["function", v.__qualname__, rec(v.__defaults__), rec(v.__kwdefaults__),
                rec(v.__annotations__), cells]
    if isinstance(v, type):
        return ["type", v.__module__, v.__qualname__]
    if isinstance(v, types.CodeType):
        return ["code", v.co_qualname]
    if isinstance(v, (types.GeneratorType, types.CoroutineType)):
        return [t.__name__, v.__qualname__]
    if isinstance(v, types.ModuleType):
        return ["module", v.__name__]
    d = getattr(v, "__dict__", None)
    if isinstance(d, dict) and not isinstance(v, (types.MethodType, types.BuiltinFunctionType)):
        slots = {}
        for k in type(v).__mro__:
            for s in getattr(k, "__slots__", ()) or ():
                if isinstance(s, str) and hasattr(v, s):
                    slots[s] = getattr(v, s)
        return ["object", t.__qualname__, rec(d), rec(slots)]
    try:
        text = repr(v)
    except Exception as e:  # noqa: BLE001
        text = "<repr raised %s>" % type(e).__name__
    return ["repr", t.__qualname__, _ADDR.sub("0x?", text)]


def tb_frames(tb):
    """(qualname, lineno) of the traceback entries that are not harness frames."""
    out = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if os.path.abspath(code.co_filename) != HARNESS_FILE:
            out.append([code.co_qualname, tb.tb_lineno])
        tb = tb.tb_next
    return out


def canon_exception(e, _depth=0):
    try:
        msg = str(e)
    except Exception as ex:  # noqa: BLE001
        msg = "<str raised %s>" % type(ex).__name__
    out = ["exception", type(e).__qualname__, msg]
    if _depth < 4:
        cause = e.__cause__
        ctx = e.__context__
        out.append(None if cause is None else canon_exception(cause, _depth + 1))
        out.append(None if ctx is None else canon_exception(ctx, _depth + 1))
        out.append(bool(e.__suppress_context__))
        out.append(tb_frames(e.__traceback__))
    return out


def run_once(func, args):
    """Call func on a deep copy of args; describe everything observable about the call."""
    a = copy.deepcopy(args)
    buf = io.StringIO()
    outcome = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(buf):
                result = func(*a)
        except BaseException as e:  # noqa: BLE001
            outcome["raised"] = canon_exception(e)
            outcome["traceback"] = tb_frames(e.__traceback__)
            del e
        else:
            outcome["returned"] = canon(result)
            del result
    outcome["args_after"] = canon(a)
    outcome["stdout"] = buf.getvalue()
    outcome["warnings"] = [[w.category.__name__, str(w.message), os.path.basename(w.filename),
                            w.lineno] for w in caught]
    outcome["exc_info_after"] = repr(sys.exc_info()[0])
    return outcome


def record(func, arglist, calls=DEFAULT_CALLS):
    """outcomes[case][call] for every argument tuple."""
    return [[run_once(func, args) for _ in range(calls)] for args in arglist]


# ----------------------------------------------------------------------------- comparing

def short(obj, limit=300):
    try:
        text = obj if isinstance(obj, str) else json.dumps(obj)
    except (TypeError, ValueError):
        text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def safe_repr(obj, limit=200):
    try:
        text = repr(obj)
    except Exception:  # noqa: BLE001
        text = "<unrepresentable %s>" % type(obj).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def first_difference(a, b, path=""):
    """(path, a_part, b_part) of the first place where two canon() structures differ."""
    if type(a) is list and type(b) is list:
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, "%s[%d]" % (path, i))
        if len(a) != len(b):
            return "%s (lengths %d vs %d)" % (path, len(a), len(b)), a[len(b):], b[len(a):]
    return path, a, b


def compare(expected, got, arglist, label):
    """Human-readable differences between two record() results (empty list: identical)."""
    problems = []
    for i, args in enumerate(arglist):
        for k, (exp, act) in enumerate(zip(expected[i], got[i])):
            if exp == act:
                continue
            lines = ["[%s] case %d args=%s, call %d of %d:"
                     % (label, i, safe_repr(args), k + 1, len(expected[i]))]
            for key in ("returned", "raised", "traceback", "args_after", "stdout",
                        "warnings", "exc_info_after"):
                if exp.get(key) != act.get(key):
                    lines.append("    %-14s interpreted: %s" % (key, short(exp.get(key, "<none>"))))
                    lines.append("    %-14s compiled:    %s" % ("", short(act.get(key, "<none>"))))
                    if key in exp and key in act:
                        where, x, y = first_difference(exp[key], act[key])
                        if where:
                            lines.append("    %-14s first difference at %s: %s vs %s"
                                         % ("", where, short(x, 150), short(y, 150)))
            problems.append("\n".join(lines))
            break  # first differing call of this case is enough
    return problems


# ----------------------------------------------------------------------------- compiling

def compile_function(coconut, func, nested=True):
    """Compile func (and, if nested, the code objects nested in it that coconut
    compiles: see `interpreted`) with
    strict=False; return problems: exceptions, CompileWarnings, or not is_compiled()."""
    problems = []
    targets = [func]
    if nested:
        for code in nested_codes(func.__code__):
            if interpreted(code):
                continue
            closure = tuple(types.CellType() for _ in code.co_freevars) or None
            targets.append(types.FunctionType(code, func.__globals__, code.co_name,
                                              None, closure))
    for target in targets:
        what = "%s (%s)" % (target.__code__.co_qualname,
                            "function" if target is func else "nested code")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ret = coconut.compile(target, strict=False)
            except Exception as e:  # noqa: BLE001
                problems.append("coconut.compile(%s) raised %s: %s"
                                % (what, type(e).__name__, e))
                continue
        for w in caught:
            problems.append("coconut.compile(%s) warned %s: %s"
                            % (what, w.category.__name__, w.message))
        if ret is not target:
            problems.append("coconut.compile(%s) returned %r, not the function"
                            % (what, ret))
        if not coconut.is_compiled(target):
            problems.append("coconut.is_compiled(%s) is False after compile" % what)
    return problems


def warm_up(func, arglist, calls=WARMUP_CALLS):
    """Call func (interpreted) enough times for CPython to quicken/specialise its code."""
    if not arglist:
        return
    rounds = max(1, math.ceil(calls / len(arglist)))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(rounds):
            for args in arglist:
                try:
                    func(*copy.deepcopy(args))
                except BaseException:  # noqa: BLE001
                    pass


def check_function(func, arglist, coconut=None, calls=DEFAULT_CALLS, reference=None,
                   nested=True):
    """Differentially test func on arglist; return a list of problem descriptions.

    ``func`` itself ends up compiled (after a warm-up); a cold copy is compiled too.
    ``reference`` may be a record() of an interpreted twin made earlier (the worker records
    all references of a module before compiling anything, so that helper functions called
    by the reference are still interpreted).
    """
    if coconut is None:
        from tests.support import get_coconut
        coconut = get_coconut()
    if reference is None:
        reference = record(clone_function(func), arglist, calls)
    problems = []

    cold = clone_function(func)
    errs = compile_function(coconut, cold, nested)
    problems += ["[cold] " + e for e in errs]
    if not errs:
        problems += compare(reference, record(cold, arglist, calls), arglist, "cold")

    warm_up(func, arglist)
    errs = compile_function(coconut, func, nested)
    problems += ["[warm] " + e for e in errs]
    if not errs:
        problems += compare(reference, record(func, arglist, calls), arglist, "warm")
    return problems


# ----------------------------------------------------------------------------- corpus

def corpus_cases(module):
    """{qualname: (func, [args tuples])} from a corpus module's CASES (merged by name)."""
    out = {}
    for func, arglist in module.CASES:
        arglist = list(arglist)
        for a in arglist:
            if not isinstance(a, tuple):
                raise TypeError("%s: CASES arguments of %s must be tuples, got %r"
                                % (module.__name__, func.__qualname__, a))
        name = func.__qualname__
        if name in out:
            if out[name][0] is not func:
                raise ValueError("%s: two different functions named %s in CASES"
                                 % (module.__name__, name))
            out[name][1].extend(arglist)
        else:
            out[name] = (func, list(arglist))
    return out
