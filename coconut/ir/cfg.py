"""IrCFG: IR blocks in a networkx DiGraph (nodes are block names), a verifier, a dump."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:               # networkx is imported lazily: start-up time of whole-program mode
    import networkx as nx

from dataclasses import dataclass, field


from . import ops


class IrVerifyError(Exception):
    """Malformed IR: a bug in the compiler itself, caught before libgccjit sees it."""


@dataclass
class IrBlock:
    name: str
    ops: list = field(default_factory=list)
    terminator: object = None
    comment: str = ""          # e.g. the bytecode instruction this block starts

    def __str__(self) -> str:
        head = f"{self.name}:" + (f"    ; {self.comment}" if self.comment else "")
        body = [f"    {op}" for op in self.ops]
        body.append(f"    {self.terminator}")
        return "\n".join([head] + body)


class IrCFG:
    def __init__(self, name: str, nlocalsplus: int, code=None):
        self.name = name
        self.code = code
        self.nlocalsplus = nlocalsplus
        self.blocks: dict[str, IrBlock] = {}
        self.entry: str | None = None

    def new_block(self, name: str, comment: str = "") -> IrBlock:
        base, n = name, 1
        while name in self.blocks:
            n += 1
            name = f"{base}.{n}"
        block = self.blocks[name] = IrBlock(name, comment=comment)
        if self.entry is None:
            self.entry = name
        return block

    @property
    def graph(self) -> nx.DiGraph:
        import networkx as nx
        g = nx.DiGraph()
        g.add_nodes_from(self.blocks)
        for name, block in self.blocks.items():
            t = block.terminator
            kind = "branch" if isinstance(t, ops.Branch) else "jump"
            for succ in (t.successors() if t is not None else []):
                g.add_edge(name, succ, kind=kind)
        return g

    def variables(self) -> dict[str, ops.Var]:
        found: dict[str, ops.Var] = {}
        for block in self.blocks.values():
            for item in [*block.ops, block.terminator]:
                for value in _values(item):
                    if isinstance(value, ops.Var):
                        found.setdefault(value.name, value)
        return found

    def verify(self) -> None:
        import networkx as nx
        if self.entry not in self.blocks:
            raise IrVerifyError(f"{self.name}: no entry block")
        types: dict[str, str] = {}
        for block in self.blocks.values():
            if not isinstance(block.terminator, ops.TERMINATORS):
                raise IrVerifyError(f"{self.name}: block {block.name} has no terminator")
            for op in block.ops:
                if isinstance(op, ops.TERMINATORS):
                    raise IrVerifyError(f"{self.name}: terminator {op} inside {block.name}")
            for succ in block.terminator.successors():
                if succ not in self.blocks:
                    raise IrVerifyError(f"{self.name}: {block.name} jumps to missing {succ}")
            for item in [*block.ops, block.terminator]:
                for value in _values(item):
                    if isinstance(value, ops.Var):
                        if value.ctype not in ops.CTYPES:
                            raise IrVerifyError(f"{value} has unknown C type {value.ctype}")
                        if types.setdefault(value.name, value.ctype) != value.ctype:
                            raise IrVerifyError(f"{value} used as {types[value.name]} "
                                                f"and {value.ctype}")
        unreachable = set(self.blocks) - nx.descendants(self.graph, self.entry) - {self.entry}
        if unreachable:
            raise IrVerifyError(f"{self.name}: unreachable blocks {sorted(unreachable)}")

    def dump(self) -> str:
        lines = [f"IrCFG {self.name} (nlocalsplus {self.nlocalsplus}, "
                 f"{len(self.blocks)} blocks, entry {self.entry})"]
        lines.extend(str(b) for b in self.blocks.values())
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        import networkx as nx
        from ..frontend.bytecode_cfg import _to_dot
        g = nx.DiGraph()
        for name, block in self.blocks.items():
            label = "\\l".join(str(block).replace('"', "'").splitlines())
            g.add_node(_dot_id(name), label=f'"{label}\\l"', shape="box", fontname="monospace")
        for a, b, data in self.graph.edges(data=True):
            g.add_edge(_dot_id(a), _dot_id(b), **data)
        return _to_dot(g, self.name)


def _dot_id(name: str) -> str:
    return '"' + name + '"'


_VALUE_TYPES = (ops.Var, ops.IntConst, ops.ObjConst, ops.Address)


def _values(item) -> list:
    """Every operand of an op or terminator (for the verifier and the back end)."""
    if item is None:
        return []
    out = []
    for value in vars(item).values():
        if isinstance(value, _VALUE_TYPES):
            out.append(value)
        elif isinstance(value, ops.AddressOf):
            out.extend((value, value.var))
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, _VALUE_TYPES))
        elif isinstance(value, ops.Cond):
            out.extend(_values(value))
    return out
