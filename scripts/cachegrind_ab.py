"""Deterministic A/B of compiled code: cachegrind's counts instead of wall time.

    python3 scripts/cachegrind_ab.py 'ENV=1 ...' SCRIPT ARGS_A ARGS_B

runs `python3 SCRIPT ARGS_A` and `python3 SCRIPT ARGS_B` under valgrind's cachegrind
(with the variables of the first argument set) and prints the difference B - A of the
instructions executed, the instruction- and data-cache misses (L1 and last level) and
the mispredicted branches, and a cycle estimate from them (Ir + 12 x L1 misses + 150 x
LL misses + 15 x mispredicts: a rough weighting, for comparing variants). SCRIPT runs
a benchmark's loop ARGS times after its warm-up, so B - A is the loops alone, without
start-up, imports and compiles. This machine is shared and its wall-clock times vary
by +-30% from run to run; these counts do not (two runs agree within 0.5%).

A first run under valgrind fills the compile cache: valgrind's CPU is another machine
for the cache key, so code compiled outside it is not reused. Restrict what is
compiled (COCONUT_ONLY=...) to keep that short.

The driver used for regex_compile in docs/benchmarks.md:

    import sys
    sys.path.insert(0, 'benchmarks/pyperformance/regex_compile')
    import run_benchmark as rb
    regexes = rb.capture_regexes()
    rb.bench_regex_compile(3, regexes)
    rb.bench_regex_compile(int(sys.argv[1]), regexes)
"""
import os
import re
import shlex
import subprocess
import sys

PY = os.path.realpath(sys.executable)


def run(envs: str, script: str, arg: str) -> dict:
    env = dict(os.environ)
    for kv in shlex.split(envs):
        k, v = kv.split("=", 1)
        env[k] = v
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
                          "--cachegrind-out-file=/dev/null", PY, script] + arg.split(),
                         env=env, capture_output=True, text=True).stderr

    def get(name):
        return int(re.search(name + r":\s+([\d,]+)", out).group(1).replace(",", ""))
    return dict(I=get("I   refs"), I1=get("I1  misses"), D1=get("D1  misses"),
                LL=get("LL misses"), BM=get("Mispredicts"))


def main() -> None:
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    envs, script, a, b = sys.argv[1:5]
    run(envs, script, a)               # fills the compile cache
    ra, rb = run(envs, script, a), run(envs, script, b)
    d = {k: rb[k] - ra[k] for k in ra}
    cycles = d["I"] + 12 * d["I1"] + 12 * d["D1"] + 150 * d["LL"] + 15 * d["BM"]
    print(f"Ir {d['I'] / 1e6:8.1f}M  I1mr {d['I1'] / 1e6:6.2f}M  D1mr {d['D1'] / 1e6:6.2f}M  "
          f"LLmr {d['LL'] / 1e6:5.2f}M  mispred {d['BM'] / 1e6:6.2f}M  "
          f"est.cycles {cycles / 1e6:8.1f}M  [{envs}]")


if __name__ == "__main__":
    main()
