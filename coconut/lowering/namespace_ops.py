"""Rules for name lookups in f_locals (module and class bodies), imports, `with`,
star-unpacking and star-calls.

As in opcodes.py, each rule follows the CPython 3.11 `Python/ceval.c` TARGET of the
same name. Where ceval formats an elaborate error (NameError with its name,
import_from's ImportError, format_kwargs_error, check_args_iterable, unpack_iterable),
the rule checks a cheap, side-effect-free precondition first and deopts *before* the
instruction when it does not hold, so that the interpreter raises the exact error.
Lookups in exact dicts with str keys (names) run no Python code: a rule may deopt
after one that failed.
"""
from __future__ import annotations

import types

from ..ir import ops
from ..ir.ops import Cond, NULL
from ..runtime import layout as L
from .registry import op
from .opcodes import _is, _not_null, _type_of

FRAME = ops.Var("frame", "ptr")
TSTATE = ops.Var("tstate", "ptr")


def _name(b, ins):
    return b.const(b.code.co_names[ins.arg])


def _either(b, cond: Cond, then_fn, else_fn, ctype: str = "obj", hint: str = "either"):
    """dst = cond ? then_fn() : else_fn(), each callback emitting into its own block."""
    dst = b.temp(ctype)
    t, f, join = b.new_block(f"{hint}_then"), b.new_block(f"{hint}_else"), b.new_block(f"{hint}_join")
    b.terminate(ops.Branch(cond, t.name, f.name))
    for blk, fn in ((t, then_fn), (f, else_fn)):
        b.current = blk
        b.emit(ops.Assign(dst, fn()))
        b.terminate(ops.Jump(join.name))
    b.current = join
    return dst


def _exit_block(b, hint: str, terminator, decrefs=()):
    """A block that releases `decrefs` and ends with `terminator`; its name."""
    blk = b.new_block(hint)
    blk.ops.extend(ops.Decref(v) for v in decrefs)
    blk.terminator = terminator
    return blk.name


def _error_set(b):
    return _not_null(b.call("PyErr_Occurred"))


def _locals(b, dict_only: bool):
    """frame->f_locals; deopt when NULL (ceval: SystemError) or, if `dict_only`, when
    it is not an exact dict (a mapping's __getitem__ may run code: no deopt after)."""
    locals_ = b.load("obj", FRAME, L.FRAME_LOCALS)
    b.deopt_if(_is(locals_, NULL), "no f_locals")
    if dict_only:
        b.deopt_if(Cond("!=", _type_of(b, locals_), b.const(dict)), "f_locals not an exact dict")
    return locals_


def _lookup_chain(b, ins, namespaces, reason: str):
    """The first of `namespaces` (dicts) holding the name, as a new reference; an error
    in a lookup exits with it; a name found nowhere deopts (the interpreter raises)."""
    name = _name(b, ins)
    value = b.temp()
    found = b.new_block("found")
    for namespace in namespaces:
        got = b.call("PyDict_GetItemWithError", namespace, name)
        b.split(_not_null(got), b.assign_and_jump(value, got, found.name), hint="missing")
        b.error_if(_error_set(b))
    b.terminate(ops.Deopt(ins.offset, b.stack_below() + tuple(b.inputs), reason))
    b.current = found
    b.incref(value)
    return value


# -- names in f_locals ---------------------------------------------------------------
@op("LOAD_NAME", sig="-- value")
def load_name(b, ins):
    """LOAD_NAME: f_locals, then globals, then builtins. Natively when f_locals and
    builtins are exact dicts (deopt otherwise: PyObject_GetItem may run code); a missing
    name deopts so the interpreter raises the NameError."""
    locals_ = _locals(b, dict_only=True)
    globals_ = b.load("obj", FRAME, L.FRAME_GLOBALS)
    builtins = b.load("obj", FRAME, L.FRAME_BUILTINS)
    b.deopt_if(Cond("!=", _type_of(b, builtins), b.const(dict)), "builtins not a dict")
    return [_lookup_chain(b, ins, (locals_, globals_, builtins), "name not found")]


@op("STORE_NAME", sig="value --")
def store_name(b, ins, value):
    """STORE_NAME: PyDict_SetItem into an exact-dict f_locals, else PyObject_SetItem."""
    locals_ = _locals(b, dict_only=False)
    name = _name(b, ins)
    err = _either(b, _is(_type_of(b, locals_), b.const(dict)),
                  lambda: b.call("PyDict_SetItem", locals_, name, value),
                  lambda: b.call("PyObject_SetItem", locals_, name, value), "int", "store")
    b.decref(value)
    b.error_if(Cond("!=", err, b.int(0)))
    return []


