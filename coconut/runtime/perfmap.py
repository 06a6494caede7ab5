"""perf's JIT map: `/tmp/perf-<pid>.map` names the machine code coconut made.

With COCONUT_PERF_MAP=1 in the environment (or `python3 -m coconut --perf-map`, which
calls `enable()` and sets the variable for subprocesses), every native function gets
one line `<start hex> <size hex> coconut:<qualname> (<file>:<firstlineno>)` when it is
installed, whether gcc compiled it in this process or it was loaded from the on-disk
cache; the runtime library's helpers (the frame hook, coconut_resume, ...) get
`coconut:<helper> (runtime)`. The size is the function's ELF symbol size (`st_size`,
read with `dladdr1(RTLD_DL_SYMENT)` from the loaded object's dynamic symbol table).

perf reads the map only for *anonymous* executable memory; compiled code is a shared
object (a cache file, or libgccjit's deleted temporary), whose symbols perf would look
for in the file. So, with the map on, each loaded object's executable segment is moved
to anonymous memory at the same address, before any of its code is used: a copy in a
fresh anonymous mapping, `mremap`ed over the file's pages (one atomic step: the range
never stops being mapped and executable), then `mprotect`ed to read+execute, which is
what makes the kernel report the new mapping to perf.

Like the rest of the compiler (design notes, "The compiler's work is invisible to the
program"), this binds every function it uses at import, writes with `os.write` on a
descriptor of its own, and allocates no object the cycle collector keeps.
"""
from __future__ import annotations

import array
import ctypes
import os
import struct

ENV = "COCONUT_PERF_MAP"
_open, _write, _close, _getpid = os.open, os.write, os.close, os.getpid
# Opened once per process (per pid): a map left by a dead process with the same pid is
# emptied first (appending to it named that process's code in this one's profile).
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC | os.O_CLOEXEC
_string_at, _memmove = ctypes.string_at, ctypes.memmove
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")       # Elf64_Ehdr
_PHDR = struct.Struct("<IIQQQQQQ")               # Elf64_Phdr
_SYM = struct.Struct("<IBBHQQ")                  # Elf64_Sym
_PT_LOAD, _PF_X = 1, 1
_RTLD_DL_SYMENT = 1
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_MREMAP_MAYMOVE, _MREMAP_FIXED = 1, 2
_MAP_FAILED = (1 << 64) - 1
_PAGE = os.sysconf("SC_PAGE_SIZE")

# fd: the map file of process `pid` (-1: not open); lines: everything written, for a
# forked child's own file; bases: objects already moved to anonymous memory.
_state = {"on": False, "fd": -1, "pid": 0, "anonymous_bytes": 0}
_lines: list = []
_bases: set = set()
_libc = {}


def _bind() -> None:
    """The C functions, bound once (at import when the variable is set, else by
    enable()): never while compiling, where a new ctypes object would be left over."""
    if _libc:
        return
    libc = ctypes.CDLL(None)
    vp, sz, it = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    for name, res, args in (("dladdr1", it, [vp, vp, vp, it]),
                            ("mmap", vp, [vp, sz, it, it, it, ctypes.c_long]),
                            ("mremap", vp, [vp, sz, sz, it, vp]),
                            ("mprotect", it, [vp, sz, it]),
                            ("munmap", it, [vp, sz])):
        fn = getattr(libc, name)
        fn.restype, fn.argtypes = res, args
        _libc[name] = fn
    # Dl_info {dli_fname, dli_fbase, dli_sname, dli_saddr} and the ElfW(Sym) * out-param.
    _libc["info"] = info = array.array("Q", [0, 0, 0, 0])
    _libc["extra"] = extra = array.array("Q", [0])
    _libc["info_at"], _libc["extra_at"] = info.buffer_info()[0], extra.buffer_info()[0]


def enabled() -> bool:
    return _state["on"]


def enable() -> None:
    """Write the map from now on (python3 -m coconut --perf-map)."""
    _bind()
    _state["on"] = True


