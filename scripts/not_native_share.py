"""The share of executed bytecode instructions that coconut does not run natively
(`coconut.lowering.NOT_NATIVE`), measured by running a program under plain python3 with
an opcode-counting trace function (`frame.f_trace_opcodes`): what the interpreter
executes is what native code would.

    python3 scripts/not_native_share.py SCRIPT [ARGS...]
    python3 scripts/not_native_share.py -m MODULE [ARGS...]

prints the number of instructions executed, and per NOT_NATIVE opcode how many ran and
their share. It is slow (a trace call per instruction): give benchmarks one small loop.
With --json FILE, also writes the counts (every opcode) as JSON.
"""
from __future__ import annotations

import collections
import dis
import json
import os
import runpy
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def not_native() -> dict[str, str]:
    sys.path.insert(0, ROOT)
    try:
        from coconut.lowering import NOT_NATIVE
    finally:
        sys.path.pop(0)
    return dict(NOT_NATIVE)


def main(argv: list[str]) -> int:
    out_json = None
    if argv[:1] == ["--json"]:
        out_json, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    reasons = not_native()      # imported before tracing starts: not counted
    # (EXTENDED_ARG is a prefix the front end folds into its instruction, which native
    # code runs; the interpreter dispatches it on its own, and reports it when tracing)
    reasons = {n: r for n, r in reasons.items() if n not in ("EXTENDED_ARG", "CACHE")}
    counts: collections.Counter = collections.Counter()
    opname = dis.opname

    def trace(frame, event, arg):
        if event == "call":
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
            return trace
        if event == "opcode":
            counts[opname[frame.f_code.co_code[frame.f_lasti]]] += 1
        return trace

    if argv[0] == "-m":
        target, sys.argv = argv[1], argv[1:]
        run = lambda: runpy.run_module(target, run_name="__main__", alter_sys=True)  # noqa: E731
    else:
        target, sys.argv = argv[0], argv[:]
        sys.path[0] = os.path.dirname(os.path.abspath(target))
        run = lambda: runpy.run_path(target, run_name="__main__")  # noqa: E731
    sys.settrace(trace)
    try:
        run()
    except SystemExit:
        pass
    finally:
        sys.settrace(None)
    total = sum(counts.values())
    rows = sorted(((counts[n], n) for n in reasons if counts[n]), reverse=True)
    print(f"{target}: {total:,} instructions; not native: "
          f"{sum(c for c, _ in rows):,} ({100 * sum(c for c, _ in rows) / max(total, 1):.4f}%)",
          file=sys.stderr)
    for c, n in rows:
        print(f"  {n}: {c:,} ({100 * c / total:.4f}%)", file=sys.stderr)
    if out_json:
        with open(out_json, "w") as f:
            json.dump({"target": target, "total": total, "counts": dict(counts),
                       "not_native": {n: counts[n] for n in reasons}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
