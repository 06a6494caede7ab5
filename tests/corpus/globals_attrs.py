"""LOAD_GLOBAL (module globals, builtins, NameError), LOAD_ATTR / STORE_ATTR / LOAD_METHOD.

The `cache_*` functions exercise the fast paths that read the interpreter's inline caches
(coconut/lowering/caches.py): the harness warms a function up in the interpreter before
compiling it, so its sites are specialized for what they saw first in a call, and the
compiled calls then hit those caches and miss them (the other objects of a loop, types
and namespaces modified by the function itself).
"""
import math
import sys
import types

G_INT = 40
G_LIST = [1, 2, 3]
len_shadow_target = len


def read_globals(x):
    return G_INT + x, G_LIST[0], math.pi > 3, len(G_LIST)


def read_builtins(s):
    return len(s), abs(-3), isinstance(s, str), type(s).__name__, min(3, 1, 2), str(7)


def missing_global(flag):
    if flag:
        return this_name_is_not_defined  # noqa: F821
    return "fine"


def missing_global_caught():
    try:
        return not_defined_either  # noqa: F821
    except NameError as e:
        return "caught", str(e)


def missing_global_in_loop(n):
    t = 0
    for i in range(n):
        t += i
        if i == 3:
            t += also_missing  # noqa: F821
    return t


def global_changes_between_iterations(n):
    # mutates a module global through the module dict (no STORE_GLOBAL): the compiled
    # code must not cache the global's value
    g = globals()
    g["G_CHANGING"] = 0
    out = []
    for i in range(n):
        out.append(G_CHANGING)  # noqa: F821
        g["G_CHANGING"] = i * 10
    del g["G_CHANGING"]
    return out


def builtin_shadowed_by_global(n):
    g = globals()
    out = [len("abc")]
    g["len"] = lambda s: -1
    try:
        out.append(len("abc"))
    finally:
        del g["len"]
    out.append(len("abc"))
    return out


def global_deleted_midway(n):
    g = globals()
    g["G_TEMP"] = 5
    out = []
    for i in range(n):
        if i == 2:
            del g["G_TEMP"]
        out.append(G_TEMP)  # noqa: F821  NameError on third iteration
    return out


class Point:
    cls_attr = "class"

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm1(self):
        return abs(self.x) + abs(self.y)

    def scaled(self, k, *, offset=0):
        return Point(self.x * k + offset, self.y * k + offset)

    @property
    def prop(self):
        return self.x * 100

    @property
    def bad_prop(self):
        raise ValueError("property says no")

    @staticmethod
    def smeth(a):
        return a * 2

    @classmethod
    def cmeth(cls, a):
        return cls.__name__, a


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a


class Dyn:
    def __getattr__(self, name):
        if name.startswith("ok_"):
            return name[3:]
        raise AttributeError("Dyn has no %r" % name)


class Desc:
    def __get__(self, obj, owner):
        return ("desc", owner.__name__)

    def __set__(self, obj, value):
        if value < 0:
            raise ValueError("negative")
        obj.__dict__["_d"] = value


class WithDesc:
    d = Desc()


def attrs_read(p):
    return p.x, p.y, p.cls_attr, p.prop, Point.cls_attr, p.norm1()


def attrs_write(p, v):
    p.x = v
    p.y += v
    p.new_attr = [v]
    return p.x, p.y, p.new_attr


def attr_missing(p):
    return p.no_such_attr


def attr_missing_caught(p):
    try:
        return p.no_such_attr
    except AttributeError as e:
        return "caught", str(e)


def attr_on_none(x):
    return x.real if x is not None else x.anything


def attr_store_fails(x):
    x.attr = 1      # AttributeError for int / slotted
    return x


def property_raises(p):
    return p.bad_prop


def property_raises_caught(p):
    try:
        return p.bad_prop
    except ValueError as e:
        return str(e)


def methods(p):
    s = "a,b,c"
    parts = s.split(",")
    parts.append("d")
    return (p.norm1(), p.scaled(2).x, p.scaled(2, offset=1).y, Point.smeth(4),
            p.smeth(5), p.cmeth(6), Point.cmeth(7), parts, " x ".strip().upper())


def method_missing(p):
    return p.no_method(1, 2)


def method_on_module():
    return math.sqrt(16.0), math.floor(2.5), math.gcd(12, 18)


def slots_access(a):
    s = Slotted(a)
    first = s.a
    s.a = a * 2
    try:
        return first, s.a, s.b
    except AttributeError as e:
        return first, s.a, "no b", str(e)


def slots_missing(a):
    s = Slotted(a)
    return s.b


