"""Name lookups in f_locals (class bodies: LOAD_NAME / STORE_NAME / DELETE_NAME /
LOAD_CLASSDEREF / SETUP_ANNOTATIONS / LOAD_BUILD_CLASS), imports (IMPORT_NAME /
IMPORT_FROM), STORE_GLOBAL / DELETE_GLOBAL / DELETE_ATTR / DELETE_DEREF, BEFORE_WITH,
star calls and displays (CALL_FUNCTION_EX, LIST_EXTEND, LIST_TO_TUPLE, SET_UPDATE,
DICT_UPDATE, DICT_MERGE) and UNPACK_EX: success, errors (caught and propagating, with
their exact messages) and the deopt paths. Class bodies are nested code objects: the
harness compiles them too."""
import builtins
import types

NS_GLOBAL = 7


# -- class bodies --------------------------------------------------------------------
def class_body_names(n):
    out = []
    for i in range(n):
        class C:
            a = i                    # LOAD_CLASSDEREF (i is a free variable)
            b = a + NS_GLOBAL        # LOAD_NAME: locals, then globals
            c = len("abc")           # LOAD_NAME: builtins
            tmp = b * 2
            del tmp                  # DELETE_NAME
            d: int = 5               # SETUP_ANNOTATIONS, STORE_NAME of __annotations__
            e: "str"

            def m(self):
                return self.a + self.b
        out.append((C.a, C.b, C.c, C.d, C.__annotations__, hasattr(C, "tmp"), C().m()))
    return out


def class_body_missing_name(flag):
    class C:
        if flag:
            x = name_missing_everywhere  # noqa: F821
        else:
            x = 1
    return C.x


def class_body_missing_name_caught():
    class C:
        try:
            x = also_missing_everywhere  # noqa: F821
        except NameError as e:
            msg = str(e)
    return C.msg


def class_body_delete_missing(flag):
    class C:
        y = 1
        del y
        if flag:
            del y
    return "deleted"


def class_body_classderef_shadowed(n):
    v = n

    class C:
        v = "class-level"            # a store makes later loads LOAD_CLASSDEREF...
        w = v                        # ...no: a class-level binding wins (LOAD_NAME)

        def get(self):
            return v
    return C.w, C().get()


def class_body_classderef_unbound(flag):
    if flag:
        v = 1

    class C:
        w = v                        # LOAD_CLASSDEREF of an empty cell -> NameError

    def keep():
        return v
    return C.w


class _Recorder(dict):
    def __init__(self, log):
        super().__init__()
        self.log = log

    def __setitem__(self, key, value):
        self.log.append(("set", key))
        super().__setitem__(key, value)

    def __getitem__(self, key):
        self.log.append(("get", key))
        return super().__getitem__(key)

    def __delitem__(self, key):
        self.log.append(("del", key))
        super().__delitem__(key)


class _Mapping:
    """A namespace that is no dict at all."""

    def __init__(self, log):
        self.data = {"__name__": "ns"}
        self.log = log

    def __getitem__(self, key):
        self.log.append(("get", key))
        return self.data[key]

    def __setitem__(self, key, value):
        self.log.append(("set", key))
        self.data[key] = value

    def __delitem__(self, key):
        self.log.append(("del", key))
        del self.data[key]


def _meta_with(factory):
    class Meta(type):
        @classmethod
        def __prepare__(mcs, name, bases, **kw):
            return factory()

        def __new__(mcs, name, bases, ns, **kw):
            return super().__new__(mcs, name, bases, dict(getattr(ns, "data", ns)))
    return Meta


def class_body_prepare_dict_subclass(n):
    log = []
    Meta = _meta_with(lambda: _Recorder(log))

    class C(metaclass=Meta):
        a = n
        b = a + 1
        x: int = 3
        del a
    return log, C.b, C.__annotations__


def class_body_prepare_mapping(n):
    log = []
    Meta = _meta_with(lambda: _Mapping(log))

    class C(metaclass=Meta):
        a = n
        b = a + NS_GLOBAL
        x: int = 3
        y: str
    return log, C.b, C.__annotations__


