"""Packaging for coconut, a method JIT compiler for CPython 3.11.

gccjit==0.4 must be installed beforehand by scripts/install.sh: it only builds
with Cython<3 present and --no-build-isolation, which pip cannot express in
install_requires.

`python3 setup.py test` runs `python3 -m pytest tests` (extra pytest arguments
with --pytest-args="-x -k foo").
"""
import os
import shlex
import subprocess
import sys

from setuptools import Command, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


class PyTest(Command):
    """Run the test suite with `python -m pytest tests`."""

    description = "run the test suite (python -m pytest tests)"
    user_options = [
        ("pytest-args=", "a", "extra arguments passed to pytest (one shell-quoted string)"),
    ]

    def initialize_options(self):
        self.pytest_args = ""

    def finalize_options(self):
        pass

    def run(self):
        cmd = [sys.executable, "-m", "pytest", "tests"] + shlex.split(self.pytest_args or "")
        print("running: " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        rc = subprocess.call(cmd, cwd=HERE)
        if rc != 0:
            sys.exit(rc)


setup(
    name="coconut",
    version="0.1.0",
    description="A method JIT compiler for CPython 3.11 built on libgccjit",
    packages=find_packages(where=HERE, exclude=["tests", "tests.*"]),
    python_requires="==3.11.*",
    install_requires=[
        "bytecode",
        "networkx",
        "gccjit==0.4",  # preinstall with scripts/install.sh (needs --no-build-isolation)
    ],
    cmdclass={"test": PyTest},
)
