"""BINARY_OP: every operator and in-place form, over ints, floats, big ints, strings,
lists, tuples, sets, mixed types; ZeroDivisionError, TypeError, OverflowError."""


class Mat:
    def __init__(self, v):
        self.v = v

    def __matmul__(self, other):
        return Mat(self.v * other.v)

    def __imatmul__(self, other):
        self.v = self.v + other.v
        return self

    def __add__(self, other):
        if isinstance(other, Mat):
            return Mat(self.v + other.v)
        return NotImplemented

    def __radd__(self, other):
        return Mat(other + self.v)

    def __sub__(self, other):
        raise RuntimeError("Mat.__sub__ raised")


def all_binary(a, b):
    return [a + b, a - b, a * b, a / b, a // b, a % b, a ** 2, a << 3, a >> 1, a & b,
            a | b, a ^ b]


def all_binary_float(a, b):
    return [a + b, a - b, a * b, a / b, a // b, a % b, a ** b, a ** 0.5]


def all_inplace(a, b):
    x = a
    x += b
    y = a
    y -= b
    z = a
    z *= b
    w = a
    w //= b
    m = a
    m %= b
    p = a
    p **= 3
    l = a
    l <<= 2
    r = a
    r >>= 1
    n = a
    n &= b
    o = a
    o |= b
    q = a
    q ^= b
    t = a
    t /= b
    return [x, y, z, w, m, p, l, r, n, o, q, t]


def int_edge(a):
    # overflow into big ints, negative floor division / modulo
    return [a * a * a * a, a + 2**62, -a // 7, -a % 7, a // -7, a % -7, -(2**63) - a,
            2**64 // (a or 1), a ** 20, (a << 70) >> 69, ~a & 0xFF, -a >> 3]


def float_edge(x):
    return [x * 1e308, x / 3.0, -x, x - x, x % 0.7, divmod(x, 2.5), x ** 2, 1.0 / (x + 0.5)]


def nan_inf():
    inf = float("inf")
    nan = float("nan")
    return [inf - inf, inf * 0, nan + 1, inf + 1, -inf, nan == nan, nan != nan, 0.0 * -1]


def mixed_numeric(i, f):
    return [i + f, f + i, i * f, i / f, i // f, f % i, i ** f, True + i, True + f, f - True,
            complex(1, 2) * i, 2**70 + f]


def str_ops(s, n):
    return [s + "x", s * n, n * s, "%s-%d" % (s, n), s + s, "%r" % (s,)]


def seq_ops(lst, t):
    a = lst + lst
    b = lst * 2
    c = t + (9,)
    d = 2 * t
    a += [7]
    b *= 2
    return a, b, c, d, lst


def list_inplace_aliasing(lst):
    alias = lst
    alias += [4]      # mutates the caller's list in place
    other = lst
    other = other + [5]  # new list
    return alias is lst, other, lst


def set_ops(a, b):
    return [a | b, a & b, a - b, a ^ b]


def set_inplace(a, b):
    x = a
    x |= b
    x -= {0}
    x &= {1, 2, 3, 4, 5}
    x ^= {5, 6}
    return x, a


def dict_or(a, b):
    c = a | b
    a |= {"z": 0}
    return c, a


def matmul(a, b):
    m = Mat(a) @ Mat(b)
    n = Mat(a)
    n @= Mat(b)
    return m.v, n.v, (Mat(1) + Mat(2)).v, (5 + Mat(1)).v


def matmul_unsupported(a, b):
    return a @ b


def user_op_raises(a):
    return Mat(a) - Mat(a)


def zero_div(a, b):
    return a / b


def zero_floordiv(a, b):
    return a // b


def zero_mod(a, b):
    return a % b


def zero_div_caught(a, b):
    out = []
    try:
        out.append(a / b)
    except ZeroDivisionError as e:
        out.append(("div", str(e)))
    try:
        out.append(a // b)
    except ZeroDivisionError as e:
        out.append(("floordiv", str(e)))
    try:
        out.append(a % b)
    except ZeroDivisionError as e:
        out.append(("mod", str(e)))
    try:
        x = a
        x /= b
        out.append(x)
    except ZeroDivisionError as e:
        out.append(("idiv", str(e)))
    return out


def zero_pow(a):
    return 0 ** -a


def type_error(a, b):
    return a + b


def type_error_ops(a, b):
    out = []
    for op in range(13):
        try:
            if op == 0:
                r = a + b
            elif op == 1:
                r = a - b
            elif op == 2:
                r = a * b
            elif op == 3:
                r = a / b
            elif op == 4:
                r = a // b
            elif op == 5:
                r = a % b
            elif op == 6:
                r = a ** b
            elif op == 7:
                r = a << b
            elif op == 8:
                r = a >> b
            elif op == 9:
                r = a & b
            elif op == 10:
                r = a | b
            elif op == 11:
                r = a ^ b
            else:
                r = a @ b
            out.append(r)
        except TypeError as e:
            out.append(str(e))
    return out


def inplace_type_error(a, b):
    a -= b
    return a


def shift_errors(a, b):
    return a << b


def overflow(x):
    return 10.0 ** x


def str_mod_errors(fmt, v):
    return fmt % v


def accumulate_types(values):
    acc = 0
    for v in values:
        acc = acc + v       # int, then float, then complex: type changes mid-loop
        acc *= 1
    return acc


def arith_loop(n):
    a, b, s = 0, 1, 0
    for i in range(n):
        a, b = b, (a + b) % 1000003
        s += a * i - (b // (i + 1)) + (i ^ a) - (i & 7) + (i | 1) - (b >> 2) + (a << 1)
        s %= 10**9 + 7
    return a, b, s


def float_loop(n):
    x = 0.0
    y = 1.0
    for i in range(n):
        x += y / (i + 1)
        y = -y * 0.999
        x -= i * 1e-9
    return x, y


def bigint_loop(n):
    x = 1
    for i in range(1, n):
        x *= i
        x += i
        x -= 3
    return x % (10**18 + 9), x.bit_length()


CASES = [
    (all_binary, [(7, 3), (-7, 3), (2**70, 3), (0, 1), (7, 0)]),
    (all_binary_float, [(7.5, 2.0), (-7.5, 2.5), (2.0, -1.5), (1.0, 0.0)]),
    (all_inplace, [(13, 4), (-13, 4), (2**65 + 3, 5), (13, 0), (2.5, 4)]),
    (int_edge, [(0,), (1,), (2**31 - 1,), (2**62,), (-(2**62),), (12345678901,)]),
    (float_edge, [(0.0,), (1.5,), (-2.25,), (1e300,), (float("inf"),), (float("nan"),)]),
    (nan_inf, [()]),
    (mixed_numeric, [(3, 1.5), (-3, 0.25), (2**60, 2.0)]),
    (str_ops, [("ab", 3), ("", 0), ("x", -1)]),
    (seq_ops, [([1, 2], (3,)), ([], ())]),
    (list_inplace_aliasing, [([1, 2, 3],)]),
    (set_ops, [({1, 2, 3}, {2, 3, 4}), (frozenset({1}), {1})]),
    (set_inplace, [({0, 1, 2}, {2, 3, 4, 5})]),
    (dict_or, [({"a": 1}, {"b": 2, "a": 3})]),
    (matmul, [(2, 3)]),
    (matmul_unsupported, [(1, 2), ([1], [2])]),
    (user_op_raises, [(1,)]),
    (zero_div, [(1, 0), (1.0, 0.0), (2**80, 0), (1, 2)]),
    (zero_floordiv, [(1, 0), (1.0, 0.0), (-5, 2)]),
    (zero_mod, [(1, 0), (1.5, 0.0), (-5, 3)]),
    (zero_div_caught, [(1, 0), (1.0, 0.0), (10, 4)]),
    (zero_pow, [(1,), (0,)]),
    (type_error, [(1, "a"), ("a", 1), ([1], (2,)), (None, None), (1, 2)]),
    (type_error_ops, [(1, "a"), ("a", 1), (None, 2.0), ({1}, [1])]),
    (inplace_type_error, [("s", 1), ([1], 1), (5, 2)]),
    (shift_errors, [(1, -1), (1.5, 1), (1, 2**100), (3, 4)]),
    (overflow, [(400,), (2,)]),
    (str_mod_errors, [("%d", "x"), ("%s %s", (1,)), ("%s", (1, 2)), ("%x", 255)]),
    (accumulate_types, [([1, 2, 0.5, 1j, 3],), ([1, "a"],)]),
    (arith_loop, [(0,), (10,), (20000,)]),
    (float_loop, [(1000,)]),
    (bigint_loop, [(300,)]),
]
