"""Child side of the differential tests: python -m tests._worker CORPUS_MODULE [QUALNAME...]

Imports tests.corpus.CORPUS_MODULE, records the interpreted reference of every selected
function first (nothing compiled yet), then compiles and checks them one by one. Progress
and verdicts are printed to stdout as lines ``@@coconut-worker@@ <json>``:
  {"event": "start", "func": qualname}            before checking a function
  {"event": "result", "func": qualname, "problems": [...]}
  {"event": "done"}
so that when the process crashes the parent knows which function was running.
"""
import faulthandler
import importlib
import json
import os
import sys
import traceback

from tests import harness, support

PREFIX = "@@coconut-worker@@ "
# Seconds one function's check may take before faulthandler dumps all stacks and exits.
FUNC_TIMEOUT = float(os.environ.get("COCONUT_TEST_FUNC_TIMEOUT", "60"))


def emit(**event):
    out = sys.__stdout__
    out.write(PREFIX + json.dumps(event) + "\n")
    out.flush()


def main():
    support.child_setup()
    modname = sys.argv[1]
    wanted = sys.argv[2:]
    module = importlib.import_module("tests.corpus." + modname)
    cases = harness.corpus_cases(module)
    names = wanted or list(cases)
    coconut = support.get_coconut()

    references = {}
    for name in names:
        func, arglist = cases[name]
        try:
            references[name] = harness.record(harness.clone_function(func), arglist)
        except Exception:  # noqa: BLE001 - a harness bug, reported as the test's failure
            references[name] = traceback.format_exc()

    for name in names:
        func, arglist = cases[name]
        emit(event="start", func=name)
        faulthandler.dump_traceback_later(FUNC_TIMEOUT, exit=True)
        ref = references[name]
        if isinstance(ref, str):
            problems = ["harness error while recording the reference:\n" + ref]
        else:
            try:
                problems = harness.check_function(func, arglist, coconut, reference=ref)
            except Exception:  # noqa: BLE001
                problems = ["harness error:\n" + traceback.format_exc()]
        faulthandler.cancel_dump_traceback_later()
        emit(event="result", func=name, problems=problems)
    emit(event="done")


if __name__ == "__main__":
    main()
