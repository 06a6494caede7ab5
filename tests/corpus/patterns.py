"""Class and mapping patterns (MATCH_CLASS, MATCH_KEYS, with MATCH_MAPPING, MATCH_SEQUENCE
and GET_LEN around them): positional sub-patterns through __match_args__ and
_Py_TPFLAGS_MATCH_SELF, keyword sub-patterns, a missing attribute (no match), every
error ceval's match_class and match_keys raise with their messages, getters and `get`
methods that run Python code or raise (traceback lines through them), dict subclasses
with __missing__ (never called), and patterns inside loops with unboxed loop state."""
import collections
import collections.abc
import dataclasses


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Keywords:
    """No __match_args__: keyword sub-patterns only."""
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Twice:
    __match_args__ = ("a", "a")
    a = 1


class ListArgs:
    __match_args__ = ["a"]


class IntArgs:
    __match_args__ = (1,)


class Raising:
    __match_args__ = ("ok", "boom")
    ok = 1

    @property
    def boom(self):
        raise ValueError("getter raised")


class MissingAttr:
    __match_args__ = ("absent",)


class MetaRaises(type):
    def __instancecheck__(cls, obj):
        if obj == "bad":
            raise LookupError("instancecheck raised")
        return isinstance(obj, int)


class Checked(metaclass=MetaRaises):
    pass


class IntSub(int):
    pass


class IntSubArgs(int):
    __match_args__ = ("real",)


Pair = collections.namedtuple("Pair", "left right")


class Missing(dict):
    def __missing__(self, key):
        raise AssertionError("__missing__ must not run")


class LoggingGet(collections.abc.Mapping):
    """A mapping whose get runs Python code (and raises for one key)."""
    def __init__(self, data, log):
        self.data, self.log = data, log

    def __getitem__(self, key):
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    def get(self, key, default=None):
        self.log.append(key)
        if key == "explode":
            raise KeyError("get raised")
        return self.data.get(key, default)


class BadHash:
    def __hash__(self):
        raise TypeError("unhashable here")


def class_patterns(v):
    match v:
        case Point(0, y):
            return "on y axis", y
        case Point(x=0 | 1 as x, y=y) if y > x:
            return "low", x, y
        case Point(x, y=0):
            return "on x axis", x
        case bool(b):
            return "bool", b
        case int(n) if n > 3:
            return "int", n
        case IntSub():
            return "int subclass", v
        case str(s) | bytes(s):
            return "text", s
        case Pair(left, right=r):
            return "pair", left, r
        case Keywords(name=name, age=int(age)):
            return "kw", name, age
        case Keywords(name=name):
            return "kw name", name
        case float(real=re, imag=im):
            return "float parts", re, im
        case _:
            return "other"


ERROR_CLASSES = {"not a type": len, "twice": Twice, "list": ListArgs, "int names": IntArgs,
                 "getter": Raising, "missing": MissingAttr, "checked": Checked}


def class_pattern_errors(kind, v):
    cls = ERROR_CLASSES.get(kind, int)
    match v:
        case cls(a, b):
            return "two", a, b
        case cls(a):
            return "one", a
        case cls():
            return "none"
    return "no match"


def too_many_positional(v):
    match v:
        case int(a, b):               # int takes one positional sub-pattern (MATCH_SELF)
            return a, b
        case Point(a, b, c):          # Point's __match_args__ has two
            return a, b, c
    return "no match"


def self_match_subclass(v):
    match v:
        case IntSubArgs(r):           # __match_args__ defined: MATCH_SELF ignored
            return "real", r
        case IntSub(x):
            return "self", x
    return "no match"


def keyword_twice(v):
    match v:
        case Point(1, x=2):           # x by position and by keyword
            return "both"
    return "no match"


def mapping_patterns(v):
    match v:
        case {"a": 1, "b": b, **rest}:
            return "ab", b, rest
        case {"k": kv}:
            return "k", kv
        case {}:
            if not v:
                return "empty"
            return "not empty", sorted(v)
    return "no match"


def mapping_patterns_keys(v):
    match v:
        case {"a": 1, "b": b, **rest}:
            return "ab", b, rest
        case {"k": [x, *_], "n": {"m": m}}:
            return "nested", x, m
        case {0: zero, 1.5: f}:
            return "numbers", zero, f
        case {"k": kv}:
            return "k", kv
    return "no match"


