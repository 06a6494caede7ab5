#!/usr/bin/env python3
"""CPython's own regression tests under the coconut JIT, compared test by test.

For every test module, run it twice, each in a fresh temporary working directory:

  stock:  python3 -m test --junit-xml OUT.xml -v MODULE
  JIT:    python3 -m coconut --threshold 0 --sync --stats-json S.json --native-count-only \
              -m test --junit-xml OUT.xml -v MODULE          (PYTHONPATH=<repo>)
  count:  python3 -m coconut --threshold 0 --sync --stats-json C.json -m test ... MODULE

The compared JIT run counts only the instructions that ran natively (compiled-in
counters); the count run, the same again on the cache the JIT run filled, also counts
the interpreter's instructions with a C trace function, and gives the native share.
They are two runs because a trace function is not invisible: CPython then creates a
frame object for every frame, which test_frame's test_sneaky_frame_object notices.

--sync: every function is compiled before its first call runs (not on the compile
thread while it runs interpreted), so the tests run the compiled code.

and compare the per-test results (junit XML, completed by the verbose output for the
tests whose sub-tests failed: regrtest's junit writer does not record those). A test
is *lost* when it passes under the stock interpreter but not under the JIT; if the
JIT run crashed (negative return code: a signal), hung (ran past the timeout) or
wrote no junit XML, every stock pass of the module is lost.

    python3 scripts/compat.py --all            # the full list, writes docs/compat.md
    python3 scripts/compat.py --quick          # a fast subset (report in build/compat/)
    python3 scripts/compat.py test_bool test_iter -j 2 --keep

Writes a markdown report (--output; docs/compat.md by default with --all, else
<results-dir>/compat.md) and the raw per-module results as JSON in the results
directory (build/compat/ by default). Exit status: 0 if nothing is lost, crashed or
hung under the JIT; 1 otherwise; 2 if a stock run itself crashed, hung or wrote no
junit XML (nothing to compare against).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The list.
FULL = """
test_grammar test_opcodes test_exceptions test_scope test_with test_raise
test_augassign test_binop test_bool test_compare test_unary test_unpack
test_extcall test_keywordonlyarg test_positional_only_arg test_named_expressions
test_listcomps test_setcomps test_dictcomps test_genexps test_generators
test_coroutines test_asyncgen test_patma test_fstring test_class test_super
test_property test_global test_string_literals test_exception_group
test_except_star test_contextlib test_richcmp test_iter test_int test_float
test_long test_list test_tuple test_dict test_set test_slice test_range test_sort
test_functools test_itertools test_collections test_heapq test_bisect
test_operator test_math test_random test_copy test_pprint test_calendar
test_userdict test_userlist test_deque test_defaultdict test_ordered_dict
test_string test_frame test_sys_settrace test_descr test_builtin
test_contextlib_async test_asyncio
""".split()

# Chosen by measurement (see docs/compat.md): small modules that together exercise
# many opcodes (arithmetic, comparisons, unpacking, calls with keywords, globals,
# closures, comprehensions, exceptions) and finish in seconds under the JIT even
# with a cold compiler on 2 cores.
QUICK = """
test_bool test_unary test_opcodes test_augassign
""".split()

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = (
    "passed", "failed", "error", "skipped", "expected-failure", "unexpected-success")
GOOD = {PASSED, XFAIL}          # what counts as a pass

STDERR_TAIL_LINES = 40

# The JIT run's default timeout: max(this, 30 x the stock time). Measured: a cold
# JIT run of a tiny module compiles ~850 code objects (regrtest, unittest, ...) in
# ~140 s of CPU on an idle machine, and took > 600 s of wall time on a loaded one.
DEFAULT_TIMEOUT_FLOOR = 1200.0


# ----------------------------------------------------------------------------- runs

def _clean_env() -> dict:
    env = dict(os.environ)
    for k in ("COCONUT_JIT", "COCONUT_THRESHOLD"):
        env.pop(k, None)
    env["PYTHONIOENCODING"] = env.get("PYTHONIOENCODING", "utf-8")
    # Every function compiled at its first call, warmed up or not: the widest coverage.
    env["COCONUT_WARMUP"] = "0"
    return env


_cache_dir: list = [None]      # --cold / --cache-dir: COCONUT_CACHE_DIR of the JIT runs


def _jit_env() -> dict:
    env = _clean_env()
    if _cache_dir[0]:
        env["COCONUT_CACHE_DIR"] = _cache_dir[0]
    pp = env.get("PYTHONPATH")
    env["PYTHONPATH"] = REPO + (os.pathsep + pp if pp else "")
    return env


def _native_share(jit: dict, count: dict) -> None:
    """The share of instructions run natively, from the count run (which counts the
    interpreter's instructions too; the compared run counts only native ones)."""
    st, ct = jit.get("stats"), count.get("stats")
    if not st or not ct:
        return
    for k in ("instructions_native", "instructions_interpreted", "native_share"):
        st[k] = ct.get(k)


_procs_lock = threading.Lock()
_procs: set = set()
_stopping = threading.Event()       # interrupted: start no more runs, record nothing


def run_one(kind: str, module: str, args, logdir: str, timeout: float) -> dict:
    """Run `module` once (kind: "stock" or "jit"); the logs and the XML go to logdir,
    the process runs in a fresh temporary directory (also its TMPDIR)."""
    if _stopping.is_set():
        raise KeyboardInterrupt
    os.makedirs(logdir, exist_ok=True)
    xml_path = os.path.join(logdir, "junit.xml")
    stats_path = os.path.join(logdir, "stats.json")
    for p in (xml_path, stats_path):
        if os.path.exists(p):
            os.unlink(p)
    regrtest = ["-m", "test", "--junit-xml", xml_path, "-v", module]
    if kind == "stock":
        cmd = [args.python] + regrtest
        env = _clean_env()
    elif kind == "count":
        cmd = [args.python, "-m", "coconut", "--threshold", str(args.threshold), "--sync",
               "--stats-json", stats_path] + regrtest
        env = _jit_env()
    else:
        cmd = [args.python, "-m", "coconut", "--threshold", str(args.threshold), "--sync",
               "--stats-json", stats_path, "--native-count-only"] + regrtest
        env = _jit_env()
    cwd = tempfile.mkdtemp(prefix=f"coconut-compat-{module}-{kind}-")
    tmp = os.path.join(cwd, "tmp")
    os.makedirs(tmp)
    env["TMPDIR"] = env["TEMP"] = env["TMP"] = tmp
    out_path = os.path.join(logdir, "stdout.log")
    err_path = os.path.join(logdir, "stderr.log")
    state, rc = "ok", None
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
        with _procs_lock:
            _procs.add(proc)
            if _stopping.is_set():
                _signal_group(proc, signal.SIGKILL)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            state = "hang"
            # regrtest enables faulthandler: SIGABRT dumps every thread's Python
            # traceback to stderr, which shows where it hung.
            _signal_group(proc, signal.SIGABRT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)
            rc = proc.wait()
        finally:
            _signal_group(proc, signal.SIGKILL)   # stray children of the test
            with _procs_lock:
                _procs.discard(proc)
    seconds = time.monotonic() - t0
    shutil.rmtree(cwd, ignore_errors=True)
    if _stopping.is_set():
        raise KeyboardInterrupt

    has_xml = os.path.exists(xml_path) and os.path.getsize(xml_path) > 0
    if state == "ok":
        if rc < 0:
            state = "crash"
        elif not has_xml:
            state = "no-xml"
    tests = {}
    verbose = _read(out_path)
    if has_xml:
        try:
            tests = parse_junit(xml_path)
        except ET.ParseError as e:
            state = "no-xml" if state == "ok" else state
            tests = {}
            verbose += f"\n(junit XML unreadable: {e})"
    tests = merge_verbose(tests, verbose) if state == "ok" else tests
    partial = parse_verbose(verbose) if state != "ok" else {}
    stats = None
    if kind in ("jit", "count") and os.path.exists(stats_path):
        try:
            with open(stats_path) as f:
                stats = json.load(f)
        except (OSError, ValueError):
            stats = None
    res = {
        "kind": kind, "command": " ".join(shlex.quote(c) for c in cmd),
        "returncode": rc, "signal": _signame(rc), "state": state,
        "seconds": round(seconds, 3), "timeout": timeout, "xml": has_xml,
        "tests": tests, "stats": stats, "logdir": logdir,
    }
    if state != "ok":
        res["stderr_tail"] = _tail(_read(err_path), STDERR_TAIL_LINES)
        res["stdout_tail"] = _tail(verbose, 15)
        res["last_started"] = partial.get("__last_started__")
        if state == "hang":
            res["hang_location"] = hang_location(_read(err_path))
    return res


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signame(rc):
    if rc is None or rc >= 0:
        return None
    try:
        return signal.Signals(-rc).name
    except ValueError:
        return f"signal {-rc}"


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _tail(text: str, n: int) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


# -------------------------------------------------------------------------- parsing

def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def parse_junit(path: str) -> dict:
    """{test id: {"status", "message"}} from regrtest's junit XML. The id is
    classname + "." + name when there is a classname (regrtest puts the whole
    unittest id in name). Test cases without a name (a test whose sub-tests failed:
    regrtest never records those) are left out; merge_verbose() restores them."""
    tests = {}
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        name = case.get("name")
        if not name:
            continue
        cls = case.get("classname")
        tid = f"{cls}.{name}" if cls else name
        status, message = PASSED, ""
        if case.find("error") is not None:
            e = case.find("error")
            status, message = ERROR, e.get("message") or e.text
        elif case.find("failure") is not None:
            e = case.find("failure")
            status, message = FAILED, e.get("message") or e.text
        elif case.find("skipped") is not None:
            e = case.find("skipped")
            status, message = SKIPPED, e.get("message") or e.text
        elif case.find("output") is not None:
            status = XFAIL
        elif case.find("outcome") is not None and \
                (case.find("outcome").text or "") == "UNEXPECTED_SUCCESS":
            status, message = XPASS, "unexpected success"
        tests[tid] = {"status": status, "message": _first_line(message)}
    return tests


_RESULT_RE = re.compile(
    r"^(?P<indent>\s*)(?P<name>\S+) \((?P<paren>[^()\s]+)\)(?P<sub> \(.*\))?"
    r" \.\.\. (?P<res>ok|FAIL|ERROR|skipped.*|expected failure|unexpected success|)\s*$")
_SECTION_RE = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<name>\S+) "
                         r"\((?P<paren>[^()\s]+)\)(?P<sub> \(.*\))?\s*$")
