"""dead_code: remove what computes nothing anyone uses, and the jumps to nowhere.

1. A pure op (`effects.PURE`: Assign, Load, BinArith, PtrAdd, LoadLocal) whose result
   no path reads before it is redefined (backward liveness over the CFG, repeated until
   nothing more goes), and `x = x`. A read of a refcount stays (as in refcount.py and
   redundant_loads.py: the passes treat it as something that looks).
2. A SetInstr (`frame->prev_instr = ...`) that nothing can observe before another
   SetInstr or an exit sets the field again: observers are ops that may run Python code
   or release a reference (`effects.may_observe_frame`: a finalizer may look at the
   frame) and Return (a frame object that outlives the call keeps its f_lineno);
   Deopt and ErrorExit set prev_instr themselves.
3. Jump threading: a block with no ops ending in `goto X` is bypassed (its
   predecessors go to X directly); `if (c) goto X else goto X` becomes `goto X`.
4. prune_unreachable (the blocks bypassed by 3).

Invariant: every op with an effect, every branch and every exit stays, in order, and
sees the same values; what goes is either never read or overwritten before it is read.
"""
from __future__ import annotations

from ..ir import ops
from .effects import PURE, may_observe_frame, reads_refcount, uses
from .prune import prune_unreachable

_PARAMETERS = {"tstate", "frame", "throwflag"}


def dead_code(ir):
    """Remove unread pure ops and unobservable SetInstrs, bypass empty goto blocks, prune."""
    _remove_dead_values(ir)
    _remove_dead_set_instr(ir)
    _thread_jumps(ir)
    return prune_unreachable(ir)


class _Block:
    """One block's ops for 1., with what each writes and reads as bit sets (a bit per
    variable name, Python ints: the liveness sets of a big function hold hundreds of
    names, and or-ing ints is much cheaper than uniting sets). Lists, not a tuple per
    op: a compile must not start the cycle collector, and tuples freed into their free
    list leave the collector's allocation count raised (tests/test_gc_clean.py)."""
    __slots__ = ("ops", "writes", "reads", "removable", "gen", "kill")

    def __init__(self, block, bits: dict):
        self.ops = [*block.ops, block.terminator]
        self.writes, self.reads, self.removable = [], [], []
        for op in self.ops:
            read = 0
            for v in uses(op):
                b = bits.get(v.name)
                if b is None:
                    b = bits[v.name] = 1 << len(bits)
                read |= b
            dst = getattr(op, "dst", None)
            written = 0
            if isinstance(dst, ops.Var):
                written = bits.get(dst.name)
                if written is None:
                    written = bits[dst.name] = 1 << len(bits)
            self.writes.append(written)
            self.reads.append(read)
            # 0: never removed; 1: removed when what it writes is dead; 2: always (x = x)
            self.removable.append(
                0 if not isinstance(op, PURE) or reads_refcount(op) else
                2 if isinstance(op, ops.Assign) and op.dst == op.src else
                0 if written and dst.name in _PARAMETERS else 1)
        self.summarize()

    def summarize(self) -> None:
        gen = kill = 0
        for written, read in zip(self.writes, self.reads):
            gen |= read & ~kill
            kill |= written
        self.gen, self.kill = gen, kill


def _remove_dead_values(ir) -> None:
    """1.: backward liveness, remove what is dead, again until nothing more goes.
    Removing an op only takes reads away, so what was dead stays dead: the result is
    the same whatever the order. Each op's reads and writes are found once; a round
    after the first re-summarizes only the blocks that lost an op."""
    order = ir.reverse_postorder()
    succs = {name: ir.successors(name) for name in order}
    bits: dict = {}
    blocks = {name: _Block(ir.blocks[name], bits) for name in order}
    changed_any = True
    while changed_any:
        live_in = {name: blocks[name].gen for name in order}
        changed = True
        while changed:
            changed = False
            for name in reversed(order):
                blk = blocks[name]
                live = 0
                for succ in succs[name]:
                    live |= live_in[succ]
                live = (live & ~blk.kill) | blk.gen
                if live != live_in[name]:
                    live_in[name] = live
                    changed = True
        changed_any = False
        for name in order:
            blk = blocks[name]
            if not any(blk.removable):
                continue
            live = 0
            for succ in succs[name]:
                live |= live_in[succ]
            keep = []
            for i in range(len(blk.ops) - 1, -1, -1):
                written, removable = blk.writes[i], blk.removable[i]
                if removable == 2 or (removable == 1 and not live & written):
                    continue
                live = (live & ~written) | blk.reads[i]
                keep.append(i)
            if len(keep) == len(blk.ops):
                continue
            changed_any = True
            keep.reverse()
            blk.ops = [blk.ops[i] for i in keep]
            blk.writes = [blk.writes[i] for i in keep]
            blk.reads = [blk.reads[i] for i in keep]
            blk.removable = [blk.removable[i] for i in keep]
            blk.summarize()
            ir.blocks[name].ops = blk.ops[:-1]       # without the terminator


def _observed_at_exit(terminator) -> bool:
    """Whether prev_instr may be read after the block's last op, by its terminator."""
    if isinstance(terminator, ops.ErrorExit) and terminator.named:
        return True                    # (the call's prev_instr is the exit's)
    if isinstance(terminator, (ops.Deopt, ops.ErrorExit)):
        return False
    return not isinstance(terminator, (ops.Jump, ops.Branch))    # Return, or unknown


def _remove_dead_set_instr(ir) -> None:
    """2.: backward, "may prev_instr be read before it is set again?"."""
    order = ir.reverse_postorder()
    succs = {name: ir.successors(name) for name in order}
    # What a block does to the question, read from its top: True (it may read
    # prev_instr before setting it), False (it sets it first), None (neither).
    first = {}
    for name in order:
        first[name] = None
        for op in ir.blocks[name].ops:
            if isinstance(op, ops.SetInstr):
                first[name] = False
                break
            if may_observe_frame(op):
                first[name] = True
                break
    observed_in = {name: False for name in order}

    def observed_out(name):
        t = ir.blocks[name].terminator
        if isinstance(t, (ops.Jump, ops.Branch)):
            return any(observed_in[s] for s in succs[name])
        return _observed_at_exit(t)

    changed = True
    while changed:
        changed = False
        for name in reversed(order):
            seen = first[name] if first[name] is not None else observed_out(name)
            if seen != observed_in[name]:
                observed_in[name] = seen
                changed = True
    for name in order:
        block = ir.blocks[name]
        if not any(isinstance(op, ops.SetInstr) for op in block.ops):
            continue
        seen = observed_out(name)
        kept = []
        for op in reversed(block.ops):
            if isinstance(op, ops.SetInstr):
                if not seen:
                    continue
                seen = False
            elif may_observe_frame(op):
                seen = True
            kept.append(op)
        block.ops = kept[::-1]


def _thread_jumps(ir) -> None:
    """3."""
    bypass = {name: b.terminator.target for name, b in ir.blocks.items()
              if name != ir.entry and not b.ops and isinstance(b.terminator, ops.Jump)
              and b.terminator.target != name}

    def final(name: str) -> str:
        seen = set()
        while name in bypass and name not in seen:
            seen.add(name)
            name = bypass[name]
        return name

    for block in ir.blocks.values():
        t = block.terminator
        if isinstance(t, ops.Jump):
            block.terminator = ops.Jump(final(t.target))
        elif isinstance(t, ops.Branch):
            yes, no = final(t.if_true), final(t.if_false)
            block.terminator = ops.Jump(yes) if yes == no else ops.Branch(t.cond, yes, no)