@op("DELETE_NAME", sig="--")
def delete_name(b, ins):
    """DELETE_NAME: PyDict_DelItem on an exact-dict f_locals (other mappings deopt: any
    failure becomes a NameError). A failed delete changed nothing: the error is cleared
    and the interpreter raises the NameError."""
    locals_ = _locals(b, dict_only=True)
    err = b.call("PyDict_DelItem", locals_, _name(b, ins))
    failed = b.new_block("failed")
    b.split(Cond("!=", err, b.int(0)), failed.name, hint="deleted")
    cont = b.current
    b.current = failed
    b.call_void("PyErr_Clear")
    b.terminate(ops.Deopt(ins.offset, b.stack_below(), "name to delete not found"))
    b.current = cont
    return []


@op("LOAD_CLASSDEREF", sig="-- value")
def load_classderef(b, ins):
    """LOAD_CLASSDEREF: the name in an exact-dict f_locals (else deopt), else the
    cell's content; an empty cell deopts (the interpreter raises the NameError)."""
    locals_ = _locals(b, dict_only=True)
    name = b.const(b.code._varname_from_oparg(ins.arg))
    value = b.temp()
    found = b.new_block("found")
    got = b.call("PyDict_GetItemWithError", locals_, name)
    b.split(_not_null(got), b.assign_and_jump(value, got, found.name), hint="not_local")
    b.error_if(_error_set(b))
    cell = b.temp()
    b.emit(ops.LoadLocal(cell, ins.arg))
    content = b.load("obj", cell, L.CELL_REF)
    b.deopt_if(_is(content, NULL), "empty cell")
    b.emit(ops.Assign(value, content))
    b.terminate(ops.Jump(found.name))
    b.current = found
    b.incref(value)
    return [value]


@op("LOAD_BUILD_CLASS", sig="-- bc")
def load_build_class(b, ins):
    """LOAD_BUILD_CLASS: builtins['__build_class__'] (builtins an exact dict, else
    deopt); missing -> deopt (the interpreter raises the NameError)."""
    builtins = b.load("obj", FRAME, L.FRAME_BUILTINS)
    b.deopt_if(Cond("!=", _type_of(b, builtins), b.const(dict)), "builtins not a dict")
    bc = b.call("PyDict_GetItemWithError", builtins, b.const("__build_class__"))
    missing = b.new_block("missing")
    b.split(_is(bc, NULL), missing.name, hint="found")
    found, b.current = b.current, missing
    b.error_if(_error_set(b))
    b.terminate(ops.Deopt(ins.offset, b.stack_below(), "__build_class__ not found"))
    b.current = found
    b.incref(bc)
    return [bc]


@op("SETUP_ANNOTATIONS", sig="--")
def setup_annotations(b, ins):
    """SETUP_ANNOTATIONS: make f_locals['__annotations__'] a new dict unless present
    (PyDict_* on an exact dict, else PyObject_GetItem, KeyError cleared, SetItem)."""
    locals_ = _locals(b, dict_only=False)
    key = b.const("__annotations__")
    is_dict, mapping, create, done = (b.new_block("dict"), b.new_block("mapping"),
                                      b.new_block("create"), b.new_block("done"))
    b.terminate(ops.Branch(_is(_type_of(b, locals_), b.const(dict)), is_dict.name, mapping.name))
    # exact dict
    b.current = is_dict
    ann = b.call("PyDict_GetItemWithError", locals_, key)
    b.split(_not_null(ann), done.name, hint="absent")
    b.error_if(_error_set(b))
    new = b.call("PyDict_New")
    b.error_if_null(new)
    err = b.call("PyDict_SetItem", locals_, key, new)
    b.decref(new)
    b.error_if(Cond("!=", err, b.int(0)))
    b.terminate(ops.Jump(done.name))
    # another mapping
    b.current = mapping
    ann = b.call("PyObject_GetItem", locals_, key)
    present = b.new_block("present")
    b.split(_not_null(ann), present.name, hint="absent")
    b.error_if(Cond("==", b.call("PyErr_ExceptionMatches", b.const(KeyError)), b.int(0)))
    b.call_void("PyErr_Clear")
    b.terminate(ops.Jump(create.name))
    present.ops.append(ops.Decref(ann))
    present.terminator = ops.Jump(done.name)
    b.current = create
    new = b.call("PyDict_New")
    b.error_if_null(new)
    err = b.call("PyObject_SetItem", locals_, key, new)
    b.decref(new)
    b.error_if(Cond("!=", err, b.int(0)))
    b.terminate(ops.Jump(done.name))
    b.current = done
    return []


