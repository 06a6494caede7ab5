"""The on-disk cache of compiled code: a code object compiled once, in any process, is
loaded with dlopen the next time instead of running gcc again.

An entry is `<key>.so` (written by gcc.build_to_file) and `<key>.json` (the function
names, the link descriptions, the deopt reasons, speculation sites and resume offsets,
the .so's sha256), in
$COCONUT_CACHE_DIR or ~/.cache/coconut. The key is a sha256 over coconut's own sources,
the Python build and struct layout, the optimization level, whether statistics count
instructions, a canonical description of the code object, and which of its
instructions the interpreter had specialized to a form with an inline-cache fast path
and, for a recompile, the speculation sites it avoids (see `code_key`).
Files are written under a temporary name and renamed, so concurrent processes are
safe; the .json is renamed last and names the .so's hash, so a torn or corrupt entry
is detected and compiled again. COCONUT_CACHE=0 disables the cache;
COCONUT_CACHE_MAX_BYTES bounds its size (default 1 GB; the oldest entries go first).
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import types

from . import layout as L
from .hook import NATIVE_COUNT, COUNTER_FUNC

# Bound at import (coconut imports this module with itself), not looked up when called:
# a program may replace builtins.open, os.replace, json.dumps, hashlib.sha256 ... and
# must not see the compiler read and write its cache (its work is invisible).
from importlib import import_module as _import_module
from io import open as _open
from json import dumps as _dumps, loads as _loads
from os import (access as _access, close as _close, environ as _environ, mkdir as _mkdir,
                open as _os_open, replace as _replace, scandir as _scandir, stat as _stat,
                unlink as _unlink, urandom as _urandom, utime as _utime)
from time import time as _time
from os.path import (dirname as _dirname, expanduser as _expanduser, join as _join,
                     splitext as _splitext)
try:
    from _sha256 import sha256 as _sha256   # as random.py does: no OpenSSL to load
except ImportError:
    from hashlib import sha256 as _sha256
_addressof = ctypes.addressof

FORMAT = 3                           # 2: counters inside the module, fill returns them
                                     # 3: deopt sites and offsets; entry counters
_counters = {"cache_hits": 0, "cache_misses": 0, "cache_stores": 0,
             "cache_uncacheable": 0, "cache_errors": 0, "cache_other_variant": 0}
_lock = threading.Lock()
_env_digest: bytes | None = None
_known_addresses = ("eval_breaker", "native_instructions", "count_trace", "slot_mp_subscript",
                    "slot_mp_ass_subscript")
# The directory's size is kept in its file USAGE ("<bytes> <time of the last scan>"),
# which each store updates: scanning a big cache (90,000 files: half a second) at each
# process's first store made every first compile that slow. A full scan (prune) runs
# when the file is missing or older than RESCAN_SECONDS (stores of concurrent processes
# may overwrite each other's update, and deletions by hand are not seen), or when the
# size goes over the limit.
USAGE = "usage"
RESCAN_SECONDS = 3600.0
_loaded: set[str] = set()            # keys whose <key>.so this process has dlopen'ed
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # coconut/
_MACHINE = os.uname().machine          # platform.machine(), without importing platform

def _binding_identity() -> str:
    """The gccjit binding's file, size and time, found without importing it (that loads
    libgccjit: start-up time and memory a process whose code is all in the cache never
    needs; importlib.metadata would cost ~10 ms)."""
    try:
        from importlib.util import find_spec
        package = os.path.dirname(find_spec("gccjit").origin)
        return ";".join(f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}"
                        for e in sorted(os.scandir(package), key=lambda e: e.name)
                        if e.name.startswith("_gccjit") and e.is_file())
    except Exception:                # noqa: BLE001
        return "?"


_GCCJIT_IDENTITY = _binding_identity()


def _gcc():
    """The back end, imported at the first compile (by import_module: an import
    statement calls builtins.__import__)."""
    return _import_module("..backend.gcc", __package__)


def _makedirs(path: str) -> None:
    """os.makedirs(path, exist_ok=True), which looks up os.mkdir and os.path.exists
    when called."""
    try:
        _mkdir(path)
    except FileExistsError:
        pass
    except FileNotFoundError:
        parent = _dirname(path.rstrip("/"))
        if not parent or parent == path:
            raise
        _makedirs(parent)
        try:
            _mkdir(path)
        except FileExistsError:
            pass


def _sources(directory: str) -> list[str]:
    """The .py files under `directory`, outside __pycache__ (os.walk looks up
    os.scandir when called)."""
    paths = []
    with _scandir(directory) as it:
        for e in it:
            if e.is_dir(follow_symlinks=False):
                if e.name != "__pycache__":
                    paths += _sources(e.path)
            elif e.name.endswith(".py"):
                paths.append(e.path)
    return paths


def _private_file(directory: str, key: str, suffix: str) -> tuple[int, str]:
    """A new file of our own in `directory`, opened for writing: (fd, path).

    Not tempfile.mkstemp: its names come from the `random` module, and a program
    that patches or seeds `random.Random` (test_random mocks `Random.random`) must
    not see the compiler draw numbers from it. os.urandom is nobody's state."""
    while True:
        path = _join(directory, f".{key[:16]}-{_urandom(8).hex()}{suffix}")
        try:
            return _os_open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), path
        except FileExistsError:
            continue