_VERBOSE_STATUS = {"ok": PASSED, "FAIL": FAILED, "ERROR": ERROR,
                   "expected failure": XFAIL, "unexpected success": XPASS}


def _verbose_id(name: str, paren: str) -> str:
    # unittest: "test_x (mod.Class.test_x)"; doctest: "doctests (mod.__test__)";
    # class/module fixtures: "setUpClass (mod.Class)".
    if paren == name or paren.endswith("." + name):
        return paren
    if name in ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule"):
        return f"{name} ({paren})"
    return f"{paren}.{name}"


def parse_verbose(text: str) -> dict:
    """{test id: {"status", "message"}} from regrtest -v output (best effort: test
    output may be interleaved). A test with a failed sub-test counts as failed; the
    message is the first line of the exception of the first failure section."""
    tests: dict = {}
    last = None
    for line in text.splitlines():
        m = _RESULT_RE.match(line)
        if not m:
            continue
        tid = _verbose_id(m["name"], m["paren"])
        res = m["res"]
        if m["sub"] or m["indent"]:
            if res in ("FAIL", "ERROR"):
                tests[tid] = {"status": FAILED if res == "FAIL" else ERROR,
                              "message": "", "subtest": True}
            continue
        last = tid
        if res == "":
            tests.setdefault(tid, {"status": None, "message": ""})
            continue
        status = SKIPPED if res.startswith("skipped") else _VERBOSE_STATUS[res]
        msg = res[len("skipped "):].strip("'\"") if status == SKIPPED else ""
        if tid in tests and tests[tid].get("subtest"):
            continue
        tests[tid] = {"status": status, "message": msg}
    # failure sections: "=" * 70, "FAIL: name (id) (params)", "-" * 70, traceback
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _SECTION_RE.match(line)
        if not m or i == 0 or not lines[i - 1].startswith("=" * 20):
            continue
        tid = _verbose_id(m["name"], m["paren"])
        body = []
        for l2 in lines[i + 2:]:
            if l2.startswith("=" * 20) or l2.startswith("-" * 20):
                break
            body.append(l2)
        msg = _exception_line(body)
        if m["sub"]:
            msg = f"{m['sub'].strip()} {msg}".strip()
        entry = tests.setdefault(tid, {"status": FAILED if m["kind"] == "FAIL" else ERROR,
                                       "message": ""})
        if not entry.get("message"):
            entry["message"] = msg
    tests = {k: v for k, v in tests.items() if v["status"] is not None}
    tests["__last_started__"] = last
    return tests


