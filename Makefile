# coconut: developer entry points.
#
#   make test           the test suite (python3 setup.py test = python3 -m pytest tests)
#   make compat         CPython's regression tests, stock vs under the JIT, for the
#                       full module list; rewrites docs/compat.md (exit 1 if any test
#                       is lost, or a JIT run crashed or hung)
#   make compat-quick   the same for a small fast subset; report in build/compat/compat.md
#   make patched-python the patched CPython 3.11 (cpython.patch) built and installed with
#                       coconut's dependencies into ~/.cache/coconut/patched-python
#                       (scripts/patched-python.sh; about 4 minutes, then quick)
#   make test-patched   the whole test suite on the patched interpreter
#   make test-patched-ci the part of it .ci/run runs (entries, frames, tracing, threads,
#                       recursion, OSR, the differential corpus)
#   make regrtest-patched CPython's own regression suite on the patched interpreter and
#                       on the same source built without the patch (patched-python.sh
#                       --stock), compared test by test (scripts/regrtest_ab.py; about
#                       40 minutes on 2 cores); no coconut involved
#   make bench-patched  the benchmark suite with the patched interpreter as extra columns
#                       (python3, python3 + coconut, patched, patched + coconut, all in
#                       the same rounds; SUITE_ARGS as for bench-suite; about 45 minutes)
#
# Options: make compat JOBS=4 TIMEOUT=1200 COMPAT_ARGS="--keep"

PYTHON ?= python3
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TIMEOUT ?=
COMPAT_ARGS ?=
COMPAT_OPTS = -j $(JOBS) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(COMPAT_ARGS)

.PHONY: test compat compat-quick

test:
	PYTHONPATH=. $(PYTHON) setup.py test

compat:
	PYTHONPATH=. $(PYTHON) scripts/compat.py --all --output docs/compat.md $(COMPAT_OPTS)

compat-quick:
	PYTHONPATH=. $(PYTHON) scripts/compat.py --quick $(COMPAT_OPTS)

# make bench-suite    the pyperformance benchmarks (benchmarks/pyperformance), plain
#                     python3 vs coconut in three modes: python3 -m coconut.suite, about
#                     25 minutes; rewrites its section of docs/benchmarks.md and
#                     docs/benchmarks.png. Needs `bash scripts/install.sh --bench`.
#                     make bench-suite SUITE_ARGS="--quick" is a smoke run.
SUITE_ARGS ?=

.PHONY: bench-suite

bench-suite:
	PYTHONPATH=. $(PYTHON) -m coconut.suite $(SUITE_ARGS)

# make native-share   per suite benchmark, the share of executed instructions that ran
#                     natively, every function compiled (scripts/suite_native_share.py;
#                     about 25 minutes with a cold cache). NAMES="scimark mdp" for some.
NAMES ?=

.PHONY: native-share

native-share:
	PYTHONPATH=. $(PYTHON) scripts/suite_native_share.py $(NAMES)

# Differential fuzzing of the JIT (tests/fuzz/): N generated programs from seed SEED on,
# each run interpreted and compiled and compared; prints every failing seed with its
# program minimized. make fuzz N=5000 SEED=1 FUZZ_JOBS=2 FUZZ_ARGS="--size small --json f.json"
N ?= 1000
SEED ?= 0
FUZZ_JOBS ?= $(JOBS)
FUZZ_ARGS ?=

.PHONY: fuzz

fuzz:
	PYTHONPATH=. $(PYTHON) -m tests.fuzz.run -n $(N) --seed $(SEED) -j $(FUZZ_JOBS) $(FUZZ_ARGS)

# The patched interpreter (cpython.patch, docs/patched-interpreter.md).
PATCHED_TESTS = tests/test_patched.py tests/test_frames.py tests/test_tracing.py \
	tests/test_threads.py tests/test_recursion.py tests/test_osr.py tests/test_differential.py \
	tests/test_whole_program.py tests/test_inline.py

.PHONY: patched-python test-patched test-patched-ci bench-patched regrtest-patched

patched-python:
	bash scripts/patched-python.sh

test-patched:
	PY=$$(bash scripts/patched-python.sh | tail -1) && PYTHONPATH=. $$PY setup.py test

regrtest-patched:
	STOCK=$$(bash scripts/patched-python.sh --stock | tail -1) && \
	PY=$$(bash scripts/patched-python.sh | tail -1) && \
	$(PYTHON) scripts/regrtest_ab.py stock=$$STOCK patched=$$PY -j $(JOBS) --output build/regrtest-patched.md

test-patched-ci:
	PY=$$(bash scripts/patched-python.sh | tail -1) && PYTHONPATH=. $$PY -m pytest -q $(PATCHED_TESTS)

bench-patched:
	PY=$$(COCONUT_PATCHED_INSTALL_ARGS=--bench bash scripts/patched-python.sh | tail -1) && \
	PYTHONPATH=. $(PYTHON) -m coconut.suite --also patched=$$PY $(SUITE_ARGS)
