"""refcount: cancel an Incref against a later Decref of the same object when nothing
between them can release a reference or look at a refcount.

The lowering writes reference counting as the interpreter does it: LOAD_FAST is
`x = localsplus[i]; incref x`, and the instruction that consumes x ends with
`decref x`. When nothing between those two can free x or observe its count, the pair
is a no-op. This pass *sinks* each Incref: takes it out of the code and carries it
forward as a pending incref, and puts it back ("materializes" it) right before the
first thing that needs it:

* a **barrier** (`effects.may_release`): a Decref of another value (it could be the
  same object), StoreLocal, a Store of an object, a call not in `effects.QUIET_CALLS`
  (it may run Python code), a Load of ob_refcnt, any op this pass does not know:
  every pending incref is put back before it;
* a **Decref of the same value**: both vanish. A pending incref knows every variable
  that holds its object (`y = x` adds `y`; redefining a variable removes it), and a
  Decref of any of them cancels it;
* an op that redefines the **last variable** holding the object: the incref is put back
  before it;
* an **exit** (Return, Deopt, ErrorExit): put back before it (the exit's stack owns
  the references it spills, Return its value);
* an **edge**: into a successor whose only predecessor is this block it goes on; into
  a join (several predecessors, none through a back edge) only the increfs pending on
  every incoming edge go on, under the variables that hold them on all of them; the
  others are put back on their edge: at the end of the predecessor when it ends in a
  `goto`, else in a new block on the edge (`<join>.incref`). Nothing goes on into a
  loop header: every edge into it puts its increfs back.
* At a join whose predecessors all end in `goto`, a Decref at its head (before any
  other op) is first moved to the end of each predecessor when one of them has its
  value pending: it cancels there and stays a Decref in the others. Both places are
  the same point of the execution; it only duplicates the Decref.

Invariant: on every path, the refcounts at each barrier and at each exit are those
of the lowered code. Between, an object with a pending incref has one reference less
than the lowering wrote, which nothing can see: nothing in between can free it (no
Decref, no Python code, no GIL release) or read its count. Increfs only move later
and vanish only with a Decref of the same object; every other op stays in place and
in order.
"""
from __future__ import annotations

import itertools

from .._record import replace
from ..ir import ops
from .effects import defs, key, may_release

# A pending incref: (origin, names). `origin` numbers the Incref op it came from (two
# edges carrying the same origin carry the same incref); `names` are the values that
# hold its object here (Vars, or the ObjConst itself), the first one the oldest.


def refcount(ir):
    """Cancel Incref/Decref pairs with nothing between them that could free the object or read its count."""
    order = ir.reverse_postorder()
    index = {name: i for i, name in enumerate(order)}
    preds = ir.predecessors(order)
    origins = itertools.count()
    on_edge: dict[tuple[str, str], list] = {}      # (pred, succ) -> pending increfs
    for name in order:
        block = ir.blocks[name]
        incoming = {p: on_edge.pop((p, name), []) for p in preds[name]}
        if name == ir.entry or any(index[p] >= index[name] for p in preds[name]):
            state = []                              # the entry, or a loop header
        elif len(incoming) == 1:
            state = next(iter(incoming.values()))
        else:
            if all(isinstance(ir.blocks[p].terminator, ops.Jump) for p in incoming):
                _hoist_decrefs(ir, block, incoming)
            state = _meet(list(incoming.values()))
        kept = {origin for origin, _ in state}
        for p, items in incoming.items():
            _put_back_on_edge(ir, p, name, [it for it in items if it[0] not in kept])

        new_ops: list = []
        for op in block.ops:
            state = _step(op, state, new_ops, origins)
        block.ops = new_ops
        succs = ir.successors(name)
        if not succs or not isinstance(block.terminator, (ops.Jump, ops.Branch)):
            new_ops.extend(_increfs(state))          # an exit (or a terminator unknown here)
            state = []
        for succ in succs:
            if index[succ] <= index[name]:          # a back edge
                _put_back_on_edge(ir, name, succ, state)
            else:
                on_edge[(name, succ)] = list(state)
    return ir


def _step(op, state: list, out: list, origins) -> list:
    """Sink `op` if it is an Incref, cancel it if it is a Decref of a pending value,
    else emit it (with what it needs put back before it). Returns the new state."""
    if isinstance(op, ops.Incref) and isinstance(op.value, (ops.Var, ops.ObjConst)):
        return state + [(next(origins), (op.value,))]
    if not state:                   # nothing pending: nothing to cancel, put back or rename
        out.append(op)
        return state
    if isinstance(op, ops.Decref):
        i = _find(state, op.value)
        if i is not None:
            return state[:i] + state[i + 1:]
    if may_release(op):
        out.extend(_increfs(state))
        out.append(op)
        return []
    if isinstance(op, ops.Assign) and key(op.dst) == key(op.src):
        out.append(op)
        return state
    killed = {key(v) for v in defs(op)}
    new_state = []
    for origin, names in state:
        left = tuple(n for n in names if key(n) not in killed)
        if left:
            new_state.append((origin, left))
        else:
            out.append(ops.Incref(names[0]))    # its last holder is about to change
    out.append(op)
    if isinstance(op, ops.Assign) and isinstance(op.src, (ops.Var, ops.ObjConst)):
        src = key(op.src)
        new_state = [(origin, names + (op.dst,)) if any(key(n) == src for n in names)
                     else (origin, names) for origin, names in new_state]
    return new_state


def _find(state: list, value) -> int | None:
    """The index of the latest pending incref of `value`'s object, or None."""
    k = key(value)
    for i in range(len(state) - 1, -1, -1):
        if any(key(n) == k for n in state[i][1]):
            return i
    return None


def _increfs(items) -> list:
    return [ops.Incref(names[0]) for _, names in items]


def _meet(edges: list[list]) -> list:
    """The increfs pending on every edge, under the names they have on all of them."""
    out = []
    for origin, names in edges[0]:
        for other in edges[1:]:
            match = next((n for o, n in other if o == origin), None)
            if match is None:
                names = ()
                break
            keys = {key(n) for n in match}
            names = tuple(n for n in names if key(n) in keys)
        if names:
            out.append((origin, names))
    return out


def _put_back_on_edge(ir, pred: str, succ: str, items: list) -> None:
    """Materialize `items` on the edge pred -> succ."""
    if not items:
        return
    block = ir.blocks[pred]
    t = block.terminator
    if isinstance(t, ops.Jump):
        block.ops.extend(_increfs(items))
        return
    assert isinstance(t, ops.Branch), t
    edge = ir.new_block(f"{succ}.incref")
    edge.ops = _increfs(items)
    edge.terminator = ops.Jump(succ)
    block.terminator = replace(
        t, if_true=edge.name if t.if_true == succ else t.if_true,
        if_false=edge.name if t.if_false == succ else t.if_false)


def _hoist_decrefs(ir, join, incoming: dict) -> None:
    """Move the Decrefs at the head of `join` (all of whose predecessors end in `goto
    join`) to the end of each predecessor, while one of them has the value pending:
    there they cancel; in the others they stay Decrefs."""
    while join.ops and isinstance(join.ops[0], ops.Decref):
        decref = join.ops[0]
        if all(_find(items, decref.value) is None for items in incoming.values()):
            return
        for pred, items in incoming.items():
            i = _find(items, decref.value)
            if i is not None:
                del items[i]
            else:
                ir.blocks[pred].ops.extend(_increfs(items) + [replace(decref)])
                items.clear()
        join.ops.pop(0)