def class_body_annotations_preexisting():
    class C:
        __annotations__ = {"pre": 1}
        x: int = 2
    return C.__annotations__


def build_class_shadowed(n):
    saved = builtins.__build_class__
    calls = []

    def fake(func, name, *bases, **kw):
        calls.append(name)
        return saved(func, name, *bases, **kw)
    builtins.__build_class__ = fake
    try:
        for i in range(n):
            class K:
                pass
    finally:
        builtins.__build_class__ = saved
    return calls


def build_class_missing():
    saved = builtins.__build_class__
    del builtins.__build_class__
    try:
        class K:
            pass
    except NameError as e:
        return "NameError", str(e)
    finally:
        builtins.__build_class__ = saved


# -- imports -------------------------------------------------------------------------
def imports(n):
    out = []
    for i in range(n):
        import math
        import os.path
        import collections.abc as cabc
        from json import dumps, loads
        from os import path as p
        from xml import dom      # a submodule
        out.append((math.floor(2.5 + i), os.path.basename("/a/b"), cabc.Sized.__name__,
                    dumps([i]), loads("[1]"), p is os.path, dom.__name__))
    return out


def import_missing_module(name):
    try:
        __import__(name)
        import no_such_module_coconut_test  # noqa: F401
    except ImportError as e:
        return type(e).__name__, str(e), e.name


def import_missing_module_propagates(flag):
    if flag:
        import no_such_module_coconut_test2  # noqa: F401
    return "ok"


def from_import_missing_name(flag):
    try:
        from os import no_such_name_here  # noqa: F401
    except ImportError as e:
        return str(e), e.name, (e.path or "").endswith("os.py")
    if flag:
        from json import nope_nope  # noqa: F401


def from_import_dunder_and_getattr():
    from os import __name__ as osname
    from typing import __all__ as every
    mod = types.ModuleType("lazy_mod")
    mod.__getattr__ = lambda name: "lazy:" + name
    import sys
    sys.modules["lazy_mod_coconut"] = mod
    try:
        from lazy_mod_coconut import anything, other
    finally:
        del sys.modules["lazy_mod_coconut"]
    return osname, len(every) > 10, anything, other


def import_relative_fails():
    try:
        from . import nothing  # noqa: F401
    except ImportError as e:
        return type(e).__name__, str(e)


def import_overridden(n):
    saved = builtins.__import__
    seen = []

    def fake(name, globals=None, locals=None, fromlist=(), level=0):
        seen.append((name, fromlist, level, locals is None or isinstance(locals, dict)))
        return saved(name, globals, locals, fromlist, level)
    builtins.__import__ = fake
    try:
        for _ in range(n):
            import math
            from os import sep
    finally:
        builtins.__import__ = saved
    return seen, math.pi > 3, sep


def import_overridden_raises():
    saved = builtins.__import__

    def fake(*args):
        raise RuntimeError("no imports today")
    builtins.__import__ = fake
    try:
        import math  # noqa: F401
    finally:
        builtins.__import__ = saved


def import_func_missing():
    saved = builtins.__import__
    del builtins.__import__
    try:
        import math  # noqa: F401
    except ImportError as e:
        return str(e)
    finally:
        builtins.__import__ = saved


# -- globals, attributes, cells ------------------------------------------------------
def globals_store_delete(n):
    global NS_TEMP
    out = []
    for i in range(n):
        NS_TEMP = i * 3
        out.append(NS_TEMP)
        del NS_TEMP
        try:
            del NS_TEMP
        except NameError as e:
            out.append(str(e))
    return out


def global_delete_missing_propagates(flag):
    global NS_NEVER_SET
    if flag:
        del NS_NEVER_SET
    return "kept"


class _Slots:
    __slots__ = ("a",)


class _NoDel:
    def __delattr__(self, name):
        raise PermissionError("cannot delete " + name)


