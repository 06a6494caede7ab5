"""redundant_loads: a Load that reads what an earlier Load already read becomes a copy.

Along an extended basic block (a block and its successors that have it as their only
predecessor, in reverse postorder), `t2 = *(ctype *)(base + offset)` after
`t1 = *(ctype *)(base + offset)` becomes `t2 = t1` when neither `base` nor `t1` was
redefined and nothing in between may have written that memory; the same for
`t2 = localsplus[i]` after `t1 = localsplus[i]`. A read of a refcount (ob_refcnt
through an object) and a Load from a fixed C address (`ops.Address`, e.g. the eval
breaker, which other threads and signal handlers set) stay. What may write memory
(`effects.may_write_memory`): any Store, StoreLocal, Decref (a finalizer), every call
not in `effects.QUIET_CALLS`, any op unknown here. Incref writes only ob_refcnt (a
Load at offset 0 is forgotten), SetInstr only frame->prev_instr (a Load at that
offset is forgotten).

Invariant: the copy holds the value the Load would have read; nothing else changes
(dead_code removes copies that end up unused).
"""
from __future__ import annotations

from ..ir import ops
from ..runtime import layout as L
from .effects import defs, key, may_write_memory, reads_refcount


def redundant_loads(ir):
    """Replace a Load of memory an earlier Load of the same block chain read by a copy."""
    order = ir.reverse_postorder()
    preds = ir.predecessors(order)
    index = {name: i for i, name in enumerate(order)}
    at_end: dict[str, dict] = {}
    for name in order:
        ps = preds[name]
        known = dict(at_end[ps[0]]) if (len(ps) == 1 and name != ir.entry
                                         and index[ps[0]] < index[name]) else {}
        block = ir.blocks[name]
        new_ops = []
        for op in block.ops:
            address = _address(op)
            if address is not None and address in known:
                earlier = known[address]
                if earlier != op.dst:
                    new_ops.append(ops.Assign(op.dst, earlier))
                    _forget_defs(known, op)
                continue
            new_ops.append(op)
            if may_write_memory(op):
                known.clear()
            elif isinstance(op, ops.Incref):
                _forget_offset(known, L.OB_REFCNT)
            elif isinstance(op, ops.SetInstr):
                _forget_offset(known, L.FRAME_PREV_INSTR)
            _forget_defs(known, op)
            if address is not None and op.dst.name not in _base_names(address):
                known[address] = op.dst
        block.ops = new_ops
        at_end[name] = known
    return ir


def _address(op):
    """What a Load or LoadLocal reads, as a hashable key. None for other ops, for a read
    of a refcount (refcount.py keeps those where they are) and for a Load from a fixed C
    address (`&eval_breaker`: other threads and signal handlers write it)."""
    if isinstance(op, ops.Load) and not reads_refcount(op) and not isinstance(op.base, ops.Address):
        return ("field", key(op.base), op.offset, op.dst.ctype)
    if isinstance(op, ops.LoadLocal):
        return ("local", op.index)
    return None


def _base_names(address) -> set:
    if address[0] == "field" and address[1][0] == "var":
        return {address[1][1]}
    return set()


def _forget_offset(known: dict, offset: int) -> None:
    for address in [a for a in known if a[0] == "field" and a[2] == offset]:
        del known[address]


def _forget_defs(known: dict, op) -> None:
    """Forget what was read through, or into, a variable `op` redefines."""
    if not known:
        return
    names = {v.name for v in defs(op)}
    if not names:
        return
    for address, dst in list(known.items()):
        if dst.name in names or _base_names(address) & names:
            del known[address]
