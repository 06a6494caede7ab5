"""Attribute and method loads whose sites see several types: the polymorphic caches of
runtime/pic.py (instance values, slots, methods on types with values, without a
__dict__, with a __dict__ at an offset), and every way an entry stops serving: the class
changed (a property added, __getattribute__ defined), the instance's __dict__
materialized, an attribute deleted, __class__ reassigned, a method shadowed by an
instance attribute set later, more types than entries."""


class Shape:
    def __init__(self, name):
        self.name = name
        self.moves = 0

    def area(self):
        return 0

    def scaled(self, k):
        return self.area() * k


class Rect(Shape):
    def __init__(self, w, h):
        super().__init__("rect")
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h


class Square(Rect):
    def __init__(self, side):
        super().__init__(side, side)


class Slotted:
    __slots__ = ("w", "h", "name")

    def __init__(self, w, h):
        self.w, self.h, self.name = w, h, "slotted"

    def area(self):
        return self.w * self.h


class Plain:
    def __init__(self, w):
        self.name = "plain"
        self.extra = 1
        self.w = w
        self.h = 2

    def area(self):
        return -self.w


class Listy(list):
    __slots__ = ()

    def area(self):
        return len(self)


class Dicty(dict):
    def area(self):
        return len(self) * 10


def _fresh_shapes():
    """New classes each call: a shared-keys change made by one call (a shadowing
    attribute) is not there at the next."""
    class S:
        def __init__(self, name):
            self.name = name

        def area(self):
            return 0

    class R(S):
        def __init__(self, w, h):
            super().__init__("rect")
            self.w, self.h = w, h

        def area(self):
            return self.w * self.h

    class Q(R):
        def __init__(self, side):
            super().__init__(side, side)
    return S, R, Q


def shapes(n):
    return [Rect(2, 3), Square(4), Shape("dot"), Slotted(5, 6), Plain(n), Listy([1, 2, 3]),
            Dicty(a=1)]


def poly_methods(n):
    total = 0
    items = shapes(n)
    for i in range(n):
        for s in items:
            total += s.area() * (i + 1)
    return total


def poly_attributes(n):
    total = 0
    names = []
    items = [Rect(2, 3), Square(4), Slotted(5, 6), Plain(n)]
    for i in range(n):
        for s in items:
            total += s.w * s.h + i
            names.append(s.name)
    return total, names[-5:]


def poly_more_types_than_entries(n):
    classes = []
    for k in range(9):
        cls = type(f"C{k}", (), {"get": lambda self, k=k: self.v + k})
        classes.append(cls)
    objs = []
    for k, cls in enumerate(classes):
        o = cls()
        o.v = k * 100
        objs.append(o)
    total = 0
    for i in range(n):
        for o in objs:
            total += o.v + o.get()
    return total


def poly_property_added_mid_loop(n):
    class A:
        def __init__(self):
            self.x = 1

    class B:
        def __init__(self):
            self.x = 2

    class C(B):
        pass
    objs = [A(), B(), C()]
    out = []
    for i in range(n):
        if i == n // 2:
            A.x = property(lambda self: 100)
            B.x = property(lambda self: 200)
        for o in objs:
            out.append(o.x)
    return out


def poly_getattribute_added_mid_loop(n):
    class A:
        def __init__(self):
            self.x = 1

        def m(self):
            return "m"

    class B(A):
        pass
    objs = [A(), B()]
    out = []
    for i in range(n):
        if i == n // 2:
            B.__getattribute__ = lambda self, name: f"got {name}"
        for o in objs:
            out.append((o.x, o.m() if type(o) is A else o.m))
    return out


def poly_dict_materialized(n):
    S, R, Q = _fresh_shapes()
    a, b, c = R(1, 2), Q(3), Plain(4)
    out = []
    for i in range(n):
        if i == n // 2:
            vars(a)["w"] = 50          # the instances' __dict__ made
            b.__dict__["h"] = 60
            c.__dict__["w"] = 70
        for o in (a, b, c):
            out.append(o.w + o.h)
            out.append(o.area())
    return out


def poly_attribute_deleted(n):
    S, R, Q = _fresh_shapes()
    a, b, c = R(1, 2), Plain(3), Q(4)
    out = []
    for i in range(n):
        for o in (a, b, c):
            try:
                out.append(o.w)
            except AttributeError as e:
                out.append(str(e))
        if i == n // 2:
            del a.w
            del b.w
            del c.w
    return out


