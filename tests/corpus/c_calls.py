"""CALL of C functions where the interpreter specialized the PRECALL before it
(lowering/ccalls.py): builtins (METH_O, METH_FASTCALL, with keywords), method
descriptors (METH_O, METH_NOARGS, METH_FASTCALL, with keywords), type(x), str(x),
tuple(x), builtin classes; and what makes their guards fail mid-loop: a name rebound to
a builtin of another kind or to a Python function, a subclass instance as self, a
container replaced by a Python class; errors raised by the C function, a C function
that runs Python code which looks at the caller's frame, the recursion limit at a
METH_O call."""
import sys

seen = []


def probe(x):
    return x * 2


measure = len


def rebound_builtin(n):
    # METH_O (len), then another METH_O (id: same guards, another function), then
    # METH_FASTCALL|METH_KEYWORDS (sorted: the flags guard fails), then a Python function
    global measure
    out = []
    items = [3, 1, 2]
    for i in range(n):
        if i == n // 4:
            measure = abs
        elif i == n // 2:
            measure = sorted
        elif i == 3 * n // 4:
            measure = probe
        r = measure(items if measure is not abs else -i)
        out.append(r)
    measure = len
    return out


class Text(str):
    def upper(self):
        return "sub:" + str.upper(self)


def descriptor_self_changes(n):
    # str.upper (METH_NOARGS), str.startswith (METH_FASTCALL), str.join (METH_O) on an
    # exact str, then on a subclass instance (type(self) is not the descriptor's class)
    out = []
    s = "ab"
    for i in range(n):
        if i == n // 2:
            s = Text("cd")
        out.append((s.upper(), s.startswith("c"), s.join(["x", "y"]), s.count("c", 0)))
    return out


class Mapping:
    def get(self, key, default=None):
        return ("mapping", key, default)


def container_replaced(n):
    # dict.get (METH_FASTCALL descriptor), list.index, then a Python class's method
    d = {1: "one", 2: "two"}
    out = []
    for i in range(n):
        if i == n // 2:
            d = Mapping()
        out.append((d.get(i % 3), d.get(i, "dflt")))
    return out


def one_arg_builtins(n):
    # type(x), str(x), tuple(x) (PRECALL_NO_KW_TYPE_1 / STR_1 / TUPLE_1), then the
    # names rebound as locals: not the builtins any more
    type_, str_, tuple_ = type, str, tuple
    out = []
    for i in range(n):
        if i == n // 2:
            type_, str_, tuple_ = repr, ascii, list
        x = [i, "s"] if i % 2 else (i, 1.5)
        out.append((type_(x), str_(x), tuple_(x)))
    return out


class NoVectorcall:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = sorted(kwargs.items())

    def __repr__(self):
        return "NoVectorcall(%r, %r)" % (self.args, self.kwargs)


def builtin_classes(n):
    # dict, list, set, range, float: types with tp_vectorcall (PRECALL_BUILTIN_CLASS),
    # keywords too; then a Python class (no tp_vectorcall)
    make = dict
    out = []
    for i in range(n):
        if i == n // 2:
            make = NoVectorcall
        out.append((make(a=i, b=2), list(range(i % 3)), set([i, 1]), float(i), range(i)))
    return out


class BadStr:
    def __str__(self):
        raise ValueError("no str for you")


def errors_from_c(values):
    # each C function raises: the traceback's line is the call's
    out = []
    for v in values:
        try:
            if v == 0:
                out.append(divmod(7, v))
            elif v == 1:
                out.append(getattr(out, "missing_attribute"))
            elif v == 2:
                out.append(",".join([1, 2]))
            elif v == 3:
                out.append(str(BadStr()))
            elif v == 4:
                out.append(tuple(5))
            elif v == 5:
                out.append({}.pop("k"))
            else:
                out.append(divmod(7, v))
        except (ZeroDivisionError, AttributeError, TypeError, ValueError, KeyError) as e:
            out.append((type(e).__name__, str(e)))
    return out


def raises_uncaught(v):
    total = 0
    for i in range(5):
        total += divmod(i, v)[0]
    return total


def peek(x):
    f = sys._getframe(1)
    seen.append(sorted((k, v) for k, v in f.f_locals.items() if k in ("total", "acc", "i")))
    return -x


def c_call_runs_python(n):
    # sorted() calls peek, which reads this frame's locals: unboxed counters must be
    # in the frame (materialized before the call)
    seen.clear()
    total = 0
    acc = 0.5
    items = [2, 3, 1]
    out = []
    for i in range(n):
        total += i
        acc *= 1.5
        out.append(sorted(items, key=peek))
        out.append(max(items, key=peek))
    return out, total, acc, seen[:]


def keywords(n):
    # METH_FASTCALL|METH_KEYWORDS builtins and descriptors with keyword arguments
    out = []
    items = [5, 2, 8]
    for i in range(n):
        out.append((sorted(items, reverse=bool(i % 2)), max(items, default=0),
                    max([], default=i), "a,b,c".split(",", maxsplit=i % 3),
                    int("12", base=8 + i % 3)))
    return out


def bound_builtin_method(n):
    # a builtin method bound to its list, called through a local (PRECALL_NO_KW_BUILTIN_O
    # with m_self the list), then rebound to another list's
    out = []
    other = []
    app = out.append
    for i in range(n):
        if i == n // 2:
            app = other.append
        app(i)
    return out, other


def probe_depth(k):
    r = id(k)               # METH_O: at the recursion limit, ceval raises here
    return probe_depth(k + 1) + (r - r)


def recursion_limit_at_c_call(limit):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        return probe_depth(0)
    except RecursionError as e:
        return str(e)
    finally:
        sys.setrecursionlimit(old)


CASES = [
    (rebound_builtin, [(12,), (40,)]),
    (descriptor_self_changes, [(6,)]),
    (container_replaced, [(6,)]),
    (one_arg_builtins, [(8,)]),
    (builtin_classes, [(6,)]),
    (errors_from_c, [([9, 0, 1, 2, 3, 4, 5, 7],)]),
    (raises_uncaught, [(1,), (0,)]),
    (c_call_runs_python, [(4,)]),
    (keywords, [(6,)]),
    (bound_builtin_method, [(6,)]),
    (recursion_limit_at_c_call, [(60,), (200,)]),
]