# -- imports -------------------------------------------------------------------------
@op("IMPORT_NAME", sig="level fromlist -- module")
def import_name(b, ins, level, fromlist):
    """IMPORT_NAME: import_name(): builtins['__import__'] (builtins an exact dict, else
    deopt; missing -> deopt, the interpreter raises the ImportError); the original one
    (interp->import_func) -> PyImport_ImportModuleLevelObject(name, globals, locals or
    None, fromlist, int level), else a call __import__(name, globals, locals or None,
    fromlist, level)."""
    name = _name(b, ins)
    builtins = b.load("obj", FRAME, L.FRAME_BUILTINS)
    b.deopt_if(Cond("!=", _type_of(b, builtins), b.const(dict)), "builtins not a dict")
    import_func = b.call("PyDict_GetItemWithError", builtins, b.const("__import__"))
    missing = b.new_block("missing")
    b.split(_is(import_func, NULL), missing.name, hint="found")
    found, b.current = b.current, missing
    error = _exit_block(b, "lookup_error", ops.ErrorExit(ins.offset, b.stack_below()),
                        decrefs=(level, fromlist))
    b.split(_error_set(b), error, hint="absent")
    b.terminate(ops.Deopt(ins.offset, b.stack_below() + (level, fromlist), "__import__ not found"))
    b.current = found

    globals_ = b.load("obj", FRAME, L.FRAME_GLOBALS)
    frame_locals = b.load("obj", FRAME, L.FRAME_LOCALS)
    locals_ = b.select(_is(frame_locals, NULL), b.const(None), frame_locals)
    interp = b.load("ptr", TSTATE, L.TS_INTERP)
    original = b.load("obj", interp, L.INTERP_IMPORT_FUNC)

    def fast():
        ilevel = b.call("_PyLong_AsInt", level)
        bad = b.new_block("bad_level")
        b.split(Cond("==", ilevel, b.int(-1)), bad.name, hint="level_ok")
        ok, b.current = b.current, bad
        b.split(_error_set(b), _exit_block(b, "level_error", ops.ErrorExit(
            ins.offset, b.stack_below()), decrefs=(level, fromlist)), hint="minus_one")
        b.terminate(ops.Jump(ok.name))
        b.current = ok
        return b.call("PyImport_ImportModuleLevelObject", name, globals_, locals_, fromlist, ilevel)

    def overridden():
        res = b.temp()
        b.incref(import_func)
        b.emit(ops.CallVectorcall(res, import_func, (name, globals_, locals_, fromlist, level),
                                  b.int(0), 5, NULL))
        b.decref(import_func)
        return res

    res = _either(b, _is(import_func, original), fast, overridden, hint="import")
    b.decref(level, fromlist)
    b.error_if_null(res)
    return [res]


@op("IMPORT_FROM", sig="module -- module value")
def import_from(b, ins, module):
    """IMPORT_FROM: import_from()'s _PyObject_LookupAttr. Natively for an exact module
    and a name that is no dunder (ModuleType and object define dunders only): the
    attribute is then exactly md_dict[name], found with no code run; anything else
    (other objects, missing names: the fallback to sys.modules and the ImportError
    message) deopts before the lookup."""
    name = b.code.co_names[ins.arg]
    if name.startswith("__") and name.endswith("__"):
        b.terminate(ops.Deopt(ins.offset, b.stack_below() + (module,), "import of a dunder name"))
        return []
    b.deopt_if(Cond("!=", _type_of(b, module), b.const(types.ModuleType)), "import from a non-module")
    md_dict = b.call("PyModule_GetDict", module)
    b.deopt_if(Cond("!=", _type_of(b, md_dict), b.const(dict)), "module dict not a dict")
    value = b.call("PyDict_GetItemWithError", md_dict, b.const(name))
    missing = b.new_block("missing")
    b.split(_is(value, NULL), missing.name, hint="found")
    found, b.current = b.current, missing
    b.error_if(_error_set(b), keep=(module,))
    b.terminate(ops.Deopt(ins.offset, b.stack_below() + (module,), "name not in module dict"))
    b.current = found
    b.incref(value)
    return [module, value]


