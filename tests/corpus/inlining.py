"""Inlined callees (lowering/inline.py): small loop-free functions of this module and
methods of its classes, lowered into the caller with their frame virtual. Each case
makes an inlined body leave native code in another way, and the harness compares
values, exceptions, messages and every traceback line with the interpreter:

* a guard of the callee's own body fails (an int that overflows, a float fed where an
  int was seen, an attribute's class changed): the callee's frame is materialized and
  the interpreter finishes it, then the caller goes on after the call;
* the callee raises (`raise`, a division by zero, an attribute that is missing): the
  exception unwinds through the materialized frame, then the caller's;
* the callable is not the function inlined (a global rebound, a method replaced on the
  class, `__class__` reassigned, `__code__` replaced): the call deopts;
* nested inlining (a method calling a method) with an error two levels down;
* a `__del__` run by a reference the body drops (it sees the callee's frame as its
  caller), and by an argument released at the return (it sees the caller's);
* the recursion limit reached at an inlined call, a profiler set mid-loop (the call
  events), frames and locals seen by a callee of the inlined code after a deopt."""
import sys


def add(a, b):
    return a + b


def scale(x, k):
    y = x * k
    return y + 1


def ratio(a, b):
    return a // b


def pick(flag, a, b):
    if flag:
        return a
    return b


def other_add(a, b):
    return a - b


class Grid:
    def __init__(self, w, h):
        self.width = w
        self.height = h
        self.data = [float(i) for i in range(w * h)]

    def _idx(self, x, y):
        if 0 <= x < self.width and 0 <= y < self.height:
            return y * self.width + x
        raise IndexError("outside", x, y)

    def get(self, x, y):
        return self.data[self._idx(x, y)]

    def norm(self):
        return self.width * self.height


class Matrix:
    def __init__(self, n):
        self.n = n
        self.cells = [i * 0.5 for i in range(n * n)]

    def _at(self, i, j):
        if 0 <= i < self.n and 0 <= j < self.n:
            return i * self.n + j
        raise IndexError

    def __getitem__(self, ij):
        (i, j) = ij
        return self.cells[self._at(i, j)]

    def __setitem__(self, ij, value):
        (i, j) = ij
        self.cells[self._at(i, j)] = value


class OtherGrid(Grid):
    def _idx(self, x, y):
        return 0


class Counted:
    def __init__(self):
        self.calls = 0

    def bump(self, by):
        self.calls = self.calls + by
        return self.calls


seen = []


class Tracked:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        f = sys._getframe(1)
        seen.append((self.name, f.f_code.co_name, f.f_lineno))


def forget(x):
    x = 0
    return x


def keep(x):
    return 1


def sum_add(n):
    s = 0
    for i in range(n):
        s = add(s, i)
    return s


def add_overflows(n):
    s = 2 ** 62
    out = []
    for i in range(n):
        out.append(add(s, i * 2 ** 60))
    return out


def add_mixed(values):
    t = 0
    for v in values:
        t = add(t, v)
    return t


def scaled_sum(n, k):
    t = 0.0
    for i in range(n):
        t += scale(i, k)
    return t


def ratios(values):
    out = []
    for v in values:
        out.append(ratio(100, v))
    return out


def picks(n):
    out = []
    for i in range(n):
        out.append(pick(i % 2, i, -i))
    return out


def grid_sum(w, h):
    g = Grid(w, h)
    t = 0.0
    for y in range(h):
        for x in range(w):
            t += g.get(x, y)
    return t


def grid_outside(w, h):
    g = Grid(3, 3)
    t = 0.0
    for y in range(h):
        for x in range(w):
            t += g.get(x, y)
    return t


def matrix_trace(n):
    m = Matrix(n)
    t = 0.0
    for i in range(n):
        t += m[i, i] + m[i, n - 1 - i]
    return t


def matrix_smooth(n, rounds):
    m = Matrix(n)
    for r in range(rounds):
        for i in range(1, n - 1):
            m[i, i] = (m[i - 1, i] + m[i + 1, i]) * 0.5
    return m.cells


def matrix_store_errors(values):
    m = Matrix(2)
    out = []
    for v in values:
        try:
            m[v, 0] = v
            out.append(m[v, 0])
        except (IndexError, TypeError) as e:
            out.append(repr(e))
    return out


def matrix_outside(n):
    m = Matrix(3)
    t = 0.0
    for i in range(n):
        t += m[i, 0]
    return t


def matrix_key_errors(keys):
    m = Matrix(3)
    out = []
    for k in keys:
        try:
            out.append(m[k])
        except (IndexError, TypeError, ValueError) as e:
            out.append(repr(e))
    return out


