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
    while _remove_dead_values(ir):
        pass
    _remove_dead_set_instr(ir)
    _thread_jumps(ir)
    return prune_unreachable(ir)


def _summary(block) -> tuple[set, set, list]:
    """(variables the block reads before writing them, variables it writes, [ops and
    terminator, the name of the variable each writes or None, the names each reads]).
    Three parallel lists, not a tuple per op: a compile must not start the cycle
    collector, and tuples freed into their free list leave the collector's allocation
    count raised (tests/test_gc_clean.py)."""
    gen: set = set()
    kill: set = set()
    items: list = [[*block.ops, block.terminator], [], []]
    for op in items[0]:
        read = [v.name for v in uses(op)]
        gen.update(v for v in read if v not in kill)
        dst = getattr(op, "dst", None)
        written = dst.name if isinstance(dst, ops.Var) else None
        if written is not None:
            kill.add(written)
        items[1].append(written)
        items[2].append(read)
    return gen, kill, items


def _remove_dead_values(ir) -> bool:
    """One round of 1.; whether anything was removed."""
    order = ir.reverse_postorder()
    succs = {name: ir.successors(name) for name in order}
    summary = {name: _summary(ir.blocks[name]) for name in order}
    live_in: dict[str, set] = {name: set(summary[name][0]) for name in order}
    changed = True
    while changed:
        changed = False
        for name in reversed(order):
            gen, kill, _ = summary[name]
            live = set()
            for succ in succs[name]:
                live |= live_in[succ]
            live -= kill
            live |= gen
            if len(live) != len(live_in[name]):
                live_in[name] = live
                changed = True
    removed = False
    for name in order:
        block = ir.blocks[name]
        live: set = set()
        for succ in succs[name]:
            live |= live_in[succ]
        kept = []
        all_ops, writes, reads = summary[name][2]
        for op, written, read in zip(reversed(all_ops), reversed(writes), reversed(reads)):
            if isinstance(op, PURE) and not reads_refcount(op) and (
                    (isinstance(op, ops.Assign) and op.dst == op.src)
                    or (written not in live and written not in _PARAMETERS)):
                removed = True
                continue
            live.discard(written)
            live.update(read)
            kept.append(op)
        block.ops = kept[:0:-1]        # without the terminator, in order
    return removed


def _observed_at_exit(terminator) -> bool:
    """Whether prev_instr may be read after the block's last op, by its terminator."""
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