def enabled() -> bool:
    return _environ.get("COCONUT_CACHE", "1") not in ("0", "", "no", "false", "off")


def cache_dir() -> str:
    return _environ.get("COCONUT_CACHE_DIR") or _join(
        _environ.get("XDG_CACHE_HOME") or _expanduser("~/.cache"), "coconut")


def max_bytes() -> int:
    try:
        return int(_environ.get("COCONUT_CACHE_MAX_BYTES", 1 << 30))
    except ValueError:
        return 1 << 30


def counters() -> dict[str, int]:
    """cache_hits (loaded from disk), cache_misses (compiled), cache_stores (written),
    cache_uncacheable (compiled, not storable), cache_errors (unreadable entries),
    cache_other_variant (hits on another variant of the same code)."""
    return dict(_counters)


# -- the key ---------------------------------------------------------------------------
def environment_key() -> str:
    """What every cache entry's key starts from, as hex (the runtime's own library
    is cached under it: see hook.py)."""
    return _environment_digest().hex()


# Environment variables that change what is generated (the -O level is in each key).
_CODE_SHAPING = ("GCC_OPTIONS", "BRANCH_HINTS", "OPTIMIZE", "INLINE", "INLINE_BUDGET",
                 "INLINE_UNITS", "PIC")


def _environment_digest() -> bytes:
    """coconut's sources, the Python build, the layout: computed once per process."""
    global _env_digest
    if _env_digest is None:
        h = _sha256(b"coconut-cache-%d\0" % FORMAT)
        h.update(sources_digest())
        layout = sorted((k, v) for k, v in vars(L).items() if k.isupper() and isinstance(v, int))
        h.update(repr((sys.version, sys.hexversion, sys.abiflags, _MACHINE,
                       _GCCJIT_IDENTITY, layout,
                       # the variables that change the code generated for a function
                       [_environ.get("COCONUT_" + name) for name in _CODE_SHAPING]
                       )).encode())
        _env_digest = h.digest()
    return _env_digest


# The digest of coconut's sources is needed at every start-up (it names the runtime
# library), and reading and hashing ~50 files took 3-4 ms of it. The installation
# (`python3 -m coconut.runtime.install`) writes SOURCES_MANIFEST beside the installed
# runtime library: the digest, then each source's path, size and modification time; a
# process whose sources all still have the size and time listed takes the digest from
# it (a stat per file), as CPython trusts a .pyc whose source has the size and time it
# recorded. Anything else (a missing or stale manifest) hashes the sources.
SOURCES_MANIFEST = os.path.join(_ROOT, "runtime", "_installed", "sources")


def _source_stats() -> list[str]:
    out = []
    for p in sorted(_sources(_ROOT)):
        st = _stat(p)
        out.append(f"{p[len(_ROOT) + 1:]} {st.st_size} {st.st_mtime_ns}")
    return out


def _hash_sources() -> bytes:
    h = _sha256()
    for p in sorted(_sources(_ROOT)):
        h.update(p[len(_ROOT) + 1:].encode() + b"\0")     # the path under coconut/
        with _open(p, "rb") as f:
            h.update(_sha256(f.read()).digest())
    return h.digest()


