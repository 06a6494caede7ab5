"""The fast paths that read the interpreter's inline caches (coconut/lowering/caches.py).

Each test warms a function up in the interpreter (which specializes its instructions),
compiles it, and then changes the cache of one instruction behind the interpreter's back
(an index, a descriptor, the opcode byte), so that the fast path, and only it, gives a
recognizably different answer:

* the changed answer shows that native code took the fast path and read the cache when
  it ran (not a copy made when it was compiled);
* each guard of the form is then broken in turn (another type, a materialized __dict__, a
  NULL value, a modified class, changed dict keys, another form), and the right answer
  shows that the guard sent the instruction to the generic path.

The differential corpus (tests/corpus/globals_attrs.py, cache_*) checks the same paths
against the interpreter without looking inside.
"""
import contextlib
import ctypes
import dis
import math
import sys
import types
import weakref

from tests.support import get_coconut, in_subprocess, run_code

WARMUP = 12        # quickened at the 8th call, specialized at the first run after


class Point:
    x = "class x"

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm(self):
        return ("norm", self.x)

    def other(self):
        return ("other", self.y)


class PointSub(Point):
    pass


class Slots:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def read_x(p):
    return p.x


def read_y(p):
    return p.y


def write_x(p, v):
    p.x = v


def write_y(p, v):
    p.y = v


def call_norm(p):
    return p.norm()


def list_count(seq):
    return seq.count(1)


def module_attr():
    return math.pi                    # `math` bound by an import: LOAD_ATTR


def module_method(module):
    return module.floor(2.5)          # another name: LOAD_METHOD


def respecialize(p, n):
    t = []
    for i in range(n):
        t.append(p.x)
        if i == 0:
            try:                      # CHECK_EG_MATCH deopts: the interpreter runs the rest
                raise ValueError(i)
            except* ValueError:
                pass
    return t[0], t[-1], len(t)


# -- helpers ------------------------------------------------------------------------------
def warm(func, *args):
    for _ in range(WARMUP):
        func(*args)


def site(func, opname, argval):
    """(code, unit of the instruction) of the only `opname argval` in func."""
    code = func.__code__
    units = [ins.offset // 2 for ins in dis.get_instructions(code)
             if ins.opname == opname and ins.argval == argval]
    assert len(units) == 1, (opname, argval, units)
    return code, units[0]


def form_at(func, opname, argval):
    from coconut.runtime import layout as L
    code, unit = site(func, opname, argval)
    return dis._all_opname[ctypes.c_uint8.from_address(L.code_unit_address(code, unit)).value]


def cache_field(func, opname, argval, field, ctype):
    """The ctypes view of a cache field (`field` units after the first CACHE entry)."""
    from coconut.runtime import layout as L
    code, unit = site(func, opname, argval)
    return ctype.from_address(L.code_unit_address(code, unit + 1 + field))


@contextlib.contextmanager
def patched(view, value):
    old = view.value
    view.value = value
    try:
        yield
    finally:
        view.value = old


def opcode_view(func, opname, argval):
    from coconut.runtime import layout as L
    code, unit = site(func, opname, argval)
    return ctypes.c_uint8.from_address(L.code_unit_address(code, unit))


def compiled(*funcs):
    co = get_coconut()
    from coconut.runtime import layout as L
    assert L.INLINE_CACHES, "the inline-cache layouts were not verified at import"
    for f in funcs:
        co.compile(f)
        assert co.is_compiled(f), f.__name__


