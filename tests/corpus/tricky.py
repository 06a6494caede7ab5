"""Semantics a JIT's fast paths easily get wrong: int/float edge cases, exact-type vs
subclass dispatch, __del__ timing (reference counting), truthiness protocols, caches that
must be invalidated mid-loop (class attributes, __code__/__defaults__, builtins),
multi-line expressions' traceback lines, in-place str concatenation aliasing, super(),
eval/locals on compiled frames."""
import builtins
import logging
import sys
import warnings


# ----------------------------------------------------------------------------- numbers

def int_boundaries(values):
    out = []
    for x in values:
        out.append((x + 1, x - 1, x * x, x * -3, -x, x // 3, x % 3, x // -3, x % -3,
                    x << 1, x >> 1, x & -4, x | 3, x ^ -1, ~x, abs(x), x == -x, x < 0))
    return out


def shifts(x):
    return [x << 40, x << 63, x << 64, 1 << 62, 1 << 63, -1 << 63, x >> 100, -x >> 100,
            -x >> 1, x << 0, (x << 200) >> 199]


def shift_negative(x):
    return 1 << -x


def bitops_negative(a, b):
    return [a & b, a | b, a ^ b, ~a & b, a & ~b, -a & -b, -a | -b, -a ^ -b]


def int_float_compare(i, f):
    return [i == f, i < f, i > f, i != f, f == i, f <= i]


