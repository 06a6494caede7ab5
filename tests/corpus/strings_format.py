"""FORMAT_VALUE (!s !r !a, format specs, nested specs), BUILD_STRING (f-strings)."""


class Fmt:
    def __format__(self, spec):
        if spec == "bad":
            raise ValueError("Fmt rejects spec %r" % spec)
        return "<Fmt %s>" % spec

    def __repr__(self):
        return "Fmt()"

    def __str__(self):
        return "Fmt-str"


class BadStr:
    def __str__(self):
        raise RuntimeError("__str__ failed")

    def __repr__(self):
        return 42  # TypeError: __repr__ returned non-string


def fstrings(x, name):
    return [f"{x}", f"{x!r}", f"{x!s}", f"{x!a}", f"v={x}!", f"{name}: {x} ({name!r})",
            f"", f"{{literal}}", f"{x}{x}{x}"]


def format_specs(x, width):
    return [f"{x:>10}", f"{x:<{width}}", f"{x:^{width}.3}", f"{x!r:>{width}}", f"{x:}",
            f"{x:{'>'}{width}}"]


def format_numbers(n, f):
    return [f"{n:d}", f"{n:5d}", f"{n:+d}", f"{n:x}", f"{n:#o}", f"{n:,}", f"{n:_b}",
            f"{f:.2f}", f"{f:10.3e}", f"{f:%}", f"{f:g}", f"{n:08.2f}", f"{f!r}"]


def format_errors(x, spec):
    return f"{x:{spec}}"


def format_errors_caught(x, spec):
    try:
        return f"{x:{spec}}"
    except (ValueError, TypeError) as e:
        return type(e).__name__, str(e)


def format_user(spec):
    return f"{Fmt():{spec}}", f"{Fmt()!r}", f"{Fmt()!s}", f"{Fmt()}"


def format_str_raises():
    return f"{BadStr()}"


def format_repr_bad():
    return f"{BadStr()!r}"


def format_in_loop(n):
    out = ""
    for i in range(n):
        out += f"[{i:03d}|{i * 1.5:.1f}|{str(i)!r}]"
    return out, len(out)


def percent_and_format(x):
    return "%s|%r|%5.1f" % (x, x, 1.25), "{0}-{1!r}-{k}".format(x, x, k=x), str(x) + repr(x)


def string_methods(s):
    return s.upper(), s.split(), s.join(["1", "2"]), s[::-1], s.count("a"), s.find("z"), \
        s.encode(), "-".join(reversed(s)), s.title(), s.zfill(10)


def unicode_strings(s):
    return f"{s}é", len(s + "ü"), f"{s!a}", s.casefold(), "ß".upper()


def empty_fstring(x):
    # f'' in an expression compiles to BUILD_STRING 0, a C call with an empty argument
    # array and no other call in the function (found by test_fstring: it crashed the
    # back end)
    return x == f'', (x, f'')


class SubStr(str):
    def __add__(self, other):
        return SubStr("<" + str.__add__(self, other) + ">")


def str_appends(pieces, n):
    # `s += t` / `s = s + t` into the same local (coconut_str_iadd: extended in place
    # where nothing else holds s): pieces of other kinds (non-ASCII, empty, a str
    # subclass, not a str: TypeError), an alias taken mid-loop (must not change), the
    # string hashed as a dict key (must not change), an interned constant, s + s,
    # the empty string on either side (identity: "" + t is t itself)
    s = ""
    keep, seen = [], {}
    for i in range(n):
        for p in pieces:
            s += p
            if i == 1:
                keep.append(s)
                seen[s] = i
        s = s + "."
    alias = s
    s += "tail"
    const = "interned"
    const += "!"
    twice = "ab" + str(n)
    twice += twice
    empty = ""
    t = "solo" + str(n)
    empty += t
    same = t
    same += ""
    return s, alias, keep, sorted(seen), const, twice, empty is t, same is t, empty


def str_append_errors(left, right):
    # the right operand not a str, a str subclass on either side, the left not a str
    s = left
    try:
        s += right
    except TypeError as e:
        return "TypeError", str(e), s
    return type(s).__name__, s


def str_append_rebound(n):
    # the local holds an int, then a str, then a float: only the str steps append
    x = 0
    out = []
    for i in range(n):
        x += 1
        out.append(x)
    x = "s"
    for i in range(n):
        x += str(i)
    out.append(x)
    x = 1.5
    x += 2
    out.append(x)
    return out


def str_append_other_local(words):
    # `y = x + w`: the result goes to another local (no in-place append), `x` keeps its value
    x = "base"
    ys = []
    for w in words:
        y = x + w
        ys.append(y)
    return x, ys


CASES = [
    (empty_fstring, [("a",), ("",)]),
    (fstrings, [(1, "n"), ("s", "é"), (None, ""), ([1, "x"], "l"), (2**100, "b"),
                (float("nan"), "f"), ("日本", "j")]),
    (format_specs, [("abc", 8), (3.14159, 9), (12, 4)]),
    (format_numbers, [(255, 3.14159), (-7, -0.5), (10**12, 1e10)]),
    (format_errors, [(1, "q"), ("s", "d"), (1.5, "x"), (None, "5"), (1, "5")]),
    (format_errors_caught, [(1, "q"), ("s", "d"), (3, ">4")]),
    (format_user, [("x",), ("bad",)]),
    (format_str_raises, [()]),
    (format_repr_bad, [()]),
    (format_in_loop, [(50,)]),
    (percent_and_format, [(1,), ("s",)]),
    (string_methods, [("a b a",)]),
    (unicode_strings, [("ñ",)]),
    (str_appends, [(["ab", "", "\u00e9t\u00e9", "\U0001f600"], 3), (["x"], 200), ([], 2)]),
    (str_append_errors, [("a", 1), ("a", SubStr("b")), (SubStr("a"), "b"), (None, "b"),
                         ("a", None), ("", "b"), ("a", "")]),
    (str_append_rebound, [(4,)]),
    (str_append_other_local, [(["1", "2", ""],)]),
]