# -- tests --------------------------------------------------------------------------------
@in_subprocess()
def test_load_attr_instance_value():
    from coconut.runtime import layout as L
    warm(read_x, Point(1, 2))
    warm(read_y, Point(1, 2))
    assert form_at(read_x, "LOAD_ATTR", "x") == "LOAD_ATTR_INSTANCE_VALUE"
    compiled(read_x)
    index = cache_field(read_x, "LOAD_ATTR", "x", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    y_index = cache_field(read_y, "LOAD_ATTR", "y", L.ATTR_CACHE_INDEX, ctypes.c_uint16).value
    assert read_x(Point(1, 2)) == 1
    with patched(index, y_index):
        assert read_x(Point(1, 2)) == 2               # the fast path, index read now
        with_dict = Point(1, 2)
        with_dict.__dict__
        assert read_x(with_dict) == 1                 # values NULL
        assert read_x(PointSub(1, 2)) == 1            # another type version
        assert read_x(Slots(1, 2)) == 1               # not even a managed dict
        moved = PointSub(1, 2)
        moved.__class__ = Point                       # its values became a dict
        assert read_x(moved) == 1
        with patched(opcode_view(read_x, "LOAD_ATTR", "x"), dis._all_opmap["LOAD_ATTR_ADAPTIVE"]):
            assert read_x(Point(1, 2)) == 1           # the form changed
    unset = Point(1, 2)
    del unset.x
    assert read_x(unset) == "class x"                 # NULL value: the class attribute
    p = Point(1, 2)
    Point.x = property(lambda self: "property")       # the type modified
    try:
        with patched(index, y_index):
            assert read_x(p) == "property"
    finally:
        Point.x = "class x"


class Limits:
    MAX = "class value"

    def __init__(self):
        self.v = 1

    def get(self):
        return self.v


def read_max(o):
    return o.MAX


@in_subprocess()
def test_class_attribute_through_an_instance():
    """A plain class value read through an instance (no form in 3.11): compiled code's
    own site cache (caches.class_attr, runtime/attributes.py), then each thing that
    must make it miss: a new value (a new type version), a __dict__, a name added to
    the shared keys, a property."""
    import contextlib
    import io
    o = Limits()
    warm(read_max, o)
    warm(Limits.get, o)
    warm(lambda: o.get())              # LOAD_METHOD_WITH_VALUES: the shared keys' version
    assert form_at(read_max, "LOAD_ATTR", "MAX") == "LOAD_ATTR_ADAPTIVE"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        get_coconut().dump(read_max, "ir")
    assert "coconut_class_attr" in buf.getvalue()
    compiled(read_max)
    assert read_max(o) == "class value" and read_max(o) == "class value"
    Limits.MAX = "new"                                # a new version: filled again
    assert read_max(o) == "new" and read_max(Limits()) == "new"
    with_dict = Limits()
    with_dict.__dict__["MAX"] = "in the dict"
    assert read_max(with_dict) == "in the dict" and read_max(o) == "new"
    shadow = Limits()
    shadow.MAX = "instance"                           # MAX is a shared key now
    assert read_max(shadow) == "instance" and read_max(o) == "new"
    Limits.MAX = property(lambda self: "property")
    try:
        assert read_max(o) == "property"
    finally:
        Limits.MAX = "class value"
    assert read_max(o) == "class value"


@in_subprocess()
def test_store_attr_instance_value():
    from coconut.runtime import layout as L
    warm(write_x, Point(1, 2), 3)
    warm(read_y, Point(1, 2))
    assert form_at(write_x, "STORE_ATTR", "x") == "STORE_ATTR_INSTANCE_VALUE"
    compiled(write_x)
    index = cache_field(write_x, "STORE_ATTR", "x", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    y_index = cache_field(read_y, "LOAD_ATTR", "y", L.ATTR_CACHE_INDEX, ctypes.c_uint16).value
    p = Point(1, 2)
    with patched(index, y_index):
        write_x(p, 9)
        assert (p.x, p.y) == (1, 9)                   # the fast path, index read now
        with_dict = Point(1, 2)
        with_dict.__dict__
        write_x(with_dict, 9)
        assert (with_dict.x, with_dict.y) == (9, 2)   # values NULL
        sub = PointSub(1, 2)
        write_x(sub, 9)
        assert (sub.x, sub.y) == (9, 2)               # another type version
    # The old value is released, the new one kept; a first value joins the insertion
    # order (what __dict__ shows) at its end.
    class Value:
        pass
    old, new = Value(), Value()
    p = Point(old, 2)
    gone = weakref.ref(old)
    del old
    write_x(p, new)
    assert gone() is None and p.x is new and sys.getrefcount(new) == 3
    del p.x
    write_x(p, "back")
    assert list(vars(p).items()) == [("y", 2), ("x", "back")]


@in_subprocess()
def test_slots():
    from coconut.runtime import layout as L
    read_slot_x, write_slot_x = read_x, write_x
    warm(read_slot_x, Slots(1, 2))
    warm(read_y, Slots(1, 2))
    warm(write_slot_x, Slots(1, 2), 3)
    assert form_at(read_slot_x, "LOAD_ATTR", "x") == "LOAD_ATTR_SLOT"
    assert form_at(write_slot_x, "STORE_ATTR", "x") == "STORE_ATTR_SLOT"
    compiled(read_slot_x, write_slot_x)
    y_offset = cache_field(read_y, "LOAD_ATTR", "y", L.ATTR_CACHE_INDEX, ctypes.c_uint16).value
    load = cache_field(read_slot_x, "LOAD_ATTR", "x", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    store = cache_field(write_slot_x, "STORE_ATTR", "x", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    with patched(load, y_offset), patched(store, y_offset):
        assert read_slot_x(Slots(1, 2)) == 2          # the fast paths, offsets read now
        s = Slots(1, 2)
        write_slot_x(s, 7)
        assert (s.x, s.y) == (1, 7)
        assert read_slot_x(Point(1, 2)) == 1          # another type version
    empty = Slots(1, 2)
    del empty.x
    try:
        read_slot_x(empty)
    except AttributeError as e:
        assert "x" in str(e)
    else:
        raise AssertionError("reading an empty slot did not raise")
    write_slot_x(empty, "set")                        # no old value to release
    assert empty.x == "set"


@in_subprocess()
def test_load_method():
    from coconut.runtime import layout as L
    warm(call_norm, Point(1, 2))
    warm(list_count, [1, 2])
    assert form_at(call_norm, "LOAD_METHOD", "norm") == "LOAD_METHOD_WITH_VALUES"
    assert form_at(list_count, "LOAD_METHOD", "count") == "LOAD_METHOD_NO_DICT"
    compiled(call_norm, list_count)
    descr = cache_field(call_norm, "LOAD_METHOD", "norm", L.METHOD_CACHE_DESCR, ctypes.c_void_p)
    other = Point.__dict__["other"]
    with patched(descr, id(other)):
        assert call_norm(Point(1, 2)) == ("other", 2)     # the fast path, descr read now
        with_dict = Point(1, 2)
        with_dict.__dict__
        assert call_norm(with_dict) == ("norm", 1)        # a materialized __dict__
        assert call_norm(PointSub(1, 2)) == ("norm", 1)   # another type version
    list_descr = cache_field(list_count, "LOAD_METHOD", "count", L.METHOD_CACHE_DESCR,
                             ctypes.c_void_p)
    index = list.__dict__["index"]
    with patched(list_descr, id(index)):
        assert list_count([5, 1, 1]) == 1                 # list.index(1)
        assert list_count((5, 1, 1)) == 2                 # a tuple: tuple.count
    # An instance attribute named like the method changes the class's shared keys.
    shadowing = Point(1, 2)
    shadowing.norm = lambda: "instance attribute"
    with patched(descr, id(other)):
        assert call_norm(Point(1, 2)) == ("norm", 1)
        assert call_norm(shadowing) == "instance attribute"


@in_subprocess()
def test_module_attributes():
    from coconut.runtime import layout as L
    warm(module_attr)
    warm(module_method, math)
    assert form_at(module_attr, "LOAD_ATTR", "pi") == "LOAD_ATTR_MODULE"
    assert form_at(module_method, "LOAD_METHOD", "floor") == "LOAD_METHOD_MODULE"
    compiled(module_attr, module_method)
    keys = ctypes.c_void_p.from_address(id(math.__dict__) + L.DICT_KEYS).value
    entries = keys + L.DK_INDICES + (1 << ctypes.c_uint8.from_address(
        keys + L.DK_LOG2_INDEX_BYTES).value)
    keys_at = [ctypes.c_void_p.from_address(entries + L.DK_UNICODE_ENTRY_SIZE * i).value
               for i in range(len(math.__dict__))]
    names = [ctypes.cast(k, ctypes.py_object).value if k else None for k in keys_at]
    attr = cache_field(module_attr, "LOAD_ATTR", "pi", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    meth = cache_field(module_method, "LOAD_METHOD", "floor", L.ATTR_CACHE_INDEX,
                       ctypes.c_uint16)
    with patched(attr, names.index("e")), patched(meth, names.index("ceil")):
        assert module_attr() == math.e                # the fast paths, entries read now
        assert module_method(math) == 3
        fake = types.ModuleType("math")
        fake.floor = lambda x: "fake floor"
        assert module_method(fake) == "fake floor"    # another module's keys
        assert module_method(types.SimpleNamespace(floor=math.floor)) == 2   # no module
        math.coconut_test_attr = None                 # the module's keys change
        try:
            assert module_attr() == math.pi
            assert module_method(math) == 2
        finally:
            del math.coconut_test_attr


@in_subprocess()
def test_follows_respecialization():
    """After a deopt the interpreter runs the rest of the call and specializes the
    instruction again (here for a new type version): the native code follows."""
    from coconut.runtime import layout as L
    warm(respecialize, Point(1, 2), 3)
    warm(read_y, Point(1, 2))
    compiled(respecialize)
    y_index = cache_field(read_y, "LOAD_ATTR", "y", L.ATTR_CACHE_INDEX, ctypes.c_uint16).value
    Point.marker = None                                # a new version: the cache is stale
    index = cache_field(respecialize, "LOAD_ATTR", "x", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    with patched(index, y_index):
        assert respecialize(Point(1, 2), 2) == (1, 1, 2)     # a miss: generic
    respecialize(Point(1, 2), 200)    # iterations 1.. in the interpreter: specialized again
    assert form_at(respecialize, "LOAD_ATTR", "x") == "LOAD_ATTR_INSTANCE_VALUE"
    with patched(index, y_index):      # a native hit (the interpreter then hits too)
        assert respecialize(Point(1, 2), 2) == (2, 2, 2)


@in_subprocess()
def test_cold_and_warm_copies_of_one_code():
    """A copy compiled before it ran has no fast path; the on-disk cache must not give
    its native code to an equal code object compiled after the interpreter specialized
    it (the snapshot of the specializations is part of the cache key)."""
    import types
    from coconut.lowering import caches
    from coconut.frontend import BytecodeCFG
    from coconut.runtime import layout as L
    cold = types.FunctionType(read_x.__code__.replace(), globals())
    assert caches.snapshot(BytecodeCFG(cold.__code__)) == {}
    compiled(cold)
    warm(read_x, Point(1, 2))
    warm(read_y, Point(1, 2))
    assert set(caches.snapshot(BytecodeCFG(read_x.__code__)).values()) == {"LOAD_ATTR_INSTANCE_VALUE"}
    compiled(read_x)
    index = cache_field(read_x, "LOAD_ATTR", "x", L.ATTR_CACHE_INDEX, ctypes.c_uint16)
    y_index = cache_field(read_y, "LOAD_ATTR", "y", L.ATTR_CACHE_INDEX, ctypes.c_uint16).value
    with patched(index, y_index):
        assert read_x(Point(1, 2)) == 2
    assert cold(Point(1, 2)) == 1


def test_switched_off():
    """COCONUT_INLINE_CACHES=0: no fast path (the patched cache is not read)."""
    res = run_code(
        "from tests import test_inline_caches as t\n"
        "from coconut.runtime import layout as L\n"
        "import coconut, ctypes\n"
        "assert not L.INLINE_CACHES\n"
        "t.warm(t.read_x, t.Point(1, 2)); t.warm(t.read_y, t.Point(1, 2))\n"
        "coconut.compile(t.read_x)\n"
        "index = t.cache_field(t.read_x, 'LOAD_ATTR', 'x', L.ATTR_CACHE_INDEX, ctypes.c_uint16)\n"
        "with t.patched(index, 1):\n"
        "    assert t.read_x(t.Point(1, 2)) == 1\n"
        "print('ok')\n", env={"COCONUT_INLINE_CACHES": "0"})
    assert res.ok and res.stdout.strip() == "ok", res.describe()
