"""What the pass pipeline does to the functions of tests/corpus: ops and blocks before and
after each pass, by kind, summed over every code object there (nested ones too; not
async generators and coroutines with async for/with, which stay interpreted:
harness.interpreted). Each IR is verified after each pass.

    PYTHONPATH=. python3 scripts/pass_stats.py            # cold: compiled before they run
    PYTHONPATH=. python3 scripts/pass_stats.py --warm     # after 10 calls of each case
                                                          # (inline-cache fast paths)
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import glob
import importlib
import io
import os
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from coconut.frontend import BytecodeCFG           # noqa: E402
from coconut.ir import ops                         # noqa: E402
from coconut.lowering import lower, caches         # noqa: E402
from coconut.passes import PIPELINE                # noqa: E402
from tests import harness                          # noqa: E402

def corpus_functions():
    """[(label, function, argument tuples)] of every corpus module's CASES."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "corpus", "*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        if modname.startswith("_"):
            continue
        module = importlib.import_module("tests.corpus." + modname)
        for qualname, (func, arglist) in harness.corpus_cases(module).items():
            out.append((f"{modname}.{qualname}", func, arglist))
    return out


def code_objects(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from code_objects(c)


def warm_up(func, arglist, calls=10):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for _ in range(calls):
            for args in arglist:
                try:
                    func(*copy.deepcopy(args))
                except BaseException:       # noqa: BLE001 - error cases are part of the corpus
                    pass


def count(ir, totals, stage):
    totals[stage]["blocks"] += len(ir.blocks)
    for block in ir.blocks.values():
        totals[stage]["ops"] += len(block.ops)
        for op in block.ops:
            totals[stage][type(op).__name__] += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", action="store_true", help="run each case 10 times first")
    args = parser.parse_args(argv)
    totals = collections.defaultdict(collections.Counter)
    seen, functions = set(), 0
    for label, func, arglist in corpus_functions():
        if args.warm:
            warm_up(func, arglist)
        for code in code_objects(func.__code__):
            if id(code) in seen or harness.interpreted(code):
                continue
            seen.add(id(code))
            functions += 1
            cfg = BytecodeCFG(code)
            ir = lower(cfg, None, caches.snapshot(cfg) if args.warm else {})
            for p in PIPELINE:
                ir = p.run(ir)
                ir.verify()
                count(ir, totals, p.name)
    stages = [p.name for p in PIPELINE]
    kinds = ["blocks", "ops"] + sorted({k for t in totals.values() for k in t} - {"blocks", "ops"})
    print(f"{functions} code objects from tests/corpus ({'warm' if args.warm else 'cold'})")
    width = max(len(s) for s in stages) + 2
    print(f"{'':14}" + "".join(f"{s:>{width}}" for s in stages))
    for k in kinds:
        row = [totals[s][k] for s in stages]
        print(f"{k:14}" + "".join(f"{n:>{width}}" for n in row))
    first, last = totals[stages[0]], totals[stages[-1]]
    for k in ("blocks", "ops", "Incref", "Decref", "SetInstr", "Load", "LoadLocal"):
        if first[k]:
            print(f"{k}: {first[k]} -> {last[k]} ({100 * (last[k] - first[k]) / first[k]:+.1f}%)")


if __name__ == "__main__":
    main()
