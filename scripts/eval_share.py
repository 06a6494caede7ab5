"""How much of each benchmark's time plain python3 spends interpreting, and so how much
faster any JIT that only replaces the interpreter could make it:

    python3 scripts/eval_share.py [BENCHMARK ...]      # needs perf

For each benchmark of the suite (coconut.suite.BENCHMARKS, with the options
pyperformance gives it), one plain pyperf worker
per part runs under `perf record`; the share of samples in `_PyEval_EvalFrameDefault` itself is
the time the interpreter spends dispatching and executing bytecode (its own code, not
the C functions it calls: dict lookups, allocation, str methods, ...). A compiler that
removed that time entirely, and changed nothing else, would run the benchmark
1 / (1 - share) times faster (Amdahl's law): the "bound" column. Compiled code does
more than that only where it also removes work the runtime does for the interpreter:
boxing floats and ints (PyFloat_FromDouble, float_dealloc, ... — listed as "boxing"),
frames and calls (shown as "frames"). The rest is the program's own work in the C
runtime, which no bytecode compiler removes without changing how the data is
represented (inlining into callers, unboxed containers, escape analysis).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from coconut import suite           # noqa: E402  (the benchmark list, each one's options)

# Loops per value so that a value takes a few hundred ms under plain python3.
LOOPS = {"scimark": 1, "barnes_hut": 1, "crypto_pyaes": 10, "meteor_contest": 8,
         "deepcopy": 2000, "comprehensions": 30000, "bpe_tokeniser": 1, "mdp": 1,
         "regex_compile": 6, "tomli_loads": 1, "pprint": 1, "logging": 100000,
         "typing_runtime_protocols": 1500, "async_tree": 1, "async_generators": 2}
# Benchmarks of several pyperf parts (each a worker task, as the suite reports them).
PARTS = {"scimark": 5, "deepcopy": 3, "logging": 3, "pprint": 2}
EVAL = {"_PyEval_EvalFrameDefault"}
BOXING = {"PyFloat_FromDouble", "float_dealloc", "PyLong_FromLong", "PyLong_FromSsize_t",
          "_PyLong_New", "long_dealloc"}
FRAMES = {"_PyFrame_Clear", "_PyEvalFramePushAndInit", "_PyEval_Vector", "initialize_locals",
          "_PyFunction_Vectorcall", "_PyThreadState_PopFrame", "_PyEvalFrameClearAndPop",
          "_PyFrame_New_NoTrack", "frame_dealloc"}


def profile(name: str, task: int = 0) -> dict[str, float]:
    """{symbol: share of samples} of one plain worker of `name` running part `task`."""
    b = suite.bench_info(name)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        cmd = ["perf", "record", "-q", "-F", "999", "-o", data, "--", sys.executable,
               b["script"], *b["extra"], "--worker", "--loops", str(LOOPS.get(name, 1)),
               "--values", "4", "--warmups", "1", "-p", "1", f"--worker-task={task}"]
        subprocess.run(cmd, cwd=b["dir"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort",
                                 "sym", "--stdio", "--percent-limit", "0.01"],
                                capture_output=True, text=True, check=True).stdout
    shares = {}
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
        if m:
            shares[m.group(2)] = shares.get(m.group(2), 0.0) + float(m.group(1)) / 100
    return shares


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("benchmarks", nargs="*", default=[name for name, _ in suite.BENCHMARKS])
    args = p.parse_args(argv)
    print("| benchmark | interpreter | boxing | frames | bound (interpreter gone) |")
    print("|---|---:|---:|---:|---:|")
    bounds = []
    for name in args.benchmarks:
        parts = [profile(name, task) for task in range(PARTS.get(name, 1))]
        n = len(parts)
        ev = sum(v for s in parts for k, v in s.items() if k in EVAL) / n
        box = sum(v for s in parts for k, v in s.items() if k in BOXING) / n
        fr = sum(v for s in parts for k, v in s.items() if k in FRAMES) / n
        bound = 1.0                    # (several parts: the geometric mean of theirs)
        for s in parts:
            bound *= 1 / (1 - sum(v for k, v in s.items() if k in EVAL))
        bound **= 1 / n
        bounds.append(bound)
        print(f"| {name} | {100 * ev:.1f}% | {100 * box:.1f}% | {100 * fr:.1f}% | {bound:.2f}x |",
              flush=True)
    if bounds:
        g = 1.0
        for b in bounds:
            g *= b
        print(f"| **geometric mean** | | | | **{g ** (1 / len(bounds)):.2f}x** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
