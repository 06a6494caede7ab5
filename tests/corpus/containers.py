"""BUILD_TUPLE / LIST / MAP / SET / CONST_KEY_MAP / SLICE, BINARY_SUBSCR / STORE_SUBSCR /
DELETE_SUBSCR, UNPACK_SEQUENCE, comprehensions (LIST_APPEND / SET_ADD / MAP_ADD)."""


class Box:
    def __init__(self):
        self.data = {}

    def __getitem__(self, key):
        if key == "bad":
            raise LookupError("Box has no bad")
        return ("got", key)

    def __setitem__(self, key, value):
        if value is None:
            raise ValueError("Box refuses None")
        self.data[key] = value

    def __delitem__(self, key):
        raise IndexError("Box cannot delete %r" % (key,))


def builds(a, b):
    t = (a, b)
    lst = [a, b, a]
    d = {a: b, "k": lst}
    ck = {"x": a, "y": b, "z": 3}
    s = {a, b, a}
    e = ([], (), {}, set())
    return t, lst, d, ck, sorted(s, key=repr), e


def build_unhashable(a):
    return {a: 1}


def build_set_unhashable(a):
    return {1, a}


def build_caught(a):
    try:
        return {a}
    except TypeError as e:
        return str(e)


def slices(seq, i, j):
    return seq[i:j], seq[i:], seq[:j], seq[::2], seq[::-1], seq[i:j:1], seq[-1:]


def slice_objects(seq):
    s = slice(1, None)
    return seq[s], seq[1:-1:2]


def subscripts(seq, i):
    return seq[i], seq[-1]


def subscript_dict(d, k):
    return d[k]


def subscript_errors_caught(seq, i):
    try:
        return seq[i]
    except (IndexError, KeyError, TypeError) as e:
        return type(e).__name__, str(e)


def store_subscr(lst, d, i, v):
    lst[i] = v
    d[v] = i
    lst[0:1] = [v, v]
    d["nested"] = {}
    d["nested"][i] = lst[-1]
    return lst, d


def store_subscr_error(seq, i, v):
    seq[i] = v
    return seq


def delete_subscr(lst, d, i):
    del lst[i]
    del d["a"]
    del lst[0:1]
    return lst, d


def delete_subscr_error(seq, i):
    del seq[i]
    return seq


def box_ops(key):
    b = Box()
    b[key] = 1
    r = b[key]
    try:
        b["n"] = None
    except ValueError as e:
        r = (r, str(e))
    return r, b.data


def box_getitem_raises():
    return Box()["bad"]


def box_delitem_raises(key):
    b = Box()
    del b[key]


def subscr_in_loop(n):
    arr = [0] * 16
    d = {}
    for i in range(n):
        arr[i % 16] += i
        d[i % 7] = d.get(i % 7, 0) + arr[(i * 3) % 16]
    return arr, d


def unpacking(t):
    a, b = t
    (c, d), e = (b, a), t
    x, y, z = "xyz"
    [p, q] = [a, b]
    for k, v in [(1, 2), (3, 4)]:
        a = a + k * v
    return a, b, c, d, e, x, y, z, p, q


def unpack_wrong_length(seq):
    a, b, c = seq
    return a, b, c


def unpack_wrong_length_caught(seq):
    try:
        a, b = seq
        return a, b
    except ValueError as e:
        return str(e)
    except TypeError as e:
        return "type", str(e)


def unpack_not_iterable(x):
    a, b = x
    return a


def unpack_generator(n):
    a, b = (i * 2 for i in range(n))
    return a, b


def list_comp(n):
    return [i * i for i in range(n) if i % 2], [c.upper() for c in "ab"], \
        [(i, j) for i in range(3) for j in range(i)]


def set_comp(words):
    return sorted({w[0] for w in words if w})


def dict_comp(words):
    return {w: len(w) for w in words}, {i: i * i for i in range(4)}