def float_semantics(a, b):
    out = []
    for op in range(5):
        try:
            if op == 0:
                out.append(a % b)
            elif op == 1:
                out.append(a // b)
            elif op == 2:
                out.append(a ** b)
            elif op == 3:
                out.append(divmod(a, b))
            else:
                out.append(a / b)
        except (ZeroDivisionError, OverflowError, ValueError) as e:
            out.append((type(e).__name__, str(e)))
    return out


def power_cases(a, b):
    return a ** b


def true_division(a, b):
    return a / b, a // b, a % b


def int_to_float_overflow(big):
    return big + 0.5


class MyInt(int):
    def __add__(self, other):
        return "MyInt.add"

    def __lt__(self, other):
        return "MyInt.lt"


class MyFloat(float):
    def __mul__(self, other):
        return "MyFloat.mul"


def numeric_subclasses(a, f):
    return a + 1, 1 + a, a < 5, a - 1, f * 2.0, 2.0 * f, f + 1.0, type(a - 1).__name__


def bool_arith(a, b):
    return a + b, a - b, a * 5, a & b, a | b, a ^ b, -a, ~a, a / 1, a // 1, a << 2


# ----------------------------------------------------------------------------- exact types

class TupleIter(tuple):
    def __iter__(self):
        return iter(["overridden", "iter"])


class ListGet(list):
    def __getitem__(self, i):
        return ("ListGet", i)

    def __setitem__(self, i, v):
        super().__setitem__(i, ("set", v))

    def __iter__(self):
        return iter(["custom"])

    def __contains__(self, x):
        return x == "magic"


class DictMissing(dict):
    def __missing__(self, key):
        return ("missing", key)


class StrCat(str):
    def __add__(self, other):
        return "StrCat.add"


def subclass_dispatch(t, lst, d, s):
    a, b = t
    out = [a, b, lst[0], lst[1:2], d["nope"], d.get("nope"), s + "x", "x" + s]
    lst[0] = 5
    out.append(list.__getitem__(lst, 0))
    for x in lst:
        out.append(x)
    out.append("magic" in lst)
    out.append(1 in lst)
    return out


# ----------------------------------------------------------------------------- refcounts

class Noisy:
    def __init__(self, name, log):
        self.name = name
        self.log = log

    def __del__(self):
        self.log.append("del " + self.name)


def del_order(log):
    a = Noisy("a", log)
    b = Noisy("b", log)
    log.append("start")
    a = None
    log.append("after a=None")
    del b
    log.append("after del b")
    Noisy("temp", log)
    log.append("after temp")
    n = [Noisy("inlist", log)][0].name
    log.append("after list " + n)
    c = Noisy("c1", log)
    c = Noisy("c2", log)
    log.append("after rebind")
    for i in range(2):
        d = Noisy("loop%d" % i, log)
    log.append("after loop")
    x = Noisy("arg", log).name + "!"
    log.append(x)
    return len(log)


def del_order_exception(log):
    a = Noisy("held", log)
    try:
        b = Noisy("in try", log)  # noqa: F841
        raise ValueError("boom")
    except ValueError:
        log.append("handler")
    log.append("after")
    return a.name


def del_on_return(log):
    t = Noisy("local", log)
    u = Noisy("returned", log)
    log.append("returning")
    return u.name


def del_reads_caller_frame(log):
    class Spy:
        def __del__(self):
            f = sys._getframe(1)
            log.append(("spy sees", f.f_code.co_name, f.f_locals.get("k")))
    k = 1
    s = Spy()
    k = 2
    s = None
    k = 3
    return k


# ----------------------------------------------------------------------------- truthiness

class BoolNonBool:
    def __bool__(self):
        return 1


class LenOnly:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


class EqReturnsObj:
    def __eq__(self, other):
        return BoolRaises()

    def __lt__(self, other):
        return "non-empty string"

    def __contains__(self, x):
        return ""


class BoolRaises:
    def __bool__(self):
        raise ZeroDivisionError("bool of comparison result")


def truth_protocols(vals):
    out = []
    for v in vals:
        if v:
            out.append("T")
        else:
            out.append("F")
        out.append("and" if v and True else "nand")
        out.append(not v)
    return out


def bool_returns_int():
    if BoolNonBool():
        return "truthy"
    return "falsy"


def compare_result_truthiness(x):
    out = [EqReturnsObj() < x]
    if EqReturnsObj() < x:
        out.append("lt truthy")
    if x in EqReturnsObj():
        out.append("in")
    else:
        out.append("not in")
    if EqReturnsObj() == x:      # __bool__ of the comparison result raises
        out.append("eq")
    return out


def while_list(lst):
    out = []
    while lst:
        out.append(lst.pop())
    return out


# ----------------------------------------------------------------------------- caches

class Mutable:
    def method(self):
        return "original"

    attr = "class attr"


def _replacement(self):
    return "replaced"


def class_changes_midloop(n):
    m = Mutable()
    out = []
    orig = Mutable.method
    try:
        for i in range(n):
            out.append(m.method())
            out.append(m.attr)
            if i == 1:
                Mutable.method = _replacement
                Mutable.attr = "changed"
            if i == 3:
                m.method = lambda: "instance attr"
                m.attr = "instance"
    finally:
        Mutable.method = orig
        Mutable.attr = "class attr"
    return out


def helper_a(x, y=1):
    return ("a", x, y)


def helper_b(x, y=2):
    return ("b", x, y)


def callee_changes_midloop(n):
    code, defaults = helper_a.__code__, helper_a.__defaults__
    out = []
    try:
        for i in range(n):
            out.append(helper_a(i))
            if i == 1:
                helper_a.__defaults__ = (10,)
            if i == 2:
                helper_a.__code__ = helper_b.__code__
    finally:
        helper_a.__code__, helper_a.__defaults__ = code, defaults
    return out


def builtins_change_midloop(n):
    orig = builtins.len
    out = []
    try:
        for i in range(n):
            out.append(len("abc"))
            if i == 1:
                builtins.len = lambda s: "patched"
    finally:
        builtins.len = orig
    return out


class SetAttrHook:
    def __setattr__(self, name, value):
        object.__setattr__(self, name, ("hooked", value))

    def __getattribute__(self, name):
        if name == "virtual":
            return "from __getattribute__"
        return object.__getattribute__(self, name)


def attr_hooks(v):
    o = SetAttrHook()
    o.x = v
    return o.x, o.virtual


# ----------------------------------------------------------------------------- lines

def multiline_error(a, b, c):
    total = (a +
             b[5] +
             c)
    return total


def multiline_call_error(a):
    return helper_a(
        a,
        1 // a,
    )


def multiline_attr_error(o):
    return (o
            .first
            .second)


def error_in_long_expression(d):
    return [d["a"], d["b"],
            d["c"], d["missing"]]


# ----------------------------------------------------------------------------- aliasing

def str_concat_aliasing(s, n):
    t = s
    out = []
    for i in range(n):
        s += str(i)
        out.append(t)
    u = s
    s += "!"
    return s, t, u, out


def list_iadd(lst, other):
    alias = lst
    lst += other
    return lst is alias, lst


# ----------------------------------------------------------------------------- frames

class Base:
    def __init__(self, v):
        self.v = v

    def describe(self):
        return "Base(%r)" % (self.v,)


class Child(Base):
    def __init__(self, v):
        super().__init__(v * 2)
        self.child = True

    def describe(self):
        return "Child<" + super().describe() + ">"


def use_super(v):
    c = Child(v)
    return c.describe(), c.v, c.child


def child_describe(obj):
    return Child.describe(obj)


def eval_locals(a):
    b = a * 2
    r = eval("a + b")
    loc = locals()
    names = dir()
    exec("b = 'not written back'")
    return r, sorted(loc), names, b


def lineno_probe(n):
    out = [sys._getframe().f_lineno]
    for i in range(n):
        out.append((i, sys._getframe().f_lineno))
    x = (1,
         sys._getframe().f_lineno)
    out.append(x)
    return out


def many_args_kinds(a, b=2, /, c=3, *args, d, e=5, **kw):
    return a, b, c, args, d, e, sorted(kw.items())


def call_arg_kinds(x):
    out = [many_args_kinds(x, d=1), many_args_kinds(x, 1, 2, 3, 4, d=0, z=9)]
    try:
        many_args_kinds(a=1, d=1)
    except TypeError as e:
        out.append(str(e))
    try:
        many_args_kinds(1)
    except TypeError as e:
        out.append(str(e))
    try:
        len()
    except TypeError as e:
        out.append(str(e))
    try:
        len(obj=1)
    except TypeError as e:
        out.append(str(e))
    try:
        [].append()
    except TypeError as e:
        out.append(str(e))
    try:
        isinstance(1)
    except TypeError as e:
        out.append(str(e))
    return out


def deopt_with_method_on_stack(n, extra):
    acc = []
    for i in range(n):
        acc.append([*extra, i])            # LOAD_METHOD append; then LIST_EXTEND
        print(i, *extra, sep="|")          # CALL_FUNCTION_EX with kwargs
    return acc


SRC = "def wide(x):\n" + "".join("    v%d = x + %d\n" % (i, i) for i in range(300)) + \
    "    return " + " + ".join("v%d" % i for i in range(0, 300, 7)) + "\n"
_ns = {}
exec(compile(SRC, "<generated wide>", "exec"), _ns)
wide = _ns["wide"]


_WIDE2 = "def wide_unbound(x):\n    if x:\n" + "".join(
    "        v%d = %d\n" % (i, i) for i in range(300)) + "    return v299 + v3\n"
_WIDE2 += "def wide_import(x):\n    if x:\n        return (" + ", ".join(
    "g%d" % i for i in range(300)) + ")\n    import json\n    return json.__name__\n"
_WIDE2 += "def wide_missing_global(x):\n    if x:\n        return (" + ", ".join(
    "h%d" % i for i in range(300)) + ")\n    return len, missing_name_300\n"
exec(compile(_WIDE2, "<generated wide deopts>", "exec"), _ns)
wide_unbound, wide_import, wide_missing_global = (
    _ns["wide_unbound"], _ns["wide_import"], _ns["wide_missing_global"])


def raise_instance(x):
    raise ValueError("raised by callee %r" % (x,))


def raise_while_handling(x):
    try:
        raise KeyError("being handled")
    except KeyError:
        return raise_instance(x)        # context: the KeyError


def raise_while_handling_native(x):
    try:
        {}[x]
    except KeyError as e:
        err = e
    return helper_raises_with_context(err)


def helper_raises_with_context(err):
    try:
        raise err
    except KeyError:
        pass
    raise TypeError("after handler")  # no context: the handler has finished


def _warn_helper(msg):
    warnings.warn(msg, UserWarning, stacklevel=2)     # attributed to the caller's line


def warnings_with_stacklevels(n):
    for i in range(n):
        warnings.warn("direct %d" % i)
        _warn_helper("via helper %d" % i)
    warnings.warn("deprecated", DeprecationWarning, stacklevel=1)
    return n


class _ListHandler(logging.Handler):
    def __init__(self, records):
        super().__init__()
        self.records = records

    def emit(self, record):
        self.records.append((record.funcName, record.lineno, record.getMessage()))


def logging_caller_info(records):
    log = logging.getLogger("coconut.test.%d" % len(records))
    log.propagate = False
    handler = _ListHandler(records)
    log.addHandler(handler)
    for i in range(2):
        log.warning("message %d", i)
    log.removeHandler(handler)
    return len(records)


def big_tuple(x):
    return (x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x,
            x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x,
            x + 1, [x, [x, [x, [x, (x, {x: [x, (x,)]})]]]])


CASES = [
    (int_boundaries, [([0, 1, -1, 2**30 - 1, 2**30, -(2**30), -(2**30) - 1, 2**31, 2**62 - 1,
                        2**62, -(2**62), 2**63 - 1, 2**63, -(2**63), 2**64, 7, -7],)]),
    (shifts, [(1,), (2**29,), (-(2**29),), (0,), (2**40,)]),
    (shift_negative, [(1,), (0,)]),
    (bitops_negative, [(-7, -3), (-(2**40), 2**35 - 1), (-1, 0), (5, -2**70)]),
    (int_float_compare, [(2**53 + 1, 2.0**53), (2**53, 2.0**53), (1, 1.0), (-1, 0.5),
                         (10**400, float("inf")), (3, float("nan")), (2**63, 2.0**63)]),
    (float_semantics, [(-7.5, 2.0), (7.5, -2.0), (-7.5, 2.5), (-8.0, 1 / 3), (0.0, -1.0),
                       (1e308, 10.0), (5.0, 0.0), (-0.0, 1.0), (float("inf"), 2.0)]),
    (power_cases, [(2, -1), (-2, -2), (0, -1), (-8.0, 1 / 3), (2, 0.5), (10, 20), (-3, 3),
                   (2.0, 2000), (0, 0), (7, 2**10)]),
    (true_division, [(7, 2), (-7, 2), (2**53 + 1, 1), (10**30, 3), (-(10**30), 7),
                     (1, -(10**30))]),
    (int_to_float_overflow, [(2**1024,), (2**1000,)]),
    (numeric_subclasses, [(MyInt(3), MyFloat(1.5))]),
    (bool_arith, [(True, False), (True, True)]),
    (subclass_dispatch, [(TupleIter((1, 2)), ListGet([1, 2, 3]), DictMissing(a=1),
                          StrCat("s"))]),
    (del_order, [([],)]),
    (del_order_exception, [([],)]),
    (del_on_return, [([],)]),
    (del_reads_caller_frame, [([],)]),
    (truth_protocols, [([0, 1, [], [0], "", "x", None, LenOnly(0), LenOnly(2), 0.0,
                         -0.0, float("nan"), 0j, 2**100],), ([LenOnly(-1)],),
                       ([BoolNonBool()],), ([BoolRaises()],)]),
    (bool_returns_int, [()]),
    (compare_result_truthiness, [(1,)]),
    (while_list, [([1, 2, 3],), ([],)]),
    (class_changes_midloop, [(5,)]),
    (callee_changes_midloop, [(5,)]),
    (builtins_change_midloop, [(4,)]),
    (attr_hooks, [(7,)]),
    (multiline_error, [(1, [0] * 6, 2), (1, [0], 2), (1, [0] * 6, "x")]),
    (multiline_call_error, [(0,), (2,)]),
    (multiline_attr_error, [(Mutable(),), (None,)]),
    (error_in_long_expression, [({"a": 1, "b": 2, "c": 3},)]),
    (str_concat_aliasing, [("ab", 3), ("", 5)]),
    (list_iadd, [([1], [2]), ([1], (2, 3)), ([1], "xy"), ([1], 5), ([1], None)]),
    (use_super, [(3,)]),
    (Child.describe, [(Child(1),), (Base(2),)]),
    (Child.__init__, [(Child(1), 5)]),
    (child_describe, [(Child(4),)]),
    (eval_locals, [(3,)]),
    (lineno_probe, [(3,)]),
    (call_arg_kinds, [(1,)]),
    (deopt_with_method_on_stack, [(4, (7, 8))]),
    (wide, [(1,), ("x",)]),
    (big_tuple, [(1,)]),
    (warnings_with_stacklevels, [(2,)]),
    (logging_caller_info, [([],)]),
    (wide_unbound, [(0,), (1,)]),
    (wide_import, [(0,)]),
    (wide_missing_global, [(0,)]),
    (raise_instance, [(1,)]),
    (raise_while_handling, [(1,)]),
    (raise_while_handling_native, [(1,)]),
    (helper_raises_with_context, [(KeyError("k"),)]),
]