def matrix_getitem_replaced(n):
    m = Matrix(3)
    out = []
    saved = Matrix.__getitem__
    try:
        for i in range(n):
            if i == n // 2:
                Matrix.__getitem__ = lambda self, k: k
            out.append(m[1, 1])
    finally:
        Matrix.__getitem__ = saved
    return out


def grid_index_errors(n):
    g = Grid(2, 2)
    out = []
    for i in range(n):
        try:
            out.append(g._idx(i, 0))
        except IndexError as e:
            out.append(e.args)
    return out


def grid_class_changes(n):
    g = Grid(4, 4)
    out = []
    for i in range(n):
        if i == n // 2:
            g.__class__ = OtherGrid
        out.append(g._idx(1, 1))
    return out


def method_replaced(n):
    g = Grid(4, 4)
    out = []
    saved = Grid._idx
    try:
        for i in range(n):
            if i == n // 2:
                Grid._idx = lambda self, x, y: -1
            out.append(g._idx(1, 1))
    finally:
        Grid._idx = saved
    return out


def global_rebound(n):
    global add
    saved = add
    out = []
    try:
        for i in range(n):
            if i == n // 2:
                add = other_add
            out.append(add(10, i))
    finally:
        add = saved
    return out


def code_replaced(n):
    out = []
    saved = add.__code__
    try:
        for i in range(n):
            if i == n // 2:
                add.__code__ = other_add.__code__
            out.append(add(10, i))
    finally:
        add.__code__ = saved
    return out


def attribute_type_changes(n):
    g = Grid(3, 3)
    out = []
    for i in range(n):
        if i == n // 2:
            g.width = 2.5
        out.append(g.norm())
    return out


def attribute_missing(n):
    g = Grid(3, 3)
    out = []
    for i in range(n):
        if i == n // 2:
            del g.height
        out.append(g.norm())
    return out


