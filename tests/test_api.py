"""The public API of API.md: compile, is_compiled, stats, CompileError, dump, write_dot,
disable. Every test body runs in a child process (support.in_subprocess)."""
import dis
import io
import os
import sys
import tempfile

import pytest

from tests.support import get_coconut, in_subprocess, line_of


# ----------------------------------------------------------------------------- subjects

def native_add(a, b):
    c = a + b
    if c > 10:
        return c * 2
    return [c, a < b]


def uses_match_sequence(s):
    n = 0
    match s:
        case [a, b]:  # MATCH_SEQUENCE-line
            n = a + b
    return n


def uses_match_class(v):
    n = 1
    match v:
        case int():  # MATCH_CLASS-line
            n = 2
    return n


def uses_match_mapping(m):
    n = 0
    match m:
        case {"k": v}:  # MATCH_KEYS-line
            n = v
    return n


def uses_except_star(v):
    n = 0
    try:
        raise ExceptionGroup("g", [ValueError(v)])
    except* ValueError:  # CHECK_EG_MATCH-line
        n = v
    return n


NON_NATIVE_SUBJECTS = [
    ("uses_except_star", "CHECK_EG_MATCH"),
]


def deopt_loop(n):
    t = 0
    for i in range(n):
        try:
            raise ValueError(i)
        except* ValueError:     # CHECK_EG_MATCH: the interpreter runs the handler
            t += i // 2
    return t


class NotAFunction:
    pass


# ----------------------------------------------------------------------------- tests

@in_subprocess()
def test_compile_returns_same_object_and_keeps_behaviour():
    co = get_coconut()
    f = native_add
    expected = [f(1, 2), f(9, 9), f(2.5, 0.5)]
    assert not co.is_compiled(f)
    r = co.compile(f)
    assert r is f
    assert co.is_compiled(f)
    assert [f(1, 2), f(9, 9), f(2.5, 0.5)] == expected
    # compiling again is harmless
    assert co.compile(f) is f
    assert [f(1, 2), f(9, 9), f(2.5, 0.5)] == expected


@in_subprocess()
def test_compile_as_decorator():
    co = get_coconut()

    @co.compile
    def decorated(x, y=3):
        return x * y + 1

    assert callable(decorated)
    assert decorated.__name__ == "decorated"
    assert co.is_compiled(decorated)
    assert decorated(2) == 7
    assert decorated(2, y=0) == 1


@in_subprocess()
@pytest.mark.parametrize("kind", ["int", "builtin", "class", "instance", "method", "str"])
def test_compile_rejects_non_functions(kind):
    co = get_coconut()
    obj = {"int": 5, "builtin": len, "class": NotAFunction, "instance": NotAFunction(),
           "method": "abc".upper, "str": "native_add"}[kind]
    try:
        co.compile(obj)
    except TypeError as e:
        msg = str(e)
    else:
        raise AssertionError("coconut.compile(%r) did not raise TypeError" % (obj,))
    assert type(obj).__name__ in msg, msg
    assert "function" in msg, msg


@in_subprocess()
def test_compile_lambda():
    co = get_coconut()
    sq = lambda v, k=2: v ** k  # noqa: E731
    assert co.compile(sq) is sq
    assert co.is_compiled(sq)
    assert sq(3) == 9 and sq(2, k=10) == 1024


@in_subprocess()
@pytest.mark.parametrize("name,opcode", NON_NATIVE_SUBJECTS)
def test_strict_names_opcode_and_line(name, opcode):
    co = get_coconut()
    func = globals()[name]
    line = line_of(func, "# %s-line" % opcode)
    assert any(i.opname == opcode and i.positions.lineno == line
               for i in dis.get_instructions(func)), "subject does not use %s" % opcode
    try:
        co.compile(func, strict=True)
    except co.CompileError as e:
        msg = str(e)
    else:
        raise AssertionError("strict compile of %s did not raise CompileError" % name)
    assert opcode in msg, msg
    assert "line %d" % line in msg, (line, msg)


@in_subprocess()
def test_strict_failure_leaves_function_working():
    co = get_coconut()
    with pytest.raises(co.CompileError):
        co.compile(uses_except_star, strict=True)
    assert uses_except_star(3) == 3


@in_subprocess()
def test_strict_succeeds_for_native_function():
    co = get_coconut()
    assert co.compile(native_add, strict=True) is native_add
    assert co.is_compiled(native_add)
    assert native_add(6, 6) == 24 and native_add(1, 2) == [3, True]


@in_subprocess()
def test_non_strict_compiles_non_native_function():
    co = get_coconut()
    for name, _ in NON_NATIVE_SUBJECTS:
        func = globals()[name]
        assert co.compile(func) is func
        assert co.is_compiled(func), name
    for func in (uses_match_sequence, uses_match_class, uses_match_mapping):  # all native
        assert co.compile(func, strict=True) is func
    assert uses_match_sequence([4, 5]) == 9 and uses_match_sequence("ab") == 0
    assert uses_match_class(3) == 2 and uses_match_class("x") == 1
    assert uses_match_mapping({"k": 7}) == 7 and uses_match_mapping({}) == 0
    assert uses_except_star(4) == 4


