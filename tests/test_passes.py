"""Each pass on small hand-written IR, compared whole; the pipeline and its dumps.

The IR is written in the dump's own text format (`parse` reads it back): variables are
objects unless a Load gives them another C type or their name starts with `i` (int) or
`p` (ptr); `<None>` is the constant None, `0` next to an object is NULL.
"""
import ast
import re
import textwrap

import pytest

from coconut.ir import ops
from coconut.ir.cfg import IrCFG, IrVerifyError
from coconut.passes import PIPELINE, find_pass, run_pipeline
from tests.support import get_coconut, in_subprocess, run_python

# -- reading the dump format ---------------------------------------------------------
_LOAD = re.compile(r"(\w+) = \*\((\w+) \*\)\((\S+) \+ (-?\d+)\)$")
_STORE = re.compile(r"\*\((\w+) \*\)\((\S+) \+ (-?\d+)\) = (\S+)$")
_CALL = re.compile(r"(?:(\w+) = )?(\w+)\((.*)\)$")
_ARITH = re.compile(r"(\w+) = (\S+) ([-+*&|^]) (\S+)$")
_COND = re.compile(r"if \((\S+) (\S+) (\S+)\) goto (\S+) else goto (\S+)$")


def parse(text: str, name: str = "f") -> IrCFG:
    """An IrCFG from its dump (the header line is optional)."""
    lines = [ln for ln in textwrap.dedent(text).strip().splitlines()
             if ln.strip() and not ln.startswith("IrCFG ")]
    ctypes = {m.group(1): m.group(2) for m in map(_LOAD.match, (ln.strip() for ln in lines)) if m}

    def var(n):
        if n in ("tstate", "frame"):
            return ops.Var(n, "ptr")
        return ops.Var(n, ctypes.get(n, "int" if n[0] == "i" else "ptr" if n[0] == "p" else "obj"))

    def value(tok, like=None):
        if tok.startswith("<") and tok.endswith(">"):
            return ops.ObjConst(ast.literal_eval(tok[1:-1]))
        if re.fullmatch(r"-?\d+", tok):
            ctype = like.ctype if like is not None else "int"
            return ops.IntConst(int(tok), ctype)
        if tok.startswith("&"):
            return ops.AddressOf(var(tok[1:]))
        return var(tok)

    ir, block = IrCFG(name, 3), None
    for raw in lines:
        line = raw.strip()
        if not raw.startswith(" "):
            block = ir.new_block(line.split(":")[0], comment=line.partition(";")[2].strip())
            continue
        op = _op(line, var, value)
        if isinstance(op, ops.TERMINATORS):
            block.terminator = op
        else:
            block.ops.append(op)
    return ir


def _op(line, var, value):
    if m := re.fullmatch(r"(\w+) = localsplus\[(\d+)\]", line):
        return ops.LoadLocal(var(m[1]), int(m[2]))
    if m := re.fullmatch(r"localsplus\[(\d+)\] = (\S+)", line):
        return ops.StoreLocal(int(m[1]), value(m[2]))
    if m := re.fullmatch(r"(x?)(incref|decref) (\S+)", line):
        return ops.Incref(value(m[3])) if m[2] == "incref" else ops.Decref(value(m[3]), bool(m[1]))
    if m := re.fullmatch(r"set_instr (\d+) \((\w*)\)", line):
        return ops.SetInstr(int(m[1]), m[2])
    if m := _LOAD.match(line):
        return ops.Load(var(m[1]), value(m[3]), int(m[4]))
    if m := _STORE.match(line):
        return ops.Store(value(m[2]), int(m[3]), value(m[4]), m[1])
    if m := _COND.match(line):
        a = value(m[1])
        return ops.Branch(ops.Cond(m[2], a, value(m[3], a)), m[4], m[5])
    if m := re.fullmatch(r"goto (\S+)", line):
        return ops.Jump(m[1])
    if m := re.fullmatch(r"return (\S+)", line):
        return ops.Return(value(m[1]))
    if m := re.fullmatch(r"(deopt|error) @(\d+) \[(.*?)\]( \((.*)\))?", line):
        stack = tuple(value(t) for t in m[3].split(", ") if t)
        return (ops.Deopt(int(m[2]), stack, m[5] or "") if m[1] == "deopt"
                else ops.ErrorExit(int(m[2]), stack))
    if m := _ARITH.match(line):
        return ops.BinArith(var(m[1]), m[3], value(m[2]), value(m[4]))
    if m := _CALL.match(line):
        args = tuple(value(a.strip()) for a in m[3].split(",") if a.strip())
        return ops.CallC(var(m[1]) if m[1] else None, m[2], args)
    if m := re.fullmatch(r"(\w+) = (\S+)", line):
        dst = var(m[1])
        return ops.Assign(dst, value(m[2], dst))
    raise ValueError(f"cannot read IR line {line!r}")


