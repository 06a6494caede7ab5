"""Whole programs under several interpreters and JIT settings, interleaved.

    python3 scripts/interp_ab.py [--rounds R] [--names a,b] [--cold] CONFIG...

CONFIG is NAME=PYTHON[,VAR=VALUE...][,coconut]: the interpreter to run, environment
variables for it, and `coconut` for `PYTHON -m coconut SCRIPT` (whole-program mode,
its default settings) instead of `PYTHON SCRIPT`. The programs are coconut.bench's
(`--programs`: numeric loops, recursion, calls, methods, attributes, containers,
generators, exceptions, pattern matching, json, text, parsing). Every round
runs every program once in every configuration (the order rotates); a configuration
with coconut first runs each program once, untimed, with its own compile cache
(unless --cold: an empty cache for every run), so that the timed runs are what a
second run of the program sees. Prints, per program, the median wall time of the
first configuration and each other's ratio to it (> 1: faster), with the geometric
mean; outputs are checked equal across configurations.

Used for docs/patched-interpreter.md, e.g.

    python3 scripts/interp_ab.py --rounds 3 stock=/path/stock/python3 \\
        patched=/path/patched/python3 stock+jit=/path/stock/python3,coconut \\
        patched+jit=/path/patched/python3,coconut \\
        patched+hook=/path/patched/python3,COCONUT_ENTRY=hook,coconut
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def parse_config(text):
    name, _, rest = text.partition("=")
    parts = rest.split(",")
    python, env, jit = parts[0], {}, False
    for p in parts[1:]:
        if p == "coconut":
            jit = True
        else:
            k, _, v = p.partition("=")
            env[k] = v
    return name, python, env, jit


class _Named:
    def __init__(self, name):
        self.name = name


def main(argv=None):
    from coconut.bench import program_scripts
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--names", default="")
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--quick", action="store_true", help="the programs' small sizes")
    args = ap.parse_args(argv)
    configs = [parse_config(c) for c in args.configs]
    names = [n for n in args.names.split(",") if n]
    work = tempfile.mkdtemp(prefix="interp-ab-")
    scripts, programs = {}, []
    for name, _, source in program_scripts(names or None, args.quick):
        path = os.path.join(work, name + ".py")
        with open(path, "w") as f:
            f.write(source)
        scripts[name] = path
        programs.append(_Named(name))
    caches = {name: os.path.join(work, "cache-" + name.replace("/", "_")) for name, *_ in configs}

    def run(cfg, prog):
        name, python, env, jit = cfg
        e = dict(os.environ)
        e.pop("COCONUT_JIT", None)
        e["PYTHONPATH"] = REPO
        e.update(env)
        e["COCONUT_CACHE_DIR"] = tempfile.mkdtemp(dir=work) if args.cold else caches[name]
        cmd = [python] + (["-m", "coconut"] if jit else []) + [scripts[prog]]
        t = time.perf_counter()
        out = subprocess.run(cmd, env=e, capture_output=True, text=True, cwd=work)
        dt = time.perf_counter() - t
        if out.returncode:
            raise SystemExit(f"{name} {prog} failed:\n{out.stderr[-2000:]}")
        return dt, out.stdout

    if not args.cold:
        for cfg in configs:
            if cfg[3]:
                for p in programs:
                    run(cfg, p.name)
    times = {(c[0], p.name): [] for c in configs for p in programs}
    outputs = {}
    for r in range(args.rounds):
        for i, p in enumerate(programs):
            k = (r + i) % len(configs)
            for cfg in configs[k:] + configs[:k]:
                dt, out = run(cfg, p.name)
                times[(cfg[0], p.name)].append(dt)
                if outputs.setdefault(p.name, out) != out:
                    raise SystemExit(f"{cfg[0]} {p.name}: the output differs")
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    base = configs[0][0]
    head = ["program", f"{base} s"] + [c[0] for c in configs[1:]]
    rows, logs = [], {c[0]: [] for c in configs[1:]}
    for p in programs:
        b = statistics.median(times[(base, p.name)])
        row = [p.name, f"{b:.2f}"]
        for c in configs[1:]:
            ratio = b / statistics.median(times[(c[0], p.name)])
            logs[c[0]].append(math.log(ratio))
            row.append(f"{ratio:.2f}x")
        rows.append(row)
    rows.append(["**geometric mean**", ""] + [f"**{math.exp(sum(v) / len(v)):.2f}x**"
                                             for v in logs.values()])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
