"""Differential fuzzing with fixed seeds: generated programs, compiled vs interpreted.

tests/fuzz/gen.py generates a random program per seed (int/float/bigint arithmetic around
the machine-word and double boundaries, loops, branches, locals changing type mid-loop,
containers, attributes, class changes, helpers changing globals, hooks that inspect the
caller's f_locals, try/except); tests/fuzz/run.py runs each one interpreted and compiled
(after a warm-up that quickens it) on argument mixes that break every speculation, and
compares everything observable, floats bit for bit. See tests/fuzz/run.py.

The programs run in child processes, BATCH per child, the batches in parallel (one child
per CPU); a crash or hang fails the program that was running. A failure names the seed,
prints the program and the command that reproduces and minimizes it:

    python3 -m tests.fuzz.run --seeds SEED --size small

`make fuzz N=5000 SEED=1` runs many more (bigger programs, minimized on failure).
"""
import concurrent.futures
import json
import os

import pytest

from tests import support
from tests.fuzz import gen, run

SIZE = "small"
N_PROGRAMS = 176
BATCH = 22
FIRST_SEED = 1
SEEDS = list(range(FIRST_SEED, FIRST_SEED + N_PROGRAMS))
BATCHES = [SEEDS[i:i + BATCH] for i in range(0, len(SEEDS), BATCH)]


@pytest.fixture(scope="session")
def fuzz_results():
    """Every batch is started at once on a pool of one child per CPU; each test waits
    for its own batch."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))

    def one(batch):
        progs = [gen.generate(s, SIZE) for s in batch]
        # NaN signs and payloads are not compared here: with two NaN operands gcc may
        # reorder a commutative operation (IEEE leaves the result's NaN open); that known
        # difference is its own case (tests/corpus/fuzz_found.py KNOWN_FAILING), and the
        # NaN-sign bugs fixed so far are strict corpus cases. The batches look for the rest.
        return list(zip(progs, run.run_programs(
            progs, env={"PYTHONHASHSEED": "0", "COCONUT_FUZZ_LOOSE_NAN": "1"})))

    futures = {tuple(b): pool.submit(one, b) for b in BATCHES}
    yield futures
    pool.shutdown(wait=False, cancel_futures=True)
    support.kill_live_children()


@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: "seeds_%d_to_%d" % (b[0], b[-1]))
def test_fuzz_batch(fuzz_results, batch):
    results = fuzz_results[tuple(batch)].result()
    failures, seen = [], {}
    for prog, res in results:
        if not run.is_failure(res):
            continue
        key = json.dumps(res.get("problems"))
        if res["status"] == "error" and key in seen:   # e.g. a child that could not start
            failures.append("program seed %s: %s, as seed %s" % (prog["seed"], res["status"],
                                                                 seen[key]))
            continue
        seen[key] = prog["seed"]
        failures.append(run.format_failure(prog, res))
    if failures:
        pytest.fail("%d of %d generated programs behave differently compiled (minimize one "
                    "with: python3 -m tests.fuzz.run --size %s --seeds SEED):\n\n%s"
                    % (len(failures), len(batch), SIZE, "\n\n".join(failures)), pytrace=False)
    # the batch really ran: most programs are compared, not skipped
    skipped = sum(res["status"] == "skip" for _, res in results)
    assert skipped <= len(batch) // 4, [res for _, res in results if res["status"] == "skip"]


# ----------------------------------------------------------------------------- the fuzzer itself

def test_generator_is_deterministic_and_valid():
    for seed in list(range(300)) + [10**9 + 7]:
        for size in gen.SIZES:
            prog = gen.generate(seed, size)
            assert prog == gen.generate(seed, size)
            compile(prog["source"], "<fuzz %d>" % seed, "exec")
            for mix in [prog["warm"]] + prog["mixes"]:
                for expr in mix:
                    compile(expr, "<arg>", "eval")
            json.dumps(prog)


def test_generator_covers_the_features():
    """Over a few hundred seeds, every construct the fuzzer is meant to exercise shows up."""
    text = "".join(gen.generate(s, SIZE)["source"] for s in range(300))
    for needle in ["for i in range(", "while ", "2**63", "2**62", "2**53", "-0.0", "1e309",
                   "float('nan')", " // ", " % ", " / ", " ** ", "abs(", "min(", "max(",
                   "len(", "isinstance(", ".append(", "lst[", "tup[", "dct[", " = tup",
                   "o.v", "P.k", "o.__class__ = ", "patch(", "morph(", "bump(", "retype(",
                   "swap()", "hk ==", "hk +", "dd = D(", "try:", "except ", "print(", "break",
                   "continue", "str(", " & ", " ^ ", " | ", "return ", "shadow(True)",
                   "lambda q", " := ", "IntS(", ".n\n"]:
        assert needle in text, needle


def _run_with_stub(mode, seeds):
    progs = [gen.generate(s, SIZE) for s in seeds]
    return list(zip(progs, run.run_programs(
        progs, env={"PYTHONHASHSEED": "0", "COCONUT_TEST_STUB": mode})))


def test_identity_compile_never_fails():
    """With the stub's identity compile, the two copies must agree on every program: the
    protocol has no false positives (nondeterminism, addresses, hook timing)."""
    results = _run_with_stub("1", list(range(1000, 1100)))
    bad = [run.format_failure(p, r) for p, r in results if run.is_failure(r)]
    assert not bad, "\n\n".join(bad)


def test_a_wrong_compile_is_reported_with_seed_and_source():
    """The stub's broken compile (every int constant + 1) must be caught, and reported
    with the seed, the program's source and how to reproduce it."""
    results = _run_with_stub("broken", list(range(2000, 2020)))
    failed = [(p, r) for p, r in results if run.is_failure(r)]
    assert len(failed) >= 10, [r["status"] for _, r in results]
    prog, res = failed[0]
    assert res["status"] == "mismatch" and res["sig"][0] == "mismatch"
    text = run.format_failure(prog, res)
    assert "program seed %d" % prog["seed"] in text
    assert "def f(" in text and "--seeds %d" % prog["seed"] in text
    assert "interpreted:" in text and "compiled:" in text


