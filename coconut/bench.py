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

``python3 -m coconut.bench --startup`` measures start-up: ``python3 -m coconut -c pass``
against ``python3 -c pass``, wall time and peak memory, interleaved.

``python3 -m coconut.bench --programs [--thresholds 0,10,...] [--repeat N] [--quick]
[--markdown] [--docs FILE] [NAME ...]`` measures whole programs instead: every
benchmark as a standalone script (its entry called PROGRAM_CALLS times, about 1 s
under plain python3) and a few program-like scripts using the standard library
(PROGRAMS), each run as a process under ``python3 SCRIPT`` and under
``python3 -m coconut --threshold N SCRIPT`` with an empty compile cache (and, for
the default threshold, also a warm one), wall-clock, runs interleaved; the output of
every coconut run must equal the plain run's.  It recommends the threshold with the
best geometric mean among those with which no program is more than 2x slower.
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

    Benchmark("generators", "a pipeline of generators, a generator expression", """
        def numbers(n):
            for i in range(n):
                yield i

        def scaled(it, k):
            for x in it:
                yield x * k

        def pipeline(n):
            total = 0
            for v in scaled(numbers(n), 3):
                if v % 2:
                    total += v
            return total + sum(x * x for x in range(n // 4))
        """, "pipeline", (600_000,), (1000,)),

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

    Benchmark("small_methods", "objects made and used through small methods", """
        class Shape:
            def __init__(self, name):
                self.name = name
                self.moves = 0

            def area(self):
                return 0

            def scaled(self, k):
                return self.area() * k

            def move(self):
                self.moves += 1
                return self

        class Rect(Shape):
            def __init__(self, w, h):
                super().__init__("rect")
                self.w = w
                self.h = h

            def area(self):
                return self.w * self.h

        class Square(Rect):
            def __init__(self, side):
                super().__init__(side, side)

            @property
            def side(self):
                return self.w

        def small_methods(n):
            total = 0
            shapes = [Rect(2, 3), Square(4), Shape("dot")]
            for i in range(n):
                s = Square(i % 7 + 1) if i % 3 else Rect(i % 5, 2)
                total += s.move().scaled(2) + s.area()
                for t in shapes:
                    total += t.scaled(3)
                if isinstance(s, Square):
                    total += s.side
            return total + sum(t.moves for t in shapes)
        """, "small_methods", (140_000,), (300,)),
    Benchmark("exc_catch", "try/except KeyError in a loop, half the lookups miss", """
        def exc_catch(n):
            d = {i: i for i in range(0, 16, 2)}
            misses = 0
            total = 0
            for i in range(n):
                try:
                    total += d[i & 15]
                except KeyError:
                    misses += 1
            return total, misses
        """, "exc_catch", (300_000,), (1000,)),

    Benchmark("exc_propagate", "KeyError caught two compiled calls up", """
        def inner(d, k):
            return d[k]

        def middle(d, k):
            return inner(d, k) + 1

        def exc_propagate(n):
            d = {0: 1}
            misses = 0
            for i in range(n):
                try:
                    middle(d, i & 7)
                except KeyError:
                    misses += 1
            return misses
        """, "exc_propagate", (150_000,), (1000,)),

    Benchmark("match_classes", "an expression evaluator over class and mapping patterns", """
        class Num:
            __match_args__ = ("v",)

            def __init__(self, v):
                self.v = v

        class Add:
            __match_args__ = ("l", "r")

            def __init__(self, l, r):
                self.l, self.r = l, r

        class Mul(Add):
            pass

        def evaluate(e):
            match e:
                case Num(v):
                    return v
                case Mul(l, r):
                    return evaluate(l) * evaluate(r)
                case Add(l, r):
                    return evaluate(l) + evaluate(r)
                case {"op": "neg", "arg": a}:
                    return -evaluate(a)
                case int(n):
                    return n

        def match_classes(n):
            total = 0
            for i in range(n):
                e = Add(Num(i), Mul({"op": "neg", "arg": Num(2)}, Add(i & 7, Num(3))))
                total += evaluate(e)
            return total
        """, "match_classes", (8_000,), (100,)),
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



