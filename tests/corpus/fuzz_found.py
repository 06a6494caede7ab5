"""Bugs found by the differential fuzzer (tests/fuzz/), minimized: one function each.

CASES follow the corpus format (tests/corpus/__init__.py) and are checked by
tests/test_differential.py like every corpus module. A case whose bug is not fixed yet
is in KNOWN_FAILING instead, as (function, [argument tuples], what goes wrong):
tests/test_fuzz.py checks those the same way (tests/harness.py: interpreted twin vs
cold and warmed-up compiles, in a child process) and expects them to fail, strictly:
once one passes, that test fails until the case is moved to CASES. Each function names
the fuzz seed it was minimized from (a label only: the generator has changed since, so
the seed no longer gives the same program) and what the compiled code did.
"""
import struct
import sys


# ----------------------------------------------------------------------------- passing

# seed 10326: an UnboundLocalError right after a loop whose last statement is a store.
# Quickened, CPython 3.11 runs STORE_FAST dd + LOAD_FAST t0 as one superinstruction and
# reports the error at the store's line; the compiled code deopts at the load (its own
# line). The fuzzer accepts either line; here the reference is not quickened.
def unbound_after_store_in_loop(c, b):
    for j in range(2):
        dd = c
    t0 //= b  # noqa: F821 - unbound on purpose
    return t0, dd


_SNAPS = []


class _Snap:
    def __init__(self, n):
        self.n = n

    def __del__(self):
        frame = sys._getframe(1)
        _SNAPS.append((self.n, frame.f_code.co_name, frame.f_lineno,
                       sorted((k, v) for k, v in frame.f_locals.items()
                              if type(v) in (int, float))))


# The shape of many fuzz programs: unboxed int and float locals in a range loop, an int
# that overflows into a bigint mid-loop (deopt with the range iterator advanced in
# place), and a __del__ that looks at the loop's frame at every rebinding of `d`.
def overflow_in_typed_loop_with_del_snapshots(n, x):
    _SNAPS.clear()
    acc = 2**62 - 5
    f = 0.5
    d = _Snap(-1)
    for i in range(n):
        acc = acc + i * 3
        f = f * 1.5 + x
        d = _Snap(i)
    del d
    return acc, f, list(_SNAPS)


# seed 10270. A local that the optimizing tier holds unboxed as a float
# (z = z + 1.0, speculated from BINARY_OP_ADD_FLOAT after a generic `a * 1`) is then
# stored an object (z = b): warmed up on (1.5, 7) and compiled, f(1.5, 7) returns the
# stale float 2.5 instead of 7. Cold compiles (no feedback) and COCONUT_OPTIMIZE=0 are
# right. (Fixed since.)
def store_after_unboxed_float(a, b):
    z = a * 1
    z = z + 1.0
    z = b
    return z


# seed 20206. A tuple swap in a loop, after an unboxed int product: warmed up on
# (10, 0) and compiled, f(10, 0) returns -10 instead of 0 (and f(10, 2): -10, not 2).
# With values whose products are cached small ints (f(5, 3)) the result is right, and
# so it is with the swap written through a temporary. (Fixed since.)
def swap_in_loop_after_unboxed_mul(b, y):
    x = b
    for i in range(4):
        x = x * -1
        y, x = x, y
    return y


# seed 30017 (and ~6% of the generated programs: "cannot cast sNi/sNf from type:
# long/double to type: char *"). A builtin call the interpreter specialized (isinstance,
# len: PRECALL_NO_KW_ISINSTANCE / _LEN) on a local the optimizing tier holds unboxed:
# libgccjit rejects the generated code, compile() warns CompileWarning and the function
# stays interpreted, cold or warm. (Fixed since.)
def builtin_call_on_unboxed_local(b):
    y = b + 1.5
    for i in range(b):
        y = y + isinstance(i, int)
    return isinstance(y, float), y


# seed 30000 (and ~4% of the generated programs). A range loop variable rebound to a
# float in a branch of the loop body, dead after the loop: the type analysis and the
# lowering disagree (an AssertionError "(0, LocalState(kind='float', ...),
# LocalState(kind='int', ...))"), compile() warns CompileWarning and the function stays
# interpreted, cold or warm. (Fixed since.)
def loop_variable_rebound_to_float(n):
    for i in range(n):
        if i:
            i = 0.5
    return n