def getattr_hook(name):
    d = Dyn()
    return d.ok_value, getattr(d, name)


def getattr_hook_raises():
    d = Dyn()
    return d.nope


def descriptor(v):
    w = WithDesc()
    w.d = v
    return w.d, w.__dict__


def attr_loop(n):
    p = Point(0, 0)
    for i in range(n):
        p.x = p.x + i
        p.y = p.norm1() % 7
    return p.x, p.y


def attr_type_changes(objs):
    # the same LOAD_ATTR site sees different types (specialisation misses)
    out = []
    for o in objs:
        out.append(o.real)
    return out


def attr_shape_changes(n):
    out = []
    for i in range(n):
        p = Point(i, i)
        if i % 3 == 0:
            p.extra = i
        if i % 4 == 0:
            del p.x        # DELETE_ATTR (not native)
            p.x = -i
        out.append(p.x + p.y)
    return out


# -- inline caches ------------------------------------------------------------------------
class Cached:
    shadowed = "class value"

    def __init__(self, a, b):
        self.a = a
        self.b = b
        self.shadowed = "instance value"

    def total(self):
        return self.a + self.b


class CachedSub(Cached):
    def total(self):
        return ("sub", self.a)


class CachedSlots:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def total(self):
        return self.a * self.b


class Bag:
    pass


class Mutable:
    def __init__(self, v):
        self.v = v

    def get(self):
        return ("get", self.v)


def _variants(i):
    """Objects with attributes a, b, shadowed and a method total(): the first is the
    plain Cached a site specializes for; each other one fails a guard of that cache."""
    with_dict = Cached(i, 3)
    with_dict.__dict__["extra"] = i          # the instance's __dict__ materialized
    unshadowed = Cached(i, 4)
    del unshadowed.shadowed                  # NULL in the values: the class attribute
    overridden = Cached(i, 5)
    vars(overridden)["total"] = lambda: ("instance method", i)
    ns = types.SimpleNamespace(a=i, b=6, shadowed="namespace", total=lambda: "ns total")
    return [Cached(i, 1), CachedSub(i, 2), with_dict, unshadowed, overridden,
            CachedSlots(i, 7), ns, Cached(i, 8)]


def cache_attr_loads(n):
    out = []
    for o in _variants(n):
        out.append((o.a, o.b, o.shadowed, o.total()))
    return out


def cache_attr_stores(n):
    out = []
    for o in _variants(n):
        o.a = o.a + 1
        o.b = o.b * 10
        out.append((o.a, o.b, o.total()))
    return out


def cache_slots(n):
    out = []
    objs = [CachedSlots(n, 1), CachedSlots(n, 2), Cached(n, 3), CachedSlots(n, 4)]
    del objs[1].b                             # an empty slot
    for o in objs:
        o.a = o.a * 2                         # STORE_ATTR_SLOT, an old value to release
        o.b = [-n]                            # into the empty slot: no old value
        out.append((o.a, o.b, o.total()))
    del objs[0].b
    try:
        return out, objs[0].b                 # LOAD_ATTR_SLOT of an empty slot: misses
    except AttributeError as e:
        return out, str(e)


def cache_first_values(n):
    # STORE_ATTR_INSTANCE_VALUE of a value not set yet: the insertion order of the
    # instance's values (what __dict__ shows) must follow the stores
    out = []
    for i in range(n):
        o = Bag()
        if i % 2:
            o.y = i
            o.x = -i
        else:
            o.x = i
            o.y = -i
        o.z = i * 2
        if i % 3 == 0:
            del o.x
            o.x = "again"                     # deleted then stored: last in the order
        out.append(list(vars(o).items()))
    return out


def cache_type_modified(n):
    # the class changes under the sites: a new version each time; a property that
    # shadows the instance value, a replaced method, then back
    out = []
    o = Mutable(n)
    for i in range(4):
        out.append((o.v, o.get()))
        if i == 0:
            Mutable.v = property(lambda self: ("property", i))
        elif i == 1:
            del Mutable.v
            Mutable.get = lambda self: ("replaced", self.v)
        elif i == 2:
            Mutable.get = _MUTABLE_GET
    return out


_MUTABLE_GET = Mutable.get


class Hinted:
    def __init__(self, a, b, order=0):
        # a combined __dict__ (not the class's shared keys): LOAD_ATTR_WITH_HINT and
        # STORE_ATTR_WITH_HINT read and write the entry at a cached index
        self.__dict__ = {"b": b, "a": a} if order else {"a": a, "b": b}