# -- globals, attributes, cells ------------------------------------------------------
@op("STORE_GLOBAL", sig="value --")
def store_global(b, ins, value):
    """STORE_GLOBAL: PyDict_SetItem(globals, name, value)."""
    globals_ = b.load("obj", FRAME, L.FRAME_GLOBALS)
    err = b.call("PyDict_SetItem", globals_, _name(b, ins), value)
    b.decref(value)
    b.error_if(Cond("!=", err, b.int(0)))
    return []


@op("DELETE_GLOBAL", sig="--")
def delete_global(b, ins):
    """DELETE_GLOBAL: PyDict_DelItem(globals, name); a KeyError (nothing deleted) is
    cleared and the interpreter raises the NameError; other errors propagate."""
    globals_ = b.load("obj", FRAME, L.FRAME_GLOBALS)
    err = b.call("PyDict_DelItem", globals_, _name(b, ins))
    failed = b.new_block("failed")
    b.split(Cond("!=", err, b.int(0)), failed.name, hint="deleted")
    cont, b.current = b.current, failed
    b.error_if(Cond("==", b.call("PyErr_ExceptionMatches", b.const(KeyError)), b.int(0)))
    b.call_void("PyErr_Clear")
    b.terminate(ops.Deopt(ins.offset, b.stack_below(), "global to delete not found"))
    b.current = cont
    return []


@op("DELETE_ATTR", sig="owner --")
def delete_attr(b, ins, owner):
    """DELETE_ATTR: PyObject_SetAttr(owner, name, NULL)."""
    err = b.call("PyObject_SetAttr", owner, _name(b, ins), NULL)
    b.decref(owner)
    b.error_if(Cond("!=", err, b.int(0)))
    return []


@op("DELETE_DEREF", sig="--")
def delete_deref(b, ins):
    """DELETE_DEREF: empty the cell; already empty -> deopt (the interpreter raises)."""
    cell = b.temp()
    b.emit(ops.LoadLocal(cell, ins.arg))
    old = b.load("obj", cell, L.CELL_REF)
    b.deopt_if(_is(old, NULL), "empty cell")
    b.emit(ops.Store(cell, L.CELL_REF, NULL))
    b.decref(old)
    return []


# -- with ------------------------------------------------------------------------------
@op("BEFORE_WITH", sig="mgr -- exit res")
def before_with(b, ins, mgr):
    """BEFORE_WITH: _PyObject_LookupSpecial of __enter__ then __exit__, then enter().
    When the type lacks either (_PyType_Lookup, which runs no code) -> deopt before
    anything ran (the interpreter raises the TypeError)."""
    return _before_with(b, ins, mgr, "__enter__", "__exit__")


@op("BEFORE_ASYNC_WITH", sig="mgr -- exit res")
def before_async_with(b, ins, mgr):
    """BEFORE_ASYNC_WITH: as BEFORE_WITH, with __aenter__ and __aexit__ (the result of
    __aenter__() is awaited next: GET_AWAITABLE)."""
    return _before_with(b, ins, mgr, "__aenter__", "__aexit__")


def _before_with(b, ins, mgr, enter: str, exit: str):
    tp = _type_of(b, mgr)
    enter_name, exit_name = b.const(enter), b.const(exit)
    for attr in (enter_name, exit_name):
        b.deopt_if(_is(b.call("_PyType_Lookup", tp, attr), NULL), "no context manager protocol")
    enter = b.call("_PyObject_LookupSpecial", mgr, enter_name)
    b.error_if_null(enter, keep=(mgr,))
    exit_ = b.call("_PyObject_LookupSpecial", mgr, exit_name)
    missing = b.new_block("no_exit")
    b.split(_is(exit_, NULL), missing.name, hint="exit_found")
    found, b.current = b.current, missing
    # Only when enter's descriptor removed __exit__ from the type (no error set then:
    # the interpreter, resuming here, looks both up again and raises the TypeError).
    b.decref(enter)
    b.split(_error_set(b), _exit_block(b, "exit_error", ops.ErrorExit(
        ins.offset, b.stack_below() + (mgr,))), hint="exit_vanished")
    b.terminate(ops.Deopt(ins.offset, b.stack_below() + (mgr,), "__exit__ vanished"))
    b.current = found
    b.decref(mgr)
    res = b.call("PyObject_CallNoArgs", enter)
    b.decref(enter)
    b.error_if_null(res, keep=(exit_,))
    return [exit_, res]


