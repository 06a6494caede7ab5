"""IR passes: each a function IrCFG -> IrCFG in a module of its own, run in PIPELINE order.

`run_pipeline(ir, verify=True)` runs the IR verifier after every pass (COCONUT_VERIFY=1
turns that on in the compile driver; the test suite always sets it). `stop=("after",
name)` or `("before", name)` returns the IR at that point of the pipeline: what
`coconut.dump(f, "ir:after=<name>")` prints.
"""
from __future__ import annotations

from .._record import record
from typing import Callable

from . import dead_code, prune, redundant_loads, refcount


@record(frozen=True)
class Pass:
    name: str
    run: Callable

    @property
    def doc(self) -> str:
        """The pass's one-line summary (the first line of its docstring)."""
        return (self.run.__doc__ or "").strip().splitlines()[0]


# In order. prune_unreachable is required (libgccjit rejects unreachable blocks, and
# the lowering leaves exception handlers unreachable) and comes first: the other passes
# and the verifier look at reachable blocks only.
PIPELINE = (
    Pass("prune_unreachable", prune.prune_unreachable),
    Pass("refcount", refcount.refcount),
    Pass("redundant_loads", redundant_loads.redundant_loads),
    Pass("dead_code", dead_code.dead_code),
)


def pass_names() -> list[str]:
    return [p.name for p in PIPELINE]


def find_pass(name: str) -> Pass:
    """The pass called `name`; ValueError naming the passes otherwise."""
    for p in PIPELINE:
        if p.name == name:
            return p
    raise ValueError(f"no pass named {name!r}; the passes are, in order: "
                     f"{', '.join(pass_names())}")


def run_pipeline(ir, verify: bool = False, stop: tuple[str, str] | None = None):
    """Run the passes in order on `ir`; with `verify`, the verifier after each one.
    `stop`: ("before" | "after", pass name) ends the pipeline there."""
    if stop is not None:
        when, name = stop
        if when not in ("before", "after"):
            raise ValueError(f"stop must be ('before' | 'after', pass name), not {stop!r}")
        find_pass(name)
    for p in PIPELINE:
        if stop == ("before", p.name):
            return ir
        ir = p.run(ir)
        if verify:
            ir.verify()
        if stop == ("after", p.name):
            return ir
    return ir


def stages(ir, verify: bool = True) -> list[tuple[str, str]]:
    """[(label, ir.dump())]: the lowered IR, then the IR after each pass."""
    out = [("lowered", ir.dump())]
    for p in PIPELINE:
        ir = p.run(ir)
        if verify:
            ir.verify()
        out.append((f"after {p.name}", ir.dump()))
    return out