def _exception_line(body: list) -> str:
    """The first line of the exception in a traceback: the first unindented line
    after the last "Traceback (most recent call last):"."""
    start = 0
    for i, l in enumerate(body):
        if l.startswith("Traceback (most recent call last)"):
            start = i + 1
    for l in body[start:]:
        if l.strip() and not l.startswith((" ", "\t")):
            return l.strip()
    return _first_line("\n".join(body))


def merge_verbose(tests: dict, verbose: str) -> dict:
    """Complete the junit results with the verbose output: tests missing from the
    junit XML (failed sub-tests) and messages of sub-test failures."""
    v = parse_verbose(verbose)
    v.pop("__last_started__", None)
    merged = dict(tests)
    for tid, r in v.items():
        if tid not in merged:
            merged[tid] = {"status": r["status"], "message": r["message"],
                           "from": "verbose"}
        elif r.get("subtest") and merged[tid]["status"] in GOOD:
            merged[tid] = {"status": r["status"], "message": r["message"],
                           "from": "verbose"}
    return merged


# ------------------------------------------------------------------------ comparing

def compare(module: str, stock: dict, jit: dict) -> dict:
    st, jt = stock["tests"], jit["tests"]
    stock_pass = {t for t, r in st.items() if r["status"] in GOOD}
    jit_pass = {t for t, r in jt.items() if r["status"] in GOOD}
    jit_broken = jit["state"] != "ok"
    lost = []
    for t in sorted(stock_pass - (set() if jit_broken else jit_pass)):
        if jit_broken:
            status = jit["state"]
            msg = _broken_message(jit)
        elif t in jt:
            status, msg = jt[t]["status"], jt[t]["message"]
        else:
            status, msg = "missing", _missing_message(t, jt)
        lost.append({"id": t, "jit_status": status, "message": msg})
    gained = []
    if not jit_broken:
        for t in sorted(jit_pass - stock_pass):
            gained.append({"id": t,
                           "stock_status": st[t]["status"] if t in st else "missing",
                           "message": st[t]["message"] if t in st else ""})
    return {
        "module": module,
        "stock_state": stock["state"],
        "jit_state": jit["state"],
        "stock_passes": len(stock_pass),
        "jit_passes": 0 if jit_broken else len(jit_pass),
        # a crashed/hung run that wrote its XML anyway (e.g. crashed at exit):
        "jit_passes_in_xml": len(jit_pass) if jit_broken and jit["xml"] else None,
        "stock_tests": len(st),
        "jit_tests": len(jt),
        "lost": lost,
        "gained": gained,
        "stock_seconds": stock["seconds"],
        "jit_seconds": jit["seconds"],
        "stats": jit["stats"],
    }


