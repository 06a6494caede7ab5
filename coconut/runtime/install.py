"""`python3 -m coconut.runtime.install`: build the runtime library (the hook, calls,
global loads: coconut/runtime/hook.py) into coconut/runtime/_installed/, where every
process finds it before looking in the compile cache. scripts/install.sh runs it.

The library is named after the digest of coconut's sources, the Python build and the
gccjit binding (hook.runtime_library_name), so a stale one is never loaded: after a
change of the sources the cache is used again until this runs. Libraries in the
directory built before the sources' last change are removed (one built since, for
another Python build, stays). Idempotent: when the library is there it only says so. It also
writes the sources' manifest (cache.SOURCES_MANIFEST: their digest, sizes and times),
which spares every start-up hashing them.
"""
from __future__ import annotations

import os
import sys

from . import hook


def build(directory: str = hook.INSTALLED_DIR) -> str:
    """Build the runtime library into `directory` unless it is there; its path."""
    name = hook.runtime_library_name()
    path = os.path.join(directory, name)
    if os.path.exists(path):
        return path
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".%d.tmp" % os.getpid()
    ctx = hook.Runtime.__new__(hook.Runtime)._emit()     # (emitting reads no state)
    from ..backend.gccrun import GccRun
    try:
        GccRun(ctx, tmp)()
        error = ctx.get_first_error()
        if error is not None or not os.path.exists(tmp):
            raise RuntimeError(f"libgccjit could not build the runtime library: {error}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    # Older libraries go: those built before the sources' last change (a library
    # built since is current for another Python build, e.g. the patched interpreter's
    # beside the stock one: each is named after its build too).
    from .cache import _ROOT, _sources
    changed = max(os.stat(p).st_mtime for p in _sources(_ROOT))
    for old in os.listdir(directory):
        full = os.path.join(directory, old)
        if old.startswith("runtime-") and old != name and os.stat(full).st_mtime < changed:
            os.unlink(full)
    return path


def main() -> int:
    try:
        from . import cache
        # First: the library's name is the digest of the sources, which a stale manifest
        # must not give (sources_digest then hashes them anyway).
        os.makedirs(hook.INSTALLED_DIR, exist_ok=True)
        cache.write_sources_manifest()
        path = build()
    except (OSError, RuntimeError) as exc:
        print(f"coconut.runtime.install: {exc} (the runtime library will be built into "
              f"the compile cache at first use instead)", file=sys.stderr)
        return 1
    print(f"coconut: runtime library {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