def side_effect_then_deopt(n):
    c = Counted()
    out = []
    for i in range(n):
        out.append(c.bump(1 if i < n // 2 else 1.5))
    return out, c.calls


def del_in_body(n):
    seen.clear()
    out = []
    for i in range(n):
        out.append(forget(Tracked(i)))
    return out, seen[:]


def del_at_return(n):
    seen.clear()
    out = []
    for i in range(n):
        out.append(keep(Tracked(i)))
    return out, seen[:]


class Peeking:
    """Its __del__ reports the unboxed counters of the frame it runs under."""
    def __init__(self, name):
        self.name = name

    def __del__(self):
        f = sys._getframe(1)
        seen.append((self.name, f.f_code.co_name,
                     sorted((k, v) for k, v in f.f_locals.items() if k in ("total", "acc"))))


def half(x, v):
    y = x * 0.5                 # a float local, freed at the return (no code runs)
    w = v                       # a Peeking or an int, freed at the return
    return y


def counters_at_returns(n):
    # The inlined callee's locals are released at its return: a float (nothing looks
    # at the caller's frame) or an object whose __del__ reads the caller's unboxed
    # int and float counters, which must be exact there.
    seen.clear()
    total = 0
    acc = 0.0
    for i in range(n):
        total += i
        acc += half(float(i), Peeking(i) if i % 3 == 0 else i)
    return total, acc, seen[:]


def fshift(x, k):
    return (x + 0.5) * k        # a boxed double at its return: the caller takes it unboxed


def float_results(n):
    # The inlined fshift returns a C double; at the end its float guard on k fails and
    # the interpreter finishes it: with a float (an int k), then with a complex (the
    # caller leaves native code too, after the call, with the complex on its stack).
    out = []
    total = 0.0
    for i in range(n):
        if i == n - 2:
            v = fshift(i, 2)
        elif i == n - 1:
            v = fshift(i, 1j)
        else:
            v = fshift(i, 2.0)
        if type(v) is float:
            total += v
        out.append(v)
    return out, total


class Scaled:
    """A multiplier that looks at the caller of the function multiplying by it."""
    def __rmul__(self, x):
        f = sys._getframe(2)
        seen.append((f.f_code.co_name,
                     sorted((k, v) for k, v in f.f_locals.items() if k in ("total", "i"))))
        return x * 3.0


def fmul(x, k):
    return x * k                # two boxed floats, returned: speculated when inlined


def float_products(n):
    # The inlined fmul speculates on floats (its result goes to the caller unboxed).
    # Near the end its guard fails: a Scaled (its __rmul__ reads this loop's unboxed
    # locals while the interpreter finishes fmul), a complex (the result is no float:
    # this frame leaves native code after the call), an int (a float result).
    seen.clear()
    total = 0.0
    out = []
    for i in range(n):
        k = 2.0
        if i == n - 3:
            k = Scaled()
        elif i == n - 2:
            k = 1j
        elif i == n - 1:
            k = 2
        v = fmul(i + 0.5, k)
        if type(v) is float:
            total += v
        out.append(v)
    return out, total, seen[:]


def deep(n):
    if n == 0:
        return add(1, 2)
    return deep(n - 1) + add(n, 0)


def recursion_at_inlined_call(n):
    try:
        return deep(n)
    except RecursionError as e:
        return "RecursionError", str(e)


calls = []


def _profile(frame, event, arg):
    if event == "call":
        calls.append(frame.f_code.co_name)


def set_profile():
    sys.setprofile(_profile)


def profiler_set_mid_loop(n):
    calls.clear()
    t = 0
    try:
        for i in range(n):
            if i == n // 2:
                set_profile()
            t = add(t, i)
    finally:
        sys.setprofile(None)
    return t, calls[:]


def who(depth):
    f = sys._getframe(depth)
    return f.f_code.co_name, sorted(f.f_locals)


def looks_after_deopt(a, b):
    c = a + b
    return who(1), c


def frames_after_deopt(values):
    out = []
    for v in values:
        out.append(looks_after_deopt(v, 1))
    return out


class Node:
    """A node whose child may be None, another node, or something with __bool__ / __len__."""

    def __init__(self, child=None):
        self.child = child

    def has_child(self):
        if self.child:
            return 1
        return 0


class Falsy:
    def __bool__(self):
        return False


class Raising:
    def __len__(self):
        raise LookupError("no length")


def truth_of_children(children):
    # an inlined callee's `if self.child:` (coconut_truth, runtime/truth.py): None,
    # numbers, strs, containers and plain instances answered natively; a __bool__,
    # a __len__ that raises (its traceback through the inlined callee) on the slow path
    out = []
    for c in children:
        try:
            out.append(Node(c).has_child())
        except LookupError as e:
            out.append(("LookupError", str(e)))
    return out


CASES = [
    (add, [(1, 2)]),
    (scale, [(2, 3)]),
    (ratio, [(7, 2)]),
    (pick, [(1, 2, 3)]),
    (other_add, [(1, 2)]),
    (forget, [(1,)]),
    (keep, [(1,)]),
    (sum_add, [(10,), (1000,)]),
    (add_overflows, [(6,)]),
    (add_mixed, [([1, 2, 3],), ([1, 2.5, 3],), ([1, "a"],), (["a", "b"],)]),
    (scaled_sum, [(10, 3), (10, 2.5), (10, 2 ** 62)]),
    (ratios, [([1, 2, 3],), ([5, 0, 1],), ([2, 2.5],)]),
    (picks, [(6,)]),
    (grid_sum, [(4, 3)]),
    (grid_outside, [(3, 3), (4, 3)]),
    (matrix_trace, [(3,)]),
    (matrix_outside, [(3,), (5,)]),
    (matrix_smooth, [(5, 3)]),
    (matrix_store_errors, [([0, 1, 2, "a", 1, True, 0],)]),
    (matrix_key_errors, [([(0, 0), (1, 2), (5, 5), (1, 2, 3), 7, (0.5, 1)],)]),
    (matrix_getitem_replaced, [(6,)]),
    (grid_index_errors, [(4,)]),
    (grid_class_changes, [(6,)]),
    (method_replaced, [(6,)]),
    (global_rebound, [(6,)]),
    (code_replaced, [(6,)]),
    (attribute_type_changes, [(6,)]),
    (attribute_missing, [(6,)]),
    (side_effect_then_deopt, [(6,)]),
    (del_in_body, [(3,)]),
    (del_at_return, [(3,)]),
    (counters_at_returns, [(7,)]),
    (float_results, [(40,)]),
    (float_products, [(40,)]),
    (deep, [(3,)]),
    (recursion_at_inlined_call, [(10,), (100000,)]),
    (profiler_set_mid_loop, [(6,)]),
    (looks_after_deopt, [(1, 2)]),
    (frames_after_deopt, [([1, 2, 3],), ([1, 2.5, "x"],)]),
    (truth_of_children, [([None, 0, 3, 0.0, 2.5, "", "x", [], [1], (), {}, {1: 2}, Node(),
                           Falsy(), 2**70, -0.0],),
                          ([Node(), Node(), Raising(), None],)]),
]
