"""IR passes: each a function IrCFG -> IrCFG, run in PIPELINE order."""
from .prune import prune_unreachable

# The required passes, in order. (libgccjit rejects unreachable blocks.)
PIPELINE = [prune_unreachable]


def run_pipeline(ir, verify: bool = False):
    for pass_ in PIPELINE:
        ir = pass_(ir)
        if verify:
            ir.verify()
    return ir
