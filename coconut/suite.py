"""The benchmark suite: real pyperformance benchmarks, plain python3 vs coconut.

    python3 -m coconut.suite [NAME ...] [--quick] [--repeat N] [options]

The benchmarks are pyperformance's own, vendored unmodified in
benchmarks/pyperformance/ (see its README). Each one is run the way pyperf runs it:
`python3 run_benchmark.py -o out.json ...` is pyperf's master process, which spawns
worker processes that time the benchmark. The master always runs plain; the JIT
reaches the workers through the environment, as it reaches the subprocesses of
`python3 -m coconut` (COCONUT_JIT=1 and coconut-jit.pth, coconut/startup.py): pyperf
starts its workers with `--python WRAPPER`, a two-line shell script that sets the
mode's variables and execs python3. Three modes, each against plain python3 in the
same run:

  all      every code object compiled on its first call, on the program's thread:
           COCONUT_JIT=1 COCONUT_THRESHOLD=0 COCONUT_BACKGROUND=0, which is what
           `python3 -m coconut --threshold 0 --sync` puts in the environment;
           steady state: pyperf's warmups and values;
  default  `python3 -m coconut`'s default (COCONUT_JIT=1 alone: the default
           threshold, background compiles), steady state;
  first    the first run: one process, `python3 -m coconut run_benchmark.py
           --worker --loops 1 --values 1 --warmups 0` (pyperf's worker, no
           spawning) with COCONUT_CACHE_DIR an empty temporary directory, wall
           time against the same process under plain python3 (--first-call all
           uses `--threshold 0 --sync` instead of the default).

ratio = plain time / coconut time (> 1: coconut is faster). Steady state: medians
of all of pyperf's values of a mode over the rounds; first call: the median wall
time. Runs are interleaved: every round runs every benchmark once in each mode (the
order of the modes rotates from round to round). The range beside a ratio comes
from the interquartile ranges of the times: Q1(plain)/Q3(coconut) to
Q3(plain)/Q1(coconut), over all rounds. A benchmark with several pyperf benchmarks
(scimark has five) gets the geometric mean of theirs.

Before a benchmark's first timed run in a JIT mode, the compile cache
(COCONUT_CACHE_DIR or ~/.cache/coconut) is filled, so that the timed workers load
compiled code instead of timing gcc: in mode all by one worker process (pyperf's
loop calibration, `--worker --calibrate-loops`; one loop of a slow benchmark), in
mode default by a whole pyperf run whose values are discarded (what reaches the
threshold, and the state of the interpreter's specialization that is part of the
cache key, depend on how long a process has run). A crash there or in a timed run
is a compiler bug: the suite reports the command that reproduces it. Each
benchmark's result is also checked: a small deterministic
computation of the benchmark's own functions (CHECKS) is printed under plain
python3 and under `python3 -m coconut --threshold 0 --sync -c ...`; the outputs
must be equal.

The JIT is verified, not assumed: a sitecustomize.py put on PYTHONPATH writes
coconut.stats() of every process at exit (COCONUT_SUITE_STATS); a JIT-mode worker
without the JIT, or a plain worker with it, makes that ratio void. The tables give
the code objects compiled per worker process (median).

Default settings (about 25 minutes for the whole suite on 2 shared cores, with a
cold compile cache, as after every change of coconut): 2 rounds of pyperf runs with
1 process, 3 values, 1 warmup each (6 values per mode and pyperf benchmark, from 2
processes, plus pyperf's loop calibration in a process of its own), first call
twice; benchmarks whose loop takes more than 0.5 s under plain python3 (here:
barnes_hut, bpe_tokeniser, mdp, tomli_loads, pprint, async_tree) 1 value of 1 loop
per process, without calibration. --quick: one round, 1 value, three small
benchmarks unless named, and the JIT modes compile only the benchmarks' own code
(COCONUT_ONLY), so that it takes a minute or two even with a cold cache: a smoke
run, its numbers mean little.

--also NAME=PYTHON (repeatable) adds another interpreter, e.g. the patched one
(cpython.patch): its workers run plain and in the two steady JIT modes, in the same
rounds, interleaved with python3's; a table of its own gives NAME's plain time
against python3's and coconut on NAME against NAME plain and against python3 (no
first-call mode and no result check on it). `make bench-patched` runs the suite so.

A whole run (no NAME, no --quick) writes its section of docs/benchmarks.md and
docs/benchmarks.png; raw results go to build/suite/results.json (--json), and
--from-json re-renders them without running anything.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(ROOT, "benchmarks", "pyperformance")

# (name, counted): a benchmark not counted gets its own row, outside the means (none
# now: async_generators counts since async generators are compiled).
BENCHMARKS = [
    ("scimark", True),
    ("barnes_hut", True),
    ("crypto_pyaes", True),
    ("meteor_contest", True),
    ("deepcopy", True),
    ("comprehensions", True),
    ("bpe_tokeniser", True),
    ("mdp", True),
    ("regex_compile", True),
    ("tomli_loads", True),
    ("pprint", True),
    ("logging", True),
    ("typing_runtime_protocols", True),
    ("async_tree", True),
    ("async_generators", True),
    ("generators", True),
    ("coroutines", True),
]
QUICK_BENCHMARKS = ["comprehensions", "crypto_pyaes", "typing_runtime_protocols"]
NOT_COUNTED_NOTE = "outside the means"

STEADY_MODES = ("plain", "all", "default")
JIT_MODES = ("all", "default")


def other_modes(name):
    """The steady modes of an extra interpreter NAME (--also NAME=PYTHON): plain,
    and the two JIT modes, on that interpreter."""
    return tuple("%s:%s" % (name, m) for m in STEADY_MODES)


def split_mode(mode):
    """(extra interpreter's name or None, the mode proper) of a mode."""
    name, _, base = mode.rpartition(":")
    return name or None, base
MODE_TITLES = {
    "all": "all compiled, steady",
    "default": "default, steady",
    "first": "first call, cold cache",
}
SLOW_LOOP = 0.5          # seconds per loop of plain python3: one loop per value


# Deterministic computations of each benchmark's own functions; `m` is the benchmark
# module (run_benchmark.py imported under another name, so its __main__ part does not
# run); each sets `result`, whose repr must be the same under plain python3 and
# under the JIT.
CHECKS = {
    "scimark": """
from array import array
G = m.Random(7).RandomMatrix(m.Array2D(12, 12))
m.SOR_execute(1.25, G, 4, m.Array2D)
A = m.Random(7).RandomMatrix(m.ArrayList(12, 12))
lu = m.ArrayList(12, 12)
pivot = array('i', [0]) * 12
m.LU(lu, A, pivot)
x = m.Random(7).RandomVector(64)
m.FFT_transform(64, x)
fft = list(x)
m.FFT_inverse(64, x)
row = array('i', range(0, 101, 5))
col = array('i', [(i * 7) % 20 for i in range(100)])
val = array('d', [i / 7 for i in range(100)])
xs = array('d', [i * 0.5 for i in range(20)])
ys = array('d', [0.0]) * 20
m.SparseCompRow_matmult(20, ys, val, row, col, xs, 2)
result = (list(G.data), [list(r) for r in lu.data], list(pivot), fft, list(x), list(ys),
          m.MonteCarlo(5000))
""",
    "barnes_hut": """
ps = m.create_deterministic_galaxy(60, 500, 400)
e0 = m.calculate_system_energy(ps)
for _ in range(4):
    m.advance_system(ps, 0.5, m.TIME_STEP, 1000, 800)
result = (e0, m.calculate_system_energy(ps),
          [(p.position.x, p.position.y, p.velocity.x, p.velocity.y) for p in ps])
""",
    "crypto_pyaes": """
import hashlib
c = m.pyaes.AESModeOfOperationCTR(m.KEY).encrypt(m.CLEARTEXT[:4096])
p = m.pyaes.AESModeOfOperationCTR(m.KEY).decrypt(c)
result = (hashlib.sha256(c).hexdigest(), p == m.CLEARTEXT[:4096])
""",
    "meteor_contest": """
board, cti, pieces = m.get_puzzle(m.WIDTH, m.HEIGHT)
fps = m.get_footprints(board, cti, pieces)
se_nh = m.get_senh(board, cti)
solutions = []
m.solve(20, 0, frozenset(range(len(board))), [-1] * len(board), list(range(len(pieces))),
        solutions, fps, se_nh)
result = solutions
""",
    "deepcopy": """
import copy
a = {'list': [1, 2, 3, 43], 't': (1, 2, 3), 'str': 'hello', 'subdict': {'a': True}}
dc = m.A('hello', [1, 2, 3], True)
A = [1] * 100
data = {'a': (A, A, A), 'b': [A] * 100}
d = copy.deepcopy(data)
result = (copy.deepcopy(a), repr(copy.deepcopy(dc)), d == data, d['a'][0] is d['b'][5],
          d['a'][0] is not A)
""",
    "comprehensions": """
result = [w.widget_id for w in m.WidgetTray(1, m.make_some_widgets()).sorted_widgets]
""",
    "bpe_tokeniser": """
import pathlib
path = pathlib.Path(m.__file__).parent / "data" / "frankenstein_intro.txt"
data = path.read_text(encoding="utf8")[:3000]
pat = r\"\"\"'s|'t|'re|'ve|'m|'ll|'d| ?[a-zA-Z]+| ?\\d+| ?[^\\sa-zA-Z\\d]+|\\s+(?!\\S)|\\s+\"\"\"
enc = m.SimpleBytePairEncoding.train(data, vocab_size=300, pat_str=pat)
toks = enc.encode(data)
result = (sorted(enc.mergeable_ranks.items(), key=lambda kv: kv[1])[256:], toks,
          enc.decode(toks) == data)
""",
    "mdp": """
result = m.Battle().evaluate(0.5)
""",
    "regex_compile": """
import re
regexes = m.capture_regexes()
out = []
for r, f in regexes:
    re.purge()
    c = re.compile(r, f)
    out.append((c.pattern, c.flags, c.groups, sorted(c.groupindex.items())))
result = (len(regexes), out)
""",
    "tomli_loads": """
import hashlib, json
d = m.tomli.loads(m.DATA_FILE.read_text('utf-8'))
result = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()
""",
    "pprint": """
import hashlib
s = m.p.pformat(m.printable[:3000])
result = (hashlib.sha256(s.encode()).hexdigest(), m.p._safe_repr(m.printable[:50], {}, None, 0))
""",
    "logging": """
import io, logging
stream = io.StringIO()
handler = logging.StreamHandler(stream=stream)
logger = logging.getLogger("coconut_suite_check")
logger.propagate = False
logger.addHandler(handler)
logger.setLevel(logging.WARNING)
out = []
for bench in (m.bench_silent, m.bench_simple_output, m.bench_formatted_output):
    bench(5, logger, stream)
    out.append(stream.getvalue())
result = out
""",
    "typing_runtime_protocols": """
protocols = [m.HasX, m.HasManyAttributes, m.SupportsInt, m.SupportsManyMethods,
             m.SupportsIntAndX]
classes = (m.Empty, m.PropertyX, m.HasIntMethod, m.HasManyMethods, m.PropertyXWithInt,
           m.ClassVarX, m.ClassVarXWithInt, m.InstanceVarX, m.ManyInstanceVars,
           m.InstanceVarXWithInt, m.NominalX, m.NominalSupportsInt, m.NominalXWithInt)
instances = [cls() for cls in classes]
result = [[isinstance(i, p) for i in instances] for p in protocols]
""",
    "async_tree": """
import asyncio
t = m.NoneAsyncTree()
asyncio.run(t.run())
result = ("done", len(t.cache))
""",
    "async_generators": """
import asyncio
async def collect():
    return [i async for i in m.tree(range(2000))]
r = asyncio.run(collect())
result = (r == list(range(2000)), sum(r))
""",
    "generators": """
t = m.tree(range(3000))
result = (list(t) == list(range(3000)), sum(t), sum(1 for _ in t))
""",
    "coroutines": """
c = m.fibonacci(16)
try:
    while True:
        c.send(None)
except StopIteration as e:
    result = e.value
""",
}

# Runs one CHECKS entry: argv = [script, code].
CHECK_RUNNER = """\
import importlib.util, os, sys
script, code = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(script))
spec = importlib.util.spec_from_file_location("coconut_suite_bm", script)
m = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = m
spec.loader.exec_module(m)
ns = {"m": m}
exec(compile(code, "<check>", "exec"), ns)
print(repr(ns["result"]))
"""

# Put on PYTHONPATH of every process the suite starts: writes what coconut did in
# this process to $COCONUT_SUITE_STATS/<pid>.json at exit.
SITECUSTOMIZE = """\
# Written by coconut.suite: coconut's statistics of this process, at exit.
import atexit as _atexit
import os as _os
import sys as _sys


def _coconut_suite_stats(directory=_os.environ.get("COCONUT_SUITE_STATS", "")):
    if not directory or not _os.path.isdir(directory):
        return
    import json
    rec = {"pid": _os.getpid(), "argv": list(_sys.argv), "coconut": False,
           "version": _sys.version}
    coconut = _sys.modules.get("coconut")
    if coconut is not None and hasattr(coconut, "stats"):
        try:
            st = coconut.stats()
        except Exception as exc:
            rec["error"] = repr(exc)
        else:
            deopts = st.get("deopts") or {}
            reasons = {}
            for why in (st.get("not_compiled") or {}).values():
                reasons[why] = reasons.get(why, 0) + 1
            rec.update(
                coconut=st.get("threshold") is not None,
                threshold=st.get("threshold"),
                compiled=st.get("compiled", 0),
                failed=st.get("failed", 0),
                compile_seconds=st.get("compile_seconds", 0.0),
                cache_hits=st.get("cache_hits", 0),
                cache_misses=st.get("cache_misses", 0),
                deopts=sum(deopts.values()),
                deopt_reasons=dict(sorted(deopts.items(), key=lambda kv: -kv[1])[:5]),
                not_compiled_reasons=dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:5]),
            )
    try:
        with open(_os.path.join(directory, "%d.json" % _os.getpid()), "w") as f:
            json.dump(rec, f)
    except OSError:
        pass


_atexit.register(_coconut_suite_stats)
"""

# Variables the suite sets itself; others (COCONUT_CACHE_DIR, COCONUT_OPT, ...) are
# passed on as they are.
_OWN_VARS = ("COCONUT_JIT", "COCONUT_THRESHOLD", "COCONUT_BACKGROUND", "COCONUT_ONLY",
             "COCONUT_SKIP", "COCONUT_SUITE_STATS")


class SuiteError(Exception):
    pass


# ---------------------------------------------------------------------------- maths

def geomean(values):
    """Geometric mean of positive numbers (None for none)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if any(v <= 0 for v in values):
        raise ValueError("geometric mean of non-positive values: %r" % (values,))
    return math.exp(sum(math.log(v) for v in values) / len(values))


def quartiles(values):
    """(Q1, median, Q3) of values (linear interpolation, as statistics.quantiles
    with method='inclusive')."""
    values = sorted(values)
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def ratio_summary(plain_rounds, jit_rounds):
    """Ratio plain / jit of the medians over all rounds, and its spread.

    plain_rounds, jit_rounds: one list of times per round (a round in which either
    failed is None, and left out of both). Returns (ratio, low, high) or None; the
    spread is that of the interquartile ranges: Q1(plain)/Q3(jit) to
    Q3(plain)/Q1(jit), over the values of all rounds (it always holds the ratio)."""
    pairs = [(p, j) for p, j in zip(plain_rounds, jit_rounds) if p and j]
    if not pairs:
        return None
    p1, pm, p3 = quartiles([v for p, _ in pairs for v in p])
    j1, jm, j3 = quartiles([v for _, j in pairs for v in j])
    return pm / jm, p1 / j3, p3 / j1


def combine(summaries):
    """Geometric means of several (ratio, low, high) (a benchmark's parts)."""
    summaries = [s for s in summaries if s is not None]
    if not summaries:
        return None
    return tuple(geomean([s[i] for s in summaries]) for i in range(3))


# ---------------------------------------------------------------------- benchmarks

def bench_info(name, bench_dir=None):
    """Where a benchmark lives and how pyperformance runs it (extra_opts)."""
    bench_dir = bench_dir or BENCH_DIR
    counted = dict(BENCHMARKS)
    if name not in counted:
        raise SuiteError("unknown benchmark %r (known: %s)" % (name, ", ".join(n for n, _ in BENCHMARKS)))
    d = os.path.join(bench_dir, name)
    script = os.path.join(d, "run_benchmark.py")
    if not os.path.isfile(script):
        raise SuiteError("%s: %s is missing (benchmarks/pyperformance/README.md)" % (name, script))
    extra = []
    pyproject = os.path.join(d, "pyproject.toml")
    if os.path.isfile(pyproject):
        import tomllib
        with open(pyproject, "rb") as f:
            tool = tomllib.load(f).get("tool", {}).get("pyperformance", {})
        extra = list(tool.get("extra_opts", []))
    return {"name": name, "dir": d, "script": script, "extra": extra,
            "counted": counted[name], "check": CHECKS.get(name)}


def resolve(names=None, quick=False, bench_dir=None):
    """The benchmarks to run, in suite order."""
    if not names:
        names = QUICK_BENCHMARKS if quick else [n for n, _ in BENCHMARKS]
    order = [n for n, _ in BENCHMARKS]
    for n in names:
        if n not in order:
            raise SuiteError("unknown benchmark %r (known: %s)" % (n, ", ".join(order)))
    return [bench_info(n, bench_dir) for n in sorted(set(names), key=order.index)]


# ------------------------------------------------------------------------- running

class Runner:
    """Runs the suite; results are plain JSON-able dicts (see `run`)."""

    def __init__(self, opts, log=None):
        self.opts = opts
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.t0 = time.monotonic()
        self.work = tempfile.mkdtemp(prefix="coconut-suite-")
        self.support = os.path.join(self.work, "site")
        os.makedirs(self.support)
        with open(os.path.join(self.support, "sitecustomize.py"), "w") as f:
            f.write(SITECUSTOMIZE)
        self.counter = 0
        base = {k: v for k, v in os.environ.items() if k not in _OWN_VARS}
        if opts.cache_dir:
            base["COCONUT_CACHE_DIR"] = os.path.abspath(opts.cache_dir)
        paths = [self.support, ROOT] + [p for p in base.get("PYTHONPATH", "").split(os.pathsep)
                                        if p and os.path.abspath(p) != ROOT]
        base["PYTHONPATH"] = os.pathsep.join(paths)
        self.base_env = base
        self.only = re.escape(os.path.join(opts.bench_dir, "")) if opts.quick else None
        self.pythons = dict(getattr(opts, "also", None) or ())

    def python_of(self, mode):
        """The interpreter a mode's workers run on."""
        name, _ = split_mode(mode)
        return self.pythons[name] if name else sys.executable

    def close(self):
        if not self.opts.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            self.log("kept temporary files in %s" % self.work)

    def elapsed(self):
        return (time.monotonic() - self.t0) / 60

    def newdir(self, label):
        self.counter += 1
        d = os.path.join(self.work, "%04d-%s" % (self.counter, label))
        os.makedirs(d)
        return d

    def mode_env(self, mode):
        """The COCONUT_* variables of a mode."""
        _, mode = split_mode(mode)
        env = {"COCONUT_JIT": "0" if mode == "plain" else "1"}
        if mode == "all":
            env.update(COCONUT_THRESHOLD="0", COCONUT_BACKGROUND="0")
        if mode != "plain" and self.only:
            env["COCONUT_ONLY"] = self.only
        return env

    def wrapper(self, d, mode, stats_dir):
        """A python3 for pyperf's --python: the mode's environment, then python3 (or
        the mode's extra interpreter).
        (pyperf gives its workers only a few variables of its own environment: the
        wrapper adds the mode's, and the COCONUT_* ones of the suite's, such as
        COCONUT_CACHE_DIR or COCONUT_OPT.)"""
        env = {k: v for k, v in self.base_env.items() if k.startswith("COCONUT_")}
        env.update(self.mode_env(mode), COCONUT_SUITE_STATS=stats_dir,
                   PYTHONPATH=self.base_env["PYTHONPATH"])
        path = os.path.join(d, "python-%s" % mode.replace(":", "-"))
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
            for k, v in sorted(env.items()):
                f.write("export %s=%s\n" % (k, shlex.quote(v)))
            f.write("exec %s \"$@\"\n" % shlex.quote(self.python_of(mode)))
        os.chmod(path, 0o755)
        return path

    def run_process(self, argv, env, cwd, timeout=None):
        t = time.perf_counter()
        try:
            proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout or self.opts.timeout)
        except subprocess.TimeoutExpired as exc:
            return {"rc": "timeout", "seconds": time.perf_counter() - t,
                    "stdout": (exc.stdout or b"").decode(errors="replace"),
                    "stderr": (exc.stderr or b"").decode(errors="replace")}
        return {"rc": proc.returncode, "seconds": time.perf_counter() - t,
                "stdout": proc.stdout.decode(errors="replace"),
                "stderr": proc.stderr.decode(errors="replace")}

    @staticmethod
    def read_stats(stats_dir):
        out = []
        for fn in sorted(os.listdir(stats_dir)):
            if fn.endswith(".json"):
                try:
                    with open(os.path.join(stats_dir, fn)) as f:
                        out.append(json.load(f))
                except (OSError, ValueError):
                    pass
        return out

    @staticmethod
    def repro(env_vars, argv, cwd):
        env = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(env_vars.items()))
        args = " ".join(shlex.quote(a) for a in argv)
        return "cd %s && %s%s" % (shlex.quote(os.path.relpath(cwd, ROOT)), env + " " if env else "",
                                  args.replace(shlex.quote(sys.executable), "python3", 1))

    def failure(self, mode, what, res, env_vars, argv, cwd):
        tail = (res["stderr"] or res["stdout"]).strip().splitlines()[-40:]
        return {"mode": mode, "what": what, "rc": res["rc"],
                "command": self.repro(env_vars, argv, cwd), "output": "\n".join(tail)}

    # -- the three kinds of runs

    def worker_argv(self, b, python, output=None):
        argv = [python, b["script"]] + b["extra"] + ["--worker", "--loops", "1", "--values", "1",
                                                     "--warmups", "0"]
        if output:
            argv += ["-o", output]
        return argv

    def first_call(self, b, which):
        """One cold first run: `which` is 'plain' or 'jit'."""
        d = self.newdir("%s-first-%s" % (b["name"], which))
        stats_dir = os.path.join(d, "stats")
        os.makedirs(stats_dir)
        out = os.path.join(d, "out.json")
        env = dict(self.base_env, COCONUT_SUITE_STATS=stats_dir)
        shown = {}
        argv = self.worker_argv(b, sys.executable, out)
        if which == "jit":
            cache = os.path.join(d, "cache")
            os.makedirs(cache)
            flags = ["--threshold", "0", "--sync"] if self.opts.first_call == "all" else []
            argv = argv[:1] + ["-m", "coconut"] + flags + argv[1:]
            shown = {"COCONUT_CACHE_DIR": "$(mktemp -d)"}
            env["COCONUT_CACHE_DIR"] = cache
            if self.only:
                env["COCONUT_ONLY"] = shown["COCONUT_ONLY"] = self.only
        res = self.run_process(argv, env, b["dir"])
        rec = {"seconds": res["seconds"], "error": None, "stats": self.read_stats(stats_dir),
               "values": {}}
        if res["rc"] != 0:
            rec["error"] = self.failure("first" if which == "jit" else "plain",
                                        "first call (%s)" % which, res, shown, argv, b["dir"])
        else:
            rec["values"] = load_pyperf(out)
        return rec

    def prewarm(self, b, mode, loops1):
        """One worker run in a JIT mode, to fill the compile cache: pyperf's loop
        calibration (it calls what a timed worker calls), or one loop of a slow
        benchmark."""
        d = self.newdir("%s-prewarm-%s" % (b["name"], mode.replace(":", "-")))
        stats_dir = os.path.join(d, "stats")
        os.makedirs(stats_dir)
        argv = self.worker_argv(b, self.wrapper(d, mode, stats_dir))
        if not loops1:
            argv = argv[:argv.index("--worker") + 1] + [
                "--calibrate-loops", "--values", str(self.opts.values),
                "--min-time", str(self.opts.min_time)]
        res = self.run_process(argv, self.base_env, b["dir"])
        rec = {"seconds": res["seconds"], "error": None, "stats": self.read_stats(stats_dir)}
        if res["rc"] != 0:
            rec["error"] = self.failure(mode, "%s: one worker run" % mode, res, self.mode_env(mode),
                                        [self.python_of(mode)] + argv[1:], b["dir"])
        return rec

    def steady(self, b, mode, loops1):
        """One pyperf run (master plain, workers in `mode`)."""
        d = self.newdir("%s-%s" % (b["name"], mode.replace(":", "-")))
        stats_dir = os.path.join(d, "stats")
        os.makedirs(stats_dir)
        out = os.path.join(d, "out.json")
        o = self.opts
        slow = loops1
        argv = [sys.executable, b["script"]] + b["extra"] + [
            "--processes", str(o.processes), "--values", str(1 if slow else o.values),
            "--warmups", str(o.warmups), "--min-time", str(o.min_time),
            "--python", self.wrapper(d, mode, stats_dir), "-o", out]
        if slow:
            argv += ["--loops", "1"]
        env = dict(self.base_env, COCONUT_JIT="0")
        res = self.run_process(argv, env, b["dir"])
        workers = [s for s in self.read_stats(stats_dir) if "--worker" in s.get("argv", [])]
        rec = {"seconds": res["seconds"], "error": None, "workers": workers, "values": {},
               "loops1": slow}
        if res["rc"] != 0:
            shown = argv[:argv.index("--python")] + ["--inherit-environ",
                                                     ",".join(sorted(self.mode_env(mode)))]
            rec["error"] = self.failure(mode, "%s: pyperf run" % mode, res, self.mode_env(mode),
                                        shown, b["dir"])
            return rec
        rec["values"] = load_pyperf(out)
        return rec

    def check(self, b):
        """The benchmark's CHECKS entry, plain and under --threshold 0 --sync."""
        if not b["check"]:
            return {"status": "none"}
        d = self.newdir("%s-check" % b["name"])
        plain_argv = [sys.executable, "-c", CHECK_RUNNER, b["script"], b["check"]]
        jit_argv = plain_argv[:1] + ["-m", "coconut", "--threshold", "0", "--sync"] + plain_argv[1:]
        env = dict(self.base_env)
        if self.only:
            env["COCONUT_ONLY"] = self.only
        plain = self.run_process(plain_argv, env, b["dir"])
        if plain["rc"] != 0:
            return {"status": "broken", "mode": "plain", "command": "",
                    "output": "\n".join(plain["stderr"].strip().splitlines()[-40:])}
        jit = self.run_process(jit_argv, env, b["dir"])
        shown = ["python3", "-m", "coconut", "--threshold", "0", "--sync", "-c",
                 "<coconut.suite.CHECK_RUNNER>", "run_benchmark.py", "<coconut.suite.CHECKS[%r]>" % b["name"]]
        cmd = "cd %s && %s  # python3 -m coconut.suite --check-only %s" % (
            os.path.relpath(b["dir"], ROOT), " ".join(shown), b["name"])
        if jit["rc"] != 0:
            return {"status": "crash", "mode": "check", "command": cmd,
                    "output": "\n".join(jit["stderr"].strip().splitlines()[-40:])}
        if jit["stdout"] != plain["stdout"]:
            return {"status": "mismatch", "mode": "check", "command": cmd,
                    "output": first_difference(plain["stdout"], jit["stdout"])}
        return {"status": "ok", "seconds": [plain["seconds"], jit["seconds"]]}

    # -- the whole suite

    def run(self, benches):
        o = self.opts
        results = {"meta": run_meta(o), "benchmarks": {}}
        steady_modes = list(STEADY_MODES)
        jit_modes = list(JIT_MODES)
        results["meta"]["also"] = {}
        for name, python in self.pythons.items():
            steady_modes += other_modes(name)
            jit_modes += other_modes(name)[1:]
            version = self.run_process([python, "-c", "import sys; print(sys.version)"],
                                       self.base_env, ROOT, timeout=60)
            results["meta"]["also"][name] = {"python": python,
                                             "version": version["stdout"].strip()}
        for b in benches:
            results["benchmarks"][b["name"]] = {
                "counted": b["counted"], "parts": [],
                "steady": {m: [] for m in steady_modes},
                "first": {"plain": [], "jit": []}, "prewarm": {}, "check": None}
        broken = set()
        for rnd in range(o.repeat):
            for b in benches:
                r = results["benchmarks"][b["name"]]
                name = b["name"]
                if name in broken:
                    continue
                # first call, plain and coconut (alternating order)
                for which in (("plain", "jit") if rnd % 2 == 0 else ("jit", "plain")):
                    rec = self.first_call(b, which)
                    r["first"][which].append(rec)
                    self.log("[%5.1f min] round %d/%d %-24s first call %-5s %7.2f s%s" % (
                        self.elapsed(), rnd + 1, o.repeat, name, which, rec["seconds"],
                        "  FAILED" if rec["error"] else ""))
                if rnd == 0:
                    plain_first = r["first"]["plain"][0]
                    if plain_first["error"]:
                        r["broken"] = plain_first["error"]
                        broken.add(name)
                        self.log("%s: fails under plain python3, left out" % name)
                        continue
                    r["parts"] = sorted(plain_first["values"])
                    loop = max((v[0] for v in plain_first["values"].values()), default=0)
                    r["loops1"] = loop >= SLOW_LOOP
                    for mode in jit_modes:
                        if split_mode(mode)[1] == "default":
                            rec = self.steady(b, mode, r["loops1"])
                            rec["values"] = {}          # discarded
                        else:
                            rec = self.prewarm(b, mode, r["loops1"])
                        r["prewarm"][mode] = rec
                        self.log("[%5.1f min] %-24s %-7s filling the compile cache %7.1f s%s" % (
                            self.elapsed(), name, mode, rec["seconds"],
                            "  FAILED" if rec["error"] else ""))
                    if o.check:
                        r["check"] = self.check(b)
                        self.log("[%5.1f min] %-24s check: %s" % (self.elapsed(), name,
                                                                  r["check"]["status"]))
                k = rnd % len(steady_modes)
                modes = steady_modes[k:] + steady_modes[:k]
                for mode in modes:
                    if split_mode(mode)[1] != "plain" and r["prewarm"][mode]["error"]:
                        r["steady"][mode].append({"error": r["prewarm"][mode]["error"],
                                                  "values": {}, "workers": [], "skipped": True})
                        continue
                    rec = self.steady(b, mode, r["loops1"])
                    rec["round"] = rnd
                    r["steady"][mode].append(rec)
                    self.log("[%5.1f min] round %d/%d %-24s %-7s %7.1f s%s" % (
                        self.elapsed(), rnd + 1, o.repeat, name, mode, rec["seconds"],
                        "  FAILED" if rec["error"] else ""))
                if o.json:
                    save_json(results, o.json)
        results["meta"]["minutes"] = self.elapsed()
        return results


