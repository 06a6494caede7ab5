"""Benchmarks: interpreted CPython vs. coconut-compiled code.

Run with ``python3 -m coconut.bench [--repeat N] [--quick] [--markdown] [NAME ...]``.

Every benchmark is a small piece of Python source.  It is executed twice, into
two fresh module namespaces: one stays interpreted, in the other every function
(including methods of classes defined there) is passed to ``coconut.compile``.
Because each variant has its own globals, calls between functions (``fib``
calling ``fib``, a loop calling a helper, method calls) stay inside the same
variant: compiled code calls compiled code, interpreted code calls interpreted
code.

Both variants are first warmed up alike (CPython 3.11 specializes a function's
bytecode only after a few calls).  For each benchmark both variants must return
the same result (the run aborts otherwise).  Runs of the two variants are interleaved, medians are reported,
and ratio = interpreted / compiled (> 1 means the JIT is faster).

Installing the JIT's frame-evaluation hook (at the first compile) slows the
interpreter down as well, so every benchmark's interpreted variant is also timed
once before this run compiles anything: "plain" (vs plain = plain / compiled).
"""
import argparse
import datetime
import faulthandler
import gc
import math
import os
import platform
import statistics
import sys
import textwrap
import time
import types
import warnings

import coconut


class Benchmark:
    def __init__(self, name, what, source, entry, args, quick_args):
        self.name = name
        self.what = what
        self.source = textwrap.dedent(source)
        self.entry = entry
        self.args = args
        self.quick_args = quick_args


BENCHMARKS = [
    Benchmark("int_while", "while loop, sum of i*i", """
        def int_while(n):
            s = 0
            i = 0
            while i < n:
                s += i * i
                i += 1
            return s
        """, "int_while", (3_000_000,), (1000,)),

    Benchmark("int_for", "for over range, i*i and branches", """
        def int_for(n):
            s = 0
            for i in range(n):
                if i % 3 == 0:
                    s -= i
                else:
                    s += i * i
            return s
        """, "int_for", (3_000_000,), (1000,)),

    Benchmark("float_integrate", "midpoint rule for 4/(1+x*x)", """
        def integrate(n):
            h = 1.0 / n
            s = 0.0
            for i in range(n):
                x = (i + 0.5) * h
                s += 4.0 / (1.0 + x * x)
            return s * h
        """, "integrate", (2_500_000,), (1000,)),

    Benchmark("float_orbit", "two-body orbit, float arithmetic", """
        import math

        def orbit(steps):
            x = 1.0
            y = 0.0
            vx = 0.0
            vy = 1.0
            dt = 0.001
            for _ in range(steps):
                r2 = x * x + y * y
                r3 = r2 * math.sqrt(r2)
                vx -= x / r3 * dt
                vy -= y / r3 * dt
                x += vx * dt
                y += vy * dt
            return x * 1000.0 + y
        """, "orbit", (1_000_000,), (500,)),

    Benchmark("fib", "recursive fib({0}), {1} times", """
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)

        def fib_bench(n, k):
            t = 0
            for _ in range(k):
                t += fib(n)
            return t
        """, "fib_bench", (25, 16), (15, 1)),

    Benchmark("call_helper", "loop calling a small helper", """
        def mix(h, i):
            return (h * 31 + i) % 1000003

        def call_helper(n):
            h = 0
            for i in range(n):
                h = mix(h, i)
            return h
        """, "call_helper", (2_500_000,), (1000,)),

    Benchmark("attributes", "attribute reads/writes, method calls", """
        class Particle:
            def __init__(self, x, v):
                self.x = x
                self.v = v
                self.steps = 0

            def step(self, dt):
                self.x = self.x + self.v * dt
                self.steps += 1

            def energy(self):
                return 0.5 * self.v * self.v

        def attributes(n):
            p = Particle(0.0, 1.0)
            q = Particle(1.0, -1.0)
            e = 0.0
            for i in range(n):
                p.step(0.001)
                q.x = q.x - p.v * 0.001
                p.v = p.v + 0.0001 * (q.x - p.x)
                e += p.energy()
            return e + p.x + q.x + p.steps + q.steps
        """, "attributes", (1_000_000,), (500,)),

    Benchmark("lists", "append, indexing, list of tuples", """
        def lists(n):
            xs = []
            for i in range(n):
                xs.append(i * 2)
            t = 0
            for i in range(len(xs)):
                t += xs[i] * (i & 7) - xs[n - 1 - i]
            pairs = []
            for i in range(n):
                pairs.append((i, xs[i] % 10))
            for a, b in pairs:
                t += a * b
            return t + len(pairs)
        """, "lists", (500_000,), (1000,)),

    Benchmark("dicts_strings", "building dicts and strings", """
        def dicts_strings(n):
            d = {}
            for i in range(n):
                k = i % 1000
                d[k] = d.get(k, 0) + i
            parts = []
            for i in range(0, n, 3):
                parts.append(str(i))
            s = ",".join(parts)
            total = 0
            for k in d:
                total += d[k] % 7
            return total + len(s) + len(d)
        """, "dicts_strings", (1_200_000,), (1000,)),
]


