"""Stand-in for ``coconut``, used only when COCONUT_TEST_STUB is set (checking the suite).

COCONUT_TEST_STUB=1          identity compile: every differential test must pass.
COCONUT_TEST_STUB=broken     compile() adds 1 to every int constant of the code: the
                             differential tests of functions using int constants must fail.
COCONUT_TEST_STUB=crash:NAME compile() of a function called NAME segfaults the process:
                             exactly that corpus function must fail, as a crash.
COCONUT_TEST_STUB=hang:NAME  compile() of a function called NAME never returns: exactly
                             that corpus function must fail, as a hang (after
                             COCONUT_TEST_FUNC_TIMEOUT seconds).
"""
import dis
import os
import sys
import warnings

_MODE = os.environ.get("COCONUT_TEST_STUB", "1")

NOT_NATIVE = {"IMPORT_NAME", "IMPORT_FROM", "LIST_EXTEND", "DICT_MERGE", "DICT_UPDATE",
              "SET_UPDATE", "BEFORE_WITH", "UNPACK_EX", "CALL_FUNCTION_EX", "STORE_GLOBAL",
              "DELETE_GLOBAL", "DELETE_ATTR", "PUSH_EXC_INFO", "POP_EXCEPT", "RERAISE",
              "CHECK_EXC_MATCH", "WITH_EXCEPT_START", "YIELD_VALUE", "RETURN_GENERATOR",
              "LOAD_BUILD_CLASS", "LIST_TO_TUPLE", "GET_LEN", "MATCH_MAPPING",
              "MATCH_SEQUENCE", "MATCH_KEYS", "MATCH_CLASS", "LOAD_ASSERTION_ERROR",
              "DELETE_DEREF", "SEND", "PREP_RERAISE_STAR", "CHECK_EG_MATCH"}


class CompileError(Exception):
    pass


class CompileWarning(Warning):
    pass


_compiled = set()
_stats = {"compiled": 0, "failed": 0, "compile_seconds": 0.0, "deopts": {}}
_enabled = True


def compile(func, *, strict=False):  # noqa: A001 - mirrors coconut.compile
    import types
    if not isinstance(func, types.FunctionType):
        raise TypeError("coconut.compile() needs a Python function, got %s"
                        % type(func).__name__)
    code = func.__code__
    if strict:
        for ins in dis.get_instructions(code):
            if ins.opname in NOT_NATIVE:
                raise CompileError("%s: %s is not native (line %d)"
                                   % (code.co_name, ins.opname, ins.positions.lineno))
    if _MODE.startswith("crash:") and func.__name__ == _MODE[len("crash:"):]:
        import ctypes
        ctypes.string_at(0)  # segfault
    if _MODE.startswith("hang:") and func.__name__ == _MODE[len("hang:"):]:
        while True:
            pass
    if _MODE == "broken":
        consts = tuple(c + 1 if type(c) is int else c for c in code.co_consts)
        func.__code__ = code = code.replace(co_consts=consts)
    _compiled.add(code)
    _stats["compiled"] += 1
    return func


def is_compiled(func):
    return _enabled and getattr(func, "__code__", None) in _compiled


def stats():
    return {"compiled": _stats["compiled"], "failed": _stats["failed"],
            "compile_seconds": _stats["compile_seconds"], "deopts": dict(_stats["deopts"])}


def dump(func, stage, file=None):
    if stage not in ("bytecode", "ir", "c", "asm"):
        raise ValueError("unknown stage %r" % (stage,))
    file = sys.stdout if file is None else file
    print("# stub dump, stage %s" % stage, file=file)
    dis.dis(func, file=file)


def write_dot(func, stage, path):
    with open(path, "w") as f:
        f.write("digraph stub {}\n")


def disable():
    global _enabled
    _enabled = False


warnings.filterwarnings("default", category=CompileWarning)