def sources_digest(trust_manifest: bool = True) -> bytes:
    """The digest of coconut's .py files (see SOURCES_MANIFEST)."""
    if trust_manifest:
        try:
            with _open(SOURCES_MANIFEST, "r", encoding="utf-8") as f:
                lines = f.read().splitlines()
            if lines and lines[1:] == _source_stats():
                return bytes.fromhex(lines[0])
        except (OSError, ValueError):
            pass
    return _hash_sources()


def write_sources_manifest(path: str = SOURCES_MANIFEST) -> None:
    """Record the sources' digest, sizes and times (the installation does)."""
    stats = _source_stats()
    digest = _hash_sources()
    if stats != _source_stats():                # changed while hashing: write nothing
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with _open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join([digest.hex()] + stats) + "\n")
    _replace(tmp, path)


def _canon_const(c, out: list) -> None:
    t = type(c)
    if t is types.CodeType:
        out.append("code(")
        _canon_code(c, out)
        out.append(")")
    elif t is tuple:
        out.append(f"tuple{len(c)}(")
        for x in c:
            _canon_const(x, out)
            out.append(",")
        out.append(")")
    elif t is frozenset:
        items = []
        for x in c:
            sub: list = []
            _canon_const(x, sub)
            items.append("".join(sub))
        out.append(f"frozenset({','.join(sorted(items))})")
    else:
        out.append(f"{t.__module__}.{t.__qualname__}:{c!r}")


def _canon_code(code: types.CodeType, out: list) -> None:
    out.append(repr((code.co_code, code.co_names, code.co_varnames, code.co_cellvars,
                     code.co_freevars, code.co_nlocals, code.co_flags, code.co_argcount,
                     code.co_posonlyargcount, code.co_kwonlyargcount, code.co_stacksize,
                     code.co_exceptiontable, code.co_qualname, code.co_name,
                     code.co_filename, code.co_firstlineno)))
    out.append("consts(")
    for c in code.co_consts:
        _canon_const(c, out)
        out.append(",")
    out.append(")")


