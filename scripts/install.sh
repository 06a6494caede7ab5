#!/usr/bin/env bash
# Install everything coconut needs on Debian 12 with CPython 3.11 as `python3`.
# Idempotent: when everything is present it only checks, which takes a second or two.
#
#   bash scripts/install.sh            coconut's dependencies
#   bash scripts/install.sh --bench    and also those of the pyperformance suite
#                                      (python3 -m coconut.suite): pyperf, pyaes,
#                                      tomli, matplotlib
set -euo pipefail
PY=${PYTHON:-python3}
BENCH=0
for arg in "$@"; do
  case "$arg" in
    --bench) BENCH=1 ;;
    *) echo "usage: bash scripts/install.sh [--bench]" >&2; exit 2 ;;
  esac
done

if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "install.sh: coconut needs CPython 3.11; $PY is $("$PY" -V 2>&1)" >&2
  exit 1
fi

# libgccjit (Debian's libgccjit-12-dev: the library and its header), and gcc-12, the
# driver libgccjit runs as a separate process (coconut/backend/gccrun.py: without it,
# gcc runs in-process, on the program's thread only).
if ! dpkg -s libgccjit-12-dev gcc-12 >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libgccjit-12-dev gcc-12
fi

pip_install() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }

# Pure-Python dependencies.
if ! "$PY" -c 'import bytecode, networkx, pytest, hypothesis' 2>/dev/null; then
  pip_install bytecode networkx pytest hypothesis
fi

# gccjit 0.4 builds only with Cython<3 present and without build isolation.
if ! "$PY" -c 'import gccjit' 2>/dev/null; then
  pip_install 'Cython<3' wheel setuptools
  pip_install --no-build-isolation gccjit==0.4
fi
"$PY" -c 'import gccjit, bytecode, networkx, pytest, hypothesis' || {
  echo "install.sh: dependencies did not import after installing" >&2; exit 1; }

# COCONUT_JIT=1 turns the JIT on in any Python process (python3 -m coconut sets it for
# the subprocesses of a program): coconut-jit.pth runs at interpreter start-up. For
# this checkout it also puts the repository on sys.path, as an editable install would.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PTH="$SITE/coconut-jit.pth"
WANT=$(printf '%s\n%s\n' "$REPO" "$(cat "$REPO/coconut-jit.pth")")
if [ ! -f "$PTH" ] || [ "$(cat "$PTH")" != "$WANT" ]; then
  SUDO=""; [ -w "$SITE" ] || SUDO=sudo
  printf '%s\n' "$WANT" | $SUDO tee "$PTH" >/dev/null
fi

# The runtime library (the hook and the helpers compiled code calls), built once here
# beside the sources rather than by a program's first run (coconut/runtime/install.py).
(cd "$REPO" && PYTHONPATH="$REPO" "$PY" -m coconut.runtime.install >/dev/null) || \
  echo "install.sh: the runtime library is built at first use instead" >&2

# Byte-compiled sources, as `pip install` leaves them: where the environment sets
# PYTHONDONTWRITEBYTECODE (this machine's does), every process that imports coconut
# would compile its ~40 modules again: 35 ms of every `python3 -m coconut` start-up,
# measured. (Python still reads .pyc files then; a stale one is recompiled in memory.)
"$PY" -m compileall -q "$REPO/coconut" >/dev/null || true

# The pyperformance suite (benchmarks/pyperformance, python3 -m coconut.suite): pyperf
# runs the benchmarks, crypto_pyaes needs pyaes and tomli_loads tomli (the versions of
# their requirements.txt), the chart matplotlib. Not needed by the tests or CI.
if [ "$BENCH" = 1 ]; then
  if ! "$PY" -c 'import pyperf, pyaes, tomli, matplotlib' 2>/dev/null; then
    pip_install pyperf pyaes==1.6.1 tomli==2.0.1 matplotlib
  fi
  "$PY" -c 'import pyperf, pyaes, tomli, matplotlib' || {
    echo "install.sh: the benchmark packages did not import after installing" >&2; exit 1; }
fi
