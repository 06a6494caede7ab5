"""PRECALL / CALL / KW_NAMES / PUSH_NULL: positional and keyword arguments, defaults,
methods, builtins, classes, bound methods, callable objects, calls that raise."""
import functools


def add(a, b=10, *, c=100):
    return a + b + c


def varargs(*args, **kwargs):
    return args, sorted(kwargs.items())


def raises_value_error(x):
    if x > 2:
        raise ValueError("too big: %d" % x)
    return x


def deep_raise(n):
    if n == 0:
        raise LookupError("bottom")
    return deep_raise(n - 1) + 1


class Klass:
    def __init__(self, a, b=2):
        self.a = a
        self.b = b

    def method(self, x, y=1, *, z=0):
        return self.a * x + self.b * y + z

    def __call__(self, v):
        return ("called", v, self.a)


class InitRaises:
    def __init__(self, x):
        raise RuntimeError("init failed with %r" % (x,))


class NewRaises:
    def __new__(cls, x):
        raise TypeError("no instances")


def positional(a, b):
    return add(a), add(a, b), add(a, b, c=b), add(b=a, a=b), add(a, c=1)


def keywords_to_builtins(items):
    return (sorted(items, key=lambda t: -t, reverse=True), max(items, default=None),
            int("ff", base=16), print("to stdout", end="!\n", sep="-"), dict(a=1, b=2),
            round(2.567, ndigits=2), "x".join(map(str, items)))


def call_builtins(s):
    return len(s), abs(-len(s)), min(s), max(s), sorted(s), list(reversed(s)), tuple(s), \
        str(len(s)), repr(s), hash(1), isinstance(s, (list, str)), divmod(len(s), 2), \
        int("12"), float("1.5"), bool(s), chr(65), ord("A"), type(s), id(s) == id(s), \
        getattr(s, "upper", None) is not None, callable(len), hex(255), sum([1, 2]), any(s), \
        all(s)


def call_varargs(a):
    return varargs(), varargs(a), varargs(a, a), varargs(k=a), varargs(a, k=a, j=2)


def call_methods(a):
    k = Klass(a)
    bound = k.method
    lst = [3, 1, 2]
    lst.sort()
    d = {}
    d.setdefault("k", []).append(a)
    return (k.method(2), k.method(2, 3), k.method(2, y=4), k.method(x=1, y=1, z=1),
            bound(5), Klass.method(k, 1), lst, d, "a-b".replace("-", "+"),
            "abc".startswith("a"), k(7), Klass(b=5, a=1).b)


def call_lambda_and_partial(x):
    sq = lambda v: v * v  # noqa: E731
    p = functools.partial(add, c=0)
    return sq(x), p(x), p(x, 1), (lambda *a, **k: (a, k))(x, y=x)


def call_class_init_raises(x):
    return InitRaises(x)


def call_new_raises(x):
    return NewRaises(x)


def call_propagates(x):
    y = raises_value_error(x)
    return y * 2


def call_caught(x):
    try:
        return raises_value_error(x)
    except ValueError as e:
        return "caught", str(e)


def deep_call_propagates(n):
    return deep_raise(n)


def wrong_arg_count(x):
    return add()


def wrong_keyword(x):
    return add(x, d=1)


def duplicate_keyword(x):
    return add(x, a=1)


def not_callable(x):
    return x(1)


def not_callable_caught(x):
    try:
        return x()
    except TypeError as e:
        return str(e)


def builtin_raises(s):
    return int(s)


def builtin_raises_caught(s):
    try:
        return int(s)
    except ValueError as e:
        return str(e)


def method_raises(lst):
    return lst.index(99)


def method_raises_caught(d):
    try:
        return d.pop("missing")
    except KeyError as e:
        return repr(e)


def callable_object(v):
    return Klass(v)(v + 1)


def call_in_loop(n):
    total = 0
    k = Klass(2)
    for i in range(n):
        total += add(i, c=i) + k.method(i) + len(str(i)) + abs(-i)
    return total


def call_through_functools(lst):
    return functools.reduce(add, lst, 0), list(map(add, lst)), sorted(lst, key=Klass)[0:0]


def recursion_in_callee(n):
    return [deep_raise(0) if False else n, functools.reduce(lambda a, b: a * b, range(1, n), 1)]


def many_args(a, b, c, d, e, f, g, h, i, j, k, l):
    return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8 + i * 9 + j * 10 + k * 11 + l


def call_many_args(x):
    return many_args(x, x, x, x, x, x, x, x, x, x, x, x), many_args(
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, k=11, l=12)


CASES = [
    (positional, [(1, 2), ("a", "b")]),
    (keywords_to_builtins, [([3, 1, 2],)]),
    (call_builtins, [("hello",), ([3, 1],)]),
    (call_varargs, [(1,)]),
    (call_methods, [(3,)]),
    (call_lambda_and_partial, [(4,)]),
    (call_class_init_raises, [(1,)]),
    (call_new_raises, [(1,)]),
    (call_propagates, [(1,), (5,)]),
    (call_caught, [(1,), (5,)]),
    (deep_call_propagates, [(0,), (3,)]),
    (wrong_arg_count, [(1,)]),
    (wrong_keyword, [(1,)]),
    (duplicate_keyword, [(1,)]),
    (not_callable, [(1,), (None,), ("s",), (len,)]),
    (not_callable_caught, [(1,), (list,)]),
    (builtin_raises, [("x",), ("12",), (None,)]),
    (builtin_raises_caught, [("x",), ("7",)]),
    (method_raises, [([1, 2],)]),
    (method_raises_caught, [({},)]),
    (callable_object, [(1,)]),
    (call_in_loop, [(300,)]),
    (call_through_functools, [([1, 2, 3],)]),
    (recursion_in_callee, [(6,)]),
    (call_many_args, [(1,), ("s",)]),
]
