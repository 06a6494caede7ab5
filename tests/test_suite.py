"""The plumbing of `python3 -m coconut.suite` (the pyperformance suite), without timing
anything: the benchmark list resolves to the vendored files, the maths, and the
tables rendered from a fake result. Skipped when pyperf is not installed (the suite's
packages come from `scripts/install.sh --bench`, not from CI)."""
import math
import os

import pytest

pytest.importorskip("pyperf")

from coconut import suite  # noqa: E402


def test_every_benchmark_resolves_to_vendored_files():
    benches = suite.resolve(None)
    assert [b["name"] for b in benches] == [n for n, _ in suite.BENCHMARKS]
    assert len(benches) == 17
    for b in benches:
        assert os.path.isfile(b["script"]), b
        assert os.path.isfile(os.path.join(b["dir"], "pyproject.toml")), b
        assert b["check"], "no result check for %s" % b["name"]
        compile(b["check"], "<check %s>" % b["name"], "exec")
    top = suite.BENCH_DIR
    for f in ("LICENSE", "README.md"):
        assert os.path.isfile(os.path.join(top, f))
    by_name = {b["name"]: b for b in benches}
    assert by_name["async_tree"]["extra"] == ["none"]          # pyproject's extra_opts
    assert by_name["scimark"]["extra"] == []
    assert by_name["async_tree"]["counted"] and by_name["async_generators"]["counted"]
    for sibling in ("bm_regex_effbot.py", "bm_regex_v8.py"):
        assert os.path.isfile(os.path.join(by_name["regex_compile"]["dir"], sibling))
    assert os.path.isfile(os.path.join(by_name["bpe_tokeniser"]["dir"], "data", "frankenstein_intro.txt"))
    assert os.path.getsize(os.path.join(by_name["tomli_loads"]["dir"], "data",
                                        "tomli-bench-data.toml")) > 1_000_000


def test_selection():
    assert [b["name"] for b in suite.resolve(["logging", "scimark", "logging"])] == ["scimark", "logging"]
    assert [b["name"] for b in suite.resolve(None, quick=True)] == \
        [n for n, _ in suite.BENCHMARKS if n in suite.QUICK_BENCHMARKS]
    with pytest.raises(suite.SuiteError):
        suite.resolve(["no_such_benchmark"])
    assert suite.main(["--list"]) == 0


