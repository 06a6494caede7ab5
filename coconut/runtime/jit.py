"""The compile driver: function -> BytecodeCFG -> IrCFG -> passes -> native entry.

Compiled code is kept for the life of the process (a code object's native entry may
be running on some thread's stack at any time) and found through co_extra.
"""
from __future__ import annotations

import inspect
import os
import threading
import time
import types
import warnings

from ..errors import CompileError, CompileWarning
from ..frontend import BytecodeCFG
from ..lowering import lower, first_non_native
from ..passes import run_pipeline
from ..backend import build_module
from ..backend.gcc import dump_text
from .hook import Runtime

# Code flags for functions whose frames the interpreter runs (see design notes).
_INTERPRETED_FLAGS = (inspect.CO_GENERATOR | inspect.CO_COROUTINE |
                      inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE)

_runtime: Runtime | None = None
# One compilation at a time: the runtime is created once, and libgccjit is not
# reentrant across threads (two threads compiling at once crashed it).
_lock = threading.RLock()
# Keyed by id(code): code objects compare equal by value, and two equal code objects
# are still two objects, each needing its own native entry.
_compiled: dict[int, tuple[types.CodeType, object]] = {}   # id -> (code, GccModule)
_stats = {"compiled": 0, "failed": 0, "compile_seconds": 0.0}
_failures: dict[int, tuple[types.CodeType, str]] = {}
VERIFY = bool(os.environ.get("COCONUT_VERIFY"))


def runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime()
        return _runtime


def _check_function(func) -> types.FunctionType:
    if not isinstance(func, types.FunctionType):
        raise TypeError(f"coconut.compile() needs a Python function, got "
                        f"{type(func).__name__} {func!r:.60}")
    return func


def build_ir(cfg: BytecodeCFG):
    """Lowering and the pass pipeline for one BytecodeCFG, verified."""
    ir = run_pipeline(lower(cfg), verify=VERIFY)
    ir.verify()
    return ir


def _check_strict(code: types.CodeType) -> None:
    """Raise CompileError unless every reachable instruction runs natively."""
    if code.co_flags & _INTERPRETED_FLAGS:
        raise CompileError(f"{code.co_qualname}: generators and coroutines run in the "
                           f"interpreter")
    cfg = BytecodeCFG(code)
    ins = first_non_native(cfg)
    if ins is not None:
        # Some instructions (PUSH_EXC_INFO) have no line: name the one they follow.
        lineno = next((i.lineno for i in reversed(cfg.instructions)
                       if i.offset <= ins.offset and i.lineno is not None), code.co_firstlineno)
        raise CompileError(f"{code.co_qualname} ({code.co_filename}, line {lineno}): "
                           f"{ins.name} does not run natively")


def compile_function(func, strict: bool = False):
    func = _check_function(func)
    with _lock:
        return _compile_locked(func, strict)


def _compile_locked(func, strict: bool):
    code = func.__code__
    if strict:
        _check_strict(code)
    if id(code) in _compiled or id(code) in _failures:
        return func                     # compiled, or failed and already warned about
    if code.co_flags & _INTERPRETED_FLAGS:
        _failures[id(code)] = (code, "generators and coroutines run in the interpreter")
        return func
    started = time.perf_counter()
    cfg = BytecodeCFG(code)
    rt = runtime()
    try:
        module = build_module([build_ir(cfg)], rt.helpers)
    except Exception as exc:   # never take the user's program down
        if strict:
            raise CompileError(f"{code.co_qualname}: {exc}") from exc
        _stats["failed"] += 1
        _failures[id(code)] = (code, f"{type(exc).__name__}: {exc}")
        warnings.warn(f"coconut: {code.co_qualname} stays interpreted: {exc}",
                      CompileWarning, stacklevel=3)
        return func
    _compiled[id(code)] = (code, module)
    rt.set_entry(code, next(iter(module.addresses.values())))
    rt.install()
    _stats["compiled"] += 1
    _stats["compile_seconds"] += time.perf_counter() - started
    return func


def is_compiled(func) -> bool:
    return id(getattr(func, "__code__", None)) in _compiled


def stats() -> dict:
    deopts: dict[str, int] = {}
    for _, module in _compiled.values():
        for reason, n in module.deopt_counts().items():
            deopts[reason] = deopts.get(reason, 0) + n
    return {**_stats, "deopts": deopts,
            "not_compiled": {c.co_qualname: r for c, r in _failures.values()}}


def disable() -> None:
    if _runtime is not None:
        _runtime.uninstall()


def enable() -> None:
    if _compiled:
        runtime().install()


STAGES = ("bytecode", "ir", "c", "asm")


def dump_stage(func, stage: str) -> str:
    with _lock:
        return _dump_stage(func, stage)


def _dump_stage(func, stage: str) -> str:
    code = _check_function(func).__code__
    if stage not in STAGES:
        raise ValueError(f"coconut.dump(): stage must be one of {', '.join(STAGES)}, not {stage!r}")
    cfg = BytecodeCFG(code)
    if stage == "bytecode":
        return cfg.dump()
    ir = build_ir(cfg)
    if stage == "ir":
        return ir.dump()
    return dump_text([ir], runtime().helpers, stage)


def dot_stage(func, stage: str) -> str:
    code = _check_function(func).__code__
    cfg = BytecodeCFG(code)
    if stage == "bytecode":
        return cfg.to_dot()
    if stage == "ir":
        return build_ir(cfg).to_dot()
    raise ValueError(f"coconut.write_dot(): stage must be 'bytecode' or 'ir', not {stage!r}")