# ---------------------------------------------------------------------------
# Whole programs: `python3 -m coconut.bench --programs`
#
# Every benchmark above becomes a standalone script that calls its entry
# PROGRAM_CALLS times (a program calls its hot functions many times: the
# threshold decides after how many entries they are compiled), plus a few
# program-like scripts that use the standard library.  Each script runs as a
# separate process under plain `python3 SCRIPT` and under `python3 -m coconut
# --threshold N SCRIPT`, with a cold compile cache (a fresh empty
# COCONUT_CACHE_DIR per run) and, for the default threshold, also warm (a second
# run on the same cache directory).  Wall-clock time of the whole process,
# interpreter start-up and compiling included.

PROGRAM_CALLS = 200          # calls of the entry per script (QUICK: 40)
PROGRAM_CALLS_QUICK = 40

# Arguments of one call in program mode, (full, quick): full sizes take about
# 5 ms per call in the plain interpreter (200 calls: about 1 s).
PROGRAM_ARGS = {
    "int_while": ((140_000,), (50_000,)),
    "int_for": ((120_000,), (40_000,)),
    "float_integrate": ((90_000,), (30_000,)),
    "float_orbit": ((45_000,), (15_000,)),
    "fib": ((24, 1), (20, 1)),
    "small_methods": ((5_500,), (2_000,)),
    "call_helper": ((95_000,), (30_000,)),
    "attributes": ((38_000,), (12_000,)),
    "lists": ((24_000,), (8_000,)),
    "dicts_strings": ((55_000,), (20_000,)),
    "generators": ((26_000,), (9_000,)),
    "exc_catch": ((17_000,), (6_000,)),
    "exc_propagate": ((5_500,), (2_000,)),
    "match_classes": ((500,), (170,)),
}

_BENCH_SCRIPT_MAIN = """

def _coconut_bench_main():
    result = None
    for _ in range({calls}):
        result = {entry}(*{args!r})
    print(repr(result))


_coconut_bench_main()
"""


class Program:
    """A standalone script; SIZE in its source is replaced by the size."""
    def __init__(self, name, what, source, size, quick_size):
        self.name = name
        self.what = what
        self.source = textwrap.dedent(source)
        self.size = size
        self.quick_size = quick_size

    def script(self, quick):
        return self.source.replace("SIZE", str(self.quick_size if quick else self.size))


