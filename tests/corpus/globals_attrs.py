"""LOAD_GLOBAL (module globals, builtins, NameError), LOAD_ATTR / STORE_ATTR / LOAD_METHOD."""
import math

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


CASES = [
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
]
