"""pytest configuration of the coconut suite.

All JIT execution happens in child processes (tests/support.py); this file only makes sure
no child outlives the session and says in the header whether the stub is in use.
"""
import os

from tests import support


def pytest_report_header(config):
    stub = os.environ.get("COCONUT_TEST_STUB")
    if stub:
        return "coconut: STUB in use (COCONUT_TEST_STUB=%s) - not testing the real JIT" % stub
    return "coconut: real package from %s" % support.REPO_ROOT


def pytest_sessionfinish(session, exitstatus):
    support.kill_live_children()