PROGRAMS = [
    Program("json_roundtrip", "json dumps/loads of a generated document, walks", """
        import json
        import random

        TAGS = ["red", "green", "blue", "admin", "guest", "beta", "x", "long-tag-name"]
        CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Quito", "Porto", "Accra"]

        def make_doc(rng, n):
            users = []
            for i in range(n):
                users.append({
                    "id": i,
                    "name": "user%05d" % i,
                    "email": "u%d@example.com" % i,
                    "score": round(rng.random() * 100, 3),
                    "active": rng.random() < 0.7,
                    "tags": [rng.choice(TAGS) for _ in range(rng.randint(0, 5))],
                    "address": {"city": rng.choice(CITIES), "zip": "%05d" % rng.randint(0, 99999)},
                    "history": [{"t": j, "v": rng.randint(-50, 50)} for j in range(rng.randint(1, 6))],
                })
            return {"version": 3, "users": users}

        def checksum(obj):
            if isinstance(obj, dict):
                total = 0
                for key, value in obj.items():
                    total += len(key) + checksum(value)
                return total
            if isinstance(obj, list):
                total = len(obj)
                for item in obj:
                    total += checksum(item)
                return total
            if isinstance(obj, bool):
                return 3 if obj else 5
            if isinstance(obj, int):
                return obj
            if isinstance(obj, float):
                return int(obj * 1000)
            if isinstance(obj, str):
                return len(obj)
            return 1

        def summarize(doc):
            by_city = {}
            for user in doc["users"]:
                if not user["active"]:
                    continue
                city = user["address"]["city"]
                entry = by_city.setdefault(city, [0, 0.0, 0])
                entry[0] += 1
                entry[1] += user["score"]
                for h in user["history"]:
                    entry[2] += h["v"]
            return {city: (n, round(s / n, 3), v) for city, (n, s, v) in sorted(by_city.items())}

        def main():
            rng = random.Random(42)
            doc = make_doc(rng, SIZE)
            expected = checksum(doc)
            sizes = []
            for rnd in range(6):
                text = json.dumps(doc, indent=2 if rnd % 3 == 0 else None, sort_keys=rnd % 2 == 0)
                sizes.append(len(text))
                doc = json.loads(text)
                if checksum(doc) != expected:
                    raise SystemExit("checksum changed")
                doc["users"][rnd]["score"] += 1.0
                expected = checksum(doc)
            print(sizes, expected)
            for city, row in summarize(doc).items():
                print(city, row)

        main()
        """, 7500, 750),

    Program("text_report", "textwrap, Counter, str.format report of generated text", """
        import collections
        import random
        import textwrap

        WORDS = ("the quick brown fox jumps over lazy dog alpha beta gamma delta epsilon "
                 "server client request response error warning timeout retry cache "
                 "database index query commit rollback session token user admin").split()

        class Entry:
            def __init__(self, ident, level, author, text):
                self.ident = ident
                self.level = level
                self.author = author
                self.text = text

            def words(self):
                return self.text.split()

            def summary(self, width):
                return textwrap.shorten(self.text, width=width, placeholder=" ...")

        def make_entries(rng, n):
            entries = []
            for i in range(n):
                k = rng.randint(8, 60)
                text = " ".join(rng.choice(WORDS) for _ in range(k))
                entries.append(Entry(i, rng.choice(["INFO", "WARN", "ERROR", "DEBUG"]),
                                     "author%02d" % rng.randint(0, 30), text.capitalize() + "."))
            return entries

        def report(entries):
            lines = []
            counts = collections.Counter()
            per_level = collections.defaultdict(int)
            per_author = collections.defaultdict(list)
            for e in entries:
                counts.update(e.words())
                per_level[e.level] += 1
                per_author[e.author].append(len(e.text))
            lines.append("{:=^60}".format(" REPORT "))
            for level in sorted(per_level):
                lines.append("{:<8}{:>8d}{:>10.1f}%".format(level, per_level[level],
                                                          100.0 * per_level[level] / len(entries)))
            lines.append("-" * 60)
            for word, n in counts.most_common(12):
                lines.append(f"{word:<15}|{'#' * (n * 40 // counts.most_common(1)[0][1]):<40}| {n}")
            for author in sorted(per_author):
                sizes = per_author[author]
                lines.append("%-10s %5d %8.2f %6d" % (author, len(sizes), sum(sizes) / len(sizes), max(sizes)))
            for e in entries[::7]:
                lines.append(textwrap.fill("[%05d %s] %s" % (e.ident, e.level, e.text), width=72,
                                           subsequent_indent="    "))
                lines.append("  " + e.summary(40))
            return lines

        def main():
            rng = random.Random(7)
            entries = make_entries(rng, SIZE)
            lines = report(entries)
            text = "\\n".join(lines)
            print(len(lines), len(text), sum(map(ord, text)) % 1000003)
            print("\\n".join(lines[:30]))

        main()
        """, 55000, 5500),

    Program("tokenize_eval", "re tokenizer, recursive-descent parser, AST classes", """
        import random
        import re

        TOKEN_RE = re.compile(r'''
            (?P<NUM>\\d+(?:\\.\\d+)?)
          | (?P<NAME>[A-Za-z_]\\w*)
          | (?P<OP>[-+*/%(),])
          | (?P<WS>\\s+)
          | (?P<BAD>.)
        ''', re.VERBOSE)

        class Token:
            __slots__ = ("kind", "text", "pos")
            def __init__(self, kind, text, pos):
                self.kind = kind
                self.text = text
                self.pos = pos

        def tokenize(src):
            tokens = []
            for m in TOKEN_RE.finditer(src):
                kind = m.lastgroup
                if kind == "WS":
                    continue
                if kind == "BAD":
                    raise SyntaxError("bad character %r at %d" % (m.group(), m.start()))
                tokens.append(Token(kind, m.group(), m.start()))
            tokens.append(Token("EOF", "", len(src)))
            return tokens

        class Node:
            pass

        class Num(Node):
            def __init__(self, value):
                self.value = value
            def eval(self, env):
                return self.value

        class Var(Node):
            def __init__(self, name):
                self.name = name
            def eval(self, env):
                return env[self.name]

        class BinOp(Node):
            def __init__(self, op, left, right):
                self.op = op
                self.left = left
                self.right = right
            def eval(self, env):
                a = self.left.eval(env)
                b = self.right.eval(env)
                op = self.op
                if op == "+":
                    return a + b
                if op == "-":
                    return a - b
                if op == "*":
                    return a * b
                if op == "/":
                    return a / b if b else 0.0
                return a % b if b else 0.0

        class Neg(Node):
            def __init__(self, operand):
                self.operand = operand
            def eval(self, env):
                return -self.operand.eval(env)

        class Call(Node):
            def __init__(self, name, args):
                self.name = name
                self.args = args
            def eval(self, env):
                values = [a.eval(env) for a in self.args]
                if self.name == "max":
                    return max(values)
                if self.name == "min":
                    return min(values)
                return sum(values) / len(values)

        class Parser:
            def __init__(self, tokens):
                self.tokens = tokens
                self.i = 0

            def peek(self):
                return self.tokens[self.i]

            def take(self):
                tok = self.tokens[self.i]
                self.i += 1
                return tok

            def expect(self, text):
                tok = self.take()
                if tok.text != text:
                    raise SyntaxError("expected %r at %d, got %r" % (text, tok.pos, tok.text))

            def expr(self):
                node = self.term()
                while self.peek().text in ("+", "-"):
                    op = self.take().text
                    node = BinOp(op, node, self.term())
                return node

            def term(self):
                node = self.factor()
                while self.peek().text in ("*", "/", "%"):
                    op = self.take().text
                    node = BinOp(op, node, self.factor())
                return node

            def factor(self):
                tok = self.take()
                if tok.kind == "NUM":
                    return Num(float(tok.text))
                if tok.kind == "NAME":
                    if self.peek().text == "(":
                        self.take()
                        args = [self.expr()]
                        while self.peek().text == ",":
                            self.take()
                            args.append(self.expr())
                        self.expect(")")
                        return Call(tok.text, args)
                    return Var(tok.text)
                if tok.text == "-":
                    return Neg(self.factor())
                if tok.text == "(":
                    node = self.expr()
                    self.expect(")")
                    return node
                raise SyntaxError("unexpected %r at %d" % (tok.text, tok.pos))

        def gen_expr(rng, depth):
            r = rng.random()
            if depth <= 0 or r < 0.25:
                if rng.random() < 0.5:
                    return str(rng.randint(0, 99))
                return rng.choice(["x", "y", "z", "rate", "count"])
            if r < 0.35:
                return "-" + gen_expr(rng, depth - 1)
            if r < 0.45:
                fn = rng.choice(["max", "min", "avg"])
                return "%s(%s)" % (fn, ", ".join(gen_expr(rng, depth - 1) for _ in range(rng.randint(1, 3))))
            if r < 0.55:
                return "(" + gen_expr(rng, depth - 1) + ")"
            return "%s %s %s" % (gen_expr(rng, depth - 1), rng.choice("+-*/%"), gen_expr(rng, depth - 1))

        def main():
            rng = random.Random(3)
            sources = [gen_expr(rng, 6) for _ in range(SIZE)]
            envs = [{"x": 1.5 * k, "y": 2.0 - k, "z": 0.25, "rate": 3.0, "count": float(k)} for k in range(8)]
            total = 0.0
            ntokens = 0
            for src in sources:
                tokens = tokenize(src)
                ntokens += len(tokens)
                tree = Parser(tokens).expr()
                for env in envs:
                    total += tree.eval(env)
            print(len(sources), ntokens, repr(round(total, 6)))

        main()
        """, 27000, 2700),
]


