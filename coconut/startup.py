"""Turning the JIT on for a whole process: `python3 -m coconut`, or the environment.

COCONUT_JIT=1 in the environment turns the JIT on in every Python process that
starts with it: `coconut-jit.pth` (installed into site-packages by
scripts/install.sh, or by `pip install .`) calls `from_environment()` while the
interpreter starts. `python3 -m coconut` sets the variable, so the Python
subprocesses a program starts (test suites spawn interpreters) run with the JIT too.

    COCONUT_JIT=1            on (COCONUT_JIT=0 or unset: off)
    COCONUT_THRESHOLD=N      compile a code object on its first entry after N entries
    COCONUT_BACKGROUND=0     compile on the program's thread (default 1: gcc runs on a
                             compile thread while the program goes on interpreted)
    COCONUT_LAZY_HOOK=0|1    1: the PEP 523 hook goes in with the first native code
                             (what the sampler finds hot, compiled when the compile
                             budget allows), and entries are counted from then on
                             (until then the program runs at the interpreter's own
                             speed);
                             0: from the start. Default 1 without COCONUT_THRESHOLD,
                             0 with it (an explicit threshold counts every entry).
"""
from __future__ import annotations

import atexit
import json
import os
import sys

# Bound at import (at start-up, before the program runs): the report at exit must not
# go through a print, open, json.dump, sys.stderr or builtins.__import__ the program
# has replaced since.
from builtins import print as _print
from importlib import import_module as _import_module
from io import open as _open
_dump, _stderr = json.dump, sys.stderr

ENV_JIT = "COCONUT_JIT"
ENV_THRESHOLD = "COCONUT_THRESHOLD"
ENV_BACKGROUND = "COCONUT_BACKGROUND"
ENV_LAZY_HOOK = "COCONUT_LAZY_HOOK"

# Chosen by measurement (docs/benchmarks.md, "Whole programs": `python3 -m coconut.bench
# --programs`): of 0, 100, 1000 and 10000, 10000 gave the best geometric mean over
# twelve 1-second programs with a cold cache (0.86x; 0.84x at 1000, 0.62x at 0). gcc
# runs beside the program (background compiles), but the compiler's Python part is
# paid on the program's thread, and compiled code is not yet faster than 3.11's
# specializing interpreter on call-heavy code: only code entered this often repays it.
DEFAULT_THRESHOLD = 10000

_report = {"stats": False, "json": None, "registered": False, "count_interpreted": True}


def start(threshold: int, stats: bool = False, stats_json: str | None = None,
          subprocesses: bool = True, background: bool = True,
          count_interpreted: bool = True, lazy_hook: bool = False) -> None:
    """Whole-program compilation from now on, in this process (and its Python
    subprocesses). With stats/stats_json, statistics are reported at exit. With
    `lazy_hook`, the hook goes in with the first native code (see COCONUT_LAZY_HOOK)."""
    import coconut
    from .runtime import jit
    if subprocesses:
        os.environ[ENV_JIT] = "1"
        os.environ[ENV_THRESHOLD] = str(threshold)
        os.environ[ENV_BACKGROUND] = "1" if background else "0"
        os.environ[ENV_LAZY_HOOK] = "1" if lazy_hook else "0"
    if stats or stats_json:
        jit.runtime().count_instructions(interpreted=count_interpreted)
        _report.update(stats=stats, json=stats_json, count_interpreted=count_interpreted)
        if not _report["registered"]:
            atexit.register(finish)
            _report["registered"] = True
    jit.enable(threshold, background, lazy=lazy_hook)


def from_environment() -> None:
    """Called at interpreter start-up by coconut-jit.pth when COCONUT_JIT is set (also
    in each subinterpreter, which imports site: the JIT stays off there, see
    hook.in_main_interpreter)."""
    if os.environ.get(ENV_JIT, "0") in ("", "0"):
        return
    if not _import_module(".runtime.hook", __package__).in_main_interpreter():
        return
    given = os.environ.get(ENV_THRESHOLD)
    try:
        threshold = int(given if given is not None else DEFAULT_THRESHOLD)
    except ValueError:
        threshold = DEFAULT_THRESHOLD
    lazy = os.environ.get(ENV_LAZY_HOOK, "0" if given is not None else "1") not in ("", "0")
    start(max(threshold, 0), background=os.environ.get(ENV_BACKGROUND, "1") != "0",
          lazy_hook=lazy)


def finish() -> None:
    """Report the statistics (an atexit handler; runs once)."""
    if not (_report["stats"] or _report["json"]):
        return
    s = summary(_import_module(".runtime.jit", __package__).stats())
    _report["stats"], path = False, _report["json"]
    _report["json"] = None
    if path:
        with _open(path, "w") as f:
            _dump(s, f, indent=1)
    else:
        _print(format_summary(s), file=_stderr)


