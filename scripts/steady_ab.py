"""Steady-state A/B of the suite's benchmarks with every function compiled: each one's
pyperf worker under `python3 -m coconut --threshold 0 --sync`, once per configuration
(environment variables), interleaved over ROUNDS rounds, with a warm compile cache per
configuration (its first round is dropped: it compiles). Prints per benchmark the
median time per loop of each configuration and its ratio to the first one, and the
geometric mean of the ratios.

    python3 scripts/steady_ab.py '{"inline": {}, "no_inline": {"COCONUT_INLINE": "0"}}' \\
        ROUNDS scimark barnes_hut ...

(`python3 -m coconut.suite` measures against plain python3, one configuration at a
time; this compares configurations of coconut with each other.)"""
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(ROOT, "benchmarks", "pyperformance")
# benchmarks whose loop is long: fewer loops per value
LOOPS = {"bpe_tokeniser": 1, "mdp": 1, "tomli_loads": 1, "pprint": 1, "async_tree": 1,
         "barnes_hut": 1, "scimark": 1}


def run(name: str, env: dict) -> list[float]:
    script = os.path.join(B, name, "run_benchmark.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        args = [sys.executable, "-m", "coconut", "--threshold", "0", "--sync", script,
                "--worker", "--loops", str(LOOPS.get(name, 20)), "--values", "3",
                "--warmups", "1", "-o", out]
        r = subprocess.run(args, env={**os.environ, "PYTHONPATH": ROOT, **env},
                           capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise SystemExit(f"{name} {env}: {r.stderr[-2000:]}")
        with open(out) as f:
            data = json.load(f)
    values = []
    for bench in data["benchmarks"]:
        part = [v for run_ in bench["runs"] for v in run_.get("values", [])]
        values.append(statistics.median(part))
    return values                     # one median per part of the benchmark


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main():
    configs = json.loads(sys.argv[1])
    rounds = int(sys.argv[2])
    names = sys.argv[3:]
    caches = {c: tempfile.mkdtemp(prefix=f"steady-ab-{c}-") for c in configs}
    res = {n: {c: [] for c in configs} for n in names}
    for r in range(rounds + 1):
        for n in names:
            order = list(configs) if r % 2 == 0 else list(reversed(configs))
            for c in order:
                env = {**configs[c], "COCONUT_CACHE_DIR": caches[c]}
                parts = run(n, env)
                if r:                 # the first round compiles: dropped
                    res[n][c].append(parts)
        print(f"round {r} done", file=sys.stderr, flush=True)
    base = list(configs)[0]
    logs = {c: [] for c in configs}
    print(f"{'benchmark':28}" + "".join(f"{c:>16}" for c in configs))
    for n in names:
        meds = {c: [statistics.median(p[i] for p in res[n][c]) for i in range(len(res[n][c][0]))]
                for c in configs}
        line = f"{n:28}"
        for c in configs:
            ratio = math.exp(statistics.mean(math.log(b / x) for b, x in zip(meds[base], meds[c])))
            logs[c].append(math.log(ratio))
            line += f"{_time(sum(meds[c])):>10} {ratio:4.2f}x"[-16:]
        print(line)
    print(f"{'geometric mean (vs ' + base + ')':28}" +
          "".join(f"{math.exp(statistics.mean(logs[c])):15.3f}x" for c in configs))


if __name__ == "__main__":
    main()