def _bench_program_script(bench, quick):
    args = PROGRAM_ARGS[bench.name][1 if quick else 0]
    calls = PROGRAM_CALLS_QUICK if quick else PROGRAM_CALLS
    what = "%s: %d calls of %s%r" % (bench.name, calls, bench.entry, tuple(args))
    return what, bench.source + _BENCH_SCRIPT_MAIN.format(calls=calls, entry=bench.entry,
                                                          args=tuple(args))


def program_scripts(names=None, quick=False):
    """[(name, what, script source)] for the whole-program benchmarks."""
    items = [(b.name,) + _bench_program_script(b, quick) for b in BENCHMARKS]
    items += [(p.name, p.what, p.script(quick)) for p in PROGRAMS]
    if names:
        known = {item[0]: item for item in items}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BenchError("unknown program(s) %s; known: %s"
                             % (", ".join(unknown), ", ".join(known)))
        items = [known[n] for n in names]
    return items


DEFAULT_THRESHOLDS = (0, 10, 100, 1000, 10000)

# A configuration whose first run is this many times slower than the plain run
# is not repeated (its single time is reported, marked): it is out of the race
# anyway, and threshold 0 compiles the whole standard library used (minutes).
SKIP_FACTOR = 3.0


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(coconut.__file__)))


# `--stats-json` makes the runner count executed instructions, which slows the
# interpreted part of a program down 2-3x: the timed runs use a sitecustomize
# module instead that writes coconut.stats() (cheap counters) at exit.
_STATS_SITECUSTOMIZE = """\
import atexit
import os
import sys

def _coconut_bench_write_stats(path=os.environ.pop("COCONUT_BENCH_STATS", "")):
    coconut = sys.modules.get("coconut")
    if path and coconut is not None:
        import json
        with open(path, "w") as f:
            json.dump(coconut.stats(), f, default=str)

atexit.register(_coconut_bench_write_stats)
"""


