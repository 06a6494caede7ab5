"""First-call A/B of the suite's benchmarks: each one's pyperf worker (1 loop, 1 value,
0 warm-ups, no spawning) under plain python3 and under `python3 -m coconut` with an
empty compile cache, once per configuration, interleaved; median wall times and their
ratios to plain, and the geometric means. A configuration is environment variables,
and "_root" for another checkout (its runtime library installed):

    python3 scripts/first_call_ab.py ROOT '{"b5": {}, "b10": {"COCONUT_COMPILE_BUDGET": "0.10"}}' \
        ROUNDS scimark deepcopy ...
    python3 scripts/first_call_ab.py ROOT '{"base": {"_root": "/tmp/base"}, "now": {}}' 5 ...

(`python3 -m coconut.suite` measures the same first call, one configuration at a time.)"""
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
ROOT = os.path.abspath(sys.argv[1])
configs = json.loads(sys.argv[2])          # {"name": {"ENV": "value"}}
rounds = int(sys.argv[3])
names = sys.argv[4:]
B = os.path.join(ROOT, "benchmarks", "pyperformance")
res = {n: {"plain": []} | {c: [] for c in configs} for n in names}
for r in range(rounds):
    for n in names:
        script = os.path.join(B, n, "run_benchmark.py")
        args = [script, "--worker", "--loops", "1", "--values", "1", "--warmups", "0"]
        for mode in ["plain"] + list(configs):
            env = dict(os.environ, PYTHONPATH=os.path.abspath(configs.get(mode, {}).get("_root", ROOT)))
            if mode == "plain":
                cmd = [sys.executable] + args
            else:
                env.update({k: v for k, v in configs[mode].items() if k != "_root"})
                env["COCONUT_CACHE_DIR"] = tempfile.mkdtemp()
                cmd = [sys.executable, "-m", "coconut"] + args
            t = time.perf_counter()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(B, n))
            dt = time.perf_counter() - t
            if p.returncode != 0:
                print("FAIL", n, mode, p.stderr[-500:]); dt = float("nan")
            res[n][mode].append(dt)
geo = {c: [] for c in configs}
for n in names:
    p = statistics.median(res[n]["plain"])
    row = [f"{n:26s} plain {p:6.2f}s"]
    for c in configs:
        v = statistics.median(res[n][c]); geo[c].append(p / v)
        row.append(f"{c} {p / v:5.2f}x")
    print("  ".join(row))
print("geomean", "  ".join(f"{c} {math.exp(sum(map(math.log, g)) / len(g)):.3f}x" for c, g in geo.items()))
