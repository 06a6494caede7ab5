"""Deoptimisation: loops whose body contains an instruction coconut does not lower
(IMPORT_NAME, LIST_EXTEND, UNPACK_EX, BEFORE_WITH, CALL_FUNCTION_EX, STORE_GLOBAL,
DICT_MERGE / DICT_UPDATE, DELETE_ATTR, IMPORT_FROM, SET_UPDATE), with accumulators live
in locals (ints, floats, big ints, strings, lists) and on the value stack (for-loop
iterators, partially evaluated expressions) when the interpreter takes over."""
import contextlib

G_COUNTER = 0
G_LOG = []


class Ctx:
    def __init__(self, log, fail_exit=False):
        self.log = log
        self.fail_exit = fail_exit

    def __enter__(self):
        self.log.append("enter")
        return len(self.log)

    def __exit__(self, et, ev, tb):
        self.log.append(("exit", et.__name__ if et else None))
        if self.fail_exit:
            raise RuntimeError("exit failed")
        return et is KeyError  # swallow KeyError


class Obj:
    pass


def add3(a, b, c):
    return a + b * 2 + c * 3


def import_in_loop(n):
    total = 0
    ftotal = 0.5
    big = 2**70
    s = ""
    for i in range(n):
        import math                   # IMPORT_NAME every iteration
        total += i * 3
        ftotal += math.sqrt(i)
        big += i
        s += str(i % 10)
    return total, ftotal, big, s


def import_once_midloop(n):
    total = 0
    acc = []
    for i in range(n):
        total += i
        if i == n // 2:
            import json               # deopt only on one iteration
            acc.append(json.dumps(i))
        acc.append(total)
    return total, acc


def import_from_in_loop(n):
    out = []
    for i in range(n):
        from math import floor, ceil  # IMPORT_NAME + IMPORT_FROM
        out.append(floor(i / 2) + ceil(i / 3))
    return out


def import_fails_in_loop(n):
    total = 0
    for i in range(n):
        total += i
        if i == 3:
            import no_such_module_coconut  # noqa: F401  ModuleNotFoundError
    return total


def import_fails_caught(n):
    total = 0
    for i in range(n):
        try:
            if i % 2:
                from math import no_such_name  # noqa: F401  ImportError
            total += i
        except ImportError as e:
            total -= 1
            last = str(e)
    return total, last


def list_extend_in_loop(n, extra):
    total = 0
    out = []
    for i in range(n):
        out = [*out, i, *extra]       # LIST_EXTEND
        total += len([*extra]) + i
    return total, out[-5:], len(out)


def list_extend_deep_stack(n, extra):
    s = 0
    for i in range(n):
        for j in range(2):
            s = s + len([*extra, i, j]) * (i + 1) - j   # s, len, list on the stack
    return s


def unpack_ex_in_loop(rows):
    heads = []
    tails = 0
    for row in rows:
        h, *t = row                   # UNPACK_EX
        heads.append(h)
        tails += len(t)
        *init, last = row
        tails += last
    return heads, tails


def unpack_ex_fails(rows):
    total = 0
    for row in rows:
        a, b, *rest = row             # ValueError for short rows
        total += a + b
    return total


def with_in_loop(n):
    log = []
    total = 0
    for i in range(n):
        with Ctx(log) as k:           # BEFORE_WITH
            total += k + i
    return total, log[:6], len(log)


def with_swallows(n):
    log = []
    total = 0
    for i in range(n):
        with Ctx(log):
            total += i
            if i % 2:
                raise KeyError(i)     # swallowed by __exit__
            total += 100
    return total, len(log)


def with_propagates(n):
    log = []
    for i in range(n):
        with Ctx(log):
            if i == 2:
                raise ValueError("from with body %d" % i)
    return log


def with_exit_raises(n):
    log = []
    with Ctx(log, fail_exit=True):
        log.append(n)
    return log


def with_not_a_context_manager(x):
    with x:
        return "entered"


def with_suppress(n):
    total = 0
    for i in range(n):
        with contextlib.suppress(ZeroDivisionError):
            total += 10 // (i % 3)
    return total


def call_ex_in_loop(n):
    args = (1, 2)
    total = 0
    acc = 1.0
    for i in range(n):
        total += add3(*args, i)        # CALL_FUNCTION_EX with total on the stack
        acc *= add3(**{"a": 1, "b": 0, "c": 0}) * 1.01
    return total, acc


def call_ex_fails(x):
    return add3(*x)


def call_ex_kw_fails(x):
    total = 0
    for i in range(3):
        total += add3(1, 2, **x)
    return total


def store_global_in_loop(n):
    global G_COUNTER
    G_COUNTER = 0                     # STORE_GLOBAL
    total = 0
    for i in range(n):
        G_COUNTER += i
        total += G_COUNTER
    return total, G_COUNTER


def store_global_read_back(n):
    global G_LOG
    G_LOG = []
    for i in range(n):
        G_LOG = G_LOG + [i]
        if len(G_LOG) > 3:
            G_LOG = G_LOG[1:]
    return G_LOG


def delete_global_midloop(n):
    global G_TMP
    G_TMP = 1
    out = []
    for i in range(n):
        out.append(G_TMP)
        if i == 1:
            del G_TMP                 # DELETE_GLOBAL, then NameError
    return out


def dict_merge_in_loop(n, base):
    total = 0
    d = {}
    for i in range(n):
        d = {**d, **base, i: i}       # DICT_UPDATE
        total += len(d)
        total += add3(**{"a": i, "b": 1, "c": 2})   # DICT_MERGE
    return total, d


