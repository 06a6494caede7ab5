"""Drop the blocks that cannot be reached from the entry (libgccjit rejects them)."""
import networkx as nx


def prune_unreachable(ir):
    live = nx.descendants(ir.graph, ir.entry) | {ir.entry}
    for name in [n for n in ir.blocks if n not in live]:
        del ir.blocks[name]
    return ir