def code_digest(code: types.CodeType) -> str:
    """A digest of everything in `code` (what the cache key covers of a code object):
    the links of an inlined callee carry it (backend/gcc.py)."""
    out: list = []
    _canon_code(code, out)
    return _sha256("".join(out).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def code_key(code: types.CodeType, opt_level: int, counting: bool, variant=()) -> str:
    """The cache key of native code for `code` (not marshal: it varies with refcounts).
    `variant`: what else the code was made from (the interpreter's specializations
    that got inline-cache fast paths, the speculation sites avoided), as a repr-able
    value."""
    return code_keys(code, opt_level, counting, variant)[0]


_ANY = "any variant"


def code_keys(code: types.CodeType, opt_level: int, counting: bool, variant=()):
    """(code_key(...), the key of the code whatever its variant): under the second, a
    `<key>.variant` file names the latest variant stored (see build_native_steps)."""
    out: list = []
    _canon_code(code, out)
    canon = "".join(out).encode("utf-8", "surrogatepass")
    keys = []
    for v in (variant, _ANY):
        h = _sha256(_environment_digest())
        h.update(repr((opt_level, bool(counting), v)).encode())
        h.update(canon)
        keys.append(h.hexdigest())
    return keys[0], keys[1]


def _latest_variant(directory: str, base: str) -> str | None:
    try:
        with _open(_join(directory, base + ".variant"), "rb") as f:
            key = f.read().decode("ascii", "replace").strip()
    except OSError:
        return None
    return key if len(key) == 64 else None


def _note_variant(directory: str, base: str, key: str) -> None:
    """`key` is now the latest variant of the code whose any-variant key is `base`."""
    try:
        fd, tmp = _private_file(directory, base, ".variant")
        try:
            with _open(fd, "w") as f:
                f.write(key)
            _replace(tmp, _join(directory, base + ".variant"))
        except BaseException:
            _unlink(tmp)
            raise
    except OSError:
        pass


# -- load, store -----------------------------------------------------------------------
def _addresses(rt) -> dict[str, int]:
    return {"eval_breaker": L.eval_breaker_address(),
            "native_instructions": _addressof(rt.control) + 8 * NATIVE_COUNT,
            "count_trace": rt.control[COUNTER_FUNC],
            "slot_mp_subscript": L.slot_function("slot_mp_subscript"),
            "slot_mp_ass_subscript": L.slot_function("slot_mp_ass_subscript")}


def _load(directory: str, key: str, code, rt):
    """The cached module for `key`, or None (missing, unreadable, not resolvable)."""
    meta_path = _join(directory, key + ".json")
    try:
        with _open(meta_path, "rb") as f:
            meta = _loads(f.read())
    except FileNotFoundError:
        return None                        # (a miss imports no back end)
    except (OSError, ValueError):
        _counters["cache_errors"] += 1
        return None
    gcc = _gcc()
    try:
        if meta.get("format") != FORMAT or meta.get("key") != key:
            raise ValueError("stale entry")
        so_path = _join(directory, key + ".so")
        with _open(so_path, "rb") as f:
            data = f.read()
        if _sha256(data).hexdigest() != meta["sha256"]:
            raise ValueError("shared object does not match its hash")
        helpers, addresses = rt.helpers, _addresses(rt)
        values, keepalive = [], []
        for desc in meta["links"]:
            value, obj = gcc.resolve_link(desc, [code], helpers, addresses)
            values.append(value)
            if obj is not None:
                keepalive.append(obj)
        if key in _loaded:
            # dlopen of a file already loaded returns the same handle, whose links
            # belong to the other code object: load a private copy instead.
            fd, copy = _private_file(directory, key, ".so")
            try:
                with _open(fd, "wb") as f:
                    f.write(data)              # the bytes checked above
                module = gcc.load_file(copy, meta["names"], values, keepalive,
                                       meta["deopt_reasons"], meta["deopt_sites"],
                                       meta["deopt_offsets"])
            finally:
                _unlink(copy)
        else:
            module = gcc.load_file(so_path, meta["names"], values, keepalive,
                                   meta["deopt_reasons"], meta["deopt_sites"],
                                   meta["deopt_offsets"])
            _loaded.add(key)
        try:
            _utime(meta_path)              # recently used: pruned last
        except OSError:
            pass
        return module
    except Exception:                      # any failure: compile instead
        _counters["cache_errors"] += 1
        return None


def _store_steps(directory: str, key: str, build, code):
    """Compile with the steps `build(path)` -> gcc.BuiltFile into the cache and load
    it; as steps (yields gcc runs, returns the module)."""
    fd, tmp_so = _private_file(directory, key, ".so")
    _close(fd)
    try:
        built = yield from build(tmp_so)
        module = built.load()              # loaded before the rename: the code we run
        reason = built.uncacheable or next(
            (f"unknown address {d[1]!r}" for d in built.descs
             if d and d[0] == "address" and d[1] not in _known_addresses), None)
        if reason is not None:
            _counters["cache_uncacheable"] += 1
            return module
        with _open(tmp_so, "rb") as f:
            data = f.read()
        meta = {"format": FORMAT, "key": key, "sha256": _sha256(data).hexdigest(),
                "names": built.names, "links": built.descs,
                "deopt_reasons": built.deopt_reasons, "deopt_sites": built.deopt_sites,
                "deopt_offsets": built.deopt_offsets, "function": code.co_qualname,
                "file": code.co_filename, "line": code.co_firstlineno}
        _replace(tmp_so, _join(directory, key + ".so"))
        tmp_so = None
        _loaded.add(key)                   # that file (inode) is loaded now
        fd, tmp_meta = _private_file(directory, key, ".json")
        try:
            with _open(fd, "w") as f:
                f.write(_dumps(meta))          # not json.dump: its encoder is closures in cycles
            _replace(tmp_meta, _join(directory, key + ".json"))
        except BaseException:
            _unlink(tmp_meta)
            raise
        _counters["cache_stores"] += 1
        _account(directory, len(data))
        return module
    finally:
        if tmp_so is not None:
            try:
                _unlink(tmp_so)            # still mapped if loaded: fine on POSIX
            except OSError:
                pass


def _account(directory: str, added: int) -> None:
    """Keep the directory under max_bytes(): add a store to USAGE, or scan and drop the
    least recently used entries (prune)."""
    usage = _read_usage(directory)
    if usage is None or not 0 <= _time() - usage[1] <= RESCAN_SECONDS:
        prune(directory)
        return
    total = usage[0] + added
    if total > max_bytes():
        prune(directory)
    else:
        _write_usage(directory, total, usage[1])


def _read_usage(directory: str) -> tuple[int, float] | None:
    try:
        with _open(_join(directory, USAGE)) as f:
            total, scanned = f.read().split()
        return int(total), float(scanned)
    except (OSError, ValueError):
        return None


def _write_usage(directory: str, total: int, scanned: float) -> None:
    try:
        fd, tmp = _private_file(directory, USAGE, ".tmp")
        try:
            with _open(fd, "w") as f:
                f.write(f"{total} {scanned}")
            _replace(tmp, _join(directory, USAGE))
        except BaseException:
            _unlink(tmp)
            raise
    except OSError:
        pass


def prune(directory: str | None = None, limit: int | None = None) -> int:
    """Delete the oldest entries until the cache is under 80% of `limit` when it is
    over it. Returns the bytes left."""
    directory = directory or cache_dir()
    limit = max_bytes() if limit is None else limit
    entries: dict[str, list] = {}          # key -> [mtime of .json, bytes, paths]
    total = 0
    try:
        with _scandir(directory) as it:
            for e in it:
                stem, ext = _splitext(e.name)
                if ext not in (".so", ".json", ".variant"):
                    continue
                try:
                    st = e.stat()
                except OSError:
                    continue
                ent = entries.setdefault(stem, [0.0, 0, []])
                if ext == ".json" or not ent[0]:
                    ent[0] = st.st_mtime
                ent[1] += st.st_size
                ent[2].append(e.path)
                total += st.st_size
    except OSError:
        return 0
    scanned = _time()
    if total > limit:
        for stem, (_, size, paths) in sorted(entries.items(), key=lambda kv: kv[1][0]):
            if total <= 0.8 * limit:
                break
            for p in sorted(paths, key=lambda p: not p.endswith(".json")):   # .json first
                try:
                    _unlink(p)
                except OSError:
                    pass
            total -= size
    _write_usage(directory, total, scanned)
    return total


def build_native_steps(code: types.CodeType, make_ir, rt, opt_level: int, variant=(),
                       any_variant=None):
    """Native code for `code` (a gcc.GccModule): from the cache when there, else
    compiled with the IR from make_ir() (and stored when it can be). As steps: yields
    the gcc runs to execute (see gccrun.run_steps), returns the module. `variant`: see
    code_key. Where `any_variant()` says so, a miss loads the latest variant stored for this code
    instead, if any: native code is correct whatever the interpreter's specializations
    are now (fast paths check their form, speculations are guarded), only maybe less
    fast, and which variant a run sees depends on its timing; so a second run of a
    program hits the cache even where the first compiled at other moments."""
    if not enabled():
        ir = make_ir()
        return (yield from _gcc().build_module_steps([ir], rt.helpers, opt_level))
    directory = cache_dir()
    key, base = code_keys(code, opt_level, rt.counting, variant)
    module = _load(directory, key, code, rt)
    if module is None and any_variant is not None and any_variant():
        other = _latest_variant(directory, base)
        if other is not None and other != key:
            module = _load(directory, other, code, rt)
            if module is not None:
                _counters["cache_other_variant"] += 1
    if module is not None:
        _counters["cache_hits"] += 1
        return module
    _counters["cache_misses"] += 1
    ir = make_ir()
    gcc = _gcc()
    try:
        _makedirs(directory)
        usable = _access(directory, os.W_OK)
    except OSError:
        usable = False
    if not usable:
        return (yield from gcc.build_module_steps([ir], rt.helpers, opt_level))
    try:
        module = yield from _store_steps(
            directory, key, lambda path: gcc.build_to_file_steps([ir], rt.helpers, opt_level, path),
            code)
        if any_variant is not None:
            _note_variant(directory, base, key)
        return module
    except gcc.BackendError:
        raise
    except OSError:                        # disk full, permissions, failed dlopen ...
        _counters["cache_errors"] += 1
        return (yield from gcc.build_module_steps([ir], rt.helpers, opt_level))


def build_native(code: types.CodeType, make_ir, rt, opt_level: int, variant=()):
    return _import_module("..backend.gccrun", __package__).run_steps(
        build_native_steps(code, make_ir, rt, opt_level, variant))