def load_pyperf(path):
    """{pyperf benchmark name: [values (seconds per loop)]} of a pyperf JSON file."""
    import pyperf
    suite = pyperf.BenchmarkSuite.load(path)
    return {bench.get_name(): list(bench.get_values()) for bench in suite.get_benchmarks()}


def first_difference(a, b, width=300):
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 60)
    return "plain: ...%s...\ncoconut: ...%s..." % (a[lo:lo + width].strip(), b[lo:lo + width].strip())


def save_json(results, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, path)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=20).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run_meta(o):
    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--", "coconut"):
        commit += " + uncommitted changes"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": "%s, %s, %s CPUs" % (platform.platform(), _cpu_model(), os.cpu_count()),
        "python": "%s %s (%s)" % (platform.python_implementation(), platform.python_version(),
                                 " ".join(platform.python_build())),
        "command": command_line(),
        "commit": commit or "unknown (not a git checkout)",
        "settings": {"repeat": o.repeat, "processes": o.processes, "values": o.values,
                     "warmups": o.warmups, "min_time": o.min_time, "first_call": o.first_call,
                     "quick": o.quick, "check": o.check},
    }


def command_line(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    return " ".join(["python3 -m coconut.suite"] + [shlex.quote(a) for a in argv])


# ----------------------------------------------------------------------- summaries

def _median(xs):
    return statistics.median(xs) if xs else None


def worker_activity(workers, mode, default_threshold=None, version=None):
    """(verified, median compiled, median not compiled, median deopts) of the
    timed worker processes of one mode (on the interpreter whose sys.version is
    `version`, when given)."""
    if not workers:
        return False, None, None, None
    if version is not None and any(w.get("version", version) != version for w in workers):
        return False, None, None, None
    if mode == "plain":
        return not any(w.get("coconut") for w in workers), None, None, None
    ok = all(w.get("coconut") for w in workers)
    if mode == "all":     # everything is compiled at its first call
        ok = ok and all(w.get("threshold") == 0 and w.get("compiled", 0) > 0 for w in workers)
    elif default_threshold is not None:
        ok = ok and all(w.get("threshold") == default_threshold for w in workers)
    return (ok, _median([w.get("compiled", 0) for w in workers]),
            _median([w.get("failed", 0) for w in workers]),
            _median([w.get("deopts", 0) for w in workers]))


def _plain_rounds(s, recs, nrounds, mode, version=None):
    """Per round: the plain run's record, where it ran without the JIT (else None)."""
    ok = [None] * nrounds
    for i, rec in enumerate(recs):
        verified, *_ = worker_activity(rec.get("workers"), "plain", version=version)
        if not rec.get("error") and verified:
            ok[i] = rec
        elif not rec.get("error"):
            s["errors"].append({"mode": mode, "command": "", "output": "",
                                "what": "%s run had the JIT on, or ran on another interpreter "
                                        "(round %d)" % (mode, i + 1)})
    return ok


def _jit_mode(s, recs, mode, nrounds, parts, plain_ok, record=True, version=None):
    """A JIT mode's summary against the plain runs `plain_ok` (per round); its
    parts' ratios go to s["parts"][part][mode] and its errors to s["errors"] when
    `record`."""
    good = [None] * nrounds
    compiled, failed, deopts, unverified = [], [], [], 0
    for i, rec in enumerate(recs):
        if rec.get("error"):
            if record and not rec.get("skipped"):
                s["errors"].append(rec["error"])
            continue
        ok, c, f, dp = worker_activity(rec.get("workers"), split_mode(mode)[1], version=version)
        if not ok:
            unverified += 1
            continue
        good[i] = rec
        compiled.append(c)
        failed.append(f)
        deopts.append(dp)
    part_sums = {}
    for p in parts:
        pr = [rec["values"].get(p) if rec else None for rec in plain_ok]
        jr = [rec["values"].get(p) if rec else None for rec in good]
        part_sums[p] = ratio_summary(pr, jr)
        if record:
            s["parts"].setdefault(p, {})[mode] = part_sums[p]
    return {"ratio": combine(part_sums.values()) if all(part_sums.values()) else None,
            "compiled": _median(compiled), "failed": _median(failed),
            "deopts": _median(deopts), "unverified": unverified}


def summarize(results):
    """Per benchmark and mode: ratio, range, compiled per worker, errors."""
    out = {}
    for name, r in results["benchmarks"].items():
        s = {"counted": r["counted"], "parts": {}, "errors": [], "modes": {}}
        check = r.get("check")
        if check and check.get("status") in ("crash", "mismatch", "broken"):
            s["errors"].append(dict(check, what="result check (%s)" % check["status"]))
        if r.get("broken"):
            s["errors"].append(r["broken"])
        for mode, rec in sorted(r.get("prewarm", {}).items()):
            if rec.get("error"):
                s["errors"].append(rec["error"])
        steady = r["steady"]
        nrounds = max((len(v) for v in steady.values()), default=0)
        plain_ok = _plain_rounds(s, steady["plain"], nrounds, "plain")
        parts = r.get("parts") or sorted({p for rec in steady["plain"] for p in rec.get("values", {})})
        for mode in JIT_MODES:
            s["modes"][mode] = _jit_mode(s, steady[mode], mode, nrounds, parts, plain_ok)
        # extra interpreters (--also NAME=PYTHON): NAME's plain time against
        # python3's; NAME + coconut against NAME plain, and against python3
        also = results["meta"].get("also") or {}
        for other in sorted({split_mode(m)[0] for m in steady if split_mode(m)[0]}):
            version = (also.get(other) or {}).get("version")
            xplain = _plain_rounds(s, steady[other + ":plain"], nrounds, other + ":plain", version)
            sums = [ratio_summary([rec["values"].get(p) if rec else None for rec in plain_ok],
                                  [rec["values"].get(p) if rec else None for rec in xplain])
                    for p in parts]
            s["modes"][other + ":plain"] = {"ratio": combine(sums) if all(sums) else None,
                                            "compiled": None}
            for base in JIT_MODES:
                mode = "%s:%s" % (other, base)
                m = _jit_mode(s, steady[mode], mode, nrounds, parts, xplain, version=version)
                m["vs_python3"] = _jit_mode(s, steady[mode], mode, nrounds, parts, plain_ok,
                                            record=False, version=version)["ratio"]
                s["modes"][mode] = m
        for p in parts:
            vals = [v for rec in plain_ok if rec for v in rec["values"].get(p, [])]
            s["parts"].setdefault(p, {})["plain"] = _median(vals)
        # first call
        fp = [rec for rec in r["first"]["plain"]]
        fj = [rec for rec in r["first"]["jit"]]
        for rec in fj:
            if rec.get("error"):
                s["errors"].append(rec["error"])
        pairs_p, pairs_j, compiled = [], [], []
        for p, j in zip(fp, fj):
            if p.get("error") or j.get("error"):
                continue
            st = [x for x in j.get("stats", []) if x.get("coconut")]
            if not st:
                continue
            pairs_p.append([p["seconds"]])
            pairs_j.append([j["seconds"]])
            compiled.append(max(x.get("compiled", 0) for x in st))
        first = ratio_summary(pairs_p, pairs_j)
        s["modes"]["first"] = {"ratio": first, "compiled": _median(compiled),
                               "plain_seconds": _median([p[0] for p in pairs_p]),
                               "unverified": len(fj) - len(pairs_j)}
        s["plain"] = s["parts"][parts[0]].get("plain") if len(parts) == 1 else None
        s["nparts"] = len(parts)
        # deduplicate errors (the same crash in every round)
        seen, errors = set(), []
        for e in s["errors"]:
            key = (e.get("what"), e.get("command"))
            if key not in seen:
                seen.add(key)
                errors.append(e)
        s["errors"] = errors
        out[name] = s
    return out


def means(summary, counted=True, modes=("all", "default", "first"), key="ratio"):
    """{mode: (geometric mean, (worst ratio, benchmark))} over the benchmarks."""
    res = {}
    for mode in modes:
        rows = [(s["modes"][mode][key][0], name) for name, s in summary.items()
                if s["counted"] == counted and s["modes"].get(mode, {}).get(key)]
        if rows:
            res[mode] = (geomean([r for r, _ in rows]), min(rows))
    return res


# ---------------------------------------------------------------------- rendering

def fmt_time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return "%.3g %s" % (seconds / scale, unit)
    return "%.3g ns" % (seconds / 1e-9)


def fmt_ratio(summ):
    if not summ:
        return "-"
    ratio, lo, hi = summ
    return "%.2fx (%.2f-%.2f)" % (ratio, lo, hi)


def fmt_count(x):
    if x is None:
        return "-"
    return "%d" % round(x)


def _cells(s, mode):
    m = s["modes"].get(mode, {})
    if m.get("ratio"):
        return fmt_ratio(m["ratio"]), fmt_count(m.get("compiled"))
    if any(e.get("mode") in (mode, "plain") for e in s["errors"]):
        return "**failed**", "-"
    if m.get("unverified"):
        return "no JIT", "-"
    return "-", "-"


def table_rows(summary, counted):
    header = ("| benchmark | plain | all compiled, steady | fns | default, steady | fns "
              "| plain first run | first call, cold cache | fns |")
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    rows = [header, rule]
    for name, s in summary.items():
        if s["counted"] != counted:
            continue
        plain = (fmt_time(s["plain"]) if s["nparts"] == 1 else
                 "%d parts, below" % s["nparts"] if s["nparts"] else "-")
        a, ac = _cells(s, "all")
        d, dc = _cells(s, "default")
        f, fc = _cells(s, "first")
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, plain, a, ac, d, dc, fmt_time(s["modes"]["first"].get("plain_seconds")), f, fc))
    if counted:
        m = means(summary, True)
        if m:
            def g(mode):
                return "**%.2fx**" % m[mode][0] if mode in m else "-"

            def w(mode):
                return "%.2fx %s" % (m[mode][1][0], m[mode][1][1]) if mode in m else "-"
            rows.append("| **geometric mean** | | %s | | %s | | | %s | |" % (g("all"), g("default"), g("first")))
            rows.append("| **worst** | | %s | | %s | | | %s | |" % (w("all"), w("default"), w("first")))
    return rows