def hang_location(stderr_text: str) -> str | None:
    """Where a hung run was, from the faulthandler dump SIGABRT made: the innermost
    frame of the main thread, flagged when it is coconut compiling (a slow compile
    rather than a hang of the program)."""
    lines = stderr_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("Current thread", "Thread 0x")) and "most recent call first" in line:
            m = re.match(r'\s*File "(.*)", line (\d+) in (\S+)', lines[i + 1]
                         if i + 1 < len(lines) else "")
            if not m:
                continue
            path, lineno, func = m.groups()
            short = path.split("/work/main/")[-1] if "/coconut/" in path else \
                os.path.basename(path)
            where = f"{short}:{lineno} in {func}"
            if "/coconut/backend/" in path or "/coconut/runtime/cache.py" in path:
                where += " (compiling)"
            return where
    return None


def _broken_message(run: dict) -> str:
    if run["state"] == "hang":
        where = run.get("hang_location")
        return (f"JIT run hung (killed after {run['timeout']:.0f} s"
                + (f"; it was at {where}" if where else "") + ")")
    if run["state"] == "crash":
        return f"JIT run crashed ({run['signal']})"
    return f"JIT run wrote no junit XML (exit status {run['returncode']})"


def _missing_message(tid: str, jt: dict) -> str:
    """A test the JIT run never reported: say why if a class or module fixture
    failed."""
    parts = tid.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        for fixture in ("setUpClass", "setUpModule", "tearDownClass", "tearDownModule"):
            r = jt.get(f"{fixture} ({prefix})")
            if r and r["status"] not in GOOD:
                return f"not run: {fixture} failed: {r['message']}"
    return "not reported by the JIT run"


# ------------------------------------------------------------------------ reporting

def _fmt_s(s) -> str:
    if s is None:
        return "-"
    return f"{s:.1f} s" if s < 100 else f"{s:.0f} s"


def _md(text: str) -> str:
    text = (text or "").replace("|", "\\|").replace("`", "'").replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."


