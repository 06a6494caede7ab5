"""The share of executed bytecode instructions that ran natively in each benchmark of the
suite (coconut.suite), every function compiled: coconut's own --stats count (compiled-in
counters for native code, a C trace function counting the interpreter's instructions
on the main thread).

    python3 scripts/suite_native_share.py [NAME ...] [--seconds S] [--json FILE]
                                          [--coconut DIR]

For each benchmark: one plain pyperf worker run (`run_benchmark.py --worker --loops 1
--values 1 --warmups 0`) times a loop, then `python3 -m coconut --threshold 0 --sync
--stats-json F run_benchmark.py --worker --loops N --values 3 --warmups 1` runs 4 x N
loops (N: about S seconds of plain time, default 0.5; at least 1) in the benchmark's
directory, start-up and imports
included, on a compile cache of its own (a temporary directory). --coconut DIR runs
the coconut of another checkout (a git worktree of an older commit, with its runtime
library installed) on the same benchmarks: a before/after comparison. Prints per benchmark
the instructions run, the native share, what was not compiled and the deopts; the
last line is the share over all instructions of all benchmarks.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from coconut import suite  # noqa: E402


def _worker_args(loops: int, values: int = 1, warmups: int = 0) -> list[str]:
    return ["--worker", "--loops", str(loops), "--values", str(values), "--warmups", str(warmups)]


# As the suite's steady state: the benchmark's timed function is called more than
# once (whole-program mode compiles code at an entry after the interpreter quickened
# it: a function called once, like a pyperf time function with one value, stays
# interpreted; without OSR its loop never runs natively).
VALUES, WARMUPS = 3, 1


def _env(cache: str, coconut_dir: str = ROOT) -> dict:
    env = dict(os.environ)
    env.pop("COCONUT_JIT", None)
    env["COCONUT_CACHE_DIR"] = cache
    env["PYTHONPATH"] = coconut_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def loop_seconds(bench: dict, env: dict) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "plain.json")
        subprocess.run([sys.executable, bench["script"], *bench["extra"], *_worker_args(1),
                        "-o", out, "--quiet"], cwd=bench["dir"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            data = json.load(f)
    values = [v for b in data["benchmarks"] for r in b["runs"] for v in r.get("values", [])]
    return max(values) if values else 1.0


def measure(bench: dict, seconds: float, cache: str, coconut_dir: str = ROOT) -> dict:
    env = _env(cache, coconut_dir)
    loops = max(1, int(seconds / (VALUES + WARMUPS) / max(loop_seconds(bench, env), 1e-9)))
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "stats.json")
        proc = subprocess.run(
            [sys.executable, "-m", "coconut", "--threshold", "0", "--sync", "--stats-json", stats,
             bench["script"], *bench["extra"], *_worker_args(loops, VALUES, WARMUPS), "-o", os.path.join(tmp, "o.json"),
             "--quiet"], cwd=bench["dir"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        if proc.returncode:
            return {"name": bench["name"], "loops": loops, "error": proc.stderr[-2000:]}
        with open(stats) as f:
            s = json.load(f)
    return {"name": bench["name"], "loops": loops, "native": s["instructions_native"],
            "interpreted": s["instructions_interpreted"], "share": s["native_share"],
            "not_compiled": s["not_compiled_reasons"], "deopts": s["deopts"],
            "compiled": s["compiled"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME")
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--json")
    ap.add_argument("--coconut", default=ROOT, metavar="DIR",
                    help="the checkout whose coconut runs (default: this one)")
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="coconut-share-") as cache:
        for bench in suite.resolve(args.names or None):
            r = measure(bench, args.seconds, os.path.join(cache, bench["name"]),
                        os.path.abspath(args.coconut))
            results.append(r)
            if "error" in r:
                print(f"{r['name']:26s} FAILED\n{r['error']}", flush=True)
                continue
            total = r["native"] + r["interpreted"]
            print(f"{r['name']:26s} {total:>13,} instructions ({r['loops']} loops), natively "
                  f"{100 * r['share']:5.1f}%; compiled {r['compiled']}, not compiled "
                  f"{sum(r['not_compiled'].values())}", flush=True)
            for reason, n in list(r["not_compiled"].items())[:4]:
                print(f"{'':30s}not compiled {n:4d}  {reason}")
            for reason, n in list(r["deopts"].items())[:4]:
                print(f"{'':30s}deopts {n:8d}  {reason[:100]}")
    ok = [r for r in results if "error" not in r]
    native = sum(r["native"] for r in ok)
    total = native + sum(r["interpreted"] for r in ok)
    if total:
        print(f"{'all':26s} {total:>13,} instructions, natively {100 * native / total:5.1f}% "
              f"(geometric mean of the shares: "
              f"{100 * _geomean([r['share'] for r in ok]):.1f}%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if len(ok) < len(results) else 0


def _geomean(xs):
    import math
    return math.exp(sum(math.log(max(x, 1e-12)) for x in xs) / len(xs)) if xs else 0.0


if __name__ == "__main__":
    sys.exit(main())