def poly_slot_unset(n):
    out = []
    objs = [Slotted(1, 2), Slotted(3, 4), Rect(5, 6), Square(7)]
    for i in range(n):
        if i == n // 2:
            del objs[1].h
            del objs[3].h
        for o in objs:
            try:
                out.append(o.h)
            except AttributeError as e:
                out.append(str(e))
    return out


def poly_class_reassigned(n):
    S, R, Q = _fresh_shapes()
    a, b, c = R(1, 2), Q(3), S("s")
    out = []
    for i in range(n):
        if i == n // 2:
            a.__class__ = Q
            b.__class__ = S
            c.__class__ = R
            c.w, c.h = 7, 8
        for o in (a, b, c):
            out.append((type(o).__name__, o.area(), o.name))
    return out


def poly_method_shadowed_later(n):
    # every class's entry goes stale (the interpreter's own form covers one of them)
    S, R, Q = _fresh_shapes()
    a, b, c, d = R(1, 2), Q(3), S("s"), R(4, 5)
    out = []
    for i in range(n):
        if i == n // 2:
            for o in (a, b, c):        # a new name among each class's shared keys
                o.area = lambda o=o: "shadowed " + o.name
        for o in (a, b, c, d):
            out.append(o.area())
    return out


def poly_method_shadowed_before(n):
    class K:
        def __init__(self, v):
            self.v = v

        def get(self):
            return self.v

    class L(K):
        pass
    a, b, c = K(1), L(2), K(3)
    c.get = lambda: "own"                      # set before any call
    out = []
    for i in range(n):
        for o in (a, b, c):
            out.append(o.get())
        if i == n // 2:
            del c.get
    return out


def poly_lazy_dict_shadowed(n):
    # exceptions keep their __dict__ at an offset (BaseException's), made when needed
    class D(Exception):
        def m(self):
            return "method"

    class E(ValueError):
        def m(self):
            return "E method"

    class F(E):
        pass

    class G(dict):                     # (a dict subclass has instance values)
        def m(self):
            return "G method"
    d, e, f, g = D(), E(), F(), G()
    out = []
    for i in range(n):
        if i == n // 2:
            for o in (d, e, f, g):
                o.m = lambda o=o: "instance of " + type(o).__name__
        for o in (d, e, f, g):
            out.append(o.m())
    return out


def poly_no_dict_types(n):
    out = []
    items = [[1, 2], (3, 4), "ab", Listy([5]), b"xy"]
    for i in range(n):
        for s in items:
            out.append(s.count(items[0][0] if i % 2 else 2))
            out.append(s.index(s[0]))
    return out


def poly_foreign_slot_descriptor(n):
    class A:
        __slots__ = ("x",)

    class B:
        pass
    a = A()
    a.x = 1
    B.x = A.__dict__["x"]                      # another class's slot: a TypeError on B
    out = []
    for i in range(n):
        for o in (a, B()):
            try:
                out.append(o.x)
            except TypeError as e:
                out.append(str(e))
    return out


def poly_attr_then_method_names(n):
    # the same name read as an attribute on some types and a method on others
    class F:
        def __init__(self):
            self.size = 3

    class G:
        def size(self):
            return 4
    objs = [F(), G(), F()]
    out = []
    for i in range(n):
        for o in objs:
            s = o.size
            out.append(s if isinstance(s, int) else s())
    return out


class _Callable:
    def __call__(self, *args):
        return ("called with", len(args))


def poly_method_kinds(n):
    # one LOAD_METHOD site, a different kind of `m` on each type: only functions and
    # method descriptors are pushed unbound
    class Fn:
        def m(self):
            return "function"

    class Static:
        m = staticmethod(lambda: "static")

    class Cls:
        m = classmethod(lambda cls: "classmethod of " + cls.__name__)

    class Obj:
        m = _Callable()

    class Prop:
        m = property(lambda self: lambda: "from a property")

    class Inst:
        def __init__(self):
            self.m = lambda: "instance attribute"

    class Builtin(list):
        m = list.__len__
    objs = [Fn(), Static(), Cls(), Obj(), Prop(), Inst(), Builtin([1, 2])]
    out = []
    for i in range(n):
        for o in objs:
            out.append(o.m())
    return out


def poly_class_attribute_changed(n):
    class H:
        def __init__(self):
            self.a = 1

        def val(self):
            return self.a

    class I(H):
        pass

    class J(H):
        pass
    objs = [H(), I(), J()]
    out = []
    for i in range(n):
        if i == n // 2:
            H.val = lambda self: self.a * 1000
        if i == n // 2 + 1:
            I.a = property(lambda self: -7)
            J.a = property(lambda self: -8)
        for o in objs:
            out.append(o.val())
            out.append(o.a)
    return out


