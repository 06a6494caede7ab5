"""The BytecodeCFG against the interpreter's own view: dis and co_stacksize, over
whole stdlib modules (every code object, nested ones included)."""
import dis
import importlib
import types

import pytest

from coconut.frontend import BytecodeCFG
from coconut.runtime import feedback

MODULES = ["json.decoder", "json.encoder", "collections", "argparse", "dataclasses", "difflib",
           "inspect", "typing", "textwrap", "ast", "email.message", "asyncio.base_events",
           "pathlib", "re._parser", "statistics", "unittest.case", "contextlib", "enum"]


def code_objects(module_name):
    module = importlib.import_module(module_name)
    with open(module.__file__, encoding="utf-8") as f:
        top = compile(f.read(), module.__file__, "exec")
    todo, seen = [top], []
    while todo:
        code = todo.pop()
        seen.append(code)
        todo.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return seen


def dis_instructions(code):
    """(start offset in code units incl. EXTENDED_ARG prefix, name, jump target units)."""
    out, prefix = [], None
    for ins in dis.get_instructions(code):
        if ins.opname == "EXTENDED_ARG":
            prefix = ins.offset if prefix is None else prefix
            continue
        start = ins.offset if prefix is None else prefix
        prefix = None
        target = ins.argval // 2 if ins.opcode in dis.hasjrel + dis.hasjabs else None
        out.append((start // 2, ins.opname, target))
    return out


@pytest.mark.parametrize("module_name", MODULES)
def test_stdlib_module(module_name):
    for code in code_objects(module_name):
        cfg = BytecodeCFG(code)
        where = f"{module_name}:{code.co_qualname}"
        assert [(i.offset, i.name, i.jump_target) for i in cfg.instructions] == \
            dis_instructions(code), where
        assert [(h.start, h.end, h.target, h.depth, h.lasti) for h in cfg.handlers] == \
            [(e.start // 2, e.end // 2, e.target // 2, e.depth, e.lasti)
             for e in dis._parse_exception_table(code)], where
        assert cfg.max_depth == code.co_stacksize, where
        # the cache key's light decode (runtime/feedback.py) sees the same instructions
        assert [(i.offset, i.size, i.name) for i in feedback.instructions(code)] == \
            [(i.offset, i.size, i.name) for i in cfg.instructions], where
        for ins in cfg.instructions:
            if ins.depth_before is None:
                continue
            if ins.name not in ("PRECALL", "CALL", "RETURN_GENERATOR"):   # frontend._effect
                assert ins.depth_after - ins.depth_before == \
                    dis.stack_effect(ins.opcode, ins.arg, jump=False), (where, str(ins))
            if ins.depth_jump is not None:
                assert ins.depth_jump - ins.depth_before == \
                    dis.stack_effect(ins.opcode, ins.arg, jump=True), (where, str(ins))


def test_precall_call_pair_matches_dis():
    def f(g, x):
        return g(x, 1, k=2)
    cfg = BytecodeCFG(f.__code__)
    pre = next(i for i in cfg.instructions if i.name == "PRECALL")
    call = next(i for i in cfg.instructions if i.name == "CALL")
    assert pre.depth_after == pre.depth_before            # arguments stay for CALL
    assert call.depth_after - pre.depth_before == (
        dis.stack_effect(pre.opcode, pre.arg) + dis.stack_effect(call.opcode, call.arg))


def test_blocks_and_edges():
    def f(xs):
        total = 0
        for x in xs:
            try:
                total += x
            except TypeError:
                pass
        return total
    cfg = BytecodeCFG(f.__code__)
    kinds = {data["kind"] for _, _, data in cfg.graph.edges(data=True)}
    assert kinds == {"fall", "jump", "exception"}
    for start, block in cfg.blocks.items():
        assert block.start == start == block.instructions[0].offset
    # the handler's entry depth is its table depth plus the pushed exception
    h = cfg.handlers[0]
    assert cfg.blocks[h.target].depth == h.depth + 1 + h.lasti
    text = cfg.dump()
    assert text.splitlines()[0].startswith(f"BytecodeCFG {f.__code__.co_qualname} ")
    assert "digraph" in cfg.to_dot()


def test_rejects_non_code():
    with pytest.raises(TypeError, match="needs a code object, got int"):
        BytecodeCFG(3)


def test_generator_prologue_runs_on_an_empty_stack():
    """compile.c enters a generator's code at depth 1; the frontend at 0, with
    RETURN_GENERATOR pushing the value its first resumption sends (native code runs the
    prologue, MAKE_CELL and COPY_FREE_VARS included, on the real stack)."""
    def outer(a):
        def gen(b):
            yield a + b
        return gen
    cfg = BytecodeCFG(outer(1).__code__)
    names = [(i.name, i.depth_before, i.depth_after) for i in cfg.instructions]
    ret = names.index(("RETURN_GENERATOR", 0, 1))
    assert names[0] == ("COPY_FREE_VARS", 0, 0) and names[ret + 1] == ("POP_TOP", 1, 0), names
    assert cfg.max_depth == outer(1).__code__.co_stacksize