class _PeekOnDel:
    def __init__(self, log):
        self.log = log

    def __del__(self):
        frame = sys._getframe(1)
        self.log.append(("del", sorted(k for k in frame.f_locals if not k.startswith("."))))


def cache_hinted_dicts(n):
    """Attributes in materialized instance dicts, then what each guard of the hint
    catches: another entry order, a split dict, general keys, a missing attribute, a
    property added to the class, an old value whose __del__ looks at the frame."""
    log = []
    objs = [Hinted(i, -i) for i in range(n)]
    objs += [Hinted(1, 2, order=1), Cached(3, 4)]
    general = Hinted(5, 6)
    vars(general)[7] = "int key"
    objs.append(general)
    missing = Hinted(8, 9)
    del missing.a
    objs.append(missing)
    total = 0
    for o in objs[:n]:
        total += o.a - o.b                   # only hinted dicts here
    for k, o in enumerate(objs):
        try:
            o.b = o.b + o.a
            total += o.a * 2
        except AttributeError as e:
            log.append(str(e))
        if k == n:
            o.b = _PeekOnDel(log)
            o.b = k                          # the old value's __del__ runs here
    Hinted.a = property(lambda self: "property")
    try:
        late = [o.a for o in objs[:3]]
    finally:
        del Hinted.a
    return total, [vars(o) if not isinstance(o, Cached) else (o.a, o.b) for o in objs], \
        log, late


def cache_methods_builtin_types(n):
    # LOAD_METHOD_NO_DICT on builtin types: another type at the same site misses
    out = []
    for seq in ([n, 1], [2], (3, n), "ab"):
        out.append((seq.count(n), seq.index(seq[0])))
    lst = []
    for i in range(n):
        lst.append(i)
    return out, lst


G_CACHE = 10


def cache_global_rebound(n):
    # the value of a global changes, its dict's keys do not: the cached entry is read
    # again at each load
    g = globals()
    out = []
    for i in range(n):
        out.append(G_CACHE)
        g["G_CACHE"] = i
    g["G_CACHE"] = 10
    return out


def cache_global_deleted(n):
    g = globals()
    g["G_CACHE_TEMP"] = "temp"
    out = []
    for i in range(n):
        if i == 2:
            del g["G_CACHE_TEMP"]
        out.append(G_CACHE_TEMP)  # noqa: F821  NameError on the third iteration
    return out


def cache_builtin_shadowed(n):
    g = globals()
    out = []
    try:
        for i in range(n):
            out.append((len("abc"), abs(-i)))
            if i == 1:
                g["len"] = lambda s: ("global len", s)
    finally:
        g.pop("len", None)
    out.append(len("ab"))
    return out


def cache_other_globals(n):
    # the same code under two globals dicts: the keys version of the other dict differs
    f = types.FunctionType(cache_global_rebound.__code__,
                           {"G_CACHE": "other", "globals": lambda: {}, "range": range})
    return f(n), cache_global_rebound(n)


def cache_module_attrs(n):
    # LOAD_ATTR_MODULE (`math` is bound by an import), LOAD_METHOD_MODULE (a module in a
    # local); another module at the same site; the module's keys change
    out = []
    for module in (math, math, types.ModuleType("fake"), math):
        out.append((math.floor(n + 0.5), math.pi, module.__name__))
        if module.__name__ == "fake":
            math.coconut_corpus_attr = n
        else:
            out.append(module.floor(n * 1.5))
    del math.coconut_corpus_attr
    return out


class ManyNames:
    def __init__(self):
        self.target = 1

    def method(self):
        return [self.target]


_FILLER = ", ".join("filler_%d" % i for i in range(260))
# Names used first in an exception handler: the target names get indices above 255,
# so their instructions carry an EXTENDED_ARG prefix (the cache follows the instruction).
exec(f"""
def many_names(k):
    o = ManyNames()
    try:
        x = o
    except BaseException:
        ({_FILLER})
    o.target = o.target + k
    return o.target + len(o.method()), G_CACHE, x is o
""")


# -- class attributes read through instances (caches.class_attr, runtime/attributes.py) --
class Consts:
    LIMIT = 7
    SCALE = 2.5
    NAME = "consts"
    BIG = 2**40

    def __init__(self, v):
        self.v = v

    def scaled(self):
        return self.v * self.SCALE + self.LIMIT


class ConstsSub(Consts):
    LIMIT = 70


class ConstsGetattr(Consts):
    def __getattr__(self, name):
        return ("getattr", name)


class ConstsProperty(Consts):
    @property
    def NAME(self):
        return "property"


