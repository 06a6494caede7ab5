"""IrCFG: IR blocks in a networkx DiGraph (nodes are block names), a verifier, a dump."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:               # networkx is imported lazily: start-up time of whole-program mode
    import networkx as nx

from .._record import field, record


from . import ops


class IrVerifyError(Exception):
    """Malformed IR: a bug in the compiler itself, caught before libgccjit sees it."""


@record
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
        self.site_caches = 0       # ops.SiteCache slots the code uses
        self.inlined: list[IrCFG] = []   # the IR of each callee inlined (lowering/inline.py)
        self.inline_refused: str | None = None   # lowered to be inlined: why it is not worth it
        # lowered to be inlined: its returns that box a double (inline.float_return)
        self.float_return: dict | None = None

    def inlined_codes(self) -> list:
        """The code objects of the callees inlined, nested ones too."""
        return [c for callee in self.inlined for c in [callee.code] + callee.inlined_codes()]

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

    def reverse_postorder(self) -> list[str]:
        """The blocks reachable from the entry, each after its predecessors except
        along back edges (successors visited in terminator order: deterministic)."""
        blocks, successors = self.blocks, self.successors
        order, seen = [], {self.entry}
        stack = [(self.entry, iter(successors(self.entry)))]
        push, pop, visit = stack.append, stack.pop, order.append
        while stack:
            name, it = stack[-1]
            for succ in it:
                if succ not in seen and succ in blocks:
                    seen.add(succ)
                    push((succ, iter(successors(succ))))
                    break
            else:
                pop()
                visit(name)
        order.reverse()
        return order

    def successors(self, name: str) -> list[str]:
        """The distinct successors of block `name`, in terminator order."""
        t = self.blocks[name].terminator
        kind = type(t)
        if kind is ops.Jump:
            return [t.target]
        if kind is ops.Branch:
            return [t.if_true] if t.if_true == t.if_false else [t.if_true, t.if_false]
        if kind is ops.Deopt or kind is ops.ErrorExit or kind is ops.Return:
            return []
        return list(dict.fromkeys(t.successors())) if t is not None else []

    def cold_blocks(self) -> set[str]:
        """The blocks from which every path leaves native code through a deopt or an
        error exit, never a return or a loop back: the unlikely side of a branch (the
        back end tells gcc, which lays the hot path out in one piece)."""
        order = self.reverse_postorder()
        cold: set[str] = set()
        exits = (ops.Deopt, ops.ErrorExit)
        changed = True
        while changed:
            changed = False
            for name in reversed(order):           # successors first, mostly
                if name in cold:
                    continue
                succs = self.successors(name)
                if isinstance(self.blocks[name].terminator, exits) or \
                        (succs and all(s in cold for s in succs)):
                    cold.add(name)
                    changed = True
        return cold

    def predecessors(self, order: list[str] | None = None) -> dict[str, list[str]]:
        """{block: its distinct predecessors among the reachable blocks}, in reverse
        postorder (`order`: the reverse postorder, when the caller has it)."""
        preds: dict[str, list[str]] = {}
        for name in order if order is not None else self.reverse_postorder():
            preds.setdefault(name, [])
            for succ in self.successors(name):
                preds.setdefault(succ, []).append(name)
        return preds

    def variables(self) -> dict[str, ops.Var]:
        found: dict[str, ops.Var] = {}
        var = ops.Var
        for block in self.blocks.values():
            for item in [*block.ops, block.terminator]:
                for value in _values(item):
                    if type(value) is var and value.name not in found:
                        found[value.name] = value
        return found

    def verify(self, dataflow: bool = True) -> None:
        """Raise IrVerifyError unless: there is an entry; every block ends in one
        terminator (and has none inside); edges go to existing blocks; each variable has
        one known C type; Incref, Decref, Return and exit stacks take objects; every
        block is reachable; and (`dataflow`) every variable read is written on every
        path from the entry before (`tstate` and `frame` are the parameters). No
        networkx here: a compile does not import it (~75 ms); `graph` is for dumps."""
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
                for value in _objects(item):
                    if getattr(value, "ctype", None) != "obj":
                        raise IrVerifyError(f"{self.name}: {block.name}: `{item}` needs an "
                                            f"object, {value} is {value.ctype}")
        unreachable = set(self.blocks) - set(self.reverse_postorder())
        if unreachable:
            raise IrVerifyError(f"{self.name}: unreachable blocks {sorted(unreachable)}")
        if dataflow:
            self._verify_defined()

    def _verify_defined(self) -> None:
        """Every variable read is written on every path from the entry before."""
        order = self.reverse_postorder()
        preds = self.predecessors(order)
        everything = None                  # the top of the lattice: "all variables"
        out: dict[str, set | None] = {name: everything for name in order}
        changed = True
        while changed:
            changed = False
            for name in order:
                defined = self._defined_in(name, preds, out)
                for item in self.blocks[name].ops:
                    defined |= _writes(item)
                if out[name] is None or defined != out[name]:
                    out[name] = defined
                    changed = True
        for name in order:
            defined = self._defined_in(name, preds, out)
            block = self.blocks[name]
            for item in [*block.ops, block.terminator]:
                missing = sorted(_reads(item) - defined)
                if missing:
                    raise IrVerifyError(f"{self.name}: {block.name}: `{item}` reads "
                                        f"{', '.join(missing)}, not written on every path "
                                        f"from the entry")
                defined |= _writes(item)

    def _defined_in(self, name: str, preds: dict, out: dict) -> set:
        if name == self.entry:
            return set(PARAMETERS)
        sets = [out[p] for p in preds[name] if out[p] is not None]
        return set.intersection(*sets) if sets else set(PARAMETERS)

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


_VALUE_TYPES = (ops.Var, ops.IntConst, ops.FloatConst, ops.ObjConst, ops.Address, ops.SiteCache,
                ops.UnitAddress)


PARAMETERS = ("tstate", "frame", "throwflag")   # the native entry's (backend/gcc.py)


def _reads(item) -> set:
    """The variables an op or terminator reads (a variable passed by address is written,
    by the callee, not read)."""
    return {v.name for name, field in operand_items(item)
            if not (name == "dst" and isinstance(field, ops.Var))
            for v in field_values(field, by_address=False) if isinstance(v, ops.Var)}


def _writes(item) -> set:
    """The variables an op writes: its `dst`, and those passed by address."""
    out = {v.var.name for v in _values(item) if isinstance(v, ops.AddressOf)}
    dst = getattr(item, "dst", None)
    if isinstance(dst, ops.Var):
        out.add(dst.name)
    return out


def _objects(item) -> list:
    """The operands that must be objects: of Incref, Decref, Return, and the stacks
    that Deopt and ErrorExit spill."""
    if isinstance(item, (ops.Incref, ops.Decref)):
        return [item.value]
    if isinstance(item, ops.Return):
        return [item.value]
    if isinstance(item, (ops.Deopt, ops.ErrorExit)):
        return list(item.stack)
    return []


# Field annotations of ops that never hold an operand (names, offsets, flags): the
# fields read by operand_fields() are the others. tests/test_passes_props.py checks,
# over the corpus's IR, that no operand is ever found outside them.
_NOT_OPERANDS = frozenset({"str", "int", "bool", "float", "int | None", "str | None"})
_OPERAND_FIELDS: dict = {}


def operand_fields(cls) -> tuple:
    """The names of the fields of op class `cls` that may hold operands (values, tuples
    of values, a Cond), in field order: every field but its names, offsets and flags.
    The passes and the verifier ask this for every op of every compile, so it is
    computed once per class (a class that is not a record, coconut/_record.py: all its attributes)."""
    names = _OPERAND_FIELDS.get(cls)
    if names is None:
        fields = getattr(cls, "__record_fields__", None)
        if fields is None:
            return None
        names = _OPERAND_FIELDS[cls] = tuple(
            name for name, f in fields.items() if f.type not in _NOT_OPERANDS)
    return names


def operand_items(item):
    """(name, value) of the fields of `item` that may hold operands."""
    names = operand_fields(type(item))
    if names is None:
        return vars(item).items()
    return [(name, getattr(item, name)) for name in names]


def _values(item) -> list:
    """Every operand of an op or terminator (for the verifier and the back end)."""
    if item is None:
        return []
    return [v for _, field in operand_items(item) for v in field_values(field)]


def field_values(value, by_address: bool = True) -> list:
    """The values in one field of an op: a value, a tuple of values, a Cond's two; an
    AddressOf and (`by_address`) its variable."""
    kind = type(value)                 # (the exact type first: the common case, cheaper)
    if kind in _VALUE_TYPE_SET or isinstance(value, _VALUE_TYPES):
        return [value]
    if kind is tuple or isinstance(value, tuple):
        return [x for v in value for x in field_values(v, by_address)]
    if isinstance(value, ops.AddressOf):
        return [value, value.var] if by_address else [value]
    if isinstance(value, ops.Cond):
        return field_values(value.a) + field_values(value.b)
    return []


_VALUE_TYPE_SET = frozenset(_VALUE_TYPES)
