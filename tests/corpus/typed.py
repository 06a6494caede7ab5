"""The optimizing tier: unboxed ints and floats, locals kept in C variables, guards.

Every function here runs loops the typed rules lower on unboxed values, and makes a
speculation fail part-way (a float loop fed an int, an int that outgrows 64 bits, a
list replaced by a tuple, a global rebound, a local rebound to a string), or looks at
the frame while locals are unboxed (a __del__, an __eq__, a callee reading
f_locals), or hits the edges of the arithmetic (floor division and modulo of negative
numbers, -0.0 and nan, ints near 2**53 and 2**63, division by zero)."""
import math
import sys
from array import array

SCALE = 0.5


def _snapshot(frame, names):
    return sorted((k, v) for k, v in frame.f_locals.items() if k in names)


class Snoop:
    """Records its caller's locals when it is freed."""

    def __init__(self, log, names=("s", "k", "i", "x")):
        self.log, self.names = log, names

    def __del__(self):
        self.log.append(_snapshot(sys._getframe(1), self.names))


class EqSnoop:
    def __init__(self, log):
        self.log = log

    def __eq__(self, other):
        self.log.append(("eq", other, _snapshot(sys._getframe(1), ("s", "i", "t"))))
        return other == 3

    __hash__ = None


def float_accumulate(n, start):
    s = start
    for i in range(n):
        s = s * 0.5 + i
    return s


def float_loop_fed_int_midway(n):
    x = 1.5
    for i in range(n):
        x = x * 1.25 - i
        if i == n // 2:
            x = int(x)              # an int flows into a float loop
    return x


def int_overflow_mid_loop(n):
    x = 1
    for i in range(n):
        x = x * 3 + i               # outgrows 64 bits after ~40 rounds
    return x


def int_add_overflow(n, step):
    s = 0
    for i in range(n):
        s += step
    return s


def int_sub_mul_edges(a, b):
    out = []
    for i in range(-3, 4):
        out.append(a - i * b)
        out.append(a * i - b)
        out.append(-a + i)
    return out


