"""COMPARE_OP (all six, chained, mixed types), IS_OP, CONTAINS_OP, UNARY_* and __bool__."""


class Cmp:
    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        if other is None:
            raise ValueError("Cmp.__eq__ refuses None")
        return isinstance(other, Cmp) and self.v == other.v

    def __lt__(self, other):
        return self.v < other.v

    __hash__ = None


class Weird:
    def __bool__(self):
        raise RuntimeError("no truth value")

    def __neg__(self):
        raise ArithmeticError("no negation")

    def __pos__(self):
        return "positive"

    def __invert__(self):
        return "inverted"

    def __contains__(self, item):
        if item == 0:
            raise KeyError("zero")
        return item > 0

    def __len__(self):
        return 3


class NonBoolLen:
    def __len__(self):
        return -1


def compare_all(a, b):
    return [a < b, a <= b, a == b, a != b, a > b, a >= b]


def compare_in_branches(a, b):
    out = []
    if a < b:
        out.append("lt")
    if a <= b:
        out.append("le")
    if a == b:
        out.append("eq")
    if a != b:
        out.append("ne")
    if a > b:
        out.append("gt")
    if a >= b:
        out.append("ge")
    return out


def compare_mixed_error(a, b):
    return a < b


def compare_mixed_error_caught(a, b):
    out = []
    for name in ("lt", "le", "gt", "ge", "eq"):
        try:
            if name == "lt":
                out.append(a < b)
            elif name == "le":
                out.append(a <= b)
            elif name == "gt":
                out.append(a > b)
            elif name == "ge":
                out.append(a >= b)
            else:
                out.append(a == b)
        except TypeError as e:
            out.append(str(e))
    return out


def chained(a, b, c):
    return a < b < c, a <= b == c, a != b != c, 0 < a < 10 > c


def chained_in_if(x):
    if 0 <= x < 10:
        return "digit"
    elif 10 <= x < 100 != x:
        return "two"
    return "other"


def user_compare(a, b):
    return Cmp(a) == Cmp(b), Cmp(a) != Cmp(b), Cmp(a) < Cmp(b), Cmp(a) > Cmp(b)


def user_compare_raises(a):
    return Cmp(a) == None  # noqa: E711


def user_compare_unsupported(a, b):
    return Cmp(a) <= Cmp(b)


def is_ops(a, b):
    return [a is b, a is not b, a is None, a is not None, b is None]


def is_none_branches(values):
    out = []
    for v in values:
        if v is None:
            out.append("none")
        elif v is not None and v:
            out.append("truthy")
        else:
            out.append("falsy")
        if v is not None:
            out.append(1)
        while v is None:
            v = 0
    return out


def contains(x, seq):
    return x in seq, x not in seq


def contains_in_branch(x, seq):
    if x in seq:
        return "in"
    if x not in seq:
        return "not in"


def contains_error(x, seq):
    return x in seq


def contains_error_caught(x, seq):
    try:
        return x not in seq
    except TypeError as e:
        return "caught", str(e)


def contains_user(x):
    return x in Weird()


def unary(x):
    return -x, +x, not x


def unary_int(x):
    return -x, +x, ~x, not x, ~~x, --x


def unary_errors(x):
    return -x


def invert_error(x):
    return ~x


def unary_caught(x):
    out = []
    try:
        out.append(-x)
    except Exception as e:  # noqa: BLE001
        out.append((type(e).__name__, str(e)))
    try:
        out.append(~x)
    except TypeError as e:
        out.append(str(e))
    try:
        out.append(+x)
    except TypeError as e:
        out.append(str(e))
    return out


def truthiness(values):
    out = []
    for v in values:
        out.append((not v, bool(v), "t" if v else "f"))
    return out


def bool_raises(v):
    if v:
        return "true"
    return "false"


def not_raises(v):
    return not v


def bool_raises_caught(v):
    try:
        while v:
            return 1
    except RuntimeError as e:
        return str(e)


def len_bool_error():
    return not NonBoolLen()


class Plain:
    """Compares by identity (object's tp_richcompare)."""


class EqStr:
    def __eq__(self, other):
        return "eq!"

    __hash__ = None


class NoBool:
    def __bool__(self):
        raise ValueError("no bool")


class EqNoBool:
    def __eq__(self, other):
        return NoBool()

    __hash__ = None


