"""The differential corpus really exercises every opcode coconut lowers natively, and every
non-native opcode the deopt tests are about (checked on the bytecode, no JIT involved)."""
import dis
import glob
import importlib
import os

import pytest

from tests import harness, support

NATIVE = """
LOAD_FAST STORE_FAST DELETE_FAST LOAD_CONST LOAD_GLOBAL LOAD_ATTR STORE_ATTR LOAD_METHOD
BINARY_OP COMPARE_OP IS_OP CONTAINS_OP UNARY_NEGATIVE UNARY_POSITIVE UNARY_INVERT UNARY_NOT
JUMP_FORWARD JUMP_BACKWARD POP_JUMP_FORWARD_IF_FALSE POP_JUMP_FORWARD_IF_TRUE
POP_JUMP_BACKWARD_IF_FALSE POP_JUMP_BACKWARD_IF_TRUE POP_JUMP_FORWARD_IF_NONE
POP_JUMP_FORWARD_IF_NOT_NONE POP_JUMP_BACKWARD_IF_NONE POP_JUMP_BACKWARD_IF_NOT_NONE
JUMP_IF_TRUE_OR_POP JUMP_IF_FALSE_OR_POP GET_ITER FOR_ITER PRECALL CALL KW_NAMES PUSH_NULL
BUILD_TUPLE BUILD_LIST BUILD_MAP BUILD_SET BUILD_CONST_KEY_MAP BUILD_SLICE BUILD_STRING
BINARY_SUBSCR STORE_SUBSCR DELETE_SUBSCR UNPACK_SEQUENCE LIST_APPEND SET_ADD MAP_ADD
LOAD_DEREF STORE_DEREF MAKE_CELL COPY_FREE_VARS LOAD_CLOSURE MAKE_FUNCTION RETURN_VALUE
POP_TOP COPY SWAP NOP RAISE_VARARGS FORMAT_VALUE RESUME EXTENDED_ARG
IMPORT_NAME IMPORT_FROM LIST_EXTEND DICT_MERGE DICT_UPDATE SET_UPDATE BEFORE_WITH UNPACK_EX
CALL_FUNCTION_EX STORE_GLOBAL DELETE_GLOBAL DELETE_ATTR LOAD_BUILD_CLASS LOAD_NAME STORE_NAME
DELETE_NAME LIST_TO_TUPLE DELETE_DEREF LOAD_CLASSDEREF SETUP_ANNOTATIONS
RETURN_GENERATOR YIELD_VALUE GET_YIELD_FROM_ITER SEND GET_AWAITABLE
PUSH_EXC_INFO POP_EXCEPT RERAISE CHECK_EXC_MATCH WITH_EXCEPT_START LOAD_ASSERTION_ERROR
MATCH_CLASS MATCH_KEYS MATCH_MAPPING MATCH_SEQUENCE GET_LEN
""".split()

NOT_NATIVE = """
CHECK_EG_MATCH PREP_RERAISE_STAR
""".split()


def corpus_modules():
    out = []
    for path in sorted(glob.glob(os.path.join(support.TESTS_DIR, "corpus", "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if not name.startswith("_"):
            out.append(importlib.import_module("tests.corpus." + name))
    return out


def compiled_code_objects():
    """Every code object the differential tests compile: the corpus functions and their
    nested code but coroutines and `yield from` (what harness.compile_function compiles)."""
    for module in corpus_modules():
        for func, _ in harness.corpus_cases(module).values():
            yield module, func.__code__
            for code in harness.nested_codes(func.__code__):
                if not harness.interpreted(code):
                    yield module, code


def opnames(code):
    return {ins.opname for ins in dis.get_instructions(code)}


def test_every_native_opcode_is_exercised():
    seen = set()
    for _, code in compiled_code_objects():
        seen |= opnames(code)
    missing = [op for op in NATIVE if op not in seen]
    assert not missing, "no corpus function uses %s" % missing


def test_every_non_native_opcode_deopts_inside_a_loop():
    """Each non-native opcode appears inside a loop of some corpus function (between a
    FOR_ITER/loop head and its backward jump), so the deopt happens with loop state live."""
    in_loop = set()
    for _, code in compiled_code_objects():
        ins = list(dis.get_instructions(code))
        for i, back in enumerate(ins):
            if back.opname.startswith(("JUMP_BACKWARD", "POP_JUMP_BACKWARD")):
                start = back.argval
                in_loop |= {x.opname for x in ins if start <= x.offset < back.offset}
    missing = [op for op in NOT_NATIVE if op not in in_loop
               and op not in ("LOAD_BUILD_CLASS", "DELETE_GLOBAL")]
    assert not missing, "no corpus loop contains %s" % missing


@pytest.mark.parametrize("module", corpus_modules(), ids=lambda m: m.__name__.split(".")[-1])
def test_corpus_module_is_well_formed(module):
    cases = harness.corpus_cases(module)
    assert cases, "%s has no CASES" % module.__name__
    for name, (func, arglist) in cases.items():
        assert arglist, "%s has no argument tuples" % name
        assert not func.__code__.co_flags & harness._GEN_FLAGS, \
            "%s is a generator function; the harness would not run its body" % name
