"""CPython's own regression tests under the JIT: `scripts/compat.py --quick`.

Runs the quick subset of CPython test modules stock and under the JIT (threshold 0)
in a subprocess and fails, listing the lost tests, if a test that passes under the
stock interpreter does not pass under the JIT, or a JIT run crashed or hung.
Slow (minutes with a cold compiled-code cache): deselect with `-m "not compat"`.
"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "compat.py")


@pytest.mark.compat
def test_compat_quick(tmp_path):
    results = tmp_path / "results"
    report = tmp_path / "compat.md"
    cmd = [sys.executable, SCRIPT, "--quick", "--output", str(report),
           "--results-dir", str(results)]
    env = dict(os.environ)
    for k in ("COCONUT_JIT", "COCONUT_THRESHOLD"):
        env.pop(k, None)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=3600)
    summary_path = results / "summary.json"
    if not summary_path.exists():
        pytest.fail(f"scripts/compat.py --quick wrote no summary (exit status "
                    f"{proc.returncode})\nstdout:\n{proc.stdout[-4000:]}\n"
                    f"stderr:\n{proc.stderr[-4000:]}")
    summary = json.loads(summary_path.read_text())
    problems = []
    for module, m in sorted(summary["modules"].items()):
        if m["stock_state"] != "ok":
            problems.append(f"{module}: the stock run did not complete "
                            f"({m['stock_state']})")
        if m["jit_state"] != "ok":
            tail = "\n        ".join((m.get("jit_stderr_tail") or "").splitlines()[-15:])
            what = m["jit_state"]
            if m.get("jit_signal"):
                what += f" ({m['jit_signal']})"
            if m.get("jit_hang_location"):
                what += f" at {m['jit_hang_location']}"
            if m.get("jit_passes_in_xml") is not None:
                what += (f" after writing its junit XML ({m['jit_passes_in_xml']} "
                         f"passed)")
            problems.append(f"{module}: the JIT run {what}; {len(m['lost'])} stock "
                            f"passes lost" + (f"\n        {tail}" if tail else ""))
        elif m["lost"]:
            problems.append(f"{module}: {len(m['lost'])} lost")
            problems += [f"    {l['id']}: {l['jit_status']}: {l['message']}"
                         for l in m["lost"]]
    if problems or proc.returncode != 0:
        pytest.fail(f"scripts/compat.py --quick (exit status {proc.returncode}):\n"
                    + "\n".join(problems) + f"\n(report: {report})\n"
                    + proc.stdout[-2000:])