def _delete(o, *names):
    for name in names:
        delattr(o, name)


def poly_stores(n):
    # instance values and slots of several types through one STORE_ATTR site; the
    # insertion order of each instance's attributes (vars()) after deletes and re-stores
    S, R, Q = _fresh_shapes()

    class P:                           # (fresh: its shared keys start empty each call)
        def __init__(self, w):
            self.name, self.extra, self.w, self.h = "plain", 1, w, 2
    objs = [R(1, 2), Q(3), Slotted(4, 5), P(6), S("s")]
    for i in range(n):
        for k, o in enumerate(objs):
            o.w = i * 10 + k
            o.h = -i
            if i == n // 2 and not isinstance(o, Slotted):
                _delete(o, "w", "h")   # (a call: DELETE_ATTR itself would deopt)
                o.extra2 = i
    return [(type(o).__name__, o.w, o.h, list(vars(o)) if hasattr(o, "__dict__") else None)
            for o in objs]


def poly_store_order(n):
    # first values stored after deletes: each goes to the end of the instance's
    # insertion order (vars(); which makes the __dict__, after which stores are generic)
    class A:
        def __init__(self):
            self.a, self.w, self.h = 1, 2, 3

    class B:
        def __init__(self):
            self.w, self.h = 2, 3
    objs = [A(), B()]
    for i in range(n):
        for o in objs:
            o.w = i
            o.h = -i
        if i == 0:
            for o in objs:
                _delete(o, "w", "h")
    return [list(vars(o)) for o in objs]   # (the __dict__ made only now)


def poly_stores_guards(n):
    class A:
        def __init__(self):
            self.v = 0

    class B:
        def __init__(self):
            self.v = 0

    class C(B):
        pass
    objs = [A(), B(), C(), property(lambda self: 1)]
    log = []
    for i in range(n):
        if i == n // 2:
            A.v = property(lambda self: "prop", lambda self, x: log.append(("set", x)))
            B.__setattr__ = lambda self, name, x: log.append(("setattr", name, x))
            vars(objs[2])["other"] = 1         # C's instance: its __dict__ made
        for o in objs:
            try:
                o.v = i
            except AttributeError as e:
                log.append(str(e))
            try:
                o.fget = i                     # a READONLY member of property
            except AttributeError as e:
                log.append(str(e))
    return log, [getattr(o, "v", None) for o in objs[:3]]


def poly_store_class_reassigned(n):
    S, R, Q = _fresh_shapes()
    a, b = R(1, 2), Q(3)
    out = []
    for i in range(n):
        if i == n // 2:
            a.__class__, b.__class__ = Q, S
        for o in (a, b):
            o.h = i
            o.name = "n%d" % i
            out.append((type(o).__name__, o.h, o.name, list(vars(o))))
    return out


def poly_given_up(n):
    # owners no entry can hold (a module, a class: not the generic getattr) fail the
    # fill until the site gives up (64 failures); the instances then take the generic
    # path too
    import math

    class K:
        pi = 3

    class V:
        def __init__(self):
            self.pi = 2.5
    owners = [math, K, V(), K(), V()]
    total = 0.0
    for i in range(n):
        for o in owners:
            total += o.pi
        if i == n - 3:
            owners[2].pi = -1.0
    return total


CASES = [
    (poly_methods, [(6,), (1,)]),
    (poly_attributes, [(6,), (2,)]),
    (poly_more_types_than_entries, [(5,)]),
    (poly_property_added_mid_loop, [(8,), (3,)]),
    (poly_getattribute_added_mid_loop, [(8,)]),
    (poly_dict_materialized, [(8,), (3,)]),
    (poly_attribute_deleted, [(6,)]),
    (poly_slot_unset, [(6,)]),
    (poly_class_reassigned, [(8,)]),
    (poly_method_shadowed_later, [(8,)]),
    (poly_method_shadowed_before, [(8,)]),
    (poly_lazy_dict_shadowed, [(8,)]),
    (poly_no_dict_types, [(4,)]),
    (poly_foreign_slot_descriptor, [(4,)]),
    (poly_attr_then_method_names, [(5,)]),
    (poly_class_attribute_changed, [(8,)]),
    (poly_method_kinds, [(4,)]),
    (poly_stores, [(6,), (1,)]),
    (poly_stores_guards, [(8,)]),
    (poly_store_order, [(4,)]),
    (poly_given_up, [(40,), (3,)]),
    (poly_store_class_reassigned, [(6,)]),
]