def _program_env(cache_dir=None, stats_dir=None, stats_file=None):
    env = dict(os.environ)
    for var in ("COCONUT_JIT", "COCONUT_THRESHOLD", "COCONUT_CACHE_DIR", "COCONUT_CACHE",
                "COCONUT_BENCH_STATS"):
        env.pop(var, None)
    root = _repo_root()
    first = [root] if stats_dir is None else [stats_dir, root]
    env["PYTHONPATH"] = os.pathsep.join(first + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                 if p and os.path.abspath(p) != root])
    if stats_file is not None:
        env["COCONUT_BENCH_STATS"] = stats_file
    env["PYTHONHASHSEED"] = "0"      # the same str hashes (set order) in every run
    if cache_dir is not None:
        env["COCONUT_CACHE_DIR"] = cache_dir
    return env


def _run_process(argv, env, cwd, label, timeout=1800):
    import subprocess
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BenchError("%s: exit status %d\n%s" % (label, proc.returncode,
                                                      proc.stderr.decode(errors="replace")[-3000:]))
    return elapsed, proc.stdout


def run_programs(names=None, repeat=3, quick=False, thresholds=DEFAULT_THRESHOLDS,
                 warm_threshold=None, skip_factor=SKIP_FACTOR, log=None):
    """Run the whole-program benchmarks; returns a list of result dicts."""
    import json
    import shutil
    import tempfile
    from . import startup
    if warm_threshold is None:
        warm_threshold = startup.DEFAULT_THRESHOLD
    configs = [("cold", t) for t in thresholds]
    if warm_threshold in thresholds:
        configs.append(("warm", warm_threshold))
    python = sys.executable
    results = []
    tmp = tempfile.mkdtemp(prefix="coconut-programs-")
    stats_dir = os.path.join(tmp, "statshook")
    os.mkdir(stats_dir)
    with open(os.path.join(stats_dir, "sitecustomize.py"), "w") as f:
        f.write(_STATS_SITECUSTOMIZE)
    try:
        for name, what, source in program_scripts(names, quick):
            workdir = os.path.join(tmp, name)
            os.mkdir(workdir)
            script = os.path.join(workdir, name + ".py")
            with open(script, "w") as f:
                f.write(source)
            plain_times = []
            runs = {c: [] for c in configs}      # config -> [(seconds, compiled, compile_s)]
            skipped = set()
            expected = None
            for rep in range(repeat):
                elapsed, out = _run_process([python, script], _program_env(), workdir,
                                            "%s (plain)" % name)
                if expected is None:
                    expected = out
                elif out != expected:
                    raise BenchError("%s: plain output changed between runs" % name)
                plain_times.append(elapsed)
                cold_dir = {}
                for kind, t in configs:
                    if (kind, t) in skipped:
                        continue
                    if kind == "cold":
                        cache = tempfile.mkdtemp(prefix="cache-t%d-" % t, dir=workdir)
                        cold_dir[t] = cache
                    else:
                        cache = cold_dir.get(t)
                        if cache is None:      # its cold run was skipped: warm it up now
                            cache = tempfile.mkdtemp(prefix="cache-t%d-" % t, dir=workdir)
                            _run_process([python, "-m", "coconut", "--threshold", str(t), script],
                                         _program_env(cache), workdir, "%s (warming)" % name)
                    stats_file = os.path.join(workdir, "stats.json")
                    label = "%s (coconut --threshold %d, %s cache)" % (name, t, kind)
                    elapsed, out = _run_process(
                        [python, "-m", "coconut", "--threshold", str(t), script],
                        _program_env(cache, stats_dir, stats_file), workdir, label)
                    if out != expected:
                        raise BenchError("%s: output differs from plain python3:\n--- plain\n%s\n"
                                         "--- coconut\n%s" % (label, expected.decode(errors="replace")[:2000],
                                                              out.decode(errors="replace")[:2000]))
                    with open(stats_file) as f:
                        st = json.load(f)
                    runs[(kind, t)].append((elapsed, st.get("compiled", 0),
                                            st.get("compile_seconds", 0.0)))
                    if log:
                        log("%s: rep %d, plain %.2f s, %s t=%d %.2f s, %d compiled, %.2f s compiling"
                            % (name, rep + 1, plain_times[-1], kind, t, elapsed,
                               st.get("compiled", 0), st.get("compile_seconds", 0.0)))
                    if rep == 0 and repeat > 1 and elapsed > skip_factor * plain_times[0]:
                        skipped.add((kind, t))
                # cold caches of this repetition are no longer needed
                for t, cache in cold_dir.items():
                    shutil.rmtree(cache, ignore_errors=True)
            plain = statistics.median(plain_times)
            res = {"name": name, "what": what, "plain_s": plain, "configs": {}}
            for (kind, t), rs in runs.items():
                secs = statistics.median(r[0] for r in rs)
                res["configs"]["%s %d" % (kind, t)] = {
                    "kind": kind, "threshold": t, "seconds": secs,
                    "ratio": plain / secs if secs > 0 else float("inf"),
                    "runs": len(rs), "compiled": rs[0][1],
                    "compile_s": statistics.median(r[2] for r in rs),
                }
            results.append(res)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def recommend(results, thresholds, max_slowdown=2.0):
    """The cold threshold with the best geometric mean ratio among those with which
    no program runs more than max_slowdown times slower than plain.
    Returns (threshold or None, {threshold: (geomean, worst ratio, worst program)})."""
    summary = {}
    for t in thresholds:
        key = "cold %d" % t
        ratios = [(r["configs"][key]["ratio"], r["name"]) for r in results if key in r["configs"]]
        if not ratios:
            continue
        worst = min(ratios)
        summary[t] = (geomean(x for x, _ in ratios), worst[0], worst[1])
    eligible = [t for t, (g, w, _) in summary.items() if w >= 1.0 / max_slowdown]
    if not eligible:
        return None, summary
    return max(eligible, key=lambda t: summary[t][0]), summary