def summary(st: dict) -> dict:
    jit = _import_module(".runtime.jit", __package__)
    native, interpreted = jit.runtime().instruction_counts()
    counted = _report["count_interpreted"]
    if not counted:
        interpreted = None                 # --native-count-only: not counted
    total = native + (interpreted or 0)
    reasons: dict[str, int] = {}
    for reason in st["not_compiled"].values():
        reasons[reason] = reasons.get(reason, 0) + 1
    return {
        "threshold": st["threshold"],
        "compiled": st["compiled"],
        "not_compiled": st["failed"],
        "not_compiled_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "not_compiled_code": st["not_compiled"],
        "instructions_native": native,
        "instructions_interpreted": interpreted,
        "native_share": native / total if total and counted else None,
        "compile_seconds_total": st["compile_seconds"],
        "compile_seconds_median": st["compile_median_seconds"],
        "compile_seconds_max": st["compile_max_seconds"],
        "deopts": dict(sorted(st["deopts"].items(), key=lambda kv: -kv[1])),
        "deopt_sites": st["deopt_sites"][:50],
        "recompiles": st["recompiles"],
        "recompiled": st["recompiled"],
        "recompile_failures": st["recompile_failures"],
        "code_bytes": st["code_bytes"],
        "slowest_compiles": st["slowest_compiles"],
        "compile_budget": st["compile_budget"],
        "compiles_deferred": st["compiles_deferred"],
        "compile_seconds_program_thread": st["compile_seconds_program_thread"],
        "samples": st["samples"],
        "osr_entries": st["osr_entries"],
        "osr_compiled": st["osr_compiled"],
        "entry_mechanism": st["entry_mechanism"],
    }


def format_summary(s: dict) -> str:
    lines = [
        f"coconut: threshold {s['threshold']}; entering native code through "
        f"{s.get('entry_mechanism', 'PEP 523 hook')}",
        f"  code objects compiled: {s['compiled']}, not compiled: {s['not_compiled']}",
    ]
    for reason, n in list(s["not_compiled_reasons"].items())[:15]:
        lines.append(f"    {n:6d}  {reason}")
    if s["instructions_interpreted"] is None:
        lines.append(f"  instructions run natively: {s['instructions_native']:,} "
                     f"(the interpreter's were not counted)")
    else:
        lines.append(
            f"  instructions run: {s['instructions_native'] + s['instructions_interpreted']:,}, "
            f"natively {100 * s['native_share']:.1f}% (interpreter counted on the main thread)")
    lines += [
        f"  compile time: total {s['compile_seconds_total']:.2f} s, median "
        f"{1000 * s['compile_seconds_median']:.0f} ms, max {1000 * s['compile_seconds_max']:.0f} ms",
    ]
    for what, units, seconds in s["slowest_compiles"][:3]:
        lines.append(f"    {1000 * seconds:7.0f} ms  {what}, {units} code units")
    if s["compile_budget"]:
        lines.append(f"  compile budget: {100 * s['compile_budget']:.0f}% of the run on the "
                     f"program's thread ({s['compile_seconds_program_thread']:.2f} s spent); "
                     f"compiles deferred: {s['compiles_deferred']}")
    if s.get("samples"):
        lines.append(f"  samples of the main thread (time as hotness): {s['samples']:,}")
    if s.get("osr_compiled") or s.get("osr_entries"):
        lines.append(f"  on-stack replacement: {s['osr_entries']:,} running frames entered "
                     f"native code ({s['osr_compiled']} variants compiled)")
    lines.append(f"  deopts: {sum(s['deopts'].values()):,}")
    for reason, n in list(s["deopts"].items())[:15]:
        lines.append(f"    {n:9,d}  {reason}")
    if s["deopt_sites"]:
        lines.append("  deopt sites (most first; * speculation):")
    for site in s["deopt_sites"][:10]:
        lines.append(f"    {site['count']:9,d} {'*' if site['speculative'] else ' '} "
                     f"{site['function']} @{site['offset']} {site['opcode']}: {site['reason']}")
    lines.append(f"  recompiles: {s['recompiles']} (without speculations that failed)")
    for what, r in list(s["recompiled"].items())[:10]:
        lines.append(f"    {r['recompiles']}x  {what}, avoiding sites {r['avoid']}")
    for what, reason in list(s["recompile_failures"].items())[:5]:
        lines.append(f"    failed: {what}: {reason}")
    lines.append(f"  memory for compiled code: {s['code_bytes'] / 1024:.0f} KiB")
    return "\n".join(lines)