def _consts_objects():
    Consts.LIMIT = 7
    shadow = Consts(4)
    shadow.LIMIT = "instance"                 # the instance's own value wins
    with_dict = Consts(5)
    with_dict.__dict__["w"] = 1               # a materialized __dict__
    return [Consts(1), Consts(2), ConstsSub(3), shadow, with_dict, ConstsGetattr(6),
            ConstsProperty(7), types.SimpleNamespace(LIMIT=8, NAME="ns", BIG=0)]


def class_attrs_through_instances(n):
    """Plain class values read through instances, while the class changes: a new value
    (a new type version), a name added to the instances' shared keys, the value deleted
    (AttributeError, caught), and put back."""
    out = []
    objs = _consts_objects()
    for i in range(n):
        for o in objs:
            try:
                out.append((o.LIMIT, o.NAME, o.BIG))
            except AttributeError as e:
                out.append(("AttributeError", str(e)))
        if i == 1:
            Consts.LIMIT = 8.5
        elif i == 2:
            Consts(0).fresh_name = 1
        elif i == 3:
            del Consts.LIMIT
        elif i == 4:
            Consts.LIMIT = "back"
    Consts.LIMIT = 7
    return out


class Scaler:
    OFFSET = 7.0
    FACTOR = 2.5

    def __init__(self, v):
        self.v = v

    def scaled(self):
        return self.v * self.FACTOR + self.OFFSET


def _reset_scaler():
    # (only what changed: a class assignment gives the class a new version, which the
    # interpreter's LOAD_METHOD cache of scaled() would miss at every call)
    if Scaler.__dict__.get("OFFSET") != 7.0:
        Scaler.OFFSET = 7.0
    if Scaler.__dict__.get("FACTOR") != 2.5:
        Scaler.FACTOR = 2.5


def class_attrs_in_a_method(n):
    """scaled() reads two class values (inlined into this loop where it is small):
    the values change type mid-loop (an int, an int of two digits), then one is
    deleted: the AttributeError's traceback goes through scaled()."""
    _reset_scaler()
    objs = [Scaler(i + 0.5) for i in range(4)]
    t = 0.0
    try:
        for i in range(n):
            for o in objs:
                t += o.scaled()
            if i == 2:
                Scaler.FACTOR = 3
            elif i == 3:
                Scaler.OFFSET = 2**40 + 1
            elif i == 5:
                del Scaler.FACTOR
        return t
    finally:
        _reset_scaler()


CASES = [
    (class_attrs_through_instances, [(2,), (7,)]),
    (class_attrs_in_a_method, [(2,), (5,), (8,)]),
    (cache_hinted_dicts, [(3,), (6,)]),
    (read_globals, [(2,)]),
    (read_builtins, [("hello",)]),
    (missing_global, [(0,), (1,)]),
    (missing_global_caught, [()]),
    (missing_global_in_loop, [(2,), (10,)]),
    (global_changes_between_iterations, [(5,)]),
    (builtin_shadowed_by_global, [(1,)]),
    (global_deleted_midway, [(2,), (5,)]),
    (attrs_read, [(Point(1, -2),)]),
    (attrs_write, [(Point(1, 2), 5)]),
    (attr_missing, [(Point(1, 2),), (3,)]),
    (attr_missing_caught, [(Point(1, 2),), ("s",)]),
    (attr_on_none, [(1,), (None,)]),
    (attr_store_fails, [(1,), (Point(1, 1),)]),
    (property_raises, [(Point(1, 2),)]),
    (property_raises_caught, [(Point(1, 2),)]),
    (methods, [(Point(3, -4),)]),
    (method_missing, [(Point(1, 2),)]),
    (method_on_module, [()]),
    (slots_access, [(1,)]),
    (slots_missing, [(1,)]),
    (getattr_hook, [("ok_x",), ("bad",)]),
    (getattr_hook_raises, [()]),
    (descriptor, [(3,), (-1,)]),
    (attr_loop, [(50,)]),
    (attr_type_changes, [([1, 2.5, 3j, True, 10**20],), ([1, "s"],)]),
    (attr_shape_changes, [(13,)]),
    (cache_attr_loads, [(1,)]),
    (cache_attr_stores, [(2,)]),
    (cache_slots, [(3,)]),
    (cache_first_values, [(7,)]),
    (cache_type_modified, [(4,)]),
    (cache_methods_builtin_types, [(3,)]),
    (cache_global_rebound, [(4,)]),
    (cache_global_deleted, [(2,), (4,)]),
    (cache_builtin_shadowed, [(4,)]),
    (cache_other_globals, [(3,)]),
    (cache_module_attrs, [(3,)]),
    (many_names, [(5,)]),  # noqa: F821 (defined by exec)
]