def _config_keys(results, thresholds):
    keys = ["cold %d" % t for t in thresholds]
    keys += sorted({k for r in results for k in r["configs"] if k.startswith("warm")})
    return keys


def _config_title(key):
    kind, t = key.split()
    return "t=%s%s" % (t, "" if kind == "cold" else " warm")


def format_programs(results, repeat, quick, thresholds, command, markdown=False):
    keys = _config_keys(results, thresholds)
    best, summary = recommend(results, thresholds)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        "command: `%s`" % command if markdown else "command: %s" % command,
        "date: %s" % now,
        "machine: %s, %s, %s CPUs" % (platform.platform(), _cpu_model(), os.cpu_count()),
        "python: %s %s" % (platform.python_implementation(), platform.python_version()),
        "repeat: %d (plain and coconut runs interleaved, wall-clock medians)%s"
        % (repeat, ", quick sizes" if quick else ""),
    ]

    def cell(r, key):
        c = r["configs"].get(key)
        if c is None:
            return "-"
        mark = "†" if c["runs"] < repeat else ""
        return "%.2fx (%.2f s)%s" % (c["ratio"], c["seconds"], mark)

    def ccell(r, key):
        c = r["configs"].get(key)
        if c is None:
            return "-"
        return "%d / %.1f s" % (c["compiled"], c["compile_s"])

    cols1 = ["program", "plain s"] + [_config_title(k) for k in keys]
    rows1 = [[r["name"], "%.2f" % r["plain_s"]] + [cell(r, k) for k in keys] for r in results]
    gm = ["geomean", ""] + ["%.2fx" % geomean(r["configs"][k]["ratio"] for r in results
                                               if k in r["configs"]) for k in keys]
    worst = ["worst", ""] + ["%.2fx" % min((r["configs"][k]["ratio"] for r in results
                                            if k in r["configs"]), default=float("nan"))
                             for k in keys]
    cols2 = ["program", "what"] + [_config_title(k) for k in keys]
    rows2 = [[r["name"], r["what"]] + [ccell(r, k) for k in keys] for r in results]
    if best is None:
        rec = ("recommended threshold: none keeps every program within 2x of plain; best "
               "geometric mean: %s" % max(summary, key=lambda t: summary[t][0]))
    else:
        g, w, wn = summary[best]
        rec = ("recommended threshold: %d (best cold geometric mean %.2fx among thresholds "
               "with no program more than 2x slower; worst: %s %.2fx)" % (best, g, wn, w))
    legend = [
        "cells: ratio = plain time / coconut time (> 1: coconut is faster), and the coconut "
        "wall-clock time in seconds, whole process (start-up, compiling) included;",
        "t=N: `python3 -m coconut --threshold N SCRIPT` with an empty compile cache; "
        "t=N warm: a second run on the cache the first one filled;",
        "†: first run more than %gx slower than plain, not repeated;" % SKIP_FACTOR,
        "second table: code objects compiled / seconds compiling (coconut.stats() at exit, "
        "as --stats-json's compiled and compile_seconds_total; --stats-json itself is not "
        "used in timed runs: its instruction counting slows the interpreter down).",
    ]
    if markdown:
        out = ["- " + h for h in head] + [""]
        for cols, rows, extra, left in ((cols1, rows1, [gm, worst], 1), (cols2, rows2, [], 2)):
            out.append("| " + " | ".join(cols) + " |")
            out.append("|" + "|".join(["---"] * left + ["---:"] * (len(cols) - left)) + "|")
            out += ["| " + " | ".join(row) + " |" for row in rows]
            out += ["| **" + row[0] + "** | " + " | ".join(row[1:]) + " |" for row in extra]
            out.append("")
        out += ["- " + line for line in legend] + ["", "**%s**" % (rec[0].upper() + rec[1:])]
        return "\n".join(out)
    out = head + [""]
    for cols, rows, extra in ((cols1, rows1, [gm, worst]), (cols2, rows2, [])):
        allrows = [cols] + rows + extra
        widths = [max(len(row[i]) for row in allrows) for i in range(len(cols))]
        for n, row in enumerate(allrows):
            out.append("  ".join(c.ljust(w) if i == 0 or cols is cols2 and i == 1 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(row, widths))).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append("")
    out += legend + ["", rec]
    return "\n".join(out)


