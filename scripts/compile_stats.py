"""Compile time and code size over the differential corpus, with the on-disk cache off:

    PYTHONPATH=. python3 scripts/compile_stats.py          # each function cold
    PYTHONPATH=. python3 scripts/compile_stats.py --warm   # after a warm-up

prints the number of functions compiled, the median compile time per function, the
total, and the bytes of machine code per bytecode code unit (issue Speed II, item 5).
Cold: compiled before it ever ran (as `--threshold 0`: no feedback, every fast path
for every type). Warm: compiled after its corpus cases ran in the interpreter (as in
whole-program mode, which compiles code the interpreter has quickened)."""
import contextlib
import copy
import glob
import importlib
import io
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
        funcs += list(harness.corpus_cases(module).values())
    units = 0
    warm = "--warm" in sys.argv[1:]
    warnings.simplefilter("ignore")
    for f, cases in funcs:
        if f.__code__.co_flags & _GENERATORS:
            continue
        if warm:
            for _ in range(harness.WARMUP_CALLS):
                for args in cases:
                    with contextlib.redirect_stdout(io.StringIO()), \
                            contextlib.redirect_stderr(io.StringIO()):
                        try:
                            f(*copy.deepcopy(args))
                        except BaseException:
                            pass
        coconut.compile(f)
        if coconut.is_compiled(f):
            units += len(f.__code__.co_code) // 2
    s = coconut.stats()
    print("functions %d, compile median %.1f ms, total %.1f s, code %d bytes, %.1f bytes "
          "per code unit" % (s["compiled"], s["compile_median_seconds"] * 1e3,
                             s["compile_seconds"], s["code_bytes"], s["code_bytes"] / max(units, 1)))


if __name__ == "__main__":
    main()