def _bits(values):
    return [struct.pack("<d", v).hex() for v in values]


# seed 40200. A float added to (or subtracted from) a NaN *constant*: CPython's compiler
# folds 1e309 - 1e309 into a NaN with the sign bit set, x86 addition returns that NaN
# (sign included), and so does the interpreter; the compiled code returns a NaN with
# the sign bit clear (bits 000000000000f87f instead of 000000000000f8ff) for z + n,
# n + z and z - n (n - z, z * n, and NaNs that come from arguments are right), cold or
# warm. (Fixed: gcc folds `x + NaN` to a NaN of its own; NaN constants are now read
# from their objects.)
def nan_constant_sign_in_float_add(z):
    n = 1e309 - 1e309
    return _bits((z + n, n + z, z - n, n - z, z * n))


CASES = [
    (unbound_after_store_in_loop, [(1, 2), (0, 0)]),
    (store_after_unboxed_float, [(1.5, 7), (0.5, "s")]),
    (overflow_in_typed_loop_with_del_snapshots,
     [(4, 0.25), (6, 2), (3, 2**62), (5, float("nan")), (0, -0.0), (4, "s")]),
    (swap_in_loop_after_unboxed_mul, [(10, 0), (10, 2), (5, 3)]),
    (builtin_call_on_unboxed_local, [(3,), (0,)]),
    (loop_variable_rebound_to_float, [(3,), (0,)]),
    (nan_constant_sign_in_float_add, [(0.5,), (-2.0,)]),
]


# ----------------------------------------------------------------------------- failing

# seed 50107 (NaN signs, second way). x * -1.0 where x is a NaN: the hardware
# multiplication returns x's NaN unchanged, the compiled code flips its sign bit (as
# if gcc had folded x * -1.0 into -x), cold or warm. (Fixed: every context is compiled
# with -fsignaling-nans, backend/gccrun.py.)
def nan_times_minus_one(x, y):
    d = x - y
    return _bits((d, d * -1.0))


# seed 50174 (NaN signs, third way). a + b and b + a with two NaNs of different signs:
# x86 returns the first operand's NaN, so the interpreter gives a's for a + b and b's
# for b + a; the compiled code gives a's for both (gcc reorders the operands of the
# commutative add), cold or warm.
def nan_operand_order(a, b):
    return _bits((a + b, b + a))


# seed 60063. A float speculation (BINARY_OP_SUBTRACT_FLOAT, from a warm-up on floats)
# on two operands that are not locals (a subscript, a call result): the guard lets small
# ints through as doubles, so int - int is computed as a float: f([3], [1]) returns 2.0
# instead of 2 once warmed up on f([1.5], [0.5]). (Ints of more than one 30-bit digit
# fail the guard and are right.) Fixed: a boxed operand wanted as a float may be an int
# only next to a known float (typed.py _lenient).
def float_speculation_on_int_temporaries(a, b):
    return a[0] - b[0], (a[0] + 0) * (b[0] + 0)


_EVENTS = []


class _Noisy:
    def __del__(self):
        frame = sys._getframe(1)
        _EVENTS.append(("del", frame.f_code.co_name, frame.f_lineno))


# seeds 80250, 80524. A number stored (unboxed) into a local that holds an object: the
# interpreter's STORE_FAST releases the old object at once (its __del__ runs on the
# store's line); the compiled code keeps it until the next point where it materializes
# the frame (here the call on the next line; without one, until the function returns,
# and then __del__ no longer sees the function's frame). Fixed: a store into a local
# whose home may be undefined releases what the frame holds when its flag says so.
def unboxed_store_releases_old_object(b):
    _EVENTS.clear()
    d = _Noisy()
    for j in range(1):
        d = b * b
        _EVENTS.append(("after the store", j))
    return list(_EVENTS)


_NAN = 1e309 - 1e309      # sign bit set (x86's default NaN)

CASES.append((nan_times_minus_one, [(float("inf"), float("inf")), (1.0, -_NAN)]))
CASES.append((float_speculation_on_int_temporaries, [([3], [1]), ([1.5], [0.5])]))
CASES.append((unboxed_store_releases_old_object, [(1.5,), (2,)]))

KNOWN_FAILING = [
    (nan_operand_order, [(-_NAN, _NAN), (_NAN, -_NAN)],
     "b + a with two NaNs returns a's NaN"),
]
