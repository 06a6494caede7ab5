"""Drop the blocks that cannot be reached from the entry (libgccjit rejects them)."""


def prune_unreachable(ir):
    import networkx as nx   # lazily: start-up time of whole-program mode
    live = nx.descendants(ir.graph, ir.entry) | {ir.entry}
    for name in [n for n in ir.blocks if n not in live]:
        del ir.blocks[name]
    return ir
