"""Compiled functions called many times do not leak: object counts (gc.get_objects),
traced memory (tracemalloc), and the reference counts of objects they touch (an argument,
a constant, a global, None/True/False, small ints) stay flat. Each workload runs in a child.

The interpreted twin of each workload is measured the same way first, so what is checked
is "no more growth than the interpreter" (plus a small allowance for noise)."""
import gc
import sys
import tracemalloc
from array import array

import pytest

from tests.support import get_coconut, in_subprocess, twin

CALLS = 20000
WARMUP = 2000


# ----------------------------------------------------------------------------- workloads

class Thing:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v


GLOBAL_OBJ = Thing("global")
MARKER_CONST = "a unique constant string for refcounts"


def wl_arith(obj, k):
    x = len(obj.v[0])
    a = x + k * 3 - (k // 2) + (k % 7)
    f = x * 1.5 + k / 3.0
    big = (x << 70) + k
    return a + int(f) + (big >> 70) + (a < k) + (-a) + (~k)


def wl_calls_and_attrs(obj, k):
    t = Thing(k)
    s = obj.get() + (GLOBAL_OBJ.get(),)
    lst = [t.get(), len(s), MARKER_CONST]
    d = {"k": k, "obj": obj}
    return lst[0] + len(d) + len(str(k)) + max(k, 1) + (MARKER_CONST is lst[2])


def wl_containers(obj, k):
    lst = [obj, k, None, True]
    tup = (obj, k, lst)
    d = {k: obj, "x": tup}
    st = {k, k + 1}
    a, b = lst[0], tup[1]
    lst[1] = b + 1
    del d["x"]
    sl = lst[1:3]
    return len(sl) + len(st) + (a is obj) + len(f"{k}-{b!r}") + len([c for c in "ab"])


def raiser(obj, k):
    if k % 2:
        raise ValueError(obj, k)
    raise KeyError(k)


def wl_raises(obj, k):
    t = Thing(obj)
    return raiser(t.v, k)          # exception propagates out, caught by the caller


def wl_catches(obj, k):
    try:
        raiser(obj, k)
    except ValueError as e:
        return len(e.args)
    except KeyError:
        return -1


def wl_deopts(obj, k):
    total = 0
    for i in range(3):
        import math                # IMPORT_NAME: deopt to the interpreter mid-loop
        h, *t = (obj, i, k)        # UNPACK_EX
        total += len(t) + math.floor(i / 2)
    return total + len([*t])


def wl_loop_locals(obj, k):
    acc = []
    f = 0.0
    for i in range(10):
        acc.append(obj if i % 2 else None)
        f += i * 0.5
        if i == k % 10:
            break
    return len(acc), f


def wl_closure(obj, k):
    def inner(v):
        return (obj, v, k)
    return inner(k)[1] + len([inner(i) for i in range(2)])


def wl_unbound_and_attr_errors(obj, k):
    try:
        return obj.missing_attribute
    except AttributeError:
        pass
    try:
        return undefined_global_name  # noqa: F821
    except NameError:
        return k


def wl_error_paths(obj, k):
    # errors raised by native code with values on the stack below the failing instruction
    op = k % 12
    if op == 0:
        return [obj, k, {1, [], k}]              # BUILD_SET fails mid-way
    if op == 1:
        return (obj, {"a": obj, []: k})          # BUILD_MAP fails
    if op == 2:
        return [obj, f"{obj!r:{k}q}"]            # FORMAT_VALUE fails
    if op == 3:
        a, b = (obj, k, k)                       # UNPACK_SEQUENCE: deopt, then error
        return a
    if op == 4:
        return [obj, obj.no_such_attr]           # LOAD_ATTR fails
    if op == 5:
        return [obj, (obj,)[k]]                  # BINARY_SUBSCR fails
    if op == 6:
        return [obj, Thing(obj, k)]              # CALL with wrong arguments
    if op == 7:
        return [obj, obj < k]                    # COMPARE_OP fails
    if op == 8:
        for x in [obj, obj]:
            y = [x, k, x.missing]                # error inside a for loop
        return y
    if op == 9:
        return [obj, k in obj]                   # CONTAINS_OP fails
    if op == 10:
        return [obj, obj.get(k)]                 # CALL of a method with wrong args
    return [obj, -obj]                           # UNARY_NEGATIVE fails


class Pair:
    __slots__ = ("a", "b")


def wl_inline_caches(obj, k):
    # compiled after it ran interpreted: the fast paths of the interpreter's inline caches
    t = Thing(k)
    t.v = t.v + 1                       # LOAD_ATTR / STORE_ATTR_INSTANCE_VALUE
    t.w = MARKER_CONST                  # a first value: joins the insertion order
    t.w = obj                           # the old value released
    s = Pair()
    s.a = obj                           # STORE_ATTR_SLOT into an empty slot
    s.a = s.a                           # LOAD_ATTR_SLOT, then over an old value
    lst = [GLOBAL_OBJ.get(), obj.get(), t.get()]     # LOAD_GLOBAL_MODULE, _WITH_VALUES
    lst.append(len(lst))                # LOAD_METHOD_NO_DICT, LOAD_GLOBAL_BUILTIN
    h = Thing(k)
    h.__dict__ = {"v": k, "w": MARKER_CONST}
    h.w = obj                           # STORE_ATTR_WITH_HINT: the old value released
    h.v = h.v + len(lst)                # LOAD_ATTR_WITH_HINT
    lst.append(h.w is obj)
    return len(lst) + (s.a is obj) + (t.w is obj) + (lst[1] is obj.v)


def wl_arrays(obj, k):
    # array.array items read and written natively (typed.py): no box is kept
    d, f = array("d", [0.5]) * 4, array("f", [0.5]) * 4
    for i in range(4):
        d[i] = d[i] * k + 1.5           # an unboxed double into an array of doubles
        f[i] = d[i] + float(k)          # a new float box into an array of floats
        f[i] = k + 2 ** 40              # a new int
    j = k % 4
    d[j] = f[j]                         # by a boxed index
    return d[j] + f[-1]


class Point:
    __match_args__ = ("v", "w")

    def __init__(self, v, w):
        self.v, self.w = v, w


def wl_patterns(obj, k):
    # MATCH_CLASS / MATCH_KEYS (runtime/patterns.py): matches, misses and errors
    p = Point(obj, k)
    out = 0
    match p:
        case Point(v, w=w) if w % 3:
            out += (v is obj) + w
        case Point(v):
            out += v is obj
    match {"k": obj, "n": k, "x": MARKER_CONST}:
        case {"k": v, "n": n, **rest}:
            out += (v is obj) + n + len(rest)
    match {"k": obj}:
        case {"k": v, "absent": a}:       # a miss: None
            out -= 1
    match obj:
        case Thing(v=v, nope=n):          # a missing attribute: no match
            out -= 1
        case Thing(v=v):
            out += v is obj.v
    if k % 5 == 0:
        match p:
            case Point(a, b, c):          # TypeError: too many sub-patterns
                out -= 1
    if k % 7 == 0:
        match {"Point": 1, "j": 2}:
            case {Point.__name__: a, p.__class__.__name__: b}:   # ValueError: a duplicate key
                out -= 1
    return out


WORKLOADS = ["wl_patterns", "wl_arrays", "wl_error_paths", "wl_arith", "wl_calls_and_attrs", "wl_containers", "wl_raises", "wl_catches",
             "wl_deopts", "wl_loop_locals", "wl_closure", "wl_unbound_and_attr_errors"]


# ----------------------------------------------------------------------------- measuring

def _drive(func, obj, n):
    for k in range(n):
        try:
            func(obj, k)
        except Exception:  # noqa: BLE001
            pass


def _watched(obj):
    return {"argument": obj, "constant": MARKER_CONST, "global": GLOBAL_OBJ, "None": None,
            "True": True, "False": False, "0": 0, "1": 1, "Thing": Thing}


def measure(func, obj):
    """Growth over CALLS calls after a warm-up: (objects, traced bytes, {name: refcount})."""
    _drive(func, obj, WARMUP)
    gc.collect()
    watched = _watched(obj)
    refs0 = {k: sys.getrefcount(v) for k, v in watched.items()}
    objs0 = len(gc.get_objects())
    tracemalloc.start()
    mem0 = tracemalloc.get_traced_memory()[0]
    _drive(func, obj, CALLS)
    gc.collect()
    mem1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    objs1 = len(gc.get_objects())
    refs1 = {k: sys.getrefcount(v) for k, v in watched.items()}
    return objs1 - objs0, mem1 - mem0, {k: refs1[k] - refs0[k] for k in refs0}


# Workloads also compiled after running interpreted (the interpreter specialized their
# instructions), so that the inline-cache fast paths are what is measured.
SPECIALIZED_WORKLOADS = ["wl_inline_caches", "wl_calls_and_attrs"]


@in_subprocess(timeout=180)
@pytest.mark.parametrize("name", WORKLOADS)
def test_no_leak(name):
    _check_no_leak(name, specialized=False)


@in_subprocess(timeout=180)
@pytest.mark.parametrize("name", SPECIALIZED_WORKLOADS)
def test_no_leak_specialized(name):
    _check_no_leak(name, specialized=True)


def _check_no_leak(name, specialized):
    func = globals()[name]
    obj = Thing(("payload", name))
    ref_objs, ref_mem, ref_refs = measure(twin(func), obj)
    co = get_coconut()
    if specialized:
        _drive(func, obj, 20)
        if co.__name__ == "coconut":
            from coconut.frontend import BytecodeCFG
            from coconut.lowering import caches
            # (LOAD_METHOD forms: LOAD_GLOBAL has its own site caches, not the snapshot's)
            assert len(caches.snapshot(BytecodeCFG(func.__code__))) >= 2
    co.compile(func)
    assert co.is_compiled(func)
    objs, mem, refs = measure(func, obj)
    report = ("compiled: objects %+d, traced bytes %+d, refcounts %r\n"
              "interpreted: objects %+d, traced bytes %+d, refcounts %r"
              % (objs, mem, refs, ref_objs, ref_mem, ref_refs))
    # a leak of one object or reference per call shows up as ~CALLS
    assert objs - ref_objs < 200, report
    assert mem - ref_mem < 64 * 1024, report
    for key, delta in refs.items():
        allowance = 1000 if key in ("None", "True", "False", "0", "1") else 5
        assert abs(delta - ref_refs[key]) <= allowance, (key, report)