# -- building containers from iterables ----------------------------------------------
def _deopt_unless_iterable(b, value, reason: str):
    """Deopt when `value` is neither iterable (tp_iter) nor a sequence: ceval rewrites
    the error then (a check that runs no code)."""
    tp_iter = b.load("ptr", _type_of(b, value), L.TP_ITER)
    ok = b.new_block("iterable")
    b.split(_not_null(tp_iter), ok.name, hint="no_tp_iter")
    b.deopt_if(Cond("==", b.call("PySequence_Check", value), b.int(0)), reason)
    b.terminate(ops.Jump(ok.name))
    b.current = ok


@op("LIST_EXTEND", sig="list unused[oparg-1] iterable -- list unused[oparg-1]")
def list_extend(b, ins, lst, unused, iterable):
    """LIST_EXTEND(i): _PyList_Extend(PEEK(i), iterable); a non-iterable deopts first
    (ceval's "Value after * must be an iterable" message)."""
    _deopt_unless_iterable(b, iterable, "value after * not iterable")
    none = b.call("_PyList_Extend", lst, iterable)
    b.decref(iterable)
    b.error_if_null(none, keep=(lst, *unused))
    b.decref(none)
    return [lst, *unused]


@op("LIST_TO_TUPLE", sig="list -- tuple")
def list_to_tuple(b, ins, lst):
    """LIST_TO_TUPLE: PyList_AsTuple."""
    tup = b.call("PyList_AsTuple", lst)
    b.decref(lst)
    b.error_if_null(tup)
    return [tup]


@op("SET_UPDATE", sig="set unused[oparg-1] iterable -- set unused[oparg-1]")
def set_update(b, ins, s, unused, iterable):
    """SET_UPDATE(i): _PySet_Update(PEEK(i), iterable)."""
    err = b.call("_PySet_Update", s, iterable)
    b.decref(iterable)
    b.error_if_negative(err, keep=(s, *unused))
    return [s, *unused]


@op("DICT_UPDATE", sig="dict unused[oparg-1] update -- dict unused[oparg-1]")
def dict_update(b, ins, d, unused, update):
    """DICT_UPDATE(i): PyDict_Update(PEEK(i), update) for an exact dict update (it can
    then raise no AttributeError); other mappings deopt ("... is not a mapping")."""
    b.deopt_if(Cond("!=", _type_of(b, update), b.const(dict)), "update not an exact dict")
    err = b.call("PyDict_Update", d, update)
    b.decref(update)
    b.error_if_negative(err, keep=(d, *unused))
    return [d, *unused]


@op("DICT_MERGE", sig="dict unused[oparg-1] update -- dict unused[oparg-1]")
def dict_merge(b, ins, d, unused, update):
    """DICT_MERGE(i): _PyDict_MergeEx(PEEK(i), update, 2) for an exact dict update
    sharing no key with the target (checked first with the stored hashes, running no
    code); other mappings and duplicate keywords deopt (format_kwargs_error)."""
    b.deopt_if(Cond("!=", _type_of(b, update), b.const(dict)), "** argument not an exact dict")
    merge = b.new_block("merge")
    used = b.load("ssize", d, L.DICT_USED)
    b.split(Cond("==", used, b.int(0, "ssize")), merge.name, hint="check_keys")
    pos, key, value, hash_ = (b.temp("ssize", "pos"), b.temp("obj", "key"),
                              b.temp("obj", "value"), b.temp("ssize", "hash"))
    b.emit(ops.Assign(pos, b.int(0, "ssize")))
    loop = b.new_block("key_loop")
    b.terminate(ops.Jump(loop.name))
    b.current = loop
    more = b.call("_PyDict_Next", update, ops.AddressOf(pos), ops.AddressOf(key),
                  ops.AddressOf(value), ops.AddressOf(hash_))
    b.split(Cond("==", more, b.int(0)), merge.name, hint="next_key")
    dup = b.call("_PyDict_Contains_KnownHash", d, key, hash_)
    clash = b.new_block("clash")
    b.split(Cond("!=", dup, b.int(0)), clash.name, hint="no_clash")
    b.terminate(ops.Jump(loop.name))
    b.current = clash
    b.call_void("PyErr_Clear")      # a failed comparison: the interpreter redoes it
    b.terminate(ops.Deopt(ins.offset, b.stack_below() + tuple(b.inputs), "duplicate keyword"))
    b.current = merge
    err = b.call("_PyDict_MergeEx", d, update, b.int(2))
    b.decref(update)
    b.error_if_negative(err, keep=(d, *unused))
    return [d, *unused]


