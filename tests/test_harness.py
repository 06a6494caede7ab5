"""The differential harness itself (no JIT involved): it reports every kind of difference
it claims to check, and none when there is none."""
import types
import warnings

from tests import harness


def compare_funcs(f, g, arglist, calls=2):
    return harness.compare(harness.record(f, arglist, calls), harness.record(g, arglist, calls),
                           arglist, "test")


def ret_one(x):
    return 1


def ret_one_float(x):
    return 1.0


def ret_true(x):
    return True


def test_identical_functions_have_no_problems():
    def f(x, lst):
        lst.append(x)
        print("p", x)
        warnings.warn("w")
        if x > 1:
            raise ValueError("big %d" % x) from KeyError(x)
        return {"x": [x, float("nan"), (x,)]}
    assert compare_funcs(f, harness.clone_function(f), [(1, []), (2, [0])]) == []


def test_type_exact_values():
    assert compare_funcs(ret_one, ret_one_float, [(0,)])
    assert compare_funcs(ret_one, ret_true, [(0,)])
    assert harness.canon(float("nan")) == harness.canon(float("nan"))
    assert harness.canon(0.0) != harness.canon(-0.0)
    assert harness.canon(2**100) != harness.canon(2**100 + 1)
    assert harness.canon({1: 2, 3: 4}) != harness.canon({3: 4, 1: 2})  # insertion order


def test_return_value_difference():
    def f(x):
        return x + 1

    def g(x):
        return x + 2
    problems = compare_funcs(f, g, [(1,)])
    assert len(problems) == 1 and "returned" in problems[0]


def test_exception_message_and_type_differences():
    def f(x):
        raise ValueError("a")

    def g(x):
        raise ValueError("b")

    def h(x):
        raise TypeError("a")

    def k(x):
        return None
    for other in (g, h, k):
        problems = compare_funcs(f, other, [(1,)])
        assert problems and "raised" in problems[0], other


def test_exception_cause_difference():
    def f(x):
        raise ValueError("a") from KeyError("k")

    def g(x):
        raise ValueError("a")
    assert compare_funcs(f, g, [(1,)])


def test_traceback_line_difference():
    def f(x):
        y = x
        raise ValueError("same")

    def g(x):
        raise ValueError("same")
    g.__code__ = g.__code__.replace(co_name="f", co_qualname=f.__code__.co_qualname)
    problems = compare_funcs(f, g, [(1,)])
    assert problems and "traceback" in problems[0]


def test_side_effect_difference():
    def f(lst):
        lst.append(1)

    def g(lst):
        lst.append(2)
    problems = compare_funcs(f, g, [([],)])
    assert problems and "args_after" in problems[0]


def test_stdout_and_warning_differences():
    def f(x):
        print("a")

    def g(x):
        print("b")

    def h(x):
        warnings.warn("w")
    assert "stdout" in compare_funcs(f, g, [(1,)])[0]
    assert "warnings" in compare_funcs(f, h, [(1,)])[0]


def test_difference_only_on_a_later_call_is_reported():
    state = []

    def f(x):
        return 0

    def g(x):
        state.append(x)
        return len(state) // 2
    problems = compare_funcs(f, g, [(1,)], calls=3)
    assert problems and "call 2 of 3" in problems[0]


def test_clone_is_independent():
    def f(x):
        return [x for _ in range(2)]
    g = harness.clone_function(f)
    assert g.__code__ is not f.__code__
    assert g.__code__ == f.__code__
    nested_f = harness.nested_codes(f.__code__)
    nested_g = harness.nested_codes(g.__code__)
    assert nested_f and all(a is not b for a, b in zip(nested_f, nested_g))
    assert g(3) == f(3) == [3, 3]


def _fake_coconut(kind):
    compiled = set()

    def compile(func, strict=False):  # noqa: A001
        if kind == "raises":
            raise RuntimeError("backend exploded")
        if kind == "warns":
            warnings.warn("fell back", RuntimeWarning)
        if kind == "wrong":
            func.__code__ = func.__code__.replace(
                co_consts=tuple(c + 1 if type(c) is int else c for c in func.__code__.co_consts))
        if kind != "not_installed":
            compiled.add(func.__code__)
        return func

    def is_compiled(func):
        return func.__code__ in compiled
    return types.SimpleNamespace(compile=compile, is_compiled=is_compiled)


def subject(x):
    return [x + 1 for _ in range(2)]


def test_check_function_passes_identity_compile():
    f = harness.clone_function(subject)
    assert harness.check_function(f, [(1,), (2,)], _fake_coconut("identity")) == []


def test_check_function_reports_compile_problems_and_wrong_code():
    for kind, needle in (("raises", "raised RuntimeError"), ("warns", "warned RuntimeWarning"),
                         ("not_installed", "is_compiled"), ("wrong", "returned")):
        f = harness.clone_function(subject)
        problems = harness.check_function(f, [(1,)], _fake_coconut(kind))
        assert problems and any(needle in p for p in problems), (kind, problems)