def _state_cell(c: dict) -> str:
    s = c["jit_state"]
    if c["stock_state"] != "ok":
        return f"stock run {c['stock_state'].upper()}"
    if s == "ok":
        return "ok"
    after = ""
    if c.get("jit_passes_in_xml") is not None:
        after = f", after writing its XML ({c['jit_passes_in_xml']} passed)"
    if s == "crash":
        return f"**CRASH** ({c.get('jit_signal')}{after})"
    if s == "hang":
        return f"**HANG**{after}"
    return "**NO XML**"


def render(results: list, argv: list, args, started: str, wall: float,
           git: str | None = None) -> str:
    rows = []
    tot = {"sp": 0, "jp": 0, "lost": 0, "ts": 0.0, "tj": 0.0, "ni": 0, "ii": 0,
           "c": 0, "nc": 0, "cs": 0.0}
    for c in results:
        st = c.get("stats") or {}
        ni, ii = st.get("instructions_native"), st.get("instructions_interpreted")
        share = st.get("native_share")
        if isinstance(ni, int) and isinstance(ii, int):
            tot["ni"] += ni
            tot["ii"] += ii
        comp, ncomp = st.get("compiled"), st.get("not_compiled")
        tot["c"] += comp or 0
        tot["nc"] += ncomp or 0
        cs = st.get("compile_seconds_total")
        tot["cs"] += cs or 0.0
        tot["sp"] += c["stock_passes"]
        tot["jp"] += c["jit_passes"]
        tot["lost"] += len(c["lost"])
        tot["ts"] += c["stock_seconds"]
        tot["tj"] += c["jit_seconds"]
        lost = str(len(c["lost"])) if not c["lost"] else f"**{len(c['lost'])}**"
        if c["gained"]:
            lost += f" (+{len(c['gained'])} JIT-only)"
        tj = _fmt_s(c["jit_seconds"])
        if cs is not None:
            tj += f" ({_fmt_s(cs)} compiling)"
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            c["module"], c["stock_passes"], c["jit_passes"], lost,
            _fmt_s(c["stock_seconds"]), tj,
            "-" if share is None else f"{100 * share:.1f}%",
            "-" if comp is None else f"{comp} / {ncomp}",
            _state_cell(c)))
    tshare = tot["ni"] / (tot["ni"] + tot["ii"]) if tot["ni"] + tot["ii"] else None
    n_bad = sum(1 for c in results if c["jit_state"] != "ok")
    rows.append("| **total ({} modules)** | **{}** | **{}** | **{}** | **{}** | **{}** | "
                "**{}** | **{} / {}** | **{}** |".format(
                    len(results), tot["sp"], tot["jp"], tot["lost"], _fmt_s(tot["ts"]),
                    _fmt_s(tot["tj"]) + f" ({_fmt_s(tot['cs'])} compiling)",
                    "-" if tshare is None else f"{100 * tshare:.1f}%",
                    tot["c"], tot["nc"],
                    "ok" if not n_bad else f"{n_bad} crashed/hung"))

    cmd = "python3 " + " ".join(shlex.quote(a) for a in
                                [os.path.relpath(os.path.abspath(__file__), REPO)] + argv)
    out = [
        "# CPython regression tests under the coconut JIT",
        "",
        "Generated by `scripts/compat.py` — do not edit by hand; rerun the script "
        "(`make compat` for the full list, `make compat-quick` for the quick subset).",
        "",
        "Every module runs in a fresh temporary directory under the stock "
        "interpreter (`python3 -m test --junit-xml OUT.xml -v MODULE`) and under the JIT "
        f"(`python3 -m coconut --threshold {args.threshold} --sync --stats-json S.json "
        "--native-count-only -m test "
        "--junit-xml OUT.xml -v MODULE`, `PYTHONPATH` = the repository), and the two "
        "are compared test by test (junit XML; the verbose output fills in the tests "
        "whose sub-tests failed, which regrtest leaves out of the XML). "
        "A test is **lost** when it passes stock (passed or expected failure) but not "
        "under the JIT; when the JIT run crashes (killed by a signal), hangs (killed "
        "after the timeout) or writes no XML, all of the module's stock passes are lost. "
        "Times are wall-clock seconds with the modules run in parallel; the JIT times "
        "include compiling. The native share is the fraction of executed bytecode "
        "instructions that ran in compiled code, from a third run of the module (the JIT "
        "run again, on the compiled-code cache the compared run filled, with `--stats-json "
        "C.json` alone: a C trace function also counts the interpreter's instructions, on "
        "the main thread until the program replaces it). A trace function makes CPython "
        "create a frame object for every frame, which test_frame notices, so the compared "
        "run counts only native instructions (compiled-in counters). Compiled / "
        "not compiled counts code objects (in the test process only, not its "
        "subprocesses).",
        "",
        f"- command: `{cmd}`",
        f"- date: {started} (wall time {_fmt_s(wall)})",
        f"- machine: {_cpu_model()}, {platform.machine()}, "
        f"nproc = {os.cpu_count()}, {args.jobs} parallel workers, "
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"- threshold: {args.threshold}; timeout per run: "
        + (f"{args.timeout:.0f} s" if args.timeout else
           f"max({DEFAULT_TIMEOUT_FLOOR:.0f} s, 30 x the stock time)"),
        "- compiled-code cache: "
        + ("cold (empty at the start, shared by the modules)" if args.cold else
           f"COCONUT_CACHE_DIR={_cache_dir[0]}" if _cache_dir[0] else
           "inherited (COCONUT_CACHE_DIR="
           + os.environ.get("COCONUT_CACHE_DIR", "unset: ~/.cache/coconut") + ")"),
        f"- git: {git or _git_rev()}",
        "",
        "| module | stock passes | passes under the JIT | lost | time stock | time JIT "
        "| native share | compiled / not compiled | JIT run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ] + rows + [""]

    bad = [c for c in results if c["lost"] or c["gained"] or c["jit_state"] != "ok"
           or c["stock_state"] != "ok"]
    if bad:
        out += ["## Lost tests", ""]
    else:
        out += ["No test is lost.", ""]
    for c in bad:
        out.append(f"### {c['module']}")
        out.append("")
        if c["stock_state"] != "ok":
            out.append(f"The stock run did not complete ({c['stock_state']}); "
                       "nothing to compare.")
            out.append("")
        if c["jit_state"] != "ok":
            what = {"crash": f"crashed ({c.get('jit_signal')}, exit status "
                             f"{c.get('jit_returncode')})",
                    "hang": f"hung (killed after {c.get('jit_timeout', 0):.0f} s"
                            + (f"; it was at `{c['jit_hang_location']}`"
                               if c.get("jit_hang_location") else "") + ")",
                    "no-xml": f"wrote no junit XML (exit status "
                              f"{c.get('jit_returncode')})"}[c["jit_state"]]
            if c.get("jit_passes_in_xml") is not None:
                what += (f" after writing its junit XML, which reports "
                         f"{c['jit_passes_in_xml']} passes")
            out.append(f"The JIT run {what}; all {len(c['lost'])} stock passes are "
                       "counted as lost."
                       + (f" Last test started: `{c['jit_last_started']}`."
                          if c.get("jit_last_started")
                          and c.get("jit_passes_in_xml") is None else ""))
            out.append("")
            if c.get("jit_stderr_tail"):
                out.append("Last lines of its stderr:")
                out.append("")
                out.append("```")
                out.append(_tail(c["jit_stderr_tail"], 25))
                out.append("```")
                out.append("")
            elif c.get("jit_stdout_tail"):
                out.append("Its stderr is empty (no faulthandler report: the crash "
                           "came late in interpreter shutdown); last lines of its "
                           "stdout:")
                out.append("")
                out.append("```")
                out.append(_tail(c["jit_stdout_tail"], 8))
                out.append("```")
                out.append("")
        elif c["lost"]:
            out.append(f"{len(c['lost'])} lost:")
            out.append("")
            for l in c["lost"]:
                out.append(f"- `{l['id']}` — {l['jit_status']}: {_md(l['message'])}")
            out.append("")
        if c["gained"]:
            out.append(f"{len(c['gained'])} pass only under the JIT:")
            out.append("")
            for g in c["gained"]:
                out.append(f"- `{g['id']}` — stock: {g['stock_status']}: "
                           f"{_md(g['message'])}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True,
                               timeout=30).stdout.strip()
        return (rev or "?") + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


# ----------------------------------------------------------------------------- main

def _parser():
    p = argparse.ArgumentParser(
        prog="scripts/compat.py",
        description="Run CPython regression test modules stock and under the coconut "
                    "JIT and compare them test by test.")
    p.add_argument("modules", nargs="*", metavar="MODULE", help="test modules to run")
    p.add_argument("--all", action="store_true", help=f"the full list ({len(FULL)} modules)")
    p.add_argument("--quick", action="store_true",
                   help="a small fast subset: " + " ".join(QUICK))
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="modules run in parallel (default: the number of CPUs)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="timeout of each run; one past it is a hang "
                        f"(default: max({DEFAULT_TIMEOUT_FLOOR:.0f}, 30 x the stock time) for the JIT run, "
                        "1800 for the stock run)")
    p.add_argument("--threshold", type=int, default=0,
                   help="the JIT's compile threshold (default 0: on the first call)")
    p.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="the markdown report (default: docs/compat.md with --all, "
                        "else RESULTS_DIR/compat.md)")
    p.add_argument("--results-dir", default=os.path.join(REPO, "build", "compat"),
                   help="raw per-module results as JSON (default build/compat/)")
    p.add_argument("--keep", action="store_true",
                   help="keep the logs (stdout, stderr, junit XML, stats) in "
                        "RESULTS_DIR/logs/MODULE/{stock,jit}/")
    p.add_argument("--cold", action="store_true",
                   help="start with an empty compiled-code cache (a fresh "
                        "COCONUT_CACHE_DIR shared by this run's modules, removed after)")
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="COCONUT_CACHE_DIR for the JIT runs (default: inherited)")
    p.add_argument("--python", default=sys.executable,
                   help="the interpreter (default: the one running this script)")
    p.add_argument("--list", action="store_true", help="print the module list and exit")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rewrite the report from the raw results of the "
                        "last run in RESULTS_DIR (summary.json and MODULE.json)")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = _parser()
    args = p.parse_args(argv)
    modules = list(args.modules)
    if args.all:
        modules += FULL
    if args.quick:
        modules += QUICK
    modules = list(dict.fromkeys(modules))
    if args.report_only:
        return report_only(args, modules)
    if not modules:
        p.error("give module names, --all or --quick")
    if args.list:
        print("\n".join(modules))
        return 0
    if args.jobs < 1:
        p.error("-j must be >= 1")
    output = args.output or (os.path.join(REPO, "docs", "compat.md") if args.all
                             else os.path.join(args.results_dir, "compat.md"))
    os.makedirs(args.results_dir, exist_ok=True)
    if args.cold:
        _cache_dir[0] = tempfile.mkdtemp(prefix="coconut-compat-cache-")
    elif args.cache_dir:
        _cache_dir[0] = os.path.abspath(args.cache_dir)
    logroot = (os.path.join(args.results_dir, "logs") if args.keep
               else tempfile.mkdtemp(prefix="coconut-compat-logs-"))

    # Longest first (by the previous run's results), so the pool ends evenly.
    def previous_seconds(m):
        try:
            with open(os.path.join(args.results_dir, m + ".json")) as f:
                return -float(json.load(f)["jit"]["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0
    order = sorted(modules, key=previous_seconds)

    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    print(f"compat: {len(modules)} modules, {args.jobs} workers, threshold "
          f"{args.threshold}, report -> {os.path.relpath(output)}", flush=True)
    done = [0]
    print_lock = threading.Lock()

    def work(module):
        d = os.path.join(logroot, module)
        stock = run_one("stock", module, args, os.path.join(d, "stock"),
                        args.timeout or 1800.0)
        timeout = args.timeout or max(DEFAULT_TIMEOUT_FLOOR, 30.0 * stock["seconds"])
        jit = run_one("jit", module, args, os.path.join(d, "jit"), timeout)
        count = run_one("count", module, args, os.path.join(d, "count"), timeout)
        _native_share(jit, count)
        c = compare(module, stock, jit)
        c.update(jit_returncode=jit["returncode"], jit_signal=jit["signal"],
                 jit_timeout=jit["timeout"], jit_hang_location=jit.get("hang_location"),
                 jit_last_started=jit.get("last_started"),
                 jit_stderr_tail=jit.get("stderr_tail"),
                 jit_stdout_tail=jit.get("stdout_tail"),
                 stock_returncode=stock["returncode"],
                 stock_stderr_tail=stock.get("stderr_tail"))
        raw = {"module": module, "threshold": args.threshold, "date": started,
               "comparison": c, "stock": stock, "jit": jit}
        with open(os.path.join(args.results_dir, module + ".json"), "w") as f:
            json.dump(raw, f, indent=1, sort_keys=True)
        with print_lock:
            done[0] += 1
            st = c["stats"] or {}
            share = st.get("native_share")
            state = c["jit_state"] if c["stock_state"] == "ok" else \
                f"stock {c['stock_state']}"
            print(f"[{done[0]}/{len(modules)}] {module}: {state}, "
                  f"stock {c['stock_passes']} passed in {stock['seconds']:.1f} s, "
                  f"JIT {c['jit_passes']} passed in {jit['seconds']:.1f} s, "
                  f"lost {len(c['lost'])}"
                  + (f", JIT-only {len(c['gained'])}" if c["gained"] else "")
                  + ("" if share is None else f", native {100 * share:.1f}%"),
                  flush=True)
            if c["jit_state"] != "ok" and c.get("jit_stderr_tail"):
                print("    JIT stderr: " + "\n    JIT stderr: ".join(
                    c["jit_stderr_tail"].splitlines()[-8:]), flush=True)
            for l in c["lost"][:10]:
                print(f"    lost {l['id']}: {l['jit_status']}: {l['message'][:160]}",
                      flush=True)
            if len(c["lost"]) > 10:
                print(f"    ... and {len(c['lost']) - 10} more", flush=True)
        return c

    def _terminate(signum, frame):
        raise KeyboardInterrupt
    # Also when started in the background (SIGINT ignored) or killed with SIGTERM:
    # kill the runs' process groups rather than leave them orphaned.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)

    results = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(work, m): m for m in order}
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()
    except KeyboardInterrupt:
        print("compat: interrupted; killing the runs", file=sys.stderr, flush=True)
        _stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        with _procs_lock:
            for proc in list(_procs):
                _signal_group(proc, signal.SIGKILL)
        return 130
    finally:
        pool.shutdown(wait=True)
        if not args.keep:
            shutil.rmtree(logroot, ignore_errors=True)
        if args.cold:
            shutil.rmtree(_cache_dir[0], ignore_errors=True)
    wall = time.monotonic() - t0

    ordered = [results[m] for m in modules]
    git = _git_rev()
    report = render(ordered, argv, args, started, wall, git)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        f.write(report)
    summary = {
        "date": started, "argv": argv, "threshold": args.threshold, "jobs": args.jobs,
        "git": git,
        "wall_seconds": round(wall, 1), "report": os.path.abspath(output),
        "modules": {c["module"]: {
            "stock_state": c["stock_state"], "jit_state": c["jit_state"],
            "stock_passes": c["stock_passes"], "jit_passes": c["jit_passes"],
            "lost": c["lost"], "gained": c["gained"],
            "stock_seconds": c["stock_seconds"], "jit_seconds": c["jit_seconds"],
            "jit_stderr_tail": c.get("jit_stderr_tail"),
            "jit_signal": c.get("jit_signal"),
            "jit_passes_in_xml": c.get("jit_passes_in_xml"),
            "jit_hang_location": c.get("jit_hang_location")}
            for c in ordered},
    }
    with open(os.path.join(args.results_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)

    n_lost = sum(len(c["lost"]) for c in ordered)
    broken = [c["module"] for c in ordered if c["jit_state"] != "ok"]
    stock_broken = [c["module"] for c in ordered if c["stock_state"] != "ok"]
    print(f"compat: {len(ordered)} modules in {wall:.0f} s: "
          f"{sum(c['stock_passes'] for c in ordered)} stock passes, "
          f"{sum(c['jit_passes'] for c in ordered)} under the JIT, {n_lost} lost"
          + (f"; JIT run crashed/hung/no XML: {' '.join(broken)}" if broken else "")
          + (f"; stock run failed: {' '.join(stock_broken)}" if stock_broken else ""),
          flush=True)
    print(f"compat: report written to {output}; raw results in {args.results_dir}",
          flush=True)
    if n_lost or broken:
        return 1
    if stock_broken:
        return 2
    return 0


def report_only(args, modules) -> int:
    with open(os.path.join(args.results_dir, "summary.json")) as f:
        summary = json.load(f)
    modules = modules or list(summary["modules"])
    results = []
    for m in modules:
        with open(os.path.join(args.results_dir, m + ".json")) as f:
            raw = json.load(f)
        c = raw["comparison"]
        c.setdefault("jit_stdout_tail", raw["jit"].get("stdout_tail"))
        c.setdefault("jit_hang_location", raw["jit"].get("hang_location"))
        results.append(c)
    run_args = _parser().parse_args(summary["argv"])
    run_args.jobs = summary.get("jobs", run_args.jobs)
    output = args.output or summary["report"]
    with open(output, "w") as f:
        f.write(render(results, summary["argv"], run_args, summary["date"],
                       summary["wall_seconds"], summary.get("git")))
    print(f"compat: report rewritten to {output} from {args.results_dir}")
    bad = any(c["lost"] or c["jit_state"] != "ok" for c in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