# -- calls and unpacking ---------------------------------------------------------------
@op("CALL_FUNCTION_EX", sig="null func callargs kwargs[oparg&1] -- res")
def call_function_ex(b, ins, null, func, callargs, kwargs):
    """CALL_FUNCTION_EX: PyObject_Call(func, callargs, kwargs or NULL). kwargs must be
    an exact dict (else deopt: ceval's merge and its messages); callargs not an exact
    tuple goes through PySequence_Tuple, after deopting when it is not iterable
    (check_args_iterable's message)."""
    kwargs = kwargs[0] if kwargs else None
    if kwargs is not None:
        b.deopt_if(Cond("!=", _type_of(b, kwargs), b.const(dict)), "** argument not an exact dict")
    args = b.temp()
    is_tuple, convert, join = b.new_block("tuple"), b.new_block("convert"), b.new_block("args")
    b.terminate(ops.Branch(_is(_type_of(b, callargs), b.const(tuple)), is_tuple.name, convert.name))
    is_tuple.ops.append(ops.Assign(args, callargs))
    is_tuple.terminator = ops.Jump(join.name)
    b.current = convert
    _deopt_unless_iterable(b, callargs, "* argument not iterable")
    converted = b.call("PySequence_Tuple", callargs)
    b.decref(callargs)
    if kwargs is not None:
        b.split(_is(converted, NULL), _exit_block(b, "convert_error", ops.ErrorExit(
            ins.offset, b.stack_below() + (null, func)), decrefs=(kwargs,)), hint="converted")
    else:
        b.error_if_null(converted, keep=(null, func))
    b.emit(ops.Assign(args, converted))
    b.terminate(ops.Jump(join.name))
    b.current = join
    res = b.call("PyObject_Call", func, args, kwargs if kwargs is not None else NULL)
    b.decref(func, args)
    if kwargs is not None:
        b.decref(kwargs)
    b.error_if_null(res)
    b.check_eval_breaker(outputs=(res,), error_at=ins.offset, resume_at=ins.next_offset)
    return [res]


@op("UNPACK_EX", sig="seq -- items[(oparg&0xFF)+(oparg>>8)+1]")
def unpack_ex(b, ins, seq):
    """UNPACK_EX(before | after << 8): exact tuples and lists holding at least
    before + after items natively (the starred part a new list); anything else deopts
    (unpack_iterable and its messages). The first item ends on top."""
    before, after = ins.arg & 0xFF, ins.arg >> 8
    tp = _type_of(b, seq)
    size = b.load("ssize", seq, L.OB_SIZE)
    b.deopt_if(Cond("<", size, b.int(before + after, "ssize")), "unpack of too short a sequence")
    outs = [b.temp() for _ in range(before + 1 + after)]
    is_tuple, is_list, join = b.new_block("tuple"), b.new_block("list"), b.new_block("unpacked")
    b.split(_is(tp, b.const(tuple)), is_tuple.name, hint="not_tuple")
    b.deopt_if(Cond("!=", tp, b.const(list)), "unpack of a non-tuple, non-list")
    b.terminate(ops.Jump(is_list.name))
    stop = b.temp("ssize", "stop")
    for blk, kind in ((is_tuple, "Tuple"), (is_list, "List")):
        b.current = blk
        b.emit(ops.BinArith(stop, "-", size, b.int(after, "ssize")))
        # Items first (borrowed, then owned): allocating the middle may run a collection.
        fixed = outs[:before] + outs[before + 1:]
        for i, out in enumerate(fixed):
            if i < before:
                index = b.int(i, "ssize")
            else:
                index = b.temp("ssize", "index")
                b.emit(ops.BinArith(index, "+", stop, b.int(i - before, "ssize")))
            b.emit(ops.Assign(out, b.call(f"Py{kind}_GetItem", seq, index)))
        b.incref(*fixed)
        middle = b.call(f"Py{kind}_GetSlice", seq, b.int(before, "ssize"), stop)
        b.split(_is(middle, NULL), _exit_block(b, "slice_error", ops.ErrorExit(
            ins.offset, b.stack_below()), decrefs=(*fixed, seq)), hint="sliced")
        if kind == "Tuple":
            as_list = b.call("PySequence_List", middle)
            b.decref(middle)
            b.split(_is(as_list, NULL), _exit_block(b, "list_error", ops.ErrorExit(
                ins.offset, b.stack_below()), decrefs=(*fixed, seq)), hint="listed")
            middle = as_list
        b.emit(ops.Assign(outs[before], middle))
        b.terminate(ops.Jump(join.name))
    b.current = join
    b.decref(seq)
    return list(reversed(outs))