_P, _Q = Plain(), Plain()


def compare_objects_inline(a, b):
    """The inline paths of an unspecialized COMPARE_OP (typed._compare_obj): a float or
    a small int against an int constant or another number, strs, identity-compared
    objects; each next to what falls back to PyObject_RichCompare."""
    out = [a == b, a != b, a == 0, a >= 2**60, a == 2.5, 0 < a if type(a) in (int, float) else 0]
    if a == b:
        out.append("same")
    if a != None:
        out.append("not none")
    try:
        out.append(a < b)
    except TypeError as e:
        out.append(str(e))
    return out


def count_matches(words, s, threshold):
    """str == and != in a loop (COMPARE_OP_STR_JUMP), floats and ints against a float."""
    c = 0
    for w in words:
        if w == s:
            c += 1
        if w != "b":
            c += 10
        if type(w) in (int, float) and w > threshold:
            c += 100
    return c


def compare_result_not_bool(x):
    if EqNoBool() == x:
        return "true"
    return "false"


CASES = [
    (compare_objects_inline, [(1.5, 1), (1, 1.0), (2, 2), (0.0, -0.0), (float("nan"), 0),
                              (_P, _P), (_P, _Q), (None, None), (None, _P), ("a", "a"),
                              ("a", "b"), (EqStr(), 1), (1, EqStr()), (2**70, 1.0), (True, 1),
                              (1, True), (-3, -3.0), (2**40, 2**40), (2**62, 2.0**62),
                              (float("inf"), 2**80)]),
    (count_matches, [(["a", "b", "c", "a"], "a", 0.5), (["a", 1, None, 2.5, 2**70, True], "a", 1),
                     (["b", "b"], "b", 2**60), ([1.0, 0, -1], 1, 0)]),
    (compare_result_not_bool, [(1,), (None,)]),
    (compare_all, [(1, 2), (2, 2), (3, 2), (1.5, 1), (2**70, 2**70 + 1), ("a", "b"),
                   ([1, 2], [1, 3]), ((1,), (1,)), (float("nan"), 1.0), (True, 1)]),
    (compare_in_branches, [(1, 2), (2, 2), ("b", "a"), (1.0, 1)]),
    (compare_mixed_error, [(1, "a"), (None, 1), ([1], (1,)), (1, 2)]),
    (compare_mixed_error_caught, [(1, "a"), ({1}, 1), (1j, 2j)]),
    (chained, [(1, 2, 3), (1, 2, 2), (5, 5, 5), (20, 1, 0)]),
    (chained_in_if, [(5,), (50,), (100,), (-1,)]),
    (user_compare, [(1, 1), (1, 2)]),
    (user_compare_raises, [(1,)]),
    (user_compare_unsupported, [(1, 2)]),
    (is_ops, [(None, None), (1, None), ("a", "a"), ([], [])]),
    (is_none_branches, [([None, 0, 1, "", "x", None],)]),
    (contains, [(1, [1, 2]), (3, (1, 2)), ("a", "cat"), ("k", {"k": 1}), (2, {1, 2}),
                (5, range(10)), (None, [])]),
    (contains_in_branch, [(1, [1]), (2, [1])]),
    (contains_error, [(1, 5), ([], {1}), (1, "abc"), (1, None)]),
    (contains_error_caught, [(1, 5), ([], {}), (1, [1])]),
    (contains_user, [(1,), (0,), (-1,)]),
    (unary, [(1,), (0,), (-2.5,), (2**100,), (True,), (1j,), (float("nan"),), (0.0,)]),
    (unary_int, [(0,), (5,), (-(2**70),), (False,)]),
    (unary_errors, [("s",), (None,), ([1],), (Weird(),), (3,)]),
    (invert_error, [(1.5,), ("s",), (Weird(),), (7,)]),
    (unary_caught, [("s",), (1.5,), (Weird(),), (4,)]),
    (truthiness, [([0, 1, "", "a", [], [0], None, 0.0, float("nan"), {}, set(), 2**80,
                    range(0)],)]),
    (bool_raises, [(Weird(),), (1,)]),
    (not_raises, [(Weird(),), (0,)]),
    (bool_raises_caught, [(Weird(),), (1,)]),
    (len_bool_error, [()]),
]
