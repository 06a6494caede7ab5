"""Compile time and code size over the differential corpus, each function compiled
cold (before it ever ran) with the on-disk cache off:

    PYTHONPATH=. python3 scripts/compile_stats.py

prints the number of functions compiled, the median compile time per function, the
total, and the bytes of machine code per bytecode code unit (issue Speed II, item 5)."""
import glob
import importlib
import os
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ["COCONUT_CACHE"] = "0"

import coconut                      # noqa: E402
from tests import harness           # noqa: E402

_GENERATORS = 0x20 | 0x80 | 0x100 | 0x200


def main() -> None:
    funcs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "corpus", "*.py"))):
        name = os.path.basename(path)[:-3]
        if name.startswith("_"):
            continue
        module = importlib.import_module("tests.corpus." + name)
        funcs += [f for f, _ in harness.corpus_cases(module).values()]
    units = 0
    warnings.simplefilter("ignore")
    for f in funcs:
        if f.__code__.co_flags & _GENERATORS:
            continue
        coconut.compile(f)
        if coconut.is_compiled(f):
            units += len(f.__code__.co_code) // 2
    s = coconut.stats()
    print("functions %d, compile median %.1f ms, total %.1f s, code %d bytes, %.1f bytes "
          "per code unit" % (s["compiled"], s["compile_median_seconds"] * 1e3,
                             s["compile_seconds"], s["code_bytes"], s["code_bytes"] / max(units, 1)))


if __name__ == "__main__":
    main()