def body(ir: IrCFG) -> str:
    """The dump without its header line."""
    return ir.dump().split("\n", 1)[1]


def run(pass_name: str, text: str) -> str:
    ir = parse(text)
    ir.verify()
    out = find_pass(pass_name).run(ir)
    out.verify()
    return body(out)


def expect(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def test_parse_reads_what_dump_writes():
    text = expect("""
        entry:    ; a comment
            set_instr 2 (LOAD_FAST)
            t = localsplus[0]
            p = *(ptr *)(t + 8)
            *(int *)(p + 16) = 3
            incref <None>
            xdecref t
            localsplus[1] = t
            i2 = PyObject_IsTrue(t)
            i3 = i2 + 1
            if (t == 0) goto out else goto more
        more:
            deopt @4 [t, <None>] (a reason)
        out:
            error @2 [t]
        """)
    assert body(parse(text)) == text


# -- refcount ----------------------------------------------------------------------
def test_refcount_cancels_a_pair_with_nothing_between():
    # LOAD_FAST x; POP_JUMP_IF_NONE
    assert run("refcount", """
        entry:
            t = localsplus[0]
            incref t
            s0 = t
            decref s0
            if (s0 != <None>) goto a else goto b
        a:
            return <1>
        b:
            return <2>
        """) == expect("""
        entry:
            t = localsplus[0]
            s0 = t
            if (s0 != <None>) goto a else goto b
        a:
            return <1>
        b:
            return <2>
        """)


def test_refcount_keeps_the_incref_before_a_call_that_may_run_code():
    assert run("refcount", """
        entry:
            t = localsplus[0]
            incref t
            s0 = t
            set_instr 4 (GET_ITER)
            r = PyObject_GetIter(s0)
            decref s0
            return r
        """) == expect("""
        entry:
            t = localsplus[0]
            s0 = t
            set_instr 4 (GET_ITER)
            incref t
            r = PyObject_GetIter(s0)
            decref s0
            return r
        """)


def test_refcount_sinks_past_a_guard_into_its_deopt():
    # the failing side of the guard spills the value: the Deopt owns the reference
    assert run("refcount", """
        entry:
            t = localsplus[0]
            incref t
            s0 = t
            p = *(ptr *)(s0 + 8)
            if (p != <1>) goto out else goto go
        out:
            deopt @3 [s0] (not an int)
        go:
            i = *(int *)(s0 + 24)
            decref s0
            return <None>
        """) == expect("""
        entry:
            t = localsplus[0]
            s0 = t
            p = *(ptr *)(s0 + 8)
            if (p != <1>) goto out else goto go
        out:
            incref t
            deopt @3 [s0] (not an int)
        go:
            i = *(int *)(s0 + 24)
            return <None>
        """)


def test_refcount_puts_increfs_back_on_an_edge_into_a_shared_exit():
    # `out` has two predecessors, only one with t pending: a block on that edge
    assert run("refcount", """
        entry:
            i1 = *(int *)(frame + 4)
            if (i1 == 0) goto out else goto load
        load:
            t = localsplus[0]
            incref t
            if (i1 == 1) goto out else goto go
        out:
            error @3 []
        go:
            decref t
            return <None>
        """) == expect("""
        entry:
            i1 = *(int *)(frame + 4)
            if (i1 == 0) goto out else goto load
        load:
            t = localsplus[0]
            if (i1 == 1) goto out.incref else goto go
        out:
            error @3 []
        go:
            return <None>
        out.incref:
            incref t
            goto out
        """)


def test_refcount_stops_at_a_decref_of_another_variable():
    # a and b may be the same object: b's decref could free it
    text = """
        entry:
            a = localsplus[0]
            b = localsplus[1]
            incref a
            decref b
            decref a
            return <None>
        """
    assert run("refcount", text) == expect(text)


def test_refcount_follows_copies_and_stops_at_redefinition():
    assert run("refcount", """
        entry:
            t = localsplus[0]
            incref t
            s = t
            t = localsplus[1]
            i = *(int *)(s + 16)
            decref s
            return t
        """) == expect("""
        entry:
            t = localsplus[0]
            s = t
            t = localsplus[1]
            i = *(int *)(s + 16)
            return t
        """)
    assert run("refcount", """
        entry:
            t = localsplus[0]
            incref t
            t = localsplus[1]
            decref t
            return <None>
        """) == expect("""
        entry:
            t = localsplus[0]
            incref t
            t = localsplus[1]
            decref t
            return <None>
        """)


def test_refcount_stores_of_objects_and_refcount_reads_are_barriers():
    for barrier in ("*(obj *)(p + 16) = u", "localsplus[2] = u", "n = *(ssize *)(t + 0)",
                    "*(ssize *)(t + 0) = n"):
        text = f"""
            entry:
                t = localsplus[0]
                u = localsplus[1]
                n = *(ssize *)(frame + 8)
                p = *(ptr *)(frame + 16)
                incref t
                {barrier}
                decref t
                return <None>
            """
        assert run("refcount", text) == expect(text), barrier
    # a store of a plain value is not
    assert "incref" not in run("refcount", """
        entry:
            t = localsplus[0]
            incref t
            *(int *)(t + 16) = 1
            decref t
            return <None>
        """)


def test_refcount_hoists_the_decrefs_of_a_join_into_its_gotos():
    # BINARY_OP: an inline fast path and a generic call join, then release the operands
    assert run("refcount", """
        entry:
            a = localsplus[0]
            incref a
            b = localsplus[1]
            incref b
            p = *(ptr *)(a + 8)
            if (p != <1>) goto slow else goto fast
        fast:
            i = *(int *)(a + 24)
            r = PyLong_FromLong(i)
            goto join
        slow:
            r = PyNumber_Add(a, b)
            goto join
        join:
            decref a
            decref b
            if (r == 0) goto error else goto done
        error:
            error @4 []
        done:
            return r
        """) == expect("""
        entry:
            a = localsplus[0]
            b = localsplus[1]
            p = *(ptr *)(a + 8)
            if (p != <1>) goto slow else goto fast
        fast:
            i = *(int *)(a + 24)
            r = PyLong_FromLong(i)
            goto join
        slow:
            incref a
            incref b
            r = PyNumber_Add(a, b)
            decref a
            decref b
            goto join
        join:
            if (r == 0) goto error else goto done
        error:
            error @4 []
        done:
            return r
        """)


def test_refcount_carries_nothing_into_a_loop_header():
    text = """
        entry:
            i1 = *(int *)(frame + 4)
            t = localsplus[0]
            incref t
            goto head
        head:
            decref t
            if (i1 == 0) goto head else goto out
        out:
            return <None>
        """
    assert run("refcount", text) == expect(text)


def test_refcount_meets_at_a_join_under_the_names_common_to_all_edges():
    # t is pending on both edges into `join` (as t and x on one, as t on the other)
    assert run("refcount", """
        entry:
            i1 = *(int *)(frame + 4)
            t = localsplus[0]
            incref t
            if (i1 == 0) goto a else goto b
        a:
            x = t
            goto join
        b:
            x = <None>
            goto join
        join:
            i2 = *(int *)(x + 16)
            decref t
            return x
        """) == expect("""
        entry:
            i1 = *(int *)(frame + 4)
            t = localsplus[0]
            if (i1 == 0) goto a else goto b
        a:
            x = t
            goto join
        b:
            x = <None>
            goto join
        join:
            i2 = *(int *)(x + 16)
            return x
        """)


# -- redundant_loads --------------------------------------------------------------------
def test_redundant_loads_reuses_a_load_along_a_chain():
    assert run("redundant_loads", """
        entry:
            t = localsplus[0]
            p = *(ptr *)(t + 8)
            if (p == <1>) goto next else goto out
        next:
            p2 = *(ptr *)(t + 8)
            u = localsplus[0]
            return u
        out:
            return t
        """) == expect("""
        entry:
            t = localsplus[0]
            p = *(ptr *)(t + 8)
            if (p == <1>) goto next else goto out
        next:
            p2 = p
            u = t
            return u
        out:
            return t
        """)


def test_redundant_loads_forgets_at_writes_and_redefinitions():
    for between in ("*(int *)(q + 0) = 1", "x = PyNumber_Add(t, t)", "decref t",
                    "localsplus[0] = t", "t = localsplus[1]"):
        text = f"""
            entry:
                t = localsplus[0]
                q = *(ptr *)(frame + 16)
                p = *(ptr *)(t + 8)
                {between}
                p2 = *(ptr *)(t + 8)
                return t
            """
        assert run("redundant_loads", text) == expect(text), between
    # an incref writes only ob_refcnt; PyLong_FromLong writes nothing we read
    assert run("redundant_loads", """
        entry:
            t = localsplus[0]
            p = *(ptr *)(t + 8)
            incref t
            x = PyLong_FromLong(1)
            p2 = *(ptr *)(t + 8)
            return t
        """).count("p2 = p\n") == 1


def test_redundant_loads_reads_the_eval_breaker_every_time():
    text = """
        entry:
            i1 = *(int *)(&eval_breaker + 0)
            i2 = *(int *)(&eval_breaker + 0)
            return <None>
        """
    ir = parse(text)
    for block in ir.blocks.values():      # (the parser has no fixed addresses)
        for op in block.ops:
            op.base = ops.Address("eval_breaker", 0x1000)
    out = find_pass("redundant_loads").run(ir)
    assert [type(op) for op in out.blocks["entry"].ops] == [ops.Load, ops.Load]


def test_redundant_loads_stops_at_a_join():
    text = """
        entry:
            t = localsplus[0]
            p = *(ptr *)(t + 8)
            if (p == <1>) goto join else goto other
        other:
            goto join
        join:
            p2 = *(ptr *)(t + 8)
            return t
        """
    assert run("redundant_loads", text) == expect(text)


# -- dead_code ----------------------------------------------------------------------
def test_dead_code_removes_unread_pure_ops_but_not_calls():
    assert run("dead_code", """
        entry:
            t = localsplus[0]
            u = localsplus[1]
            p = *(ptr *)(u + 8)
            i = p + 1
            t = t
            x = PyNumber_Add(t, t)
            return t
        """) == expect("""
        entry:
            t = localsplus[0]
            x = PyNumber_Add(t, t)
            return t
        """)


def test_dead_code_removes_set_instr_nothing_can_observe():
    assert run("dead_code", """
        entry:
            set_instr 1 (LOAD_FAST)
            t = localsplus[0]
            incref t
            set_instr 2 (LOAD_FAST)
            if (t == 0) goto out else goto go
        out:
            deopt @2 [t] (unbound)
        go:
            set_instr 3 (GET_ITER)
            r = PyObject_GetIter(t)
            set_instr 4 (RETURN_VALUE)
            return r
        """) == expect("""
        entry:
            t = localsplus[0]
            incref t
            if (t == 0) goto out else goto go
        out:
            deopt @2 [t] (unbound)
        go:
            set_instr 3 (GET_ITER)
            r = PyObject_GetIter(t)
            set_instr 4 (RETURN_VALUE)
            return r
        """)
    # a decref may run a finalizer that looks at the frame
    assert "set_instr 1" in run("dead_code", """
        entry:
            set_instr 1 (POP_TOP)
            t = localsplus[0]
            decref t
            set_instr 2 (LOAD_CONST)
            return <None>
        """)


def test_dead_code_threads_jumps_through_empty_blocks():
    assert run("dead_code", """
        entry:
            goto b0
        b0:
            t = localsplus[0]
            if (t == 0) goto e1 else goto e2
        e1:
            goto e3
        e2:
            goto e3
        e3:
            goto out
        out:
            return t
        """) == expect("""
        entry:
            goto b0
        b0:
            t = localsplus[0]
            goto out
        out:
            return t
        """)


# -- the pipeline --------------------------------------------------------------------
def test_every_pass_is_a_documented_module_of_its_own():
    modules = [p.run.__module__ for p in PIPELINE]
    assert len(set(modules)) == len(modules)
    for p in PIPELINE:
        assert p.doc and "\n" not in p.doc, p.name
        assert __import__(p.run.__module__, fromlist=["_"]).__doc__.strip(), p.name
    assert PIPELINE[0].name == "prune_unreachable"


def test_run_pipeline_stops_before_or_after_a_pass():
    text = """
        entry:
            t = localsplus[0]
            incref t
            decref t
            return <None>
        dead:
            return <None>
        """
    assert "dead:" in body(run_pipeline(parse(text), stop=("before", "prune_unreachable")))
    assert body(run_pipeline(parse(text), verify=True, stop=("after", "prune_unreachable"))) \
        == expect(text.split("        dead:")[0])
    assert body(run_pipeline(parse(text), verify=True, stop=("after", "refcount"))) == expect("""
        entry:
            t = localsplus[0]
            return <None>
        """)
    with pytest.raises(ValueError, match="prune_unreachable, refcount"):
        run_pipeline(parse(text), stop=("after", "nope"))


def test_verifier_wants_variables_written_before_they_are_read():
    ir = parse("""
        entry:
            i1 = *(int *)(frame + 4)
            if (i1 == 0) goto a else goto b
        a:
            t = localsplus[0]
            goto b
        b:
            return t
        """)
    ir.verify(dataflow=False)
    with pytest.raises(IrVerifyError, match="reads t, not written on every path"):
        ir.verify()


def test_verifier_wants_objects_where_references_go():
    ir = parse("""
        entry:
            incref i1
            return <None>
        """)
    with pytest.raises(IrVerifyError, match="needs an object"):
        ir.verify()


# -- dumps through coconut.dump ----------------------------------------------------------
def _dumped(x):
    if x is None:
        return 0
    return x


@in_subprocess()
def test_dump_at_every_point_of_the_pipeline():
    import io
    co = get_coconut()

    def dump(stage):
        buf = io.StringIO()
        co.dump(_dumped, stage, file=buf)
        return buf.getvalue()
    names = [p.name for p in PIPELINE]
    assert dump("ir") == dump(f"ir:after={names[-1]}")
    for before, after in zip(names, names[1:]):
        assert dump(f"ir:after={before}") == dump(f"ir:before={after}")
    assert dump("ir:before=refcount") != dump("ir:after=refcount")
    for bad in ("ir:after=nope", "ir:after", "ir:while=refcount", "c:after=refcount"):
        with pytest.raises(ValueError) as info:
            dump(bad)
        if "nope" in bad:
            assert ", ".join(names) in str(info.value)


def test_cold_blocks_are_those_that_only_leave_native_code():
    # a deopt, an error, and a chain that ends in one are cold; a block that can still
    # return (or loop back) is not, even if one of its successors is cold
    ir = parse("""
        entry:
            t = localsplus[0]
            p = *(ptr *)(t + 8)
            if (p != <1>) goto guard else goto loop
        guard:
            deopt @3 [] (not an int)
        loop:
            i = *(int *)(t + 24)
            if (i == 0) goto failed else goto again
        failed:
            decref t
            goto raise_it
        raise_it:
            error @9 []
        again:
            if (i < 5) goto loop else goto done
        done:
            return <None>
        """)
    ir.verify()
    assert ir.cold_blocks() == {"guard", "failed", "raise_it"}


def test_the_unlikely_side_of_a_branch_is_marked_for_gcc():
    # the C has the guard's deopt side as __builtin_expect(..., 0); with
    # COCONUT_BRANCH_HINTS=0, no hint at all
    source = """
import coconut
def f(x):
    return x + 1.5
f(1.0); f(2.0)
coconut.dump(f, 'c')
"""
    hinted = run_python(["-c", source])
    assert hinted.ok, hinted.describe()
    assert "__builtin_expect" in hinted.stdout
    plain = run_python(["-c", source], env={"COCONUT_BRANCH_HINTS": "0"})
    assert plain.ok and "__builtin_expect" not in plain.stdout