def anonymous_bytes() -> int:
    """Bytes of compiled code moved to anonymous memory (not in /proc/self/maps as a
    file any more: jit.code_memory adds them)."""
    return _state["anonymous_bytes"]


def symbol(address: int) -> tuple[int, int] | None:
    """(size, load base) of the function that starts at `address`, from the dynamic
    symbol table of the object it is in; None when no symbol starts there."""
    info, extra = _libc["info"], _libc["extra"]
    if not _libc["dladdr1"](address, _libc["info_at"], _libc["extra_at"], _RTLD_DL_SYMENT):
        return None
    if info[3] != address or not extra[0]:
        return None
    size = _SYM.unpack_from(_string_at(extra[0], _SYM.size))[5]
    return (size, info[1]) if size else None


def _anonymize(base: int) -> None:
    """Move the executable segments of the object loaded at `base` to anonymous
    memory at the same addresses (see the module doc). Only for an object none of
    whose code runs yet. Leaves the object as it was when anything fails."""
    ehdr = _EHDR.unpack_from(_string_at(base, _EHDR.size))
    phoff, phentsize, phnum = ehdr[5], ehdr[9], ehdr[10]
    table = _string_at(base + phoff, phentsize * phnum)
    loads = []
    for i in range(phnum):
        p_type, p_flags, _, p_vaddr, _, _, p_memsz, _ = _PHDR.unpack_from(table, i * phentsize)
        if p_type == _PT_LOAD:
            loads.append((p_flags, base + p_vaddr, base + p_vaddr + p_memsz))
    for flags, lo, hi in loads:
        if not flags & _PF_X:
            continue
        start, end = lo & -_PAGE, (hi + _PAGE - 1) & -_PAGE
        if any(o_lo < end and o_hi > start for _, o_lo, o_hi in loads if o_lo != lo):
            continue                   # shares a page with another segment: left alone
        length = end - start
        new = _libc["mmap"](None, length, _PROT_READ | _PROT_WRITE | _PROT_EXEC,
                            _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
        if new is None or new == _MAP_FAILED:
            continue                   # no writable+executable memory here (hardened)
        _memmove(new, start, length)
        moved = _libc["mremap"](new, length, length, _MREMAP_MAYMOVE | _MREMAP_FIXED, start)
        if moved != start:
            _libc["munmap"](new, length)
            continue
        _libc["mprotect"](start, length, _PROT_READ | _PROT_EXEC)   # reported to perf
        _state["anonymous_bytes"] += length


def register(functions) -> None:
    """Map lines for `functions`, pairs (entry address, name), all in one loaded
    object none of whose code has run yet."""
    for address, name in functions:
        found = symbol(address)
        if found is None:
            continue
        size, base = found
        if base not in _bases:
            _bases.add(base)
            _anonymize(base)
        _emit(f"{address:x} {size:x} {name}\n".encode("utf-8", "backslashreplace"))


def register_code(addresses: dict, code) -> None:
    """The map line of a compiled code object: its module's first function."""
    if _state["on"] and addresses:
        entry = next(iter(addresses.values()))
        register(((entry, f"coconut:{code.co_qualname} ({code.co_filename}:{code.co_firstlineno})"),))


def _emit(line: bytes) -> None:
    _lines.append(line)
    _write_line(line)


def _write_line(line: bytes) -> None:
    pid = _getpid()
    if _state["pid"] != pid:
        _state["fd"], _state["pid"] = -1, pid
    if _state["fd"] < 0:
        try:
            _state["fd"] = _open(f"/tmp/perf-{pid}.map", _FLAGS, 0o644)
        except OSError:
            return
    try:
        _write(_state["fd"], line)
    except OSError:
        pass


def _after_fork_in_child() -> None:
    """A forked child runs the same code under a new pid: its own map names it all."""
    fd = _state["fd"]
    _state["fd"] = -1
    if fd >= 0:
        try:
            _close(fd)
        except OSError:
            pass
    if _state["on"]:
        for line in _lines:
            _write_line(line)


os.register_at_fork(after_in_child=_after_fork_in_child)
if os.environ.get(ENV, "") not in ("", "0"):
    enable()