DOCS_SECTION = "## Whole programs"


def update_docs(path, section_body):
    """Put section_body under DOCS_SECTION in path: replaces that section (up to the
    next "## " heading) if it exists, appends it otherwise."""
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    new = [DOCS_SECTION, ""] + section_body.rstrip("\n").split("\n") + [""]
    try:
        start = lines.index(DOCS_SECTION)
    except ValueError:
        text = text.rstrip("\n") + "\n\n" + "\n".join(new)
    else:
        end = start + 1
        while end < len(lines) and not lines[end].startswith("## "):
            end += 1
        rest = lines[end:]
        text = "\n".join(lines[:start] + new + rest)
        text = text.rstrip("\n") + "\n" if not rest else text
    with open(path, "w") as f:
        f.write(text)


def measure_startup(runs: int) -> dict:
    import subprocess
    """Wall time and peak RSS (ru_maxrss of the child) of `python3 -c pass` and
    `python3 -m coconut -c pass`, interleaved, medians. .pyc files are written (a user's
    installation has them), and coconut's runtime library is in its cache after the
    first run (the first runs of each are not counted)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(coconut.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    commands = {"plain": [sys.executable, "-c", "pass"],
                "coconut": [sys.executable, "-m", "coconut", "-c", "pass"]}
    # (peak memory: VmHWM, reported by the program itself as its last statement; the
    # rusage of a child counts the pages of the parent it was forked from)
    report = ("import sys; sys.stdout.write([l.split()[1] for l in open('/proc/self/status') "
              "if l.startswith('VmHWM:')][0])")
    times = {k: [] for k in commands}
    peaks = {k: [] for k in commands}
    for i in range(runs + 1):
        for name, cmd in commands.items():
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True)
            elapsed = time.perf_counter() - t
            if i:
                times[name].append(elapsed)
                out = subprocess.run(cmd[:-1] + [report], env=env, check=True,
                                     capture_output=True, text=True).stdout
                peaks[name].append(int(out))
    return {k: (statistics.median(times[k]), statistics.median(peaks[k]), runs) for k in commands}


def format_startup(result: dict) -> str:
    (pt, pm, runs), (ct, cm, _) = result["plain"], result["coconut"]
    return ("start-up (%d interleaved runs, medians): python3 -c pass %.1f ms, "
            "python3 -m coconut -c pass %.1f ms (+%.1f ms); peak memory %.1f MB vs %.1f MB "
            "(%.2fx)" % (runs, pt * 1e3, ct * 1e3, (ct - pt) * 1e3, cm / 1024, pm / 1024, cm / pm))


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
    programs = parser.add_argument_group(
        "whole programs", "--programs: every benchmark as a standalone script (its entry "
        "called %d times, about 1 s in all) plus program-like scripts using the standard "
        "library (%s), each run as a process under plain python3 and under "
        "`python3 -m coconut --threshold N` with a cold compile cache, and for the default "
        "threshold also warm; NAMEs select scripts"
        % (PROGRAM_CALLS, ", ".join(p.name for p in PROGRAMS)))
    programs.add_argument("--programs", action="store_true",
                          help="run the whole-program benchmarks (default repeat 3; 1 with --quick)")
    programs.add_argument("--thresholds", default=",".join(map(str, DEFAULT_THRESHOLDS)),
                          metavar="N,N,...",
                          help="thresholds to run (default %(default)s)")
    programs.add_argument("--warm-threshold", type=int, default=None, metavar="N",
                          help="threshold also run with a warm cache (default: "
                          "coconut.startup.DEFAULT_THRESHOLD)")
    programs.add_argument("--no-skip", action="store_true",
                          help="repeat every configuration, also those more than %gx slower "
                          "than plain on their first run" % SKIP_FACTOR)
    programs.add_argument("--docs", metavar="FILE",
                          help="also write the Markdown result into FILE's section "
                          "\"%s\" (replaced if present, appended otherwise)" % DOCS_SECTION)
    programs.add_argument("-v", "--verbose", action="store_true",
                          help="log every run to stderr")
    parser.add_argument("--startup", action="store_true",
                        help="start-up time and peak memory of `python3 -m coconut -c pass` "
                        "against `python3 -c pass` (20 interleaved runs; 5 with --quick)")
    opts = parser.parse_args(argv)
    faulthandler.enable()   # a JIT bug that crashes the process still shows where
    if opts.startup:
        print(format_startup(measure_startup(5 if opts.quick else 20)))
        return 0
    if opts.programs:
        return _main_programs(parser, opts, argv)
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


def _main_programs(parser, opts, argv):
    repeat = opts.repeat if opts.repeat is not None else (1 if opts.quick else 3)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        thresholds = tuple(int(t) for t in opts.thresholds.split(",") if t.strip())
    except ValueError:
        parser.error("--thresholds: comma-separated integers expected")
    if not thresholds or min(thresholds) < 0:
        parser.error("--thresholds: non-negative integers expected")
    command = "python3 -m coconut.bench " + " ".join(sys.argv[1:] if argv is None else argv)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if opts.verbose else None
    try:
        results = run_programs(opts.names, repeat=repeat, quick=opts.quick,
                               thresholds=thresholds, warm_threshold=opts.warm_threshold,
                               skip_factor=float("inf") if opts.no_skip else SKIP_FACTOR,
                               log=log)
    except BenchError as e:
        print("coconut.bench: FAILED: %s" % e, file=sys.stderr)
        return 1
    print(format_programs(results, repeat, opts.quick, thresholds, command,
                          markdown=opts.markdown))
    if opts.docs:
        update_docs(opts.docs, format_programs(results, repeat, opts.quick, thresholds,
                                               command, markdown=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
