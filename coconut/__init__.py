"""coconut: a method JIT for CPython 3.11 through libgccjit.

    import coconut

    @coconut.compile
    def f(n): ...

Pipeline: frontend (BytecodeCFG) -> lowering (IrCFG) -> passes -> backend (libgccjit)
-> runtime (PEP 523 hook, frame protocol, deopt). See docs/architecture.md.
"""
import sys as _sys

if _sys.implementation.name != "cpython" or _sys.version_info[:2] != (3, 11):
    raise ImportError(f"coconut supports CPython 3.11 only; this is "
                      f"{_sys.implementation.name} {_sys.version.split()[0]} — run it with python3.11")
# The binding is imported at the first compile (importing it loads libgccjit: ~7 MB and
# a few ms a process whose code is all in the cache never needs); here only found.
from importlib.util import find_spec as _find_spec
if _find_spec("gccjit") is None:
    raise ImportError("coconut needs libgccjit and its Python binding: run "
                      "`bash scripts/install.sh` (Debian libgccjit-12-dev and gccjit==0.4)")

from .runtime import layout as _layout

_layout.verify()

from .errors import CompileError, CompileWarning  # noqa: E402
from .runtime import jit as _jit  # noqa: E402

__all__ = ["compile", "is_compiled", "stats", "dump", "write_dot", "disable", "enable",
           "CompileError", "CompileWarning"]


def compile(func, *, strict: bool = False):
    """Compile `func` to native code; returns the same function (a decorator, too).

    strict=True raises CompileError when any instruction would not run natively."""
    return _jit.compile_function(func, strict=strict)


def is_compiled(func) -> bool:
    """Whether `func`'s code has a native entry."""
    return _jit.is_compiled(func)


def stats() -> dict:
    """Counters: compiled, failed, compile_seconds (total, median, max), deopts
    (reason -> count), not_compiled (code -> reason), code_bytes, threshold."""
    return _jit.stats()


def dump(func, stage: str = "ir", file=None) -> None:
    """Print one stage of `func`'s compilation: bytecode, ir, c or asm. "ir" is the IR
    after the whole pass pipeline; "ir:before=<pass>" / "ir:after=<pass>" the IR at that
    point of it (coconut.passes.PIPELINE names the passes)."""
    print(_jit.dump_stage(func, stage), file=file or _sys.stdout, end="")


def write_dot(func, stage: str, path) -> None:
    """Write the BytecodeCFG ('bytecode') or IrCFG ('ir', or 'ir:after=<pass>' as in
    dump) of `func` as Graphviz dot."""
    with open(path, "w") as f:
        f.write(_jit.dot_stage(func, stage))


def disable() -> None:
    """Uninstall the frame hook and stop compiling: everything runs in the interpreter."""
    _jit.disable()


def enable(threshold: int | None = None, background: bool = False) -> None:
    """Install the frame hook (again, after disable()).

    With `threshold=N`, whole-program compilation: every code object is compiled on
    its first entry after N entries (0: on its first call); one that cannot be
    compiled is remembered and stays interpreted. With `background=True`, gcc runs
    on a compile thread while the program goes on interpreted, and the compiled code
    is used from a later entry on (`python3 -m coconut` does this by default)."""
    _jit.enable(threshold, background)