def mapping_value_keys(v, key):
    match v:
        case {Pair.__name__: p}:               # a value pattern: BUILD_TUPLE of keys
            return "pair name", p
    keys = (key, "z")
    match v:
        case {"z": z, **others} if key in others:
            return "z and key", z, others[key]
    return "no match", keys


def mapping_duplicate_keys(v, a, b):
    class K:
        A = a
        B = b
    match v:
        case {K.A: x, K.B: y}:                 # equal values: ValueError at run time
            return x, y
    return "no match"


def mapping_get_raises(log_keys, data):
    log = []
    m = LoggingGet(data, log)
    try:
        match m:
            case {"x": x, "explode": e} if log_keys:
                return "matched", x, e, log
            case {"x": x}:
                return "x", x, log
    except KeyError as exc:
        return "raised", str(exc), log
    return "no match", log


def mapping_unhashable(v):
    class K:
        BAD = BadHash()
    match v:
        case {K.BAD: x}:
            return x
    return "no match"


def mapping_no_missing(v):
    match v:
        case {"present": p, "absent": a}:
            return "both", p, a
        case {"present": p}:
            return "present", p
    return "no match"


def patterns_in_loop(items):
    total = 0
    scale = 0.5
    acc = 0.0
    out = []
    for i, item in enumerate(items):
        total += i
        acc += scale * i
        match item:
            case Point(x, y):
                out.append(("point", x + y, total, acc))
            case {"w": w}:
                out.append(("map", w, total, acc))
            case int(n):
                out.append(("int", n * 2, total))
            case _:
                out.append(("other", total))
    return out, total, acc


def pattern_raises_in_loop(items):
    total = 0
    for i, item in enumerate(items):
        total += i
        match item:
            case MissingAttr(a):              # no match: the attribute is missing
                total -= 1000
            case Raising(ok, boom):           # the getter's ValueError leaves the loop
                total += ok
    return total


CASES = [
    (class_patterns, [(Point(0, 5),), (Point(1, 6),), (Point(0, 0),), (Point(9, 0),),
                      (Point(9, 9),), (True,), (7,), (2,), (IntSub(2),), ("hi",), (b"by",),
                      (Pair(1, 2),), (Keywords(name="n", age=3),), (Keywords(name="m", age="x"),),
                      (Keywords(age=1),), (1.5,), (None,), ([1],)]),
    (class_pattern_errors, [(k, v) for k in ("not a type", "twice", "list", "int names",
                                             "getter", "missing", "checked", "int")
                            for v in (Twice(), ListArgs(), IntArgs(), Raising(), MissingAttr(),
                                      5, "bad", 2.0)]),
    (too_many_positional, [(3,), (Point(1, 2),), ("s",)]),
    (self_match_subclass, [(IntSubArgs(4),), (IntSub(5),), (6,)]),
    (keyword_twice, [(Point(1, 2),), (3,)]),
    (mapping_patterns, [({},), ({"q": 1},), ({"a": 1, "b": 2, "c": 3},), ({"a": 2, "b": 2},),
                        ({"k": 9},), (collections.OrderedDict(k=1),), ([("k", 1)],), (None,)]),
    (mapping_patterns_keys, [({"a": 1, "b": 2},), ({"k": [5, 6], "n": {"m": 7}},),
                             ({"k": [], "n": {"m": 7}},), ({0: "z", 1.5: "f"},),
                             ({False: "z", 1.5: "f", "k": 3},), ({"k": 4},), ({},),
                             (collections.defaultdict(list),),
                             (collections.ChainMap({"k": 1}, {"a": 1, "b": 0}),)]),
    (mapping_value_keys, [({"Pair": 1}, "y"), ({"z": 1, "y": 2}, "y"), ({"z": 1}, "y"),
                          ({}, "y")]),
    (mapping_duplicate_keys, [({"a": 1, "b": 2}, "a", "a"), ({"a": 1, "b": 2}, "a", "b"),
                              ({1: 1, 2: 2}, 1, 1.0),
                              ({}, "x", "y")]),
    (mapping_get_raises, [(True, {"x": 1, "explode": 2}), (False, {"x": 1}), (True, {})]),
    (mapping_unhashable, [({1: 2},), ([],)]),
    (mapping_no_missing, [(Missing(present=1),), (Missing(present=1, absent=2),), (Missing(),)]),
    (patterns_in_loop, [([Point(1, 2), {"w": 3}, 4, "s", Point(0, 0), {"v": 1}],), ([],),
                        ([7] * 30,)]),
    (pattern_raises_in_loop, [([1, 2, MissingAttr(), 3],), ([1, Raising(), 2],)]),
]
