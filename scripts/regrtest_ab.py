"""CPython's own regression suite on two (or more) interpreters, compared test by test.

    python3 scripts/regrtest_ab.py NAME=PYTHON NAME=PYTHON [-j N] [--timeout S]
                                   [--output FILE] [-- REGRTEST ARGS]

What it is for: `cpython.patch` must change nothing when coconut is not imported, so
the patched interpreter must pass every test of CPython's suite that the same source
built the same way without the patch passes (`bash scripts/patched-python.sh --stock`
builds that one; `make regrtest-patched` runs both). Each interpreter runs
`PYTHON -m test -j N -w --timeout S` (failed tests re-run verbosely: a test that passes
when re-run counts as passed, as regrtest itself says) in a temporary directory, with
COCONUT_JIT=0, one after the other; the summaries regrtest prints are parsed and
compared. The first NAME is the baseline; exit status 1 when another interpreter fails
a test the baseline passes (or crashes), 0 otherwise.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

def parse_summary(text: str) -> dict:
    """{"result": str, "failed": set, "env_changed": set, "skipped": set, "rerun": set,
    "ok": int} from regrtest's output (its summary after '== Tests result')."""
    out = {"result": None, "failed": set(), "env_changed": set(), "skipped": set(),
           "rerun": set(), "no_tests": set(), "ok": 0}
    lines = text.splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("== Tests result:")),
                default=None)
    if start is None:
        return out
    out["result"] = lines[start][len("== Tests result:"):].strip(" =")
    section = None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        if line.startswith("    ") and section:
            out[section].update(line.split())
            continue
        section = None
        m = re.match(r"^(All )?(\d+) tests? OK\.$", line.strip())
        if m:
            out["ok"] = int(m.group(2))
            continue
        m = re.match(r"^(\d+) (tests? failed|tests? altered the execution environment|"
                     r"tests? skipped|re-run tests?|tests? run no tests):$", line.strip())
        if m:
            kind = m.group(2)
            section = ("failed" if "failed" in kind else "env_changed" if "altered" in kind
                       else "skipped" if "skipped" in kind else "rerun" if "re-run" in kind
                       else "no_tests")
    return out


def run(python: str, jobs: int, timeout: float, extra: list[str], log_path: str) -> dict:
    env = dict(os.environ, COCONUT_JIT="0")
    env.pop("PYTHONPATH", None)
    argv = [python, "-m", "test", "-j", str(jobs), "-w", "--timeout", str(int(timeout))] + extra
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="regrtest-") as cwd, open(log_path, "w") as log:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    with open(log_path, errors="replace") as f:
        summary = parse_summary(f.read())
    summary.update(rc=proc.returncode, seconds=time.monotonic() - t0, argv=argv, log=log_path)
    return summary


def report(results: dict) -> tuple[str, bool]:
    names = list(results)
    base = results[names[0]]
    lines = ["| interpreter | result | OK | failed | env changed | skipped | re-run | time |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append("| %s | %s | %d | %d | %d | %d | %d | %.0f s |" % (
            name, r["result"] or "no summary (rc %s)" % r["rc"], r["ok"], len(r["failed"]),
            len(r["env_changed"]), len(r["skipped"]), len(r["rerun"]), r["seconds"]))
    bad = False
    for name in names[1:]:
        r = results[name]
        worse = sorted(r["failed"] - base["failed"])
        better = sorted(base["failed"] - r["failed"])
        if r["result"] is None:
            bad = True
            lines.append("\n**%s**: no summary: the run crashed (see %s)" % (name, r["log"]))
        lines.append("\n%s fails and %s passes: %s" % (name, names[0], ", ".join(worse) or "none"))
        lines.append("%s passes and %s fails: %s" % (name, names[0], ", ".join(better) or "none"))
        lines.append("failed on both: %s" % (", ".join(sorted(r["failed"] & base["failed"])) or "none"))
        bad = bad or bool(worse)
    return "\n".join(lines) + "\n", bad


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("interpreters", nargs="+", metavar="NAME=PYTHON")
    p.add_argument("-j", type=int, default=os.cpu_count() or 2, help="regrtest's -j")
    p.add_argument("--timeout", type=float, default=900, help="regrtest's --timeout per test")
    p.add_argument("--output", help="write the report (markdown) here too")
    p.add_argument("--logs", default=None, help="directory for the full logs (default: a temporary one)")
    o = p.parse_args(args)
    pairs = []
    for spec in o.interpreters:
        name, sep, python = spec.partition("=")
        if not sep or not python:
            p.error("NAME=PYTHON, not %r" % spec)
        pairs.append((name, python))
    logs = o.logs or tempfile.mkdtemp(prefix="regrtest-ab-")
    os.makedirs(logs, exist_ok=True)
    results = {}
    for name, python in pairs:
        print("%s: %s -m test -j %d -w ..." % (name, python, o.j), file=sys.stderr, flush=True)
        results[name] = run(python, o.j, o.timeout, extra, os.path.join(logs, name + ".log"))
        r = results[name]
        print("%s: %s in %.0f s, failed: %s" % (name, r["result"], r["seconds"],
                                               " ".join(sorted(r["failed"])) or "none"),
              file=sys.stderr, flush=True)
    text, bad = report(results)
    print(text)
    if o.output:
        with open(o.output, "w") as f:
            f.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
