#!/usr/bin/env bash
# Build CPython 3.11 with cpython.patch (docs/patched-interpreter.md) and install it,
# with coconut's dependencies, into a cache directory. Idempotent: when the installed
# interpreter was built from this patch, it only checks the dependencies (a second or
# two). Prints the interpreter's path on its last line.
#
#   bash scripts/patched-python.sh            build if needed, print the path
#   bash scripts/patched-python.sh --path     only print where it is (or would be)
#   bash scripts/patched-python.sh --stock [--path]
#                                             the same source built the same way
#                                             without the patch (the baseline the
#                                             patched one is compared with), in
#                                             ~/.cache/coconut/stock-python
#
# COCONUT_PATCHED_DIR  where to keep it (default: ~/.cache/coconut/patched-python;
#                      with --stock: COCONUT_STOCK_DIR, ~/.cache/coconut/stock-python)
# The source is Debian's python3.11 source package (apt-get source: the deb-src lines
# are added for Debian's own mirrors when missing), the one every Debian 12 machine
# can get. A build takes about 3 minutes on 2 cores; logs are kept in the directory.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PATCH="$REPO/cpython.patch"
STOCK=0
if [ "${1:-}" = "--stock" ]; then STOCK=1; shift; fi
if [ $STOCK = 1 ]; then
  DIR=${COCONUT_STOCK_DIR:-$HOME/.cache/coconut/stock-python}
else
  DIR=${COCONUT_PATCHED_DIR:-$HOME/.cache/coconut/patched-python}
fi
PY="$DIR/install/bin/python3.11"
if [ "${1:-}" = "--path" ]; then echo "$PY"; exit 0; fi
[ $# -eq 0 ] || { echo "usage: bash scripts/patched-python.sh [--stock] [--path]" >&2; exit 2; }

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
STAMP="$DIR/install/.cpython-patch"
if [ $STOCK = 1 ]; then WANT=stock; else WANT=$(sha256sum "$PATCH" | cut -d' ' -f1); fi

if [ ! -x "$PY" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  mkdir -p "$DIR/download"
  # The build's own needs: a compiler and the headers of the modules coconut and
  # pip use (ctypes: libffi; ssl; zlib, ...).
  NEED="build-essential libffi-dev libssl-dev zlib1g-dev libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev dpkg-dev"
  if ! dpkg -s $NEED >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $NEED >/dev/null
  fi
  TGZ=$(ls "$DIR"/download/python3.11_*.orig.tar.* 2>/dev/null | head -1 || true)
  if [ -z "$TGZ" ]; then
    if ! grep -qsr '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | \
        $SUDO tee /etc/apt/sources.list.d/zz-deb-src.sources >/dev/null
      $SUDO apt-get update -qq
    fi
    # Only the upstream tarball is needed (Debian's own patches are not applied).
    (cd "$DIR/download" && apt-get source --download-only -qq python3.11 >/dev/null 2>&1) || true
    TGZ=$(ls "$DIR"/download/python3.11_*.orig.tar.* 2>/dev/null | head -1 || true)
    [ -n "$TGZ" ] || { echo "patched-python.sh: could not download the python3.11 source package" >&2; exit 1; }
  fi
  if [ $STOCK = 1 ]; then WITH="without a patch"; else WITH="with cpython.patch"; fi
  echo "patched-python.sh: building CPython from $(basename "$TGZ") $WITH into $DIR/install" >&2
  rm -rf "$DIR/src" "$DIR/install"
  mkdir -p "$DIR/src"
  tar xf "$TGZ" -C "$DIR/src" --strip-components=1
  [ $STOCK = 1 ] || (cd "$DIR/src" && patch -p1 -s < "$PATCH")
  log() { echo "patched-python.sh: $1 failed; the end of $2:" >&2; tail -30 "$2" >&2; exit 1; }
  (cd "$DIR/src" && ./configure --prefix="$DIR/install" > "$DIR/configure.log" 2>&1) || log configure "$DIR/configure.log"
  (cd "$DIR/src" && make -j"$(nproc)" > "$DIR/make.log" 2>&1) || log make "$DIR/make.log"
  (cd "$DIR/src" && make install > "$DIR/install.log" 2>&1) || log "make install" "$DIR/install.log"
  [ $STOCK = 1 ] || "$PY" -c 'import ctypes; ctypes.pythonapi._PyEval_SetNativeEntry' || {
    echo "patched-python.sh: the built interpreter lacks the patch's entry point" >&2; exit 1; }
  echo "$WANT" > "$STAMP"
fi

# coconut's dependencies and runtime library for this interpreter (scripts/install.sh).
PYTHON="$PY" bash "$REPO/scripts/install.sh" ${COCONUT_PATCHED_INSTALL_ARGS:-} >&2
echo "$PY"