def test_geomean_and_ratios():
    assert suite.geomean([1.0, 4.0]) == pytest.approx(2.0)
    assert suite.geomean([2.0, 8.0, 4.0]) == pytest.approx(4.0)
    assert suite.geomean([0.5, 2.0]) == pytest.approx(1.0)
    assert suite.geomean([3.0, None]) == pytest.approx(3.0)
    assert suite.geomean([]) is None
    with pytest.raises(ValueError):
        suite.geomean([1.0, 0.0])
    # two rounds: the median over all values; the spread from the quartiles
    r, lo, hi = suite.ratio_summary([[2.0, 2.0], [4.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]])
    assert (r, lo, hi) == (3.0, 2.0, 4.0)
    # a failed round (None) is left out
    assert suite.ratio_summary([[2.0], None], [[1.0], [9.0]]) == (2.0, 2.0, 2.0)
    assert suite.ratio_summary([None], [[1.0]]) is None
    # the spread always holds the ratio, here outside both rounds' own ratios
    r, lo, hi = suite.ratio_summary([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]], [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    assert r == pytest.approx(2.0 / 1.5) and lo <= r <= hi
    assert (lo, hi) == (pytest.approx(1.0 / 2.0), pytest.approx(3.0 / 1.0))
    # one round: quartile ratios
    r, lo, hi = suite.ratio_summary([[1.0, 2.0, 3.0, 4.0, 5.0]], [[1.0, 1.0, 1.0, 1.0, 1.0]])
    assert r == 3.0 and lo == 2.0 and hi == 4.0
    assert suite.combine([(1.0, 0.5, 2.0), (4.0, 2.0, 8.0)]) == pytest.approx((2.0, 1.0, 4.0))


def _worker(jit, compiled=0, threshold=None):
    rec = {"argv": ["run_benchmark.py", "--worker"], "coconut": jit}
    if jit:
        rec.update(threshold=threshold, compiled=compiled, failed=2, deopts=7)
    return rec


def _steady(mode, values, jit_on=None):
    jit = (mode != "plain") if jit_on is None else jit_on
    thr = {"all": 0, "default": 10000}.get(mode)
    return {"error": None, "values": values,
            "workers": [_worker(jit, 40 if jit else 0, thr), _worker(jit, 44 if jit else 0, thr)]}


def _fake_results():
    """Two rounds; 'fast' is 2x (all) / 1x (default) faster in steady state and 2x
    slower on first call; 'twoparts' has two pyperf benchmarks; 'async_generators'
    is 1.25x; 'nojit' lost its JIT in the default mode; 'crashy' crashed in 'all'."""
    def bench(counted, plain, all_, default, first_plain, first_jit, default_jit=True):
        return {
            "counted": counted, "parts": sorted(plain),
            "steady": {
                "plain": [_steady("plain", plain), _steady("plain", plain)],
                "all": [_steady("all", all_), _steady("all", all_)],
                "default": [_steady("default", default, default_jit),
                            _steady("default", default, default_jit)],
            },
            "first": {"plain": [{"seconds": first_plain, "error": None, "stats": []}] * 2,
                      "jit": [{"seconds": first_jit, "error": None,
                               "stats": [{"coconut": True, "compiled": 5}]}] * 2},
            "prewarm": {"all": {"error": None}, "default": {"error": None}},
            "check": {"status": "ok"},
        }
    b = {
        "fast": bench(True, {"fast": [0.2, 0.2]}, {"fast": [0.1, 0.1]}, {"fast": [0.2, 0.2]}, 1.0, 2.0),
        "twoparts": bench(True, {"p1": [1.0], "p2": [1.0]}, {"p1": [0.5], "p2": [2.0]},
                          {"p1": [1.0], "p2": [1.0]}, 1.0, 1.0),
        "nojit": bench(True, {"nojit": [1.0]}, {"nojit": [1.0]}, {"nojit": [0.5]}, 1.0, 1.0,
                       default_jit=False),
        "async_generators": bench(False, {"async_generators": [1.0]}, {"async_generators": [0.8]},
                                  {"async_generators": [0.8]}, 1.0, 1.0),
    }
    crash = {"mode": "all", "what": "all: one worker run", "rc": 1,
             "command": "cd benchmarks/pyperformance/crashy && COCONUT_JIT=1 python3 run_benchmark.py",
             "output": "Traceback (most recent call last):\nZeroDivisionError: boom"}
    b["crashy"] = bench(True, {"crashy": [1.0]}, {}, {"crashy": [1.0]}, 1.0, 1.0)
    b["crashy"]["prewarm"]["all"] = {"error": crash}
    b["crashy"]["steady"]["all"] = [{"error": crash, "values": {}, "workers": [], "skipped": True}] * 2
    meta = {"date": "2026-01-01 00:00 UTC", "machine": "test machine", "python": "CPython 3.11",
            "command": "python3 -m coconut.suite", "commit": "abc1234", "minutes": 1.0,
            "settings": {"repeat": 2, "processes": 1, "values": 2, "warmups": 1, "min_time": 0.1,
                         "first_call": "default", "quick": False, "check": True}}
    return {"meta": meta, "benchmarks": b}


def test_summary_and_markdown_from_a_fake_result():
    results = _fake_results()
    s = suite.summarize(results)
    assert s["fast"]["modes"]["all"]["ratio"] == pytest.approx((2.0, 2.0, 2.0))
    assert s["fast"]["modes"]["default"]["ratio"] == pytest.approx((1.0, 1.0, 1.0))
    assert s["fast"]["modes"]["first"]["ratio"] == pytest.approx((0.5, 0.5, 0.5))
    assert s["fast"]["modes"]["all"]["compiled"] == 42
    assert s["twoparts"]["modes"]["all"]["ratio"][0] == pytest.approx(1.0)   # sqrt(2 * 0.5)
    assert s["nojit"]["modes"]["default"]["ratio"] is None                  # JIT not verified
    assert s["nojit"]["modes"]["default"]["unverified"] == 2
    assert s["crashy"]["modes"]["all"]["ratio"] is None
    assert [e["mode"] for e in s["crashy"]["errors"]] == ["all"]

    m = suite.means(s)
    # all: fast 2.0, twoparts 1.0, nojit 1.0 (crashy has none) -> geomean 2 ** (1/3)
    assert m["all"][0] == pytest.approx(2 ** (1 / 3))
    assert m["all"][1] == (1.0, "nojit") or m["all"][1] == (1.0, "twoparts")
    assert m["first"][1] == (0.5, "fast")
    assert "async_generators" not in [n for _, n in m.values()]

    md = suite.render_markdown(results, s, "benchmarks.png")
    lines = md.splitlines()
    row = next(line for line in lines if line.startswith("| fast |"))
    assert row == "| fast | 200 ms | 2.00x (2.00-2.00) | 42 | 1.00x (1.00-1.00) | 42 | 1 s | 0.50x (0.50-0.50) | 5 |"
    assert "| nojit |" in md and "no JIT" in next(line for line in lines if line.startswith("| nojit |"))
    assert "**failed**" in next(line for line in lines if line.startswith("| crashy |"))
    assert "| **geometric mean** | | **%.2fx** |" % (2 ** (1 / 3)) in md
    assert "| **worst** |" in md
    assert "| twoparts | 2 parts, below |" in md
    assert "| twoparts | p1 | 1 s | 2.00x (2.00-2.00) | 1.00x (1.00-1.00) |" in md
    # a benchmark not counted has its own table, after the heading, and not in the means
    head = md.index("### Benchmarks not counted (%s)" % suite.NOT_COUNTED_NOTE)
    assert md.index("| async_generators |") > head
    assert "![ratios, log scale](benchmarks.png)" in md
    assert "ZeroDivisionError: boom" in md and "COCONUT_JIT=1 python3 run_benchmark.py" in md


def test_another_interpreter_gets_its_own_columns():
    """--also NAME=PYTHON: NAME plain against python3 plain, NAME + coconut against NAME
    plain and against python3; workers that ran on another interpreter are not
    counted; the benchmark keeps its own name."""
    results = _fake_results()
    version = "3.11.2 (patched)"
    results["meta"]["also"] = {"patched": {"python": "/opt/patched/bin/python3", "version": version}}

    def on(mode, values, ver=version):
        rec = _steady(mode, values)
        for w in rec["workers"]:
            w["version"] = ver
        return rec
    for name, r in results["benchmarks"].items():
        (part,) = r["parts"] if len(r["parts"]) == 1 else (None,)
        if part is None:
            continue
        r["steady"]["patched:plain"] = [on("plain", {part: [0.5]}), on("plain", {part: [0.5]})]
        r["steady"]["patched:all"] = [on("all", {part: [0.25]}), on("all", {part: [0.25]})]
        # one round's workers ran on the stock interpreter: that round is left out
        r["steady"]["patched:default"] = [on("default", {part: [0.1]}),
                                          on("default", {part: [0.01]}, ver="3.11.7")]
    s = suite.summarize(results)
    fast = s["fast"]["modes"]
    assert "fast" in s and "patched" not in s
    assert fast["patched:plain"]["ratio"] == pytest.approx((0.4, 0.4, 0.4))      # 0.2 / 0.5
    assert fast["patched:all"]["ratio"] == pytest.approx((2.0, 2.0, 2.0))        # 0.5 / 0.25
    assert fast["patched:all"]["vs_python3"] == pytest.approx((0.8, 0.8, 0.8))   # 0.2 / 0.25
    assert fast["patched:default"]["ratio"] == pytest.approx((5.0, 5.0, 5.0))    # 0.5 / 0.1
    assert fast["patched:default"]["unverified"] == 1
    assert fast["all"]["ratio"] == pytest.approx((2.0, 2.0, 2.0))                # unchanged
    md = suite.render_markdown(results, s)
    assert "### On another interpreter: patched" in md and "/opt/patched/bin/python3" in md
    row = next(line for line in md.splitlines() if line.startswith("| fast |") and "5.00x" in line)
    assert row == ("| fast | 2.00x (2.00-2.00) | 1.00x (1.00-1.00) | 0.40x (0.40-0.40) | "
                   "2.00x (2.00-2.00) | 0.80x (0.80-0.80) | 5.00x (5.00-5.00) | 2.00x (2.00-2.00) |")
    assert "| async_generators * |" in md
    assert suite.split_mode("patched:all") == ("patched", "all") and suite.split_mode("all") == (None, "all")


def test_docs_section_is_inserted_then_replaced():
    text = "# Benchmarks\n\nNumbers of someone else.\n\n## Whole programs\n\nmore\n"
    once = suite.update_docs(text, "first body\n")
    assert once.startswith("# Benchmarks\n\n" + suite.DOCS_BEGIN + "\n" + suite.DOCS_HEADING)
    assert once.index("first body") < once.index(suite.DOCS_END) < once.index("Numbers of someone else.")
    assert once.endswith("Numbers of someone else.\n\n## Whole programs\n\nmore\n")
    twice = suite.update_docs(once.replace("more", "more, updated"), "second body\n")
    assert "first body" not in twice and "second body" in twice
    assert twice.count(suite.DOCS_BEGIN) == 1 and "more, updated" in twice


def test_helpers():
    assert suite.fmt_time(0.0123) == "12.3 ms" and suite.fmt_time(2.5) == "2.5 s"
    assert suite.fmt_time(3.8e-5) == "38 us"
    assert suite.fmt_ratio((1.234, 1.1, 1.35)) == "1.23x (1.10-1.35)"
    assert suite.quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)
    compile(suite.SITECUSTOMIZE, "sitecustomize.py", "exec")
    compile(suite.CHECK_RUNNER, "<runner>", "exec")
    assert not math.isnan(suite.geomean([1e-9, 1e9]))
    assert suite.command_line(["--repeat", "2", "a b"]) == "python3 -m coconut.suite --repeat 2 'a b'"