def floor_div_mod(a, b):
    out = []
    for i in range(-4, 5):
        for j in (b, -b):
            out.append((a + i) // j)
            out.append((a + i) % j)
            out.append((a + i) / j)
    return out


def int_division_by_zero(n):
    total = 0
    for i in range(n):
        total += 100 // (i - 3)     # ZeroDivisionError at i == 3
    return total


def float_division_by_zero(n):
    total = 0.0
    for i in range(n):
        total += 1.0 / (i - 2.0)    # ZeroDivisionError at i == 2
    return total


def true_division_of_ints(a, b):
    out = []
    for i in range(4):
        out.append((a + i) / b)
        out.append(b / (a + i))
    return out


def mixed_compare(a, n):
    out = []
    f = float(a)
    for i in range(n):
        out.append((a + i < f + 1.0, a + i == f + i, f - i >= a - i))
    return out


def negative_zero_and_nan(x):
    y = x * 0.0
    z = -y
    w = 0.0 - y
    n = (x * 1e308) * 1e308 - (x * 1e308) * 1e308
    m = -n
    return [math.copysign(1.0, v) for v in (y, z, w)] + [str(n), str(m), math.copysign(1.0, m)]


def range_edges(start, stop, step):
    out = []
    for i in range(start, stop, step):
        out.append(i * 2 - 1)
    return out


def loop_var_after_loop(n):
    for i in range(n):
        pass
    return i                        # UnboundLocalError when n == 0


def loop_var_rebound_inside(n):
    total = 0
    for i in range(n):
        i += 10
        total += i
    return total, i


def local_rebound_to_str(n):
    x = 0
    out = []
    for i in range(n):
        x = x + i
        if i == 3:
            x = str(x)
            out.append(x)
            x = len(x)
    return x, out


def list_replaced_by_tuple(n):
    data = [float(i) for i in range(n)]
    total = 0.0
    for i in range(n):
        total += data[i] * 2.0
        if i == n // 2:
            data = tuple(data)
    return total


def subscripts_negative_and_out_of_range(n):
    data = list(range(10))
    tup = tuple(data)
    total = 0
    for i in range(n):
        total += data[i - 5] + tup[-1 - i]
    return total                    # IndexError once i - 5 >= 10 or -1 - i < -10


def store_subscripts(n):
    data = [0.0] * 8
    for i in range(n):
        data[i % 8] = data[i % 8] + i * 0.25
        data[-1] = i
    data[n] = 1.0                   # IndexError when n >= 8
    return data


def global_rebound_mid_loop(n):
    global SCALE
    total = 0.0
    for i in range(n):
        total += i * SCALE
        if i == 3:
            SCALE = 2               # an int now
    SCALE = 0.5
    return total


def del_sees_unboxed_locals(n):
    log = []
    s = 0.0
    k = 0
    for i in range(n):
        s += i * 0.5
        k += i
        d = Snoop(log)
        d = None                    # __del__ runs here and reads this frame's locals
    return s, k, log


def del_in_typed_store(n):
    log = []
    objs = [Snoop(log) for _ in range(n)]
    s = 0.0
    k = 0
    for i in range(n):
        s += i * 0.5
        k += i
        objs[i] = k                 # the old item's __del__ runs inside the typed store
    return s, k, objs, log


def eq_sees_unboxed_locals(n):
    log = []
    s = 0.0
    t = EqSnoop(log)
    for i in range(n):
        s = s + i * 1.5
        if t == i:                  # __eq__ runs Python and reads this frame
            s = -s
    return s, log


def _peek_caller():
    return _snapshot(sys._getframe(1), ("acc", "i", "f"))


def callee_reads_locals(n):
    acc = 0
    f = 0.0
    seen = []
    for i in range(n):
        acc += i * i
        f = f * 0.5 + acc
        if i % 3 == 0:
            seen.append(_peek_caller())
    return acc, f, seen


def float_identity(x):
    y = x
    z = x * 1.0
    w = z
    return y is x, w is z, z == x


def bools_from_compares(a, b):
    out = []
    for i in range(5):
        c = a + i < b
        d = not (a * i >= b)
        out.append((c, d, c is True, type(c).__name__))
    return out


def while_loop_break_continue(n):
    i = 0
    s = 0.0
    while i < n:
        i += 1
        if i % 3 == 0:
            continue
        if i > 50:
            break
        s += i / 4
    return i, s


def traceback_in_typed_loop(n):
    x = 1.0
    for i in range(n):
        x = x * 2.0
        if i == 5:
            x = x + "no"            # TypeError with this line in the traceback
    return x


class StrKey(str):
    def __hash__(self):
        return str.__hash__(self)

    def __eq__(self, other):
        G_EQ_LOG.append(("eq", str(self), other))
        return str.__eq__(self, other)


G_EQ_LOG = []


def dict_lookups(d, keys):
    G_EQ_LOG.clear()
    total = 0
    for k in keys:
        total += d[k]
    return total, len(G_EQ_LOG)


def index_from_a_list(lst, idxs):
    s = 0
    for j in idxs:
        s += lst[j]
        lst[j] = s % 7
    return s, lst


def nested_float_loops(n):
    grid = [[float(i * j) for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(1, n - 1):
        row = grid[i]
        for j in range(1, n - 1):
            total += (row[j - 1] + row[j + 1] + grid[i - 1][j] + grid[i + 1][j]) * 0.25
    return total


def _force(k):
    """A float, or the int 0 / 1 (an empty node's force), or a big int, a bool, a str."""
    return (0, 1, 2.5, -0.25, 1.5e300, 10**20, True, "s")[k % 8] if k >= 0 else 0.0


def sum_forces_mixed(codes):
    """Float sums fed ints now and then (both operands boxed, each a float or an int:
    one must be a float for the float speculation; int + int stays int)."""
    fx, fy = 0, 0
    out = []
    for k in codes:
        a = _force(k)
        b = _force(k + 1)
        fx += a
        fy = fy - b
        out.append((fx, fy, a * b, a < b, a / 2 if k % 2 else b / 4))
    return out


def scan_chars(s, pos):
    """str by an int in a loop (tomli's shape): an unboxed index, a negative one, the
    end of the string."""
    out = []
    while pos < len(s):
        c = s[pos]
        if c == "x":
            out.append(pos)
        out.append(s[-1 - (pos % 3)])
        pos += 1
    out.append(s[pos] if pos < 0 else None)
    return out


def char_at(s, i):
    """BINARY_SUBSCR left adaptive: strs by ints of one digit inline, the rest generic
    (out of range, a bool, a big int, a float, a slice, other containers)."""
    return s[i]


def add_children(parts):
    """barnes_hut's shape: sums that start as the int 0 and take what children return,
    (0, 0) from an empty one, floats otherwise; `x += v` stores x at once (the
    guard on x need not be exact), `v` is read again after its sum (its guard is)."""
    fx, fy = 0, 0
    seen = []
    if parts[0] is not None:
        ax, ay = parts[0]
        fx += ax
        fy += ay
    if parts[1] is not None:
        bx, by = parts[1]
        fx += bx
        fy = fy + by
        seen.append(bx * 2)
    if parts[2] is not None:
        cx, cy = parts[2]
        fx += cx
        fy += cy
        seen.append((cx, fx))
    return fx, fy, seen


class _Vec:
    def __init__(self, x, y):
        self.x, self.y = x, y


def products_of_attributes(pairs):
    """Operands straight from attributes and calls (not locals): each a float or an
    int under a float speculation."""
    total = 0.0
    out = []
    for p, q in pairs:
        out.append((p.x * q.y - p.y * q.x, _force(len(out)) + p.x, p.x < q.x, p.y + q.y))
        total = total + p.x * q.x
    return total, out


def _vecs(*xs):
    return [(_Vec(a, b), _Vec(c, d)) for a, b, c, d in xs]


class ArraySub(array):
    def __getitem__(self, i):
        return ("sub", array.__getitem__(self, i))


def sparse_rows(n, vals, cols, x):
    """array('d') and array('i') subscripts in a float loop (the accumulator stays
    unboxed): by a range int, by an item of another array, negative, out of range."""
    out = array("d", [0.0]) * n
    for r in range(n):
        sa = 0.0
        for i in range(len(vals)):
            sa += x[cols[i]] * vals[i] + r
        out[r] = sa
        out[-1 - r] = out[-1 - r] + 0.5
    return list(out)


def array_stores(kind, values):
    """Stores into arrays of each kind: floats and ints convert, other values take the
    generic path (TypeError, OverflowError messages), indexes out of range raise."""
    a = array(kind, [0] * 4)
    out = []
    for k, v in enumerate(values):
        try:
            a[k % 6 - 1] = v
            out.append(a[k % 4])
        except (TypeError, OverflowError, IndexError) as e:
            out.append((type(e).__name__, str(e)))
    idx = [0, -4, 3, True, 2**70, "x"]
    for i in idx:
        try:
            out.append(a[i])
        except (TypeError, IndexError) as e:
            out.append((type(e).__name__, str(e)))
    return out, list(a)


def butterflies(data, n, w):
    """Items of an array of doubles read as C doubles where float arithmetic takes them
    (through a local too) and written back unboxed; fed other containers (an array of
    another typecode, a list, a subclass), too short an array, an int factor."""
    for b in range(0, n - 1, 2):
        z_real = data[b]
        z_imag = data[b + 1]
        wd = w * z_real - z_imag
        data[b] = data[b + 1] - wd
        data[b + 1] += wd * 0.5
    total = 0.0
    for i in range(n):
        total += data[i] * data[-1 - i]
    return total, list(data) if not isinstance(data, _PeekingSeq) else repr(data)


class _PeeksAtCaller:
    def __add__(self, other):
        return ("added", sorted(sys._getframe(1).f_locals))

    __radd__ = __add__


def sum_stored_at_once(a, b, scale):
    """Sums stored at once (boxed there) where the interpreter saw floats: no
    speculation (typed._arith_obj): floats, two ints, a float and an int, big ints, a
    class whose __add__ looks at the caller's locals, a str (TypeError)."""
    s = a + b
    return s * scale


class _AddPeeks:
    """An operand whose __add__ gives the caller's float locals, as its frame shows
    them."""
    def __add__(self, other):
        frame = sys._getframe(1)
        return sorted((k, v) for k, v in frame.f_locals.items() if isinstance(v, float))

    __radd__ = __add__


def return_a_sum(n, peek_at):
    """`return a + b` in a float loop: the sum is boxed at once (typed._arith_obj), and
    an operand whose __add__ reads the frame sees the loop's virtual local `acc`."""
    items = [(i * 0.5, 2.0) for i in range(n)]
    if peek_at is not None:
        items[peek_at] = (_AddPeeks(), 1.0)
    acc = 0.0
    i = 0
    while i < n:
        a, b = items[i]
        acc = acc * 0.5 + 1.0
        if acc > 1.7:
            return a + b
        i += 1
    return acc


class _PeekingSeq:
    """Items are floats (an int at index 3); each read records the caller's locals, as
    the frame shows them (the compiled caller's virtual locals must be there)."""
    def __init__(self, n):
        self.items = [i * 0.5 for i in range(n)]
        self.items[3] = 3
        self.seen = []

    def __getitem__(self, i):
        frame = sys._getframe(1)
        self.seen.append(sorted((k, v) for k, v in frame.f_locals.items()
                                if isinstance(v, (int, float))))
        return self.items[i]

    def __setitem__(self, i, v):
        self.items[i] = v

    def __repr__(self):
        return f"_PeekingSeq({self.items}, {self.seen})"


def _doubles(n, scale=0.25):
    return array("d", [i * scale - 1.0 for i in range(n)])


def array_or_not(containers):
    total = 0.0
    for c in containers:
        for i in range(2):
            total += c[i] if not isinstance(c[i], tuple) else c[i][1]
    return total



class _IsBase:
    pass


class _IsSub(_IsBase):
    pass


class _IsMeta(type):
    def __instancecheck__(cls, inst):
        return inst == 42


class _IsChecked(metaclass=_IsMeta):
    pass


class _ClaimsInt:
    @property
    def __class__(self):
        return int


def isinstance_of_builtins_and_classes(n):
    """isinstance's typed rule: exact types, builtin instances against plain classes
    (PyType_IsSubtype), a metaclass with __instancecheck__, a __class__ property, a
    weakref proxy (its __class__ is its referent's), tuples of classes."""
    import weakref
    base = _IsBase()
    values = [1, "s", (1,), 2.5, None, [1], {}, True, b"x", {1}, frozenset(), 1j,
              base, _IsSub(), 42, _ClaimsInt(), weakref.proxy(base)]
    classes = [int, str, tuple, object, _IsBase, _IsSub, _IsChecked, (int, str), float,
               bool, list, (float, _IsBase), (_IsChecked, int), (int, (str, bytes)), (),
               (bool, list, dict, set, frozenset), (object,)]
    out = []
    for i in range(n):
        x = values[i % len(values)]
        for c in classes:
            out.append(isinstance(x, c))
    return out

def float_with_wide_ints(x, values):
    # an int next to a float is converted as float_add & co. convert it (PyLong_AsDouble:
    # correctly rounded, ties to even): natively for ints of up to two 30-bit digits
    out = []
    for v in values:
        out.append((x + v, v - x, x * v, v / (x + 1.0), v + 0.5 == x + v))
    return out



def shifts_and_xor(values, k):
    """`>>`, `<<` and `^` of boxed operands speculated to be ints without feedback (3.11
    never specializes them), `&` and `|` next to an int: counts from 0 to past 64,
    results past 64 bits (`<<`: a deopt), a negative count (ValueError from the
    interpreter), bools, big ints, sets and floats (guards fail: deopt, then the
    recompile avoids the site)."""
    out = []
    acc = 0
    for v in values:
        try:
            a = (v >> k) & 0xFF
            b = v << k
            c = v ^ acc
            d = (v | 1) ^ (v & 6)
            acc = c
            out.append((a, b, c, d))
        except (TypeError, ValueError) as e:
            out.append((type(e).__name__, str(e)))
    return out, acc


def xor_chain_of_table_lookups(n):
    """An AES-like round: a chain of `^` over table entries indexed by `(x >> s) & 0xFF`,
    every intermediate a 32-bit int (unboxed: boxed once, at the store)."""
    t1 = [(i * 2654435761) & 0xFFFFFFFF for i in range(256)]
    t2 = [(i * 40503) & 0xFFFFFFFF for i in range(256)]
    state = [0x01234567, 0x89ABCDEF, 0xFEDCBA98, 0x76543210]
    for r in range(n):
        a = [0] * 4
        for i in range(4):
            a[i] = (t1[(state[i] >> 24) & 0xFF] ^ t2[(state[(i + 1) % 4] >> 16) & 0xFF] ^
                    t1[(state[(i + 2) % 4] >> 8) & 0xFF] ^ t2[state[(i + 3) % 4] & 0xFF] ^ r)
        state = a
    return state


def xor_accumulator_seen_from_frame(values):
    """An accumulator kept unboxed by `^` (speculated without feedback), looked at from
    the frame mid-loop (f_locals through a callee), then a guard failing mid-loop (a
    bool, a float: deopt with the accumulator materialized), and a traceback from inside
    the loop (its line)."""
    def peek():
        return sys._getframe(1).f_locals["acc"]
    acc = 0
    seen = []
    try:
        for i, v in enumerate(values):
            acc = (acc ^ v) >> 1
            if i == 1:
                seen.append(peek())
        return acc, seen
    except TypeError as e:
        return acc, seen, str(e), e.__traceback__.tb_lineno - xor_accumulator_seen_from_frame.__code__.co_firstlineno

CASES = [
    (xor_accumulator_seen_from_frame, [([5, 9, 1024, 7],), ([5, 9, True, 3],),
                                       ([5, 9, 2**70, 3],), ([5, 9, 1.5, 3],)]),
    (shifts_and_xor, [([0, 1, -1, 255, -256, 2**31 - 1, -2**31, 2**59, -(2**59) - 5], 0),
                      ([1, 2**40, -(2**40)], 7), ([3, -3], 63), ([3, -3, 2**60 - 1], 64),
                      ([5, -5], 100), ([1, 2], -1), ([1, True, 2**70, 3], 2),
                      ([1, {1, 2}, 3], 1), ([2, 1.5], 3), ([1, 2**61], 2)]),
    (xor_chain_of_table_lookups, [(0,), (3,), (20,)]),
    (float_with_wide_ints, [(0.5, [1, 2**31 - 1, 2**53 + 1, -(2**53 + 1), 2**60 - 1, -(2**60 - 1),
                                   2**59 + 2**7 + 1, 2**54 + 2, 2**54 + 6, 2**60, 2**62, 3]),
                            (1.0, [2**31, -2**31, 2**30, -2**30, 0]),
                            (-0.0, [2**53 + 3, -(2**55 + 4)]),
                            (1.5, [True, 2**40, 1.25])]),
    (sparse_rows, [(3, array("d", [0.5, 1.5, -2.0]), array("i", [2, 0, 1]), array("d", [1.0, 2.0, 4.0])),
                   (2, array("d", [1.0]), array("i", [5]), array("d", [1.0, 2.0])),
                   (2, array("d", [1.0]), array("i", [-3]), array("d", [1.0, 2.0, 3.0])),
                   (1, [1.5, 2.5], [1, 0], array("d", [3.0, 4.0]))]),
    (array_stores, [("d", [1.5, 2, 2**70, "s", None, -0.0, 10**400 if False else 1e308]),
                    ("i", [1, 2.5, 2**40, -7, "s", True]),
                    ("b", [127, 128, -129, 3.0]),
                    ("q", [2**63 - 1, 2**63, -2**63])]),
    (sum_stored_at_once, [(1.5, 2.5, 2.0), (0.5, -1.25, 0.5), (3.0, 4.0, 1.5), (1, 2, 3),
                          (0, 0, 2.0), (2**70, 1.5, 2.0), (2**62, 2**62, 4), (1.5, 2, 2.0),
                          (_PeeksAtCaller(), 1.0, 2.0), (1.0, _PeeksAtCaller(), 2.0),
                          ("s", 1.0, 2.0), (1e308, 1e308, -1.0)]),
    (return_a_sum, [(8, None), (3, None), (6, 2), (6, 3), (8, 2), (2, 1), (6, None)]),
    (butterflies, [(_PeekingSeq(8), 8, 0.5), (_doubles(60), 60, 0.5), (_doubles(60, 1.5), 60, -0.25), (_doubles(40), 40, 2.0),
                   (_doubles(60), 60, 3), (array("f", [0.5, 1.5, 2.5, 3.5]), 4, 0.5),
                   ([0.5, 1.5, 2.5, 3.5], 4, 0.5), (array("i", [1, 2, 3, 4]), 4, 2),
                   (_doubles(6), 9, 0.5), (_doubles(6), 7, 0.5),
                   (ArraySub("d", [1.0, 2.0]), 2, 0.5),
                   (array("d", [float("nan"), float("inf"), -0.0, 1e308]), 4, 2.0)]),
    (array_or_not, [([array("d", [1.0, 2.0]), [3.0, 4.0], (5.0, 6.0)],),
                    ([ArraySub("d", [1.0, 2.0]), array("l", [7, 8])],)]),
    (products_of_attributes, [(_vecs((1.5, 2.5, 0.5, 4.0), (2.0, 1.0, 3.0, 0.25)),),
                              (_vecs((1, 2.5, 0.5, 4), (2, 1, 3, 0)),),
                              (_vecs((1, 2, 3, 4)),), (_vecs((1.5, 2**70, 3.0, 4.0)),),
                              (_vecs((1.5, "s", 3.0, 4.0)),), (_vecs((True, 2.0, 3.0, 1.0)),)]),
    (sum_forces_mixed, [([2, 3, 0, 2, 3],), ([0, 0, 0],), ([2, 2, 1, 6, 2],), ([2, 5, 2],),
                        ([3, 4, 3],), ([2, 7],), ([-1, 2, 3, 0],)]),
    (scan_chars, [("abcx\u20acx\U0001f600", 0), ("", 0), ("xyz", 1), ("a" * 40, 3),
                  ("ab", -2), ("ab", 2**70)]),
    (char_at, [("abc", 0), ("abc", -1), ("abc", 3), ("abc", -4), ("abc", True),
               ("abc", 2**40), ("\U0001f600b", 0), ([1, 2], 1), (b"ab", 1), ({"a": 1}, "a"),
               ("abc", 1.0), ("abc", slice(1, 2)), ("", 0), ("abc", -2**31)]),
    (add_children, [(((1.5, 2.5), (0.5, 1.0), (2.0, 0.25)),), (((0, 0), (0.5, 1.0), (2.0, 0.25)),),
                    (((0, 0), (0, 0), (2.0, 0.25)),), ((None, (0, 0), (1.5, 0)),),
                    (((0, 0), None, (0, 0)),), (((2**70, 1), (0.5, 1.0), (2.0, 0.25)),),
                    (((True, 1.5), (0.5, False), ("a", 0.25)),)]),
    (float_accumulate, [(10, 1.0), (10, 3), (10, True), (5, 2**70), (3, "x")]),
    (float_loop_fed_int_midway, [(10,), (3,)]),
    (int_overflow_mid_loop, [(10,), (50,), (100,)]),
    (int_add_overflow, [(3, 2**62), (3, -2**62), (4, 2**61), (10, 7)]),
    (int_sub_mul_edges, [(2**62, 2**61), (-2**63, 1), (2**63 - 1, -1), (5, 7)]),
    (floor_div_mod, [(7, 3), (-7, 2), (0, 5), (2**62, 3), (-2**63, 1)]),
    (int_division_by_zero, [(3,), (5,)]),
    (float_division_by_zero, [(2,), (4,)]),
    (true_division_of_ints, [(7, 3), (2**53, 3), (2**60, 7), (-5, 2)]),
    (mixed_compare, [(3, 4), (2**53, 3), (2**60, 2), (-2**53 - 1, 2)]),
    (negative_zero_and_nan, [(1.0,), (-1.0,), (0.0,)]),
    (range_edges, [(0, 10, 1), (10, -10, -3), (2**62, 2**62 + 5, 2), (2**63 - 3, 2**63 + 2, 1),
                   (-2**63, -2**63 + 3, 1), (5, 0, 1)]),
    (loop_var_after_loop, [(0,), (3,)]),
    (loop_var_rebound_inside, [(5,)]),
    (local_rebound_to_str, [(6,), (2,)]),
    (list_replaced_by_tuple, [(10,), (1,)]),
    (subscripts_negative_and_out_of_range, [(10,), (16,)]),
    (store_subscripts, [(7,), (12,)]),
    (global_rebound_mid_loop, [(6,), (2,)]),
    (del_sees_unboxed_locals, [(4,)]),
    (del_in_typed_store, [(4,)]),
    (eq_sees_unboxed_locals, [(6,)]),
    (callee_reads_locals, [(7,)]),
    (float_identity, [(1.5,), (3,)]),
    (bools_from_compares, [(1, 3), (2.5, 4.0), (0, 0)]),
    (while_loop_break_continue, [(10,), (100,)]),
    (traceback_in_typed_loop, [(3,), (8,)]),
    (nested_float_loops, [(6,), (2,)]),
    (dict_lookups, [({"a": 1, "b": 2}, ["a", "b", "a"]), ({1: 2, "a": 3}, [1, "a"]),
                    ({"a": 1}, ["a", "zz"]), ({StrKey("a"): 5}, ["a", "a"]),
                    ({"a": 1}, [StrKey("a")])]),
    (isinstance_of_builtins_and_classes, [(17,), (40,)]),
    (index_from_a_list, [(list(range(10)), [1, 3, -2, 9]), (list(range(5)), [1, 7]),
                         ([1, 2], [True, 1]), ((1, 2, 3), [0, 2]), (list(range(4)), [2**70])]),
]