def delete_attrs(n):
    out = []
    for i in range(n):
        o = types.SimpleNamespace(x=i, y=2)
        del o.x
        out.append(sorted(vars(o)))
        try:
            del o.x
        except AttributeError as e:
            out.append(str(e))
    s = _Slots()
    try:
        del s.a
    except AttributeError as e:
        out.append(str(e))
    try:
        del _NoDel().q
    except PermissionError as e:
        out.append(str(e))
    return out


def delete_attr_propagates(o):
    del o.missing_attribute
    return "deleted"


def delete_deref(n):
    out = []
    for i in range(n):
        v = i

        def get():
            return v
        out.append(get())
        del v
        try:
            get()
        except NameError as e:
            out.append(str(e))
        try:
            del v
        except NameError as e:
            out.append(str(e))
    return out


# -- with ----------------------------------------------------------------------------
class _CM:
    def __init__(self, log, value=None, fail_enter=False):
        self.log, self.value, self.fail_enter = log, value, fail_enter

    def __enter__(self):
        self.log.append("enter")
        if self.fail_enter:
            raise ValueError("enter failed")
        return self.value

    def __exit__(self, et, ev, tb):
        self.log.append(("exit", et.__name__ if et else None))
        return False


class _EnterOnly:
    def __enter__(self):
        return 1


class _ExitOnly:
    def __exit__(self, *a):
        return False


class _EnterProperty:
    """__enter__ found through a descriptor that runs code."""

    def __init__(self, log):
        self.log = log

    @property
    def __enter__(self):
        self.log.append("enter looked up")
        return lambda: "entered"

    def __exit__(self, *a):
        self.log.append("exit")


def with_statements(n):
    log = []
    for i in range(n):
        with _CM(log, i) as v:
            log.append(v)
    with _EnterProperty(log) as w:
        log.append(w)
    try:
        with _CM(log, fail_enter=True):
            log.append("not reached")
    except ValueError as e:
        log.append(str(e))
    return log


def with_not_a_context_manager(obj):
    try:
        with obj:
            return "entered"
    except TypeError as e:
        return str(e)


def with_enter_raises_propagates():
    log = []
    with _CM(log, fail_enter=True):
        log.append("never")
    return log


# -- star calls and displays -----------------------------------------------------------
def _f(*args, **kwargs):
    return args, kwargs


class _DictSub(dict):
    pass


class _KeysMapping:
    def keys(self):
        return ["k", "j"]

    def __getitem__(self, key):
        return key * 2


def star_calls(n):
    out = []
    args, kw = (1, 2), {"a": 1}
    for i in range(n):
        out.append(_f(*args))
        out.append(_f(*args, **kw))
        out.append(_f(i, *[i, i], x=i, **kw))
        out.append(_f(*range(i), **_DictSub(b=i)))
        out.append(_f(**_KeysMapping()))
        out.append(_f(*"ab", **kw, **{"c": 3}))
        out.append(_f(*args, *[3], *(4,)))
    return out


def star_call_errors(which):
    cases = {
        "not_mapping": lambda: _f(**1),
        "not_iterable": lambda: _f(*1),
        "dup_kw": lambda: _f(x=1, **{"x": 2}),
        "dup_merge": lambda: _f(**{"a": 1}, **{"a": 2}),
        "dup_mapping": lambda: _f(a=1, **_KeysMapping(), k=3),
        "non_str_key": lambda: _f(**{1: 2}),
        "iter_raises": lambda: _f(*_raising_iter()),
    }
    try:
        return cases[which]()
    except (TypeError, ValueError) as e:
        return type(e).__name__, str(e)


def _raising_iter():
    yield 1
    raise ValueError("iteration failed")


def star_call_propagates(kw):
    return _f(x=1, **kw)


