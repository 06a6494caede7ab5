"""pytest configuration of the coconut suite.

All JIT execution happens in child processes (tests/support.py); this file only makes sure
no child outlives the session and says in the header whether the stub is in use, and
points the compiled-code cache (COCONUT_CACHE_DIR, inherited by every child) at a fresh
temporary directory so the suite neither reads nor pollutes ~/.cache/coconut, and turns
the IR verifier on between passes (COCONUT_VERIFY=1).
"""
import atexit
import os
import shutil
import signal
import tempfile

from tests import support

# The IR verifier runs after every pass of the pipeline in every compile of the suite
# (coconut.runtime.jit.VERIFY; children inherit the environment).
os.environ.setdefault("COCONUT_VERIFY", "1")
# Whole-program tests compile at the threshold, warmed up or not (the warm-up wait,
# jit.WARMUP, has tests of its own that turn it back on).
os.environ.setdefault("COCONUT_WARMUP", "0")

# A shell that starts the suite in the background without job control (`cmd &` in a
# script) starts it with SIGINT ignored, and Python children inherit that: the tests
# of KeyboardInterrupt in compiled code would then see no interrupt. A handled SIGINT
# here is reset to the default in every child, which then installs Python's own.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if not os.environ.get("COCONUT_TEST_KEEP_CACHE_DIR"):
    _CACHE_DIR = tempfile.mkdtemp(prefix="coconut-test-cache-")
    os.environ["COCONUT_CACHE_DIR"] = _CACHE_DIR
    atexit.register(shutil.rmtree, _CACHE_DIR, True)


def pytest_report_header(config):
    stub = os.environ.get("COCONUT_TEST_STUB")
    if stub:
        return "coconut: STUB in use (COCONUT_TEST_STUB=%s) - not testing the real JIT" % stub
    return "coconut: real package from %s; compiled-code cache in %s" % (
        support.REPO_ROOT, os.environ.get("COCONUT_CACHE_DIR"))


def pytest_sessionfinish(session, exitstatus):
    support.kill_live_children()