@in_subprocess()
def test_is_compiled():
    co = get_coconut()

    def a():
        return 1

    def b():
        return 2
    assert co.is_compiled(a) is False
    co.compile(a)
    assert co.is_compiled(a) is True
    assert co.is_compiled(b) is False
    assert a() == 1 and b() == 2


@in_subprocess()
def test_exception_classes():
    co = get_coconut()
    assert issubclass(co.CompileError, Exception)
    assert issubclass(co.CompileWarning, Warning)


@in_subprocess()
def test_stats_counts_compiled_functions():
    co = get_coconut()
    s0 = co.stats()
    assert set(s0) >= {"compiled", "failed", "compile_seconds", "deopts"}, s0
    assert isinstance(s0["compiled"], int) and isinstance(s0["failed"], int)
    assert isinstance(s0["compile_seconds"], float)
    assert isinstance(s0["deopts"], dict)
    # distinct code objects: compile three different functions
    g1 = type(native_add)(native_add.__code__.replace(), globals())
    g2 = type(native_add)(deopt_loop.__code__.replace(), globals())
    g3 = type(native_add)(uses_match_class.__code__.replace(), globals())
    for g in (g1, g2, g3):
        co.compile(g)
    s1 = co.stats()
    assert s1["compiled"] == s0["compiled"] + 3, (s0, s1)
    assert s1["failed"] == s0["failed"], (s0, s1)
    assert s1["compile_seconds"] > s0["compile_seconds"], (s0, s1)


@in_subprocess()
def test_stats_deopts_grow_when_deopting_function_runs():
    co = get_coconut()
    co.compile(deopt_loop)
    before = co.stats()["deopts"]
    assert deopt_loop(10) == sum(i // 2 for i in range(10))
    after = co.stats()["deopts"]
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in after.items()), after
    assert sum(after.values()) > sum(before.values()), (before, after)
    grown = [k for k in after if after[k] > before.get(k, 0)]
    assert any("CHECK_EG_MATCH" in k for k in grown), (before, after)
    deopt_loop(10)
    again = co.stats()["deopts"]
    assert sum(again.values()) > sum(after.values()), (after, again)


@in_subprocess()
def test_stats_returns_a_snapshot():
    co = get_coconut()
    s = co.stats()
    s["compiled"] = -100
    s["deopts"]["fake"] = 1
    t = co.stats()
    assert t["compiled"] >= 0 and "fake" not in t["deopts"], t


def _dump_subject(x, y):
    z = x * y
    if z > 3:
        z = z - len([x])
    return z


@in_subprocess()
@pytest.mark.parametrize("stage", ["bytecode", "ir", "c", "asm"])
def test_dump_writes_text(stage):
    co = get_coconut()
    co.compile(_dump_subject)
    buf = io.StringIO()
    co.dump(_dump_subject, stage, file=buf)
    text = buf.getvalue()
    assert text.strip(), "dump(%r) wrote nothing" % stage
    if stage in ("bytecode", "ir"):
        # the function's characteristic opcodes are named in the dump
        for opname in ("BINARY_OP", "COMPARE_OP", "LOAD_GLOBAL", "RETURN_VALUE"):
            assert opname.lower() in text.lower(), (opname, text[:3000])
    if stage == "bytecode":
        names = {i.opname for i in dis.get_instructions(_dump_subject)} - {"CACHE"}
        missing = [n for n in names if n not in text]
        assert not missing, (missing, text[:3000])
    assert _dump_subject(2, 3) == 5


@in_subprocess()
def test_dump_defaults_to_stdout():
    import contextlib
    co = get_coconut()
    co.compile(_dump_subject)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        co.dump(_dump_subject, "bytecode")
    assert "BINARY_OP" in buf.getvalue()


@in_subprocess()
@pytest.mark.parametrize("stage", ["bytecode", "ir"])
def test_write_dot(stage):
    co = get_coconut()
    co.compile(_dump_subject)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "g.dot")
        co.write_dot(_dump_subject, stage, path)
        with open(path) as f:
            text = f.read()
    assert "digraph" in text.split("{")[0], text[:200]
    assert text.rstrip().endswith("}"), text[-200:]


@in_subprocess()
def test_disable_returns_to_interpreter():
    co = get_coconut()
    co.compile(native_add)
    co.compile(deopt_loop)
    assert native_add(1, 2) == [3, True]
    co.disable()
    assert native_add(1, 2) == [3, True]
    assert native_add(20, 1) == 42
    assert deopt_loop(10) == 20
    # a traceback raised after disable still has correct lines
    try:
        native_add(1, "x")
    except TypeError as e:
        tb = e.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        assert tb.tb_frame.f_code is native_add.__code__
        assert tb.tb_lineno == native_add.__code__.co_firstlineno + 1
    else:
        raise AssertionError("no TypeError")
    sys.stdout.flush()


