"""Subscripts of instances of classes with a Python __getitem__ (BINARY_SUBSCR where the
interpreter saw BINARY_SUBSCR_GETITEM): the compiled site keeps its own cache (type,
type version, function) and calls the function itself. Each case changes what the
cache holds while the loop runs: the method replaced on the class, the instance's
class reassigned, a subclass, a plain list at the same site, a __getitem__ that is not
a function, one that deletes itself, defaults changed, keyword-only parameters, errors
raised inside (tracebacks through the direct call). The same for STORE_SUBSCR and a
Python __setitem__ (where the interpreter could not specialize the store)."""


class Grid:
    def __init__(self, n):
        self.rows = [[x * 10 + y for y in range(n)] for x in range(n)]

    def __getitem__(self, idx):
        if isinstance(idx, tuple):
            return self.rows[idx[0]][idx[1]]
        return self.rows[idx]


def getitem_loop(n):
    g = Grid(n)
    total = 0
    for i in range(n):
        total += g[i][i] + g[i, n - 1 - i]
    return total


def getitem_method_replaced_mid_loop(n):
    class Local:
        def __getitem__(self, i):
            return i
    c = Local()
    out = []
    for i in range(n):
        if i == n // 2:
            Local.__getitem__ = lambda self, i: -i
        out.append(c[i])
    return out


def getitem_class_reassigned(n):
    class A:
        def __getitem__(self, i):
            return ("A", i)

    class B:
        def __getitem__(self, i):
            return ("B", i)
    obj = A()
    out = []
    for i in range(n):
        if i == n // 2:
            obj.__class__ = B
        out.append(obj[i])
    return out


def getitem_mixed_receivers(n):
    class Base:
        def __getitem__(self, i):
            return i + 1

    class Sub(Base):
        def __getitem__(self, i):
            return super().__getitem__(i) * 100
    receivers = [Base(), Sub(), [7, 8, 9], {0: "zero", 1: "one", 2: "two"}, "abc", (4, 5, 6)]
    out = []
    for i in range(n):
        r = receivers[i % len(receivers)]
        out.append(r[i % 3])
    return out


class CallableGetter:
    def __call__(self, *args):
        return ("called", args)


def getitem_not_a_function(n):
    class Odd:
        __getitem__ = CallableGetter()     # called without self (not a descriptor)

    class Static:
        @staticmethod
        def __getitem__(i):
            return ("static", i)
    out = []
    for i in range(n):
        out.append(Odd()[i])
        out.append(Static()[i])
    return out


def getitem_deletes_itself(n):
    class Once:
        def __getitem__(self, i):
            del type(self).__getitem__
            return i
    o = Once()
    out = []
    for i in range(n):
        try:
            out.append(o[i])
        except TypeError as e:
            out.append(str(e))
    return out


def getitem_defaults_changed(n):
    class Scaled:
        def __getitem__(self, i, scale=2):
            return i * scale
    s = Scaled()
    out = []
    for i in range(n):
        if i == n // 2:
            Scaled.__getitem__.__defaults__ = (-1,)
        out.append(s[i])
    return out


def getitem_keyword_only(n):
    class KwOnly:
        def __getitem__(self, i, *, k=3):
            return i + k

    class Star:
        def __getitem__(*args):
            return len(args)
    out = []
    for i in range(n):
        out.append(KwOnly()[i] + Star()[i])
    return out


def getitem_raises(n):
    class Limited:
        def __getitem__(self, i):
            if i >= 3:
                raise IndexError("too far: %d" % i)
            return i
    lim = Limited()
    total = 0
    for i in range(n):
        total += lim[i]
    return total


def getitem_dict_subclass(n):
    class Defaulting(dict):
        def __getitem__(self, key):
            return super().__getitem__(key) if key in self else -1
    d = Defaulting(a=1, b=2)
    keys = ["a", "b", "c"]
    return [d[keys[i % 3]] for i in range(n)]


