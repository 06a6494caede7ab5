"""Jumps: if/elif/else, while, for, break/continue, and/or short-circuit (JUMP_IF_*_OR_POP),
conditional expressions, `is None` tests (POP_JUMP_*_IF_NONE / NOT_NONE), backward jumps;
GET_ITER / FOR_ITER over lists, ranges, strings, dicts, generators, custom iterators;
match statements with sequence and literal patterns."""
from array import array


def classify(x):
    if x < 0:
        return "neg"
    elif x == 0:
        return "zero"
    elif x < 10:
        return "small"
    else:
        return "big"


def nested_if(a, b, c):
    if a:
        if b:
            r = 1
        else:
            if c:
                r = 2
            else:
                r = 3
    elif b and c:
        r = 4
    else:
        r = 5
    return r


def short_circuit(a, b):
    return a and b, a or b, a and b or "z", not a or b, (a or b) and (b or a)


def short_circuit_side_effects(a, b):
    log = []

    def f(v):
        log.append(v)
        return v
    r1 = f(a) and f(b)
    r2 = f(a) or f(b)
    r3 = f(a) and f(b) and f("third")
    r4 = f(a) or f(b) or f("third")
    return r1, r2, r3, r4, log


def short_circuit_raises(a):
    return a or (1 // 0)


def ternary(x):
    return "pos" if x > 0 else "neg" if x < 0 else "zero", x if x else None


def none_checks(x, y):
    a = x if x is not None else "default"
    b = "y-none" if y is None else y
    if x is None and y is None:
        return "both"
    if x is None or y is None:
        return a, b, "one"
    return a, b


def while_loop(n):
    i = 0
    total = 0
    while i < n:
        i += 1
        if i % 3 == 0:
            continue
        if i > 50:
            break
        total += i
    else:
        total = -total   # only when no break
    return i, total


def while_true_break(n):
    i = 0
    while True:
        i += 1
        if i >= n:
            break
    return i


def while_none(items):
    # POP_JUMP_BACKWARD_IF_NOT_NONE style loops
    node = items
    count = 0
    while node is not None:
        count += node[0]
        node = node[1]
    x = None
    while x is None:
        count += 100
        x = count if count > 250 else None
    return count


def for_break_continue(seq):
    out = []
    for x in seq:
        if x == "skip":
            continue
        if x == "stop":
            break
        out.append(x)
    else:
        out.append("exhausted")
    return out


def nested_loops(n):
    out = 0
    for i in range(n):
        for j in range(i):
            if j == 5:
                break
            for k in range(j):
                if (i + j + k) % 2:
                    continue
                out += i * j - k
        else:
            out += 1000
    return out


def loop_over_kinds(s, d, t):
    out = []
    for ch in s:
        out.append(ch)
    for k in d:
        out.append(k)
    for k, v in d.items():
        out.append((k, v))
    for x in t:
        out.append(x)
    for i in range(10, 0, -3):
        out.append(i)
    for b in b"AB":
        out.append(b)
    for x in {3}:
        out.append(x)
    for i, x in enumerate("xy"):
        out.append((i, x))
    for p in zip("ab", [1, 2]):
        out.append(p)
    for x in reversed([1, 2]):
        out.append(x)
    return out


def gen_helper(n):
    for i in range(n):
        if i == 7:
            raise ValueError("generator failed at 7")
        yield i * i


def iterate_generator(n):
    total = 0
    for v in gen_helper(n):
        total += v
    return total


def iterate_generator_caught(n):
    total = 0
    try:
        for v in gen_helper(n):
            total += v
    except ValueError as e:
        return total, str(e)
    return total


def iterate_genexpr(n):
    return sum(x * 2 for x in range(n)), list(x for x in "abc" if x != "b")


class Countdown:
    def __init__(self, n, fail_at=None):
        self.n = n
        self.fail_at = fail_at

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == self.fail_at:
            raise KeyError("fail at %d" % self.n)
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n


class BadIter:
    def __iter__(self):
        raise TypeError("BadIter refuses to iterate")


class IterReturnsNonIterator:
    def __iter__(self):
        return 5


def custom_iter(it):
    out = []
    for x in it:
        out.append(x)
    return out


def custom_iter_caught(it):
    out = []
    try:
        for x in it:
            out.append(x)
    except (KeyError, TypeError) as e:
        out.append(repr(e))
    return out


def not_iterable(x):
    for y in x:
        return y


def mutate_while_iterating(d):
    for k in d:
        d[k + "x"] = 1  # RuntimeError: dictionary changed size


def list_grows_while_iterating(lst):
    for x in lst:
        if len(lst) < 10:
            lst.append(x + 1)
    return lst


def early_return_from_for(seq, target):
    for i, x in enumerate(seq):
        if x == target:
            return i
    return -1


def long_loop(n):
    s = 0
    i = 0
    while i < n:
        s += i & 0xFF
        i += 1
    for j in range(n):
        s -= j % 3
    return s


def countdown_stack(n):
    # a value kept on the stack across the loop (the iterator), plus a long chain
    return [x for x in range(n)], sum([i for i in range(n) if i % 2])


class _BadLen(list):
    def __len__(self):
        raise ValueError("no len")


def match_sequences(x):
    """Sequence, literal, or and capture patterns run natively (MATCH_SEQUENCE,
    GET_LEN, UNPACK_EX); GET_LEN's error (a __len__ that raises) and a mapping pattern
    (MATCH_KEYS) on the side."""
    match x:
        case []:
            return "empty"
        case [a]:
            return "one", a
        case [a, b, *rest] if a != b:
            return "many", a, b, rest
        case "s" | "t":
            return "letter"
        case (1, 2):
            return "pair"
        case {"k": v}:
            return "map", v
        case _:
            return "other"


class _Bool:
    def __init__(self, value):
        self.value = value

    def __bool__(self):
        if self.value == "raise":
            raise ValueError("no truth")
        return self.value


class _Len:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def truth_values(values):
    # POP_JUMP_IF_TRUE/FALSE and UNARY_NOT of objects: True/False inline, then
    # coconut_truth (None, exact int/float/str/list/tuple/dict, instances without
    # __bool__ / __len__), the rest (__bool__, __len__, its errors, subclasses) through
    # PyObject_IsTrue
    out = []
    for v in values:
        try:
            out.append((1 if v else 0, not v, bool(v) and "t" or "f"))
        except (ValueError, TypeError, OverflowError) as e:
            out.append((type(e).__name__, str(e)))
    return out


class _Plain:
    pass


class _IntSub(int):
    pass


CASES = [
    (match_sequences, [([],), ([1],), ([1, 2, 3],), ([2, 2],), ((1, 2),), ("s",), ("abc",),
                       (5,), (range(3),), (_BadLen([1]),), ({"k": 1},), ({},), (b"ab",),
                       (bytearray(b"x"),), (array("b", [1, 2]),)]),
    (classify, [(-5,), (0,), (3,), (30,), (2.5,)]),
    (nested_if, [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]),
    (short_circuit, [(0, 1), (1, 0), ("", "b"), ("a", ""), (None, []), (2, 3)]),
    (short_circuit_side_effects, [(0, 1), (1, 0), (1, 2), (0, "")]),
    (short_circuit_raises, [(1,), (0,)]),
    (ternary, [(1,), (-1,), (0,)]),
    (none_checks, [(None, None), (1, None), (None, 2), (0, 0)]),
    (while_loop, [(0,), (10,), (100,)]),
    (while_true_break, [(1,), (1000,)]),
    (while_none, [(None,), ((1, (2, (3, None))),)]),
    (for_break_continue, [(["a", "skip", "b"],), (["a", "stop", "b"],), ([],)]),
    (nested_loops, [(0,), (12,)]),
    (loop_over_kinds, [("hi", {"a": 1, "b": 2}, (1, 2))]),
    (iterate_generator, [(5,), (10,)]),
    (iterate_generator_caught, [(5,), (10,)]),
    (iterate_genexpr, [(10,)]),
    (custom_iter, [(Countdown(4),), (Countdown(5, fail_at=2),), (BadIter(),),
                   (IterReturnsNonIterator(),)]),
    (custom_iter_caught, [(Countdown(3),), (Countdown(5, fail_at=2),), (BadIter(),)]),
    (not_iterable, [(5,), (None,), ([7],)]),
    (mutate_while_iterating, [({"a": 1},)]),
    (list_grows_while_iterating, [([1],), ([1, 2, 3],)]),
    (early_return_from_for, [([1, 2, 3], 2), ([1], 5)]),
    (long_loop, [(200000,)]),
    (countdown_stack, [(100,)]),
    (truth_values, [([None, 0, 1, -3, 2**80, 0.0, -0.0, float("nan"), "", "a", [], [0], (),
                      (0,), {}, {0: 0}, set(), {0}, b"", b"x", 0j, _Plain(), _IntSub(0),
                      _IntSub(2), _Bool(True), _Bool(False), _Bool("raise"), _Bool(2),
                      _Len(0), _Len(3), _Len(-1), _Len(2**70), True, False],)]),
]