def self_compiling(n):
    total = 0
    for i in range(n):
        if i == 3:
            get_coconut().compile(self_compiling)
        total += i * 2
    return total + (self_compiling(n - 1) if n > 4 else 0)


@in_subprocess()
def test_compile_while_the_function_is_running():
    from tests.support import twin
    expected = twin(self_compiling)(8)
    assert self_compiling(8) == expected
    assert get_coconut().is_compiled(self_compiling)
    assert self_compiling(8) == expected


def _disabler():
    get_coconut().disable()
    return 1


def calls_disable(n):
    total = 0
    for i in range(n):
        if i == 2:
            total += _disabler()
        total += i
    return total


@in_subprocess()
def test_disable_from_inside_a_compiled_function():
    co = get_coconut()
    co.compile(calls_disable)
    assert calls_disable(5) == 11
    assert calls_disable(5) == 11


def code_donor(x, y=100):
    return ("donor", x + y, DONOR_GLOBAL)  # noqa: F821


def code_receiver(x, y=1):
    return ("receiver", x * y)


@in_subprocess()
def test_code_object_swapped_after_compile():
    import builtins
    import types
    co = get_coconut()
    co.compile(code_receiver)
    assert code_receiver(3) == ("receiver", 3)
    original = code_receiver.__code__
    # the function now runs another (uncompiled) code object
    code_receiver.__code__ = code_donor.__code__
    globals()["DONOR_GLOBAL"] = "g1"
    assert code_receiver(3) == ("donor", 4, "g1")
    code_receiver.__code__ = original
    assert code_receiver(3) == ("receiver", 3)
    # a compiled code object shared by functions with other globals and defaults
    co.compile(code_donor)
    other = types.FunctionType(code_donor.__code__, {"DONOR_GLOBAL": "g2",
                                                     "__builtins__": builtins}, "other", (7,))
    assert co.is_compiled(other)
    assert other(1) == ("donor", 8, "g2")
    assert code_donor(1) == ("donor", 101, "g1")
    try:
        types.FunctionType(code_donor.__code__, {"__builtins__": builtins})(1, 2)
    except NameError as e:
        assert str(e) == "name 'DONOR_GLOBAL' is not defined", str(e)
    else:
        raise AssertionError("no NameError")


def gen_func(n):
    for i in range(n):
        yield i * i


async def coro_func(x):
    return x + 1


@in_subprocess()
def test_resumed_generators_and_coroutines_run_natively():
    # A resumption enters native code: a deopt after the first yield (an opcode that
    # is not lowered) is counted; were resumed frames interpreted, none would be.
    co = get_coconut()

    def gen():
        yield 0
        try:
            raise ValueError(1)
        except* ValueError:
            pass
        yield 1

    class Step:
        def __await__(self):
            return (yield "step")

    async def coro():
        await Step()
        try:
            raise ValueError(2)
        except* ValueError:
            pass
        return 2
    assert co.compile(gen) is gen and co.compile(coro) is coro
    from coconut.lowering.registry import NOT_NATIVE
    reason = "CHECK_EG_MATCH: " + NOT_NATIVE["CHECK_EG_MATCH"]
    assert list(gen()) == [0, 1]
    assert co.stats()["deopts"].get(reason) == 1, co.stats()["deopts"]
    c = coro()
    assert c.send(None) == "step"
    try:
        c.send(None)
    except StopIteration as e:
        assert e.value == 2
    assert co.stats()["deopts"].get(reason) == 2, co.stats()["deopts"]


@in_subprocess()
def test_generators_compile_and_coroutines_keep_working():
    import asyncio
    co = get_coconut()
    assert co.compile(gen_func) is gen_func
    assert co.compile(coro_func) is coro_func
    assert list(gen_func(4)) == [0, 1, 4, 9]
    assert asyncio.run(coro_func(1)) == 2
    assert co.is_compiled(gen_func)                  # generators and coroutines run natively
    assert co.compile(gen_func, strict=True) is gen_func
    assert co.is_compiled(coro_func)
    assert co.compile(coro_func, strict=True) is coro_func
    assert asyncio.run(coro_func(2)) == 3

    async def agen():
        yield 1
        yield 2
    assert co.compile(agen, strict=True) is agen       # async generators too
    assert co.is_compiled(agen)

    async def collect():
        return [x async for x in agen()]
    assert co.compile(collect, strict=True) is collect
    assert asyncio.run(collect()) == [1, 2]

    def delegating():
        yield from gen_func(3)
    assert co.compile(delegating, strict=True) is delegating
    assert list(delegating()) == [0, 1, 4]
