"""prune_unreachable: drop the blocks that cannot be reached from the entry.

Required: libgccjit rejects unreachable blocks, and the lowering leaves exception
handlers (native code never unwinds) and blocks reached only past a deopt behind.
Invariant: the blocks kept, their ops and their edges are unchanged.
"""


def prune_unreachable(ir):
    """Drop the blocks that cannot be reached from the entry."""
    live = set(ir.reverse_postorder())
    for name in [n for n in ir.blocks if n not in live]:
        del ir.blocks[name]
    return ir