def parts_rows(summary):
    rows = ["| benchmark | part (pyperf name) | plain | all compiled, steady | default, steady |",
            "|---|---|---:|---:|---:|"]
    n = 0
    for name, s in summary.items():
        if s["nparts"] <= 1:
            continue
        for p, v in sorted(s["parts"].items()):
            rows.append("| %s | %s | %s | %s | %s |" % (name, p, fmt_time(v.get("plain")),
                                                       fmt_ratio(v.get("all")), fmt_ratio(v.get("default"))))
            n += 1
    return rows if n else []


def activity_rows(summary):
    rows = ["| benchmark | all: compiled / not compiled / deopts | default: compiled / not compiled / deopts |",
            "|---|---:|---:|"]
    for name, s in summary.items():
        cells = []
        for mode in JIT_MODES:
            m = s["modes"].get(mode, {})
            if m.get("compiled") is None:
                cells.append("-")
            else:
                cells.append("%s / %s / %s" % (fmt_count(m["compiled"]), fmt_count(m["failed"]),
                                               fmt_count(m["deopts"])))
        rows.append("| %s | %s | %s |" % (name, cells[0], cells[1]))
    return rows


def other_rows(summary, name):
    """The table of an extra interpreter NAME (--also): its plain time against
    python3's, and coconut on it against it and against plain python3."""
    rows = ["| benchmark | python3 + coconut, all | python3 + coconut, default | %s | "
            "%s + coconut, all | vs python3 | %s + coconut, default | vs python3 |" % (name, name, name),
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for counted in (True, False):
        for bname, s in summary.items():
            if s["counted"] != counted:
                continue
            m = s["modes"]
            cells = [fmt_ratio(m.get(k, {}).get("ratio")) for k in ("all", "default", name + ":plain")]
            for base in JIT_MODES:
                x = m.get("%s:%s" % (name, base), {})
                cells += [fmt_ratio(x.get("ratio")), fmt_ratio(x.get("vs_python3"))]
            rows.append("| %s | %s |" % (bname if counted else bname + " *", " | ".join(cells)))
    keys = [("all", "ratio"), ("default", "ratio"), (name + ":plain", "ratio"),
            (name + ":all", "ratio"), (name + ":all", "vs_python3"),
            (name + ":default", "ratio"), (name + ":default", "vs_python3")]
    g = []
    for mode, key in keys:
        mm = means(summary, True, (mode,), key)
        g.append("**%.2fx**" % mm[mode][0] if mode in mm else "-")
    rows.append("| **geometric mean** | %s |" % " | ".join(g))
    return rows


def default_threshold_of(results):
    for r in results["benchmarks"].values():
        for rec in r["steady"].get("default", []):
            for w in rec.get("workers", []):
                if w.get("coconut"):
                    return w.get("threshold")
    return None


def render_markdown(results, summary=None, png_name=None):
    """The docs section (without its heading)."""
    summary = summary if summary is not None else summarize(results)
    meta = results["meta"]
    st = meta["settings"]
    thr = default_threshold_of(results)
    first_cmd = ("python3 -m coconut --threshold 0 --sync" if st["first_call"] == "all"
                 else "python3 -m coconut")
    out = [
        "Real benchmarks of [pyperformance](https://github.com/python/pyperformance), "
        "vendored unmodified in `benchmarks/pyperformance/`, each run the way pyperf runs "
        "it (a plain master process spawning worker processes; the JIT reaches the workers "
        "through the environment), against plain `python3` in the same run. See "
        "`python3 -m coconut.suite --help` for the details.",
        "",
        "- command: `%s`" % meta["command"],
        "- date: %s (%.0f minutes)" % (meta["date"], meta.get("minutes", 0)),
        "- machine: %s" % meta["machine"],
        "- python: %s" % meta["python"],
        "- coconut: %s" % meta["commit"],
        "- settings: %d round(s), interleaved; per round and mode one pyperf run with "
        "%d process(es) x %d value(s) after %d warmup(s), min time %g s (benchmarks with a "
        "loop over %g s: 1 value of 1 loop)%s" % (
            st["repeat"], st["processes"], st["values"], st["warmups"], st["min_time"], SLOW_LOOP,
            "; **--quick: only the benchmarks' own code compiled**" if st["quick"] else ""),
        "",
    ]
    if png_name:
        out += ["![ratios, log scale](%s)" % png_name, ""]
    out += table_rows(summary, True)
    out += [
        "",
        "- ratio = plain time / coconut time (> 1: coconut is faster), median over all "
        "values of all rounds, and in parentheses its spread from the interquartile ranges: "
        "Q1(plain)/Q3(coconut) to Q3(plain)/Q1(coconut); several parts (pyperf benchmarks) "
        "of one benchmark: their geometric mean;",
        "- plain: plain `python3`, median time per loop (first run: wall time of the process);",
        "- all compiled: workers with `COCONUT_JIT=1 COCONUT_THRESHOLD=0 COCONUT_BACKGROUND=0` "
        "(as `python3 -m coconut --threshold 0 --sync` sets them): every code object compiled "
        "at its first call;",
        "- default: workers with `COCONUT_JIT=1` alone: `python3 -m coconut`'s default "
        "(threshold %s, background compiles);" % (thr if thr is not None else "default"),
        "- first call: one process `%s run_benchmark.py --worker --loops 1 --values 1 "
        "--warmups 0` with an empty `COCONUT_CACHE_DIR`, wall time, vs the same under plain "
        "`python3`;" % first_cmd,
        "- fns: code objects compiled per worker process (median; the JIT is verified in "
        "every timed worker through coconut.stats() written at exit).",
        "",
    ]
    if any(not s["counted"] for s in summary.values()):
        out += ["", "### Benchmarks not counted (%s)" % NOT_COUNTED_NOTE, ""]
        out += table_rows(summary, False)
    for name, info in sorted((meta.get("also") or {}).items()):
        out += ["", "### On another interpreter: %s" % name, "",
                "`%s` (%s), run in the same rounds, interleaved with the modes above: "
                "pyperf's workers in modes `%s:plain`, `%s:all` and `%s:default` run on it "
                "(the master process stays on python3). Column `%s`: python3's time / %s's "
                "time, plain (> 1: %s is faster); `%s + coconut`: against %s plain, and "
                "`vs python3` against plain python3. * = %s." % (
                    info["python"], " ".join(info["version"].split()),
                    name, name, name, name, name, name, name, name, NOT_COUNTED_NOTE), ""]
        out += other_rows(summary, name)
    parts = parts_rows(summary)
    if parts:
        out += ["", "### Parts", ""] + parts
    out += ["", "### What the JIT did (per timed worker process, medians)", ""]
    out += activity_rows(summary)
    checks = {name: (r.get("check") or {}).get("status", "-") for name, r in results["benchmarks"].items()}
    out += ["", "Result checks (the benchmark's functions on a small input, plain vs "
            "`--threshold 0 --sync`, outputs compared): " +
            ", ".join("%s %s" % (n, c) for n, c in checks.items()) + "."]
    errors = [(name, e) for name, s in summary.items() for e in s["errors"]]
    out += ["", "### JIT failures", ""]
    if not errors:
        out.append("None: every benchmark ran, and gave the same result, in every mode.")
    for name, e in errors:
        out += ["- **%s**, %s%s" % (name, e["what"], ":" if e.get("command") else "")]
        if e.get("command"):
            out += ["", "  ```sh", "  " + e["command"], "  ```"]
        if e.get("output"):
            out += ["", "  ```"] + ["  " + line for line in e["output"].splitlines()[-15:]] + ["  ```"]
    return "\n".join(out) + "\n"


DOCS_BEGIN = "<!-- begin: python3 -m coconut.suite (this section is rewritten by it) -->"
DOCS_END = "<!-- end: python3 -m coconut.suite -->"
DOCS_HEADING = "## The benchmark suite (pyperformance)"


def update_docs(text, body):
    """text with the suite's section replaced by body (inserted after the title when
    absent); everything else is kept as it is."""
    section = "\n".join([DOCS_BEGIN, DOCS_HEADING, "", body.rstrip("\n"), "",
                         "*The sections below are `python3 -m coconut.bench`'s microbenchmarks "
                         "and whole programs.*", "", DOCS_END])
    if DOCS_BEGIN in text and DOCS_END in text:
        start = text.index(DOCS_BEGIN)
        end = text.index(DOCS_END) + len(DOCS_END)
        return text[:start] + section + text[end:]
    lines = text.split("\n")
    if lines and lines[0].startswith("# "):
        return lines[0] + "\n\n" + section + "\n\n" + "\n".join(lines[1:]).lstrip("\n")
    return section + "\n\n" + text


def write_chart(results, summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [n for n, s in summary.items() if s["counted"]] + \
            [n for n, s in summary.items() if not s["counted"]]
    modes = [("all", "all compiled, steady", "#1f77b4"), ("default", "default, steady", "#2ca02c"),
             ("first", "first call, cold cache", "#ff7f0e")]
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(names) + 3), 5.5))
    width = 0.8 / len(modes)
    shown = []
    for k, (mode, label, color) in enumerate(modes):
        xs, ys, lo, hi = [], [], [], []
        for i, n in enumerate(names):
            r = summary[n]["modes"].get(mode, {}).get("ratio")
            if not r:
                continue
            xs.append(i + (k - 1) * width)
            ys.append(r[0])
            lo.append(max(r[0] - r[1], 0))
            hi.append(max(r[2] - r[0], 0))
            shown += [r[1], r[2]]
        # bars from 1.0: up when coconut is faster, down when it is slower
        ax.bar(xs, [y - 1.0 for y in ys], width, bottom=1.0, label=label, color=color,
               yerr=[lo, hi], error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yscale("log")
    low = min(shown + [0.5]) / 1.25
    high = max(shown + [2.0]) * 1.25
    ax.set_ylim(low, high)
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0,
                         5.0, 10.0, 20.0, 50.0) if low <= t <= high]
    from matplotlib.ticker import FixedLocator, NullLocator
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels(["%gx" % t for t in ticks])
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n if summary[n]["counted"] else n + "*" for n in names],
                       rotation=40, ha="right")
    ax.set_xlim(-0.6, len(names) - 0.4)
    ncounted = sum(1 for n in names if summary[n]["counted"])
    if 0 < ncounted < len(names):
        ax.axvline(ncounted - 0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set_ylabel("plain time / coconut time\n(log scale; > 1: coconut is faster)")
    meta = results["meta"]
    ax.set_title("coconut on pyperformance benchmarks, %s (coconut %s)\n"
                 "* %s" % (meta["date"], meta["commit"], NOT_COUNTED_NOTE), fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- main

def _parser():
    p = argparse.ArgumentParser(prog="python3 -m coconut.suite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="benchmarks to run (default: all): " + ", ".join(n for n, _ in BENCHMARKS))
    p.add_argument("--quick", action="store_true",
                   help="smoke run: one round, 1 value per process, three small benchmarks "
                        "unless named, JIT limited to the benchmarks' own code")
    p.add_argument("--repeat", type=int, default=None, metavar="N",
                   help="rounds, interleaved (default 2; --quick: 1)")
    p.add_argument("--processes", type=int, default=1, metavar="P",
                   help="pyperf worker processes per run (default 1)")
    p.add_argument("--values", type=int, default=None, metavar="V",
                   help="pyperf values per process (default 3; --quick: 1)")
    p.add_argument("--warmups", type=int, default=1, metavar="W",
                   help="pyperf warmups per process (default 1)")
    p.add_argument("--min-time", type=float, default=None, metavar="S",
                   help="pyperf's minimum time of a value (default 0.1 s; --quick: 0.05 s)")
    p.add_argument("--first-call", choices=("default", "all"), default="default",
                   help="the JIT's configuration for the first-call mode: `python3 -m coconut` "
                        "(default) or `--threshold 0 --sync` (compiles everything: minutes per "
                        "benchmark with a cold cache)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the result checks")
    p.add_argument("--check-only", action="store_true",
                   help="only the result checks (plain vs --threshold 0 --sync), no timing")
    p.add_argument("--docs", metavar="FILE",
                   help="write the section of FILE (default for a whole run: docs/benchmarks.md)")
    p.add_argument("--png", metavar="FILE",
                   help="the chart (default: benchmarks.png beside the docs file)")
    p.add_argument("--no-docs", action="store_true", help="write no docs, no chart")
    p.add_argument("--json", metavar="FILE",
                   help="raw results (default build/suite/results.json; written after every "
                        "benchmark of every round)")
    p.add_argument("--from-json", metavar="FILE",
                   help="run nothing: render the results of an earlier run")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="COCONUT_CACHE_DIR of the steady-state modes (default: as in the "
                        "environment, else ~/.cache/coconut)")
    p.add_argument("--bench-dir", default=BENCH_DIR, help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=3600, metavar="S",
                   help="seconds before a process is given up (default 3600)")
    p.add_argument("--also", action="append", default=[], metavar="NAME=PYTHON",
                   help="also time the steady-state modes on interpreter PYTHON (e.g. "
                        "patched=$(bash scripts/patched-python.sh --path)), interleaved, in "
                        "a table of its own: NAME plain vs python3, and coconut on it; it "
                        "needs coconut's dependencies and pyperf (scripts/install.sh --bench)")
    p.add_argument("--keep", action="store_true", help="keep the temporary files")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p


def main(argv=None):
    opts = _parser().parse_args(argv)
    if opts.list:
        for b in resolve(None):
            print("%-26s %s%s" % (b["name"], os.path.relpath(b["script"], ROOT),
                                  "" if b["counted"] else "  (" + NOT_COUNTED_NOTE + ")"))
        return 0
    opts.repeat = opts.repeat or (1 if opts.quick else 2)
    opts.values = opts.values or (1 if opts.quick else 3)
    opts.min_time = opts.min_time or (0.05 if opts.quick else 0.1)
    if min(opts.repeat, opts.processes, opts.values) < 1 or opts.warmups < 0:
        _parser().error("--repeat, --processes and --values must be >= 1, --warmups >= 0")
    whole = not opts.names and not opts.quick
    also = []
    for spec in opts.also:
        name, sep, python = spec.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z][\w.-]*", name) or not python:
            _parser().error("--also takes NAME=PYTHON (a name of letters, digits, '_', "
                            "'.', '-'), not %r" % spec)
        if not (shutil.which(python) or os.access(python, os.X_OK)):
            _parser().error("--also %s: %s is not an executable" % (name, python))
        also.append((name, python))
    opts.also = also
    if opts.from_json:
        with open(opts.from_json) as f:
            results = json.load(f)
        whole = True
    else:
        try:
            import pyperf  # noqa: F401
        except ImportError:
            print("coconut.suite needs pyperf (and pyaes, tomli, matplotlib): "
                  "bash scripts/install.sh --bench", file=sys.stderr)
            return 2
        benches = resolve(opts.names, opts.quick, opts.bench_dir)
        opts.json = opts.json or os.path.join(ROOT, "build", "suite", "results.json")
        runner = Runner(opts)
        try:
            if opts.check_only:
                bad = 0
                for b in benches:
                    c = runner.check(b)
                    print("%-26s %s" % (b["name"], c["status"]))
                    if c["status"] not in ("ok", "none"):
                        bad += 1
                        print("  " + c.get("command", ""))
                        print("\n".join("  " + line for line in c.get("output", c.get("detail", "")).splitlines()))
                return 1 if bad else 0
            results = runner.run(benches)
        finally:
            runner.close()
        save_json(results, opts.json)
        print("raw results: %s" % opts.json, file=sys.stderr)
    summary = summarize(results)
    docs = opts.docs or (os.path.join(ROOT, "docs", "benchmarks.md") if whole else None)
    png = opts.png or (os.path.join(os.path.dirname(docs), "benchmarks.png") if docs else None)
    if opts.no_docs:
        docs = png = None
    body = render_markdown(results, summary, os.path.basename(png) if png else None)
    print(DOCS_HEADING + "\n\n" + body)
    if png:
        write_chart(results, summary, png)
        print("chart: %s" % png, file=sys.stderr)
    if docs:
        with open(docs) as f:
            text = f.read()
        with open(docs, "w") as f:
            f.write(update_docs(text, body))
        print("docs: %s" % docs, file=sys.stderr)
    return 1 if any(s["errors"] for s in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