def displays(n):
    out = []
    a, s, d = [1, 2], {3}, {"k": 1}
    for i in range(n):
        out.append([*a, i, *range(i)])          # LIST_EXTEND
        out.append((*a, i))                     # LIST_TO_TUPLE
        out.append(sorted({*a, *s, i}))          # SET_UPDATE
        out.append({**d, "i": i, **{"j": i}})   # DICT_UPDATE
        out.append({**_KeysMapping()})
        out.append([*"xy", *{"z": 0}])
    return out


def display_errors(which):
    cases = {
        "list": lambda: [*1],
        "tuple": lambda: (*None, 1),
        "set": lambda: {*1},
        "dict": lambda: {**1},
        "dict_list": lambda: {**[1, 2]},
        "set_unhashable": lambda: {*[[1]]},
        "list_raises": lambda: [*_raising_iter()],
    }
    try:
        return cases[which]()
    except (TypeError, ValueError) as e:
        return type(e).__name__, str(e)


def display_propagates(x):
    return [0, *x]


# -- extended unpacking ------------------------------------------------------------------
def unpack_ex(n):
    out = []
    for i in range(n):
        a, *b, c = list(range(i + 2))
        d, *e = (i, i + 1, i + 2)
        *f, g = [i]
        h, *j, k, m = (1, 2, 3, 4, 5, 6)
        *q, = (i,)
        out.append((a, b, c, d, e, f, g, h, j, k, m, q))
        s, *t = "xyz"                          # not a list or tuple: deopts
        out.append((s, t))
    return out


def unpack_ex_errors(value):
    try:
        a, *b, c = value
    except (TypeError, ValueError) as e:
        return type(e).__name__, str(e)
    return a, b, c


def unpack_ex_propagates(value):
    a, b, *c = value
    return a, b, c


CASES = [
    (class_body_names, [(3,)]),
    (class_body_missing_name, [(0,), (1,)]),
    (class_body_missing_name_caught, [()]),
    (class_body_delete_missing, [(0,), (1,)]),
    (class_body_classderef_shadowed, [(4,)]),
    (class_body_classderef_unbound, [(1,), (0,)]),
    (class_body_prepare_dict_subclass, [(2,)]),
    (class_body_prepare_mapping, [(2,)]),
    (class_body_annotations_preexisting, [()]),
    (build_class_shadowed, [(3,)]),
    (build_class_missing, [()]),
    (imports, [(3,)]),
    (import_missing_module, [("os",)]),
    (import_missing_module_propagates, [(0,), (1,)]),
    (from_import_missing_name, [(0,), (1,)]),
    (from_import_dunder_and_getattr, [()]),
    (import_relative_fails, [()]),
    (import_overridden, [(2,)]),
    (import_overridden_raises, [()]),
    (import_func_missing, [()]),
    (globals_store_delete, [(3,)]),
    (global_delete_missing_propagates, [(0,), (1,)]),
    (delete_attrs, [(3,)]),
    (delete_attr_propagates, [(types.SimpleNamespace(),), (types.SimpleNamespace(missing_attribute=1),)]),
    (delete_deref, [(3,)]),
    (with_statements, [(3,)]),
    (with_not_a_context_manager, [(1,), (_EnterOnly(),), (_ExitOnly(),), (_CM([]),)]),
    (with_enter_raises_propagates, [()]),
    (star_calls, [(3,)]),
    (star_call_errors, [("not_mapping",), ("not_iterable",), ("dup_kw",), ("dup_merge",),
                        ("dup_mapping",), ("non_str_key",), ("iter_raises",)]),
    (star_call_propagates, [({"y": 2},), ({"x": 2},), ([1],)]),
    (displays, [(3,)]),
    (display_errors, [("list",), ("tuple",), ("set",), ("dict",), ("dict_list",),
                      ("set_unhashable",), ("list_raises",)]),
    (display_propagates, [([1, 2],), (5,), ("ab",)]),
    (unpack_ex, [(3,)]),
    (unpack_ex_errors, [([1, 2, 3],), ((1,),), ([],), (5,), ("abcd",), (iter([1, 2]),)]),
    (unpack_ex_propagates, [([1, 2],), ([1],), (None,)]),
]