def test_a_crash_is_reported_as_a_crash_of_that_program():
    seeds = list(range(3000, 3004))
    results = _run_with_stub("crash:f", seeds)
    for prog, res in results:
        assert res["status"] == "crash", res
        assert "SIGSEGV" in "\n".join(res["problems"]), res
        assert "program seed %d crashed" % prog["seed"] in run.format_failure(prog, res)


def test_minimizer_shrinks_a_failing_program():
    env = {"PYTHONHASHSEED": "0", "COCONUT_TEST_STUB": "broken"}
    for seed in range(2000, 2020):
        prog = gen.generate(seed, SIZE)
        res = run.run_programs([prog], env=env)[0]
        if res["status"] == "mismatch":
            break
    else:
        pytest.fail("no program fails with the broken stub")
    small, small_res = run.Minimizer(prog, res, env=env, budget_seconds=20, jobs=1).minimize()
    assert small_res["sig"] == res["sig"]
    assert len(small["source"]) < len(prog["source"])
    assert len(small["mixes"]) <= len(prog["mixes"])
    # what is left still fails the same way when run on its own
    assert run.run_programs([small], env=env)[0]["sig"] == res["sig"]


# ----------------------------------------------------------------------------- known failures

def _known_failing():
    from tests.corpus import fuzz_found
    return list(getattr(fuzz_found, "KNOWN_FAILING", []))


@pytest.mark.parametrize("case", _known_failing(), ids=lambda c: c[0].__name__)
def test_known_compiler_bug_found_by_fuzzing(case):
    """Cases of tests/corpus/fuzz_found.py that fail today (KNOWN_FAILING): checked like
    corpus cases (tests/harness.py, in a child), expected to fail until the compiler is
    fixed. Strict: once a case passes, this test fails until the case moves to CASES."""
    func, arglist, reason = case
    code = ("from tests import harness\n"
            "from tests.corpus import fuzz_found as m\n"
            "case = [c for c in m.KNOWN_FAILING if c[0].__name__ == %r][0]\n"
            "problems = harness.check_function(case[0], case[1])\n"
            "print('\\n\\n'.join(problems))\n"
            "raise SystemExit(1 if problems else 0)\n" % func.__name__)
    res = support.run_code(code, timeout=120)
    if res.ok:
        pytest.fail("%s passes now (%s): move it from KNOWN_FAILING to CASES in "
                    "tests/corpus/fuzz_found.py" % (func.__name__, reason), pytrace=False)
    pytest.xfail("%s\n%s" % (reason, res.describe(4000)))