def dict_merge_fails(x):
    return {**x}


def set_update_in_loop(n):
    s = set()
    for i in range(n):
        s = {*s, i % 4}               # SET_UPDATE
    return sorted(s)


def delete_attr_in_loop(n):
    o = Obj()
    total = 0
    for i in range(n):
        o.v = i
        total += o.v
        del o.v                       # DELETE_ATTR
    try:
        del o.v
    except AttributeError as e:
        return total, str(e)


def deopt_then_raise(n):
    total = 0
    for i in range(n):
        import math
        total += math.floor(i / 2)
    return total // (n - 5)          # ZeroDivisionError when n == 5, after the loop


def deopt_then_raise_in_loop(n):
    total = 0
    for i in range(n):
        total += [*[i]][0]
        if i == 4:
            total += None             # TypeError on a later line inside the loop
    return total


def deopt_nested_loops(n):
    s = 0
    f = 0.0
    for i in range(n):
        j = 0
        while j < i:
            h, *t = (i, j, j)
            s += h * len(t) + j
            f += j / (i + 1)
            j += 1
        for k in range(3):
            s ^= k
    return s, f


def deopt_with_closure(n):
    cell = 0

    def bump(k):
        nonlocal cell
        cell += k
    for i in range(n):
        bump(*(i,))
        cell += 1
    return cell


def deopt_comprehension_body(n):
    return [[*range(i)] for i in range(n)]


def deopt_generator_consumer(n):
    total = 0
    for x in (i * i for i in range(n)):
        import math
        total += math.isqrt(x)
    return total


def deopt_early_then_native_loop(n):
    import math                       # deopt at the start, then a long native-looking loop
    t = 0
    for i in range(n):
        t += i % 7
    return t, math.pi > 3


def match_statement(v):
    match v:                          # MATCH_* / GET_LEN
        case []:
            return "empty"
        case [x, *rest]:
            return "seq", x, rest
        case {"k": value}:
            return "map", value
        case int(n) if n > 10:
            return "big int", n
        case str() | bytes():
            return "text"
        case _:
            return "other"


# -- MATCH_CLASS in loops: it runs Python (isinstance, getters) with loop state live ----
def match_class_in_loop(n):
    found = []
    acc = 0
    for i in range(n):
        acc += i
        match i:
            case int() if i % 2:
                found.append((i, acc))
    return found, acc


def match_class_nested_loops(n, obj):
    out = 0
    for i in range(n):
        for j in range(3):
            match obj:
                case str():
                    out += len(obj) + j
                case _:
                    out -= i
    return out


def match_class_binds_the_subject(scale):
    """MATCH_CLASS with unboxed copies of a float and an int local on the stack: the
    pattern binds the locals' own objects (z is x), boxed exactly once."""
    x = 0.0
    n = 1099511627776
    y = x * scale
    match x:
        case float(z):
            pass
    match n:
        case int(k):
            pass
    match y:
        case float(w):
            pass
    return z is x, k is n, w == y


CASES = [
    (match_class_binds_the_subject, [(2.0,), (0.5,)]),
    (match_class_in_loop, [(0,), (7,)]),
    (match_class_nested_loops, [(3, "ab"), (2, 5)]),
    (import_in_loop, [(0,), (1,), (50,)]),
    (import_once_midloop, [(10,)]),
    (import_from_in_loop, [(6,)]),
    (import_fails_in_loop, [(2,), (10,)]),
    (import_fails_caught, [(6,)]),
    (list_extend_in_loop, [(5, (7, 8)), (0, ())]),
    (list_extend_deep_stack, [(20, [1, 2, 3])]),
    (unpack_ex_in_loop, [([(1, 2, 3), (4, 5), "xy9"],), ([[1, 2]] * 20,)]),
    (unpack_ex_fails, [([(1, 2, 3), (4,)],), ([(1, 2)],)]),
    (with_in_loop, [(10,)]),
    (with_swallows, [(6,)]),
    (with_propagates, [(5,), (2,)]),
    (with_exit_raises, [(1,)]),
    (with_not_a_context_manager, [(5,), (None,)]),
    (with_suppress, [(10,)]),
    (call_ex_in_loop, [(20,)]),
    (call_ex_fails, [(5,), ((1, 2),), ((1, 2, 3),)]),
    (call_ex_kw_fails, [({"c": 1},), ({"a": 1},), ({"z": 1},), (5,)]),
    (store_global_in_loop, [(30,)]),
    (store_global_read_back, [(8,)]),
    (delete_global_midloop, [(1,), (4,)]),
    (dict_merge_in_loop, [(5, {"x": 1})]),
    (dict_merge_fails, [(5,), ([1],), ({"a": 1},)]),
    (set_update_in_loop, [(10,)]),
    (delete_attr_in_loop, [(10,)]),
    (deopt_then_raise, [(5,), (7,)]),
    (deopt_then_raise_in_loop, [(3,), (8,)]),
    (deopt_nested_loops, [(12,)]),
    (deopt_with_closure, [(10,)]),
    (deopt_comprehension_body, [(5,)]),
    (deopt_generator_consumer, [(30,)]),
    (deopt_early_then_native_loop, [(1000,)]),
    (match_statement, [([],), ([1, 2, 3],), ({"k": 5},), (50,), (5,), ("s",), (b"b",),
                       (None,)]),
]
