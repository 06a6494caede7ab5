"""The opcode registry: stack effects derived from the signatures agree with
dis.stack_effect, and every 3.11 opcode is either lowered or listed as not native."""
import dis

import pytest

from coconut.lowering import OPCODES, NOT_NATIVE


def test_every_opcode_is_accounted_for():
    assert sorted(set(dis.opmap) - set(OPCODES) - set(NOT_NATIVE)) == []
    assert not set(OPCODES) & set(NOT_NATIVE)


@pytest.mark.parametrize("name", sorted(set(OPCODES) - {"PRECALL", "CALL"}))
def test_stack_effect_matches_dis(name):
    rule = OPCODES[name]
    opcode = dis.opmap[name]
    opargs = range(1, 16) if opcode >= dis.HAVE_ARGUMENT else [None]
    if name == "BUILD_SLICE":
        opargs = (2, 3)             # the only forms the compiler emits
    for oparg in opargs:
        for jump in (False, True):
            if jump and rule.jump is None:
                continue
            assert rule.stack_effect(oparg, jump) == dis.stack_effect(opcode, oparg, jump=jump), \
                (name, oparg, jump)


def test_precall_call_pair():
    """3.11 books PRECALL as -oparg and CALL as -1; at run time CALL pops them all."""
    for oparg in range(8):
        ours = OPCODES["PRECALL"].stack_effect(oparg) + OPCODES["CALL"].stack_effect(oparg)
        theirs = (dis.stack_effect(dis.opmap["PRECALL"], oparg)
                  + dis.stack_effect(dis.opmap["CALL"], oparg))
        assert ours == theirs


def test_every_rule_documents_its_ceval_target():
    for name, rule in OPCODES.items():
        assert rule.doc, f"{name} has no docstring"


def test_every_runtime_helper_the_lowering_may_call_is_linked():
    """A `coconut_*` function in the C-API table is in the runtime library and in
    hook.HELPERS (the names compiled code links against): one missing compiles
    nothing that calls it ("undefined symbol" from gcc, the function interpreted)."""
    from coconut.backend.capi import CAPI
    from coconut.runtime.hook import HELPERS
    called = {n for n in CAPI if n.startswith("coconut_")}
    assert called - set(HELPERS) == set()