def getitem_float_index_math(n):
    class Vec:
        def __init__(self, values):
            self.values = values

        def __getitem__(self, i):
            return self.values[i]
    v = Vec([0.5 * i for i in range(n)])
    acc = 0.0
    for i in range(n):
        acc += v[i] * v[n - 1 - i]
    return acc



class Board:
    def __init__(self, n):
        self.cells = [[0] * n for _ in range(n)]

    def __setitem__(self, idx, value):
        x, y = idx
        self.cells[x][y] = value

    def __getitem__(self, idx):
        x, y = idx
        return self.cells[x][y]


def setitem_loop(n):
    b = Board(n)
    for i in range(n):
        for j in range(n):
            b[i, j] = i * j + 0.5
    return [b[i, i] for i in range(n)]


def setitem_mixed_receivers(n):
    class Logged:
        def __init__(self):
            self.log = []

        def __setitem__(self, k, v):
            self.log.append((k, v))

    class Doubled(dict):
        def __setitem__(self, k, v):
            super().__setitem__(k, v * 2)
    targets = [Logged(), Doubled(), [0, 0, 0], {}, Logged()]
    for i in range(n):
        targets[i % len(targets)][i % 3] = i
    return [t.log if isinstance(t, Logged) else t for t in targets]


def setitem_method_replaced_mid_loop(n):
    class Box:
        def __init__(self):
            self.seen = []

        def __setitem__(self, k, v):
            self.seen.append(v)
    box = Box()
    for i in range(n):
        if i == n // 2:
            Box.__setitem__ = lambda self, k, v: self.seen.append(-v)
        box[i] = i
    return box.seen


def setitem_odd_methods(n):
    class Recorder:
        def __init__(self):
            self.calls = []

        def __call__(self, *args):
            self.calls.append(args)
    rec = Recorder()

    class Odd:
        __setitem__ = rec                  # called without self

    class Once:
        def __setitem__(self, k, v):
            del type(self).__setitem__
    out = []
    odd, once = Odd(), Once()
    for i in range(n):
        odd[i] = -i
        try:
            once[i] = i
            out.append("set")
        except TypeError as e:
            out.append(str(e))
    return rec.calls, out


def setitem_raises(n):
    class ReadOnly:
        def __setitem__(self, k, v):
            if k > 2:
                raise KeyError("read-only: %r" % k)
    r = ReadOnly()
    for i in range(n):
        r[i] = i
    return n


def slots_see_the_callers_locals(n):
    """__getitem__/__setitem__ read the caller's frame while its loop variable and its
    float accumulator would be unboxed: they see them as the interpreter has them."""
    import sys

    class Peek:
        def __init__(self):
            self.seen = []

        def __getitem__(self, i):
            f = sys._getframe(1).f_locals
            self.seen.append(("get", f["i"], f["acc"]))
            return 0.5

        def __setitem__(self, i, v):
            f = sys._getframe(1).f_locals
            self.seen.append(("set", f["i"], f["acc"], v))
    p = Peek()
    acc = 0.0
    for i in range(n):
        acc += p[i] * 2.0
        p[i] = acc + 1.0
    return acc, p.seen

CASES = [
    (getitem_loop, [(6,), (1,)]),
    (getitem_method_replaced_mid_loop, [(8,), (3,)]),
    (getitem_class_reassigned, [(8,), (2,)]),
    (getitem_mixed_receivers, [(12,), (5,)]),
    (getitem_not_a_function, [(4,)]),
    (getitem_deletes_itself, [(4,)]),
    (getitem_defaults_changed, [(6,)]),
    (getitem_keyword_only, [(5,)]),
    (getitem_raises, [(2,), (6,)]),
    (getitem_dict_subclass, [(7,)]),
    (getitem_float_index_math, [(9,), (1,)]),
    (setitem_loop, [(5,), (1,)]),
    (setitem_mixed_receivers, [(10,)]),
    (setitem_method_replaced_mid_loop, [(6,)]),
    (setitem_odd_methods, [(3,)]),
    (setitem_raises, [(2,), (5,)]),
    (slots_see_the_callers_locals, [(4,)]),
]
