"""One test per corpus function: compiled and interpreted runs must be indistinguishable.

The functions of one corpus module are checked together in one child process
(tests/_worker.py); the modules run in parallel (one child per CPU). When a module's child
crashes or hangs, the function it was checking is re-run alone (is the crash its own, or
caused by state left by earlier functions?) and the functions not yet checked are re-run
in a fresh child.
"""
import concurrent.futures
import glob
import importlib
import json
import os
import threading

import pytest

from tests import harness, support
from tests._worker import PREFIX

CORPUS_DIR = os.path.join(support.TESTS_DIR, "corpus")
MODULE_TIMEOUT = 400     # a module of 40 generated ~600-unit functions took 200 s cold
SINGLE_TIMEOUT = 90


def _corpus_params():
    params = []
    for path in sorted(glob.glob(os.path.join(CORPUS_DIR, "*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        if modname.startswith("_"):
            continue
        module = importlib.import_module("tests.corpus." + modname)
        for qualname in harness.corpus_cases(module):
            params.append(pytest.param(modname, qualname, id="%s::%s" % (modname, qualname)))
    return params


PARAMS = _corpus_params()


def _parse(stdout):
    started, results = [], {}
    for line in (stdout or "").splitlines():
        if line.startswith(PREFIX):
            ev = json.loads(line[len(PREFIX):])
            if ev["event"] == "start":
                started.append(ev["func"])
            elif ev["event"] == "result":
                results[ev["func"]] = ev["problems"]
    return started, results


class DifferentialRunner:
    def __init__(self, selected):
        self.selected = selected  # {modname: [qualname, ...]}
        self.closed = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
        self.futures = {mod: self.pool.submit(self._run_module, mod, names)
                        for mod, names in selected.items()}

    def close(self):
        self.closed.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        support.kill_live_children()

    def _run(self, mod, names, timeout):
        return support.run_python(["-m", "tests._worker", mod, *names], timeout=timeout)

    def _run_module(self, mod, names):
        """Run the functions in one child; after a crash, re-run the function that was
        running alone (to tell whether it crashes by itself) and the rest in a new child."""
        verdicts = {}
        remaining = list(names)
        while remaining:
            if self.closed.is_set():
                for name in remaining:
                    verdicts[name] = ["not run: session ended"]
                break
            res = self._run(mod, remaining, MODULE_TIMEOUT)
            started, results = _parse(res.stdout)
            verdicts.update(results)
            if res.ok and all(n in results for n in remaining):
                break
            culprit = started[-1] if started and started[-1] not in results else None
            if culprit is None:  # died before or after checking any function
                for name in remaining:
                    if name not in results:
                        verdicts[name] = ["child died outside any function check:\n"
                                          + res.describe()]
                break
            if len(remaining) == 1:
                verdicts[culprit] = ["child died:\n" + res.describe()]
                break
            single = self._run(mod, [culprit], SINGLE_TIMEOUT)
            _, one = _parse(single.stdout)
            if single.ok and culprit in one:
                verdicts[culprit] = one[culprit] + [
                    "the child checking several functions of %s died while checking this "
                    "one, which %s when checked alone:\n%s"
                    % (mod, "passes" if not one[culprit] else "fails", res.describe())]
            else:
                verdicts[culprit] = one.get(culprit, []) + ["child died:\n" + single.describe()]
            remaining = [n for n in remaining if n not in started]
        return verdicts

    def result(self, mod, name):
        return self.futures[mod].result()[name]


@pytest.fixture(scope="session")
def differential(request):
    selected = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "qualname" in callspec.params \
                and item.module.__name__ == __name__:
            selected.setdefault(callspec.params["modname"], []).append(
                callspec.params["qualname"])
    runner = DifferentialRunner(selected)
    yield runner
    runner.close()


@pytest.mark.parametrize("modname,qualname", PARAMS)
def test_corpus_function(differential, modname, qualname):
    problems = differential.result(modname, qualname)
    if problems:
        pytest.fail("%s.%s: compiled behaviour differs from the interpreter:\n\n%s"
                    % (modname, qualname, "\n\n".join(problems)), pytrace=False)