def _functions(namespace, module_name):
    """Every function defined by the benchmark source, methods included."""
    found = []
    for value in list(namespace.values()):
        if isinstance(value, types.FunctionType) and value.__module__ == module_name:
            found.append(value)
        elif isinstance(value, type) and value.__module__ == module_name:
            for attr in vars(value).values():
                if isinstance(attr, types.FunctionType):
                    found.append(attr)
    return found


# CPython 3.11 quickens (specializes) a code object only after it has been called 8
# times: loops in the first calls run unspecialized and much slower.  Both variants
# are warmed up alike, with the small arguments, before anything is timed or compiled.
WARMUP_CALLS = 16


def _load(bench, variant):
    module_name = "coconut_bench_%s_%s" % (bench.name, variant)
    module = types.ModuleType(module_name)
    code = compile(bench.source, "<coconut.bench %s>" % bench.name, "exec")
    exec(code, module.__dict__)
    entry = module.__dict__[bench.entry]
    for _ in range(WARMUP_CALLS):
        entry(*bench.quick_args)
    return module.__dict__, _functions(module.__dict__, module_name)


class BenchError(RuntimeError):
    pass


def _time_plain(bench, repeat, quick):
    """Time the interpreted variant alone, before anything is compiled (no JIT hook)."""
    args = bench.quick_args if quick else bench.args
    interp_ns, interp_funcs = _load(bench, "interp")
    interp = interp_ns[bench.entry]
    interp(*args)
    gc.collect()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        interp(*args)
        times.append(time.perf_counter() - t0)
    return interp_ns, interp_funcs, statistics.median(times)


def run_one(bench, repeat, quick, loaded):
    args = bench.quick_args if quick else bench.args
    interp_ns, interp_funcs, plain_med = loaded
    jit_ns, jit_funcs = _load(bench, "jit")

    compile_seconds = 0.0
    compile_warnings = []
    for func in jit_funcs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            result = coconut.compile(func)
            compile_seconds += time.perf_counter() - t0
        if result is not func:
            raise BenchError("%s: coconut.compile(%s) did not return the same function"
                             % (bench.name, func.__qualname__))
        compile_warnings.extend("%s: %s" % (func.__qualname__, w.message) for w in caught)
    native = sum(1 for f in jit_funcs if coconut.is_compiled(f))
    leaked = [f.__qualname__ for f in interp_funcs if coconut.is_compiled(f)]
    if leaked:
        raise BenchError("%s: the interpreted twin(s) %s report is_compiled() == True after "
                         "compiling the other namespace's copies" % (bench.name, leaked))

    interp = interp_ns[bench.entry]
    jit = jit_ns[bench.entry]
    expected = interp(*args)      # also a warm-up run for both variants
    got = jit(*args)
    if type(expected) is not type(got) or expected != got:
        raise BenchError("%s%r: compiled result %r differs from interpreted result %r"
                         % (bench.entry, args, got, expected))

    gc.collect()
    interp_times, jit_times = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        interp(*args)
        interp_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = jit(*args)
        jit_times.append(time.perf_counter() - t0)
        if got != expected:
            raise BenchError("%s%r: compiled result changed between runs: %r, expected %r"
                             % (bench.entry, args, got, expected))
    interp_med = statistics.median(interp_times)
    jit_med = statistics.median(jit_times)
    return {
        "name": bench.name,
        "what": bench.what.format(*args),
        "plain_s": plain_med,
        "interp_s": interp_med,
        "jit_s": jit_med,
        "ratio": interp_med / jit_med if jit_med > 0 else float("inf"),
        "plain_ratio": plain_med / jit_med if jit_med > 0 else float("inf"),
        "compile_s": compile_seconds,
        "native": native,
        "functions": len(jit_funcs),
        "warnings": compile_warnings,
    }