def comp_raises(n):
    return [10 // (i - 2) for i in range(n)]


def comp_raises_caught(seq):
    try:
        return {k: seq[k] for k in range(5)}
    except IndexError as e:
        return str(e)


def comp_uses_closure(k):
    factor = k * 2
    return [x * factor for x in range(k)], {x: factor for x in "ab"}


def nested_comp(n):
    return [[i * j for j in range(i)] for i in range(n)]


def build_large(n):
    t = (n, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9, n + 10, n + 11,
         n + 12, n + 13, n + 14, n + 15, n + 16, n + 17, n + 18, n + 19, n + 20)
    d = {"a": n, "b": n, "c": n, "d": n, "e": n, "f": n, "g": n, "h": n, "i": n, "j": n,
         "k": n, "l": n, "m": n, "n": n, "o": n, "p": n, "q": n, "r": n, "s": n, "t": n}
    return t, d


def dup_keys(a):
    return {"k": 1, "k": a}, {a: 1, a: 2}  # noqa: F601


class LoudStr(str):
    """A str whose == runs Python code (and records it)."""
    log = []

    def __eq__(self, other):
        LoudStr.log.append(("eq", str(self), other))
        return str.__eq__(self, other)

    __hash__ = str.__hash__


class Shrinking:
    """Equal to nothing; comparing it empties the list it is in."""
    def __init__(self, owner):
        self.owner = owner

    def __eq__(self, other):
        self.owner.clear()
        return False


def str_in_sequences(words):
    # CONTAINS_OP of a str in a list or tuple (coconut_contains_str): strs made at run
    # time (their hash not computed yet), non-ASCII, a str subclass as needle and as an
    # item (its __eq__ runs: the generic path), an item of another type, a list that a
    # comparison empties
    LoudStr.log.clear()
    names = ["alpha", "beta", "gamma", "d\u00e9lta", "".join(["ep", "silon"])]
    out = []
    for w in words:
        probe = "".join(list(w)) if type(w) is str else w
        out.append((probe in names, probe not in tuple(names), probe in ("beta", "z"),
                    probe in [LoudStr("gamma"), "alpha"], probe in [1, "alpha"], probe in []))
    owner = ["x"]
    owner.insert(0, Shrinking(owner))
    out.append(("x" in owner, owner))
    return out, LoudStr.log[:]


CASES = [
    (builds, [(1, "b"), (1, 1), (None, 2.5)]),
    (build_unhashable, [([],), ({},), (1,)]),
    (build_set_unhashable, [([],), ("ok",)]),
    (build_caught, [([1],), ((1,),)]),
    (slices, [([0, 1, 2, 3, 4, 5], 1, 4), ("abcdef", -3, 10), ((1, 2, 3), 5, 0),
              (range(10), 2, 8), (b"bytes", 0, 2)]),
    (slice_objects, [([1, 2, 3, 4],), ("abcd",)]),
    (subscripts, [([1, 2, 3], 0), ("abc", -2), ((1, 2), 1), ([1], 5), ("ab", 2**70),
                  ([1], "x"), (range(5), 3), (5, 0)]),
    (subscript_dict, [({"a": 1}, "a"), ({"a": 1}, "b"), ({}, []), ({(1, 2): 3}, (1, 2))]),
    (subscript_errors_caught, [([1, 2], 7), ({}, "k"), ([1], None), ("s", 0)]),
    (store_subscr, [([1, 2, 3], {}, 1, "v")]),
    (store_subscr_error, [([1], 5, 0), ((1,), 0, 0), ({}, [], 1), ("s", 0, "x"), ([1], 0, 9)]),
    (delete_subscr, [([1, 2, 3, 4], {"a": 1, "b": 2}, 1)]),
    (delete_subscr_error, [([1], 3), ({}, "k"), ((1,), 0), ([1, 2], 0)]),
    (box_ops, [("k",)]),
    (box_getitem_raises, [()]),
    (box_delitem_raises, [("k",)]),
    (subscr_in_loop, [(500,)]),
    (unpacking, [((1, 2),), ("ab",)]),
    (unpack_wrong_length, [((1, 2),), ((1, 2, 3, 4),), ("abc",), ([1, 2, 3],)]),
    (unpack_wrong_length_caught, [((1,),), ((1, 2, 3),), (5,), ((1, 2),)]),
    (unpack_not_iterable, [(5,), (None,)]),
    (unpack_generator, [(2,), (3,), (1,)]),
    (list_comp, [(10,)]),
    (set_comp, [(["apple", "avocado", "", "banana"],)]),
    (dict_comp, [(["a", "bb"],)]),
    (comp_raises, [(2,), (5,)]),
    (comp_raises_caught, [([1, 2],), ([1, 2, 3, 4, 5],)]),
    (comp_uses_closure, [(3,)]),
    (nested_comp, [(5,)]),
    (build_large, [(1,)]),
    (dup_keys, [(2,)]),
    (str_in_sequences, [(["alpha", "gamma", "d\u00e9lta", "epsilon", "zeta", LoudStr("beta"),
                          "", 5],)]),
]
