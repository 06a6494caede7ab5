"""BytecodeCFG: the basic blocks of one code object, with stack depths and handler edges.

Parsing and stack effects come from the `bytecode` package (`ConcreteBytecode`, whose
instructions keep their sizes, CACHE entries and full arguments). Every instruction is
addressed by its code-unit offset in `co_code` — the same addresses the interpreter
uses in `frame->prev_instr`, so deopt and error exits can name them directly.

Only this module knows about the value stack's depth; later stages ask it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:               # networkx is imported lazily: start-up time of whole-program mode
    import networkx as nx

import dis
import bisect
import functools
import types
from .._record import field, record

from bytecode import ConcreteBytecode

# Instructions after which control never falls through to the next one.
TERMINATORS = frozenset({
    "RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD",
    "JUMP_BACKWARD_NO_INTERRUPT",
})


# Instructions that suspend a generator's frame: the interpreter goes on to the next
# instruction when the generator is resumed, native code returns there and resumes at
# the next instruction, which therefore starts a block (a resume point).
SUSPENDS = frozenset({"YIELD_VALUE", "RETURN_GENERATOR"})



class BytecodeError(Exception):
    """The bytecode is not what the front end can describe (a bug, or unusual input)."""


@record
class Instruction:
    """One bytecode instruction (its EXTENDED_ARG prefix and CACHE entries included)."""
    offset: int               # code unit of the first unit (the EXTENDED_ARG prefix if any)
    size: int                 # code units, prefix and caches included
    name: str
    opcode: int
    arg: int | None           # the full argument
    lineno: int | None
    jump_target: int | None = None      # code-unit offset, for jumps
    depth_before: int | None = None     # None: unreachable
    depth_after: int | None = None      # on fall-through (not taking the jump)
    depth_jump: int | None = None       # when taking the jump

    @property
    def next_offset(self) -> int:
        return self.offset + self.size

    @property
    def is_jump(self) -> bool:
        return self.jump_target is not None

    def __str__(self) -> str:
        arg = "" if self.arg is None else f" {self.arg}"
        tgt = "" if self.jump_target is None else f" -> {self.jump_target}"
        depth = "?" if self.depth_before is None else self.depth_before
        return f"{self.offset:5d} [{depth:>2}] {self.name}{arg}{tgt}"


@record
class HandlerEdge:
    """An entry of the 3.11 exception table: [start, end) unwinds to `target`."""
    start: int
    end: int                  # exclusive, in code units
    target: int
    depth: int                # stack level the handler expects below the exception
    lasti: bool               # whether the handler gets the raising offset pushed


@record
class Block:
    start: int
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def last(self) -> Instruction:
        return self.instructions[-1]

    @property
    def depth(self) -> int | None:
        return self.instructions[0].depth_before


class BytecodeCFG:
    """Basic blocks of `code`, in a networkx DiGraph whose nodes are block start offsets.

    Edge attribute `kind`: "fall", "jump" or "exception" (with the HandlerEdge).
    """

    def __init__(self, code: types.CodeType):
        if not isinstance(code, types.CodeType):
            raise TypeError(f"BytecodeCFG needs a code object, got {type(code).__name__}")
        self.code = code
        concrete = ConcreteBytecode.from_code(code)
        self.instructions: list[Instruction] = _parse(code, concrete)
        self.by_offset = {ins.offset: ins for ins in self.instructions}
        self.handlers = [HandlerEdge(e.start_offset, e.stop_offset + 1, e.target,
                                     e.stack_depth, bool(e.push_lasti))
                         for e in concrete.exception_table]
        self.blocks: dict[int, Block] = self._split_blocks()
        self._compute_depths()

    def block_of(self, offset: int) -> Block:
        """The block holding the instruction at `offset`."""
        starts = self._starts
        return self.blocks[starts[bisect.bisect_right(starts, offset) - 1]]

    @functools.cached_property
    def _starts(self) -> list[int]:
        return sorted(self.blocks)

    def instruction_before(self, offset: int) -> Instruction | None:
        """The instruction that ends where the one at `offset` starts (None: the first)."""
        return self._before.get(offset)

    @functools.cached_property
    def _before(self) -> dict[int, Instruction]:
        return {nxt.offset: ins for ins, nxt in zip(self.instructions, self.instructions[1:])}

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        """The blocks as a networkx DiGraph, built when first asked for (dumps and
        tests): a compile, and a load from the compile cache, never import networkx
        for it (~90 ms)."""
        return self._build_graph()

    # -- construction ------------------------------------------------------------
    def _split_blocks(self) -> dict[int, Block]:
        leaders = {0}
        for ins in self.instructions:
            if ins.is_jump:
                leaders.add(ins.jump_target)
            if ins.is_jump or ins.name in TERMINATORS or ins.name in SUSPENDS:
                leaders.add(ins.next_offset)
        for h in self.handlers:
            leaders.update((h.start, h.end, h.target))
        blocks: dict[int, Block] = {}
        current = None
        for ins in self.instructions:
            if ins.offset in leaders or current is None:
                current = blocks[ins.offset] = Block(ins.offset)
            current.instructions.append(ins)
        return blocks

    def _build_graph(self) -> nx.DiGraph:
        import networkx as nx
        g = nx.DiGraph()
        g.add_nodes_from(self.blocks)
        for start, block in self.blocks.items():
            last = block.last
            if last.is_jump:
                g.add_edge(start, last.jump_target, kind="jump")
            if last.name not in TERMINATORS and last.next_offset in self.blocks:
                g.add_edge(start, last.next_offset, kind="fall")
            h = self.handler_for(start)
            if h is not None:
                g.add_edge(start, h.target, kind="exception", handler=h)
        return g

    def _compute_depths(self) -> None:
        """Propagate stack depths from the entry and the handlers (worklist)."""
        # (compile.c's stackdepth() enters a generator's code at depth 1; here the call
        # starts at 0 and RETURN_GENERATOR pushes the value sent in on the first
        # resumption: _effect. Native code runs the prologue with the real stack.)
        todo = [(0, 0)]
        seen: dict[int, int] = {}
        while todo:
            start, depth = todo.pop()
            if start in seen:
                if seen[start] != depth:
                    raise BytecodeError(
                        f"{self.code.co_name}: block {start} reached with stack depths "
                        f"{seen[start]} and {depth}")
                continue
            seen[start] = depth
            block = self.blocks[start]
            for ins in block.instructions:
                ins.depth_before = depth
                h = self.handler_for(ins.offset)
                if h is not None:
                    todo.append((h.target, h.depth + 1 + int(h.lasti)))
                if ins.is_jump:
                    pre, post = _effect(ins, jump=True)
                    ins.depth_jump = depth + pre + post
                    todo.append((ins.jump_target, ins.depth_jump))
                pre, post = _effect(ins, jump=False)
                if depth + pre < 0:
                    raise BytecodeError(f"{self.code.co_name}: stack underflow at {ins}")
                depth = ins.depth_after = depth + pre + post
                if ins.name in TERMINATORS:
                    break
            else:
                nxt = block.last.next_offset
                if nxt in self.blocks:
                    todo.append((nxt, depth))

    # -- queries -----------------------------------------------------------------
    def handler_for(self, offset: int) -> HandlerEdge | None:
        for h in self.handlers:
            if h.start <= offset < h.end:
                return h
        return None

    @property
    def max_depth(self) -> int:
        return max((d for ins in self.instructions
                    for d in (ins.depth_before, ins.depth_after, ins.depth_jump)
                    if d is not None), default=0)

    def resume_points(self) -> dict[int, int]:
        """{offset of a suspending instruction: the block native code resumes at}
        (the instruction after it): YIELD_VALUE and RETURN_GENERATOR of a generator."""
        return {ins.offset: ins.next_offset for ins in self.instructions
                if ins.name in SUSPENDS and ins.depth_before is not None
                and ins.next_offset in self.blocks}

    def osr_points(self, covered: bool = False) -> list[int]:
        """The loop headers where a running frame may enter native code mid-call (on-stack
        replacement, runtime/osr.py): the targets of backward jumps (JUMP_BACKWARD,
        POP_JUMP_BACKWARD_IF_*; not the `yield from`/`await` loop's) that are reached, and
        that no exception handler covers (on the stock interpreter, the trace function
        that entered raises the exception of the frame's native run at the header, and
        the interpreter looks a handler up there). With `covered`, those inside `try` and
        `with` too: the patched interpreter unwinds such a frame without looking
        (docs/patched-interpreter.md). None in generators and coroutines, whose frames
        live in their objects, nor in code without a RETURN_VALUE."""
        if self.code.co_flags & 0x2a0 or not any(i.name == "RETURN_VALUE" for i in self.instructions):
            return []
        return sorted({ins.jump_target for ins in self.instructions
                       if ins.is_jump and ins.jump_target <= ins.offset
                       and ins.name != "JUMP_BACKWARD_NO_INTERRUPT" and ins.depth_before is not None
                       and ins.jump_target in self.blocks
                       and self.blocks[ins.jump_target].depth is not None
                       and (covered or self.handler_for(ins.jump_target) is None)})

    def reachable_blocks(self) -> list[Block]:
        return [b for b in self.blocks.values() if b.depth is not None]

    # -- dumps -------------------------------------------------------------------
    def dump(self) -> str:
        lines = [f"BytecodeCFG {self.code.co_qualname} "
                 f"(co_stacksize {self.code.co_stacksize}, max depth {self.max_depth})"]
        for start, block in self.blocks.items():
            succ = ", ".join(f"{d}:{self.graph.edges[start, d]['kind']}"
                             for d in sorted(self.graph.successors(start)))
            lines.append(f"block {start} -> [{succ}]")
            lines.extend(f"  {ins}" for ins in block.instructions)
        for h in self.handlers:
            lines.append(f"handler [{h.start}, {h.end}) -> {h.target} depth {h.depth}"
                         f"{' lasti' if h.lasti else ''}")
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        import networkx as nx
        g = nx.DiGraph()
        for start, block in self.blocks.items():
            label = "\\l".join(str(i).replace('"', "'") for i in block.instructions)
            g.add_node(f"b{start}", label=f'"{label}\\l"', shape="box", fontname="monospace")
        for a, b, data in self.graph.edges(data=True):
            style = "dashed" if data["kind"] == "exception" else "solid"
            g.add_edge(f"b{a}", f"b{b}", label=data["kind"], style=style)
        return _to_dot(g, self.code.co_name)


def _effect(ins: Instruction, jump: bool) -> tuple[int, int]:
    """(pops, pushes) as the interpreter really does them.

    3.11's compiler books PRECALL as popping the arguments (-oparg) and CALL as -1,
    but at run time the arguments stay on the stack until CALL pops callable, self
    and arguments. The sum is the same, so co_stacksize is unaffected; native code
    needs the real layout, since CALL reads its arguments from the stack. RETURN_GENERATOR
    (0 for the compiler, which enters a generator's code at depth 1) pushes the value
    sent in on the first resumption: the prologue before it runs on an empty stack."""
    if ins.name == "PRECALL":
        return 0, 0
    if ins.name == "RETURN_GENERATOR":
        return 0, 1            # the value gen_send_ex2 pushes when it resumes the frame
    if ins.name == "CALL":
        return -(ins.arg + 2), 1
    return ins.raw.pre_and_post_stack_effect(jump=jump)  # type: ignore[attr-defined]


def _parse(code: types.CodeType, concrete: ConcreteBytecode) -> list[Instruction]:
    result: list[Instruction] = []
    offset = 0
    pending_caches = None
    for raw in concrete:
        units = raw.size // 2
        if raw.name == "CACHE":
            if pending_caches is None:
                raise BytecodeError(f"{code.co_name}: CACHE entry at {offset} has no owner")
            pending_caches.size += units
            offset += units
            continue
        ins = Instruction(offset, units, raw.name, raw.opcode,
                          raw.arg if raw.name in dis.opmap and raw.opcode >= dis.HAVE_ARGUMENT else None,
                          raw.location.lineno if raw.location else None)
        ins.raw = raw  # type: ignore[attr-defined]
        if raw.has_jump():
            ins.jump_target = raw.get_jump_target(offset)
        result.append(ins)
        pending_caches = ins
        offset += units
    return result


def _to_dot(g: nx.DiGraph, name: str) -> str:
    """Graphviz text without needing pydot/pygraphviz."""
    out = [f'digraph "{name}" {{']
    for n, data in g.nodes(data=True):
        attrs = ", ".join(f"{k}={v}" for k, v in data.items())
        out.append(f"  {n} [{attrs}];")
    for a, b, data in g.edges(data=True):
        attrs = ", ".join(f'{k}="{v}"' for k, v in data.items())
        out.append(f"  {a} -> {b} [{attrs}];")
    out.append("}")
    return "\n".join(out) + "\n"