def run(names=None, repeat=5, quick=False):
    """Run the benchmarks (all, or those named); returns a list of result dicts."""
    selected = BENCHMARKS
    if names:
        known = {b.name: b for b in BENCHMARKS}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BenchError("unknown benchmark(s) %s; known: %s"
                             % (", ".join(unknown), ", ".join(known)))
        selected = [known[n] for n in names]
    # Phase 1: the plain interpreter, before this run compiles anything.  Installing
    # the JIT's frame-evaluation hook slows interpreted code down too (CPython 3.11
    # stops inlining Python-to-Python calls), so phase 2's "interpreted" column is
    # the interpreter as it runs next to the JIT, and this one is the baseline
    # without it.
    loaded = [_time_plain(b, repeat, quick) for b in selected]
    # Phase 2: compile, check results, time interpreted and compiled interleaved.
    return [run_one(b, repeat, quick, l) for b, l in zip(selected, loaded)]


def geomean(values):
    values = [v for v in values if v > 0 and math.isfinite(v)]
    if not values:
        return float("nan")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header_lines(repeat, quick):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        "date: %s" % now,
        "machine: %s, %s, %s CPUs" % (platform.platform(), _cpu_model(), os.cpu_count()),
        "python: %s %s (%s)" % (platform.python_implementation(), platform.python_version(),
                                " ".join(platform.python_build())),
        "repeat: %d (interpreted and compiled runs interleaved, medians)%s"
        % (repeat, ", quick sizes" if quick else ""),
    ]


COLUMNS = ["benchmark", "what", "plain ms", "interpreted ms", "compiled ms", "ratio",
           "vs plain", "compile ms", "native fns"]

LEGEND = [
    "plain: interpreter before anything was compiled (no JIT hook installed);",
    "interpreted: the same source, not compiled, timed interleaved with compiled, hook installed;",
    "ratio = interpreted / compiled, vs plain = plain / compiled (> 1: the JIT is faster);",
    "compile: time of the coconut.compile() calls; native fns: functions with a native entry.",
]


def _ms(seconds):
    ms = seconds * 1e3
    return "%.1f" % ms if ms >= 10 else "%.3f" % ms


def _row(r):
    return [r["name"], r["what"], _ms(r["plain_s"]), _ms(r["interp_s"]), _ms(r["jit_s"]),
            "%.2fx" % r["ratio"], "%.2fx" % r["plain_ratio"], _ms(r["compile_s"]),
            "%d/%d" % (r["native"], r["functions"])]


def format_text(results, repeat, quick):
    rows = [COLUMNS] + [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = header_lines(repeat, quick) + [""]
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("geometric mean: ratio %.2fx, vs plain %.2fx"
                 % (geomean(r["ratio"] for r in results),
                    geomean(r["plain_ratio"] for r in results)))
    lines += [""] + LEGEND
    return "\n".join(lines + _footer(results))


def format_markdown(results, repeat, quick):
    lines = ["- " + h for h in header_lines(repeat, quick)] + [""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(COLUMNS) - 2)) + "|")
    for r in results:
        lines.append("| " + " | ".join(_row(r)) + " |")
    lines.append("")
    lines.append("Geometric mean: ratio **%.2fx**, vs plain **%.2fx**"
                 % (geomean(r["ratio"] for r in results),
                    geomean(r["plain_ratio"] for r in results)))
    lines += [""] + ["- " + line for line in LEGEND]
    return "\n".join(lines + _footer(results, markdown=True))


def _footer(results, markdown=False):
    item = "- " if markdown else "  "
    lines = []
    warned = [w for r in results for w in r["warnings"]]
    if warned:
        lines += ["", "compile warnings (function stays interpreted):", ""]
        lines += [item + w for w in warned]
    stats = coconut.stats()
    deopts = stats.get("deopts") or {}
    lines += ["", "coconut.stats(): %d compiled, %d failed, %.1f ms compiling in total"
              % (stats.get("compiled", 0), stats.get("failed", 0),
                 stats.get("compile_seconds", 0.0) * 1e3)]
    lines.append(("\n" if markdown else "") + "deopts: " + (", ".join("%s: %d" % kv for kv in sorted(deopts.items()))
                               or "none"))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m coconut.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="benchmarks to run (default: all): "
                        + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed repetitions per variant (default 5; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small sizes, 1 repetition")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    opts = parser.parse_args(argv)
    faulthandler.enable()   # a JIT bug that crashes the process still shows where
    repeat = opts.repeat if opts.repeat is not None else (1 if opts.quick else 5)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        results = run(opts.names, repeat=repeat, quick=opts.quick)
    except BenchError as e:
        print("coconut.bench: FAILED: %s" % e, file=sys.stderr)
        return 1
    fmt = format_markdown if opts.markdown else format_text
    print(fmt(results, repeat, opts.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
