"""What the interpreter has recorded about a code object (PEP 659), read without a
BytecodeCFG and without the lowering: whether it has quickened the code, and the form
each instruction has in `co_code_adaptive` now.

Both are part of what a compile emits (the inline-cache fast paths of
lowering/caches.py, the speculations of lowering/types.py) and so of the on-disk cache
key (runtime/cache.py). Reading them from the raw code units here lets a compile that
the cache answers decode nothing else: no `bytecode`, no networkx, no lowering imported,
well under a millisecond for a big function. `instructions(code)` gives the same
offsets and sizes as the front end's BytecodeCFG (an instruction starts at its first
EXTENDED_ARG prefix and includes its CACHE entries).
"""
from __future__ import annotations

import ctypes
import dis

from . import layout as L

# The specialized forms with a fast path, by instruction (lowering/caches.py, ccalls.py).
FORMS = {
    "LOAD_ATTR": ("LOAD_ATTR_INSTANCE_VALUE", "LOAD_ATTR_SLOT", "LOAD_ATTR_MODULE",
                  "LOAD_ATTR_WITH_HINT"),
    "STORE_ATTR": ("STORE_ATTR_INSTANCE_VALUE", "STORE_ATTR_SLOT", "STORE_ATTR_WITH_HINT"),
    "LOAD_METHOD": ("LOAD_METHOD_WITH_VALUES", "LOAD_METHOD_NO_DICT", "LOAD_METHOD_MODULE"),
    # calls of C functions, the next CALL made without the generic call (lowering/ccalls.py)
    "PRECALL": ("PRECALL_NO_KW_TYPE_1", "PRECALL_NO_KW_STR_1", "PRECALL_NO_KW_TUPLE_1",
                "PRECALL_BUILTIN_CLASS", "PRECALL_NO_KW_BUILTIN_O",
                "PRECALL_NO_KW_BUILTIN_FAST", "PRECALL_BUILTIN_FAST_WITH_KEYWORDS",
                "PRECALL_NO_KW_METHOD_DESCRIPTOR_O", "PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS",
                "PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST",
                "PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS"),
}
# The instructions whose quickened opcode the typed rules read (lowering/types.py).
TYPED = frozenset({"BINARY_OP", "COMPARE_OP", "BINARY_SUBSCR", "STORE_SUBSCR"})

_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_RESUME = dis.opmap["RESUME"]
_RESUME_QUICK = dis._all_opmap["RESUME_QUICK"]
_CACHES = dis._inline_cache_entries
_NAMES = dis._all_opname
_u8_at = ctypes.c_uint8.from_address
_u32_at = ctypes.c_uint32.from_address


class Instr:
    """An instruction of `code.co_code`: offset (code unit of its first EXTENDED_ARG
    prefix, if any), size (prefixes and CACHE entries included), name, opcode."""
    __slots__ = ("offset", "size", "name", "opcode")

    def __init__(self, offset: int, size: int, name: str, opcode: int):
        self.offset, self.size, self.name, self.opcode = offset, size, name, opcode


def instructions(code) -> list[Instr]:
    raw = code.co_code
    out, unit, n = [], 0, len(raw) // 2
    while unit < n:
        start = unit
        op = raw[2 * unit]
        while op == _EXTENDED_ARG and unit + 1 < n:
            unit += 1
            op = raw[2 * unit]
        size = unit - start + 1 + _CACHES[op]
        out.append(Instr(start, size, _NAMES[op], op))
        unit = start + size
    return out


def quickened(code) -> bool:
    """Whether the interpreter has quickened `code` (3.11: after 8 entries or backward
    jumps, _PyCode_Warmup; its RESUME is then RESUME_QUICK, and each adaptive
    instruction specializes at its next execution)."""
    raw = code.co_code
    for unit in range(0, len(raw) // 2):
        if raw[2 * unit] == _RESUME:
            return _u8_at(L.code_unit_address(code, unit)).value == _RESUME_QUICK
    return False


# A specialization that failed (ceval's adaptive counter backs off: its low 4 bits count
# the failures, and the next try comes after 2**backoff - 1 more runs) up to this many
# times is retried soon: the interpreter is still learning that instruction.
SETTLE_BACKOFF = 3
_ADAPTIVE = frozenset(op for op, name in enumerate(_NAMES) if name.endswith("_ADAPTIVE"))
_u16_at = ctypes.c_uint16.from_address


def not_run(code, units=None) -> int:
    """How many adaptive instructions of quickened `code` have not run since it was
    quickened (their counter is still 0: the interpreter specializes each at its first
    run). `units`: adaptive_units(code), when the caller keeps it."""
    n = 0
    for address in adaptive_units(code) if units is None else units:
        n += _u8_at(address).value in _ADAPTIVE and _u16_at(address + 2).value == 0
    return n


def unsettled(code, units=None) -> int:
    """How many adaptive instructions of quickened `code` failed to specialize only
    1..SETTLE_BACKOFF times so far, and will be tried again within a few runs (3.11
    backs off 1, 3, 7 runs): compiled now, each would keep its generic path although
    the interpreter may well specialize it at its next try (an instruction that never
    ran since quickening has a counter of 0 and does not count). `units`:
    adaptive_units(code), when the caller keeps it."""
    n = 0
    for address in adaptive_units(code) if units is None else units:
        if _u8_at(address).value in _ADAPTIVE:
            backoff = _u16_at(address + 2).value & 15
            n += 1 <= backoff <= SETTLE_BACKOFF
    return n


def never_ran(code, ins) -> bool:
    """Whether instruction `ins` (offset, size, name) of quickened `code` has not run
    since quickening: it has an inline cache and is still in its adaptive form with a
    zero counter (see handlers_not_run). A CALL counts with its PRECALL: a specialized
    PRECALL makes the call itself and skips the CALL, which then stays as quickened.
    False when nothing says."""
    if not L.INLINE_CACHES or not _CACHES[dis.opmap[ins.name]] or not quickened(code):
        return False

    def fresh(unit):
        address = L.code_unit_address(code, unit)
        return _u8_at(address).value in _ADAPTIVE and _u16_at(address + 2).value == 0
    if not fresh(ins.offset + ins.size - 1 - _CACHES[dis.opmap[ins.name]]):
        return False
    if ins.name == "CALL":            # PRECALL (its one cache entry), then the CALL
        unit = ins.offset - 1 - _CACHES[dis.opmap["PRECALL"]]
        if unit < 0 or not _NAMES[_u8_at(L.code_unit_address(code, unit)).value].startswith("PRECALL"):
            return False
        return fresh(unit)
    return True


# specialize.c miss_counter_start(): a specialized instruction's counter when it
# specialized; each miss of its guards (another type, a changed class...) decrements it,
# and at 0 it goes back to its adaptive form.
MISS_COUNTER_START = 53


def missed(code, ins) -> bool:
    """Whether instruction `ins` of quickened `code`, now in a specialized form, has
    missed its cache since it specialized (its counter is below MISS_COUNTER_START): a
    site that sees more than one type, say."""
    if not L.INLINE_CACHES or not _CACHES[dis.opmap[ins.name]] or not quickened(code):
        return False
    address = L.code_unit_address(code, ins.offset + ins.size - 1 - _CACHES[dis.opmap[ins.name]])
    return _u8_at(address).value not in _ADAPTIVE and _u16_at(address + 2).value < MISS_COUNTER_START


def missed_loads(code, instrs=None) -> list[int]:
    """The offsets of the attribute and method loads and attribute stores of `code` in a specialized form
    that have missed it (`missed`): the sites that get a polymorphic cache beside
    their form (lowering/caches.py pic_site)."""
    if not L.INLINE_CACHES or not quickened(code):
        return []
    return [ins.offset for ins in (instructions(code) if instrs is None else instrs)
            if ins.name in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR") and specialized_form(code, ins)
            and missed(code, ins)]


def failed_to_specialize(code, ins) -> bool:
    """Whether instruction `ins` of quickened `code` ran in the interpreter, which then
    failed to specialize it: still its adaptive form, with a counter backed off (a
    non-zero backoff in its low 4 bits)."""
    if not L.INLINE_CACHES or not _CACHES[dis.opmap[ins.name]] or not quickened(code):
        return False
    address = L.code_unit_address(code, ins.offset + ins.size - 1 - _CACHES[dis.opmap[ins.name]])
    return _u8_at(address).value in _ADAPTIVE and _u16_at(address + 2).value & 15 != 0


# (not JUMP_BACKWARD_NO_INTERRUPT: 3.11 makes it only for the SEND loop of `yield from`
# and `await`, which runs once per value passed through, not a loop of the code's own)
_JUMP_BACKWARD = frozenset(dis.opmap[n] for n in ("JUMP_BACKWARD",
                                                  "POP_JUMP_BACKWARD_IF_FALSE",
                                                  "POP_JUMP_BACKWARD_IF_TRUE",
                                                  "POP_JUMP_BACKWARD_IF_NONE",
                                                  "POP_JUMP_BACKWARD_IF_NOT_NONE"))


def has_loop(code) -> bool:
    """Whether `code` has a backward jump (a loop)."""
    raw = code.co_code
    return any(raw[i] in _JUMP_BACKWARD for i in range(0, len(raw), 2))


def adaptive_units(code) -> list[int]:
    """The addresses of `code`'s instructions that have inline caches (their first
    cache entry, the adaptive counter, follows)."""
    return [L.code_unit_address(code, _unit(ins)) for ins in instructions(code)
            if _CACHES[ins.opcode]]


def _unit(ins) -> int:
    """The code unit of `ins` itself (after its EXTENDED_ARG prefixes)."""
    return ins.offset + ins.size - 1 - _CACHES[ins.opcode]


def _opcode_now(code, ins) -> int:
    """The opcode byte of `ins` itself (after its prefixes) in co_code_adaptive now."""
    return _u8_at(L.code_unit_address(code, _unit(ins))).value


def specialized_form(code, ins) -> str | None:
    """The form of `ins` in `code`'s co_code_adaptive now, if it has a fast path."""
    form = _NAMES[_opcode_now(code, ins)]
    return form if form in FORMS.get(ins.name, ()) else None


def snapshot(code, instrs=None) -> dict[int, str]:
    """{instruction offset: form} of the instructions the interpreter has specialized
    to a form with a fast path, now. Taken once per compile: the lowering emits from it
    and the on-disk cache keys the native code with it."""
    if not L.INLINE_CACHES:
        return {}
    forms = {}
    for ins in instructions(code) if instrs is None else instrs:
        if ins.name in FORMS:
            form = specialized_form(code, ins)
            if form is not None:
                forms[ins.offset] = form
    return forms


def feedback(code, instrs=None) -> dict[int, str]:
    """{offset: the quickened opcode name in co_code_adaptive now}, for the
    instructions the typed rules read feedback from (and -1: "quickened"). Empty when
    the code was never quickened (it has not run in the interpreter: no feedback).

    One form is read from more than the opcode: with a frame-evaluation hook installed
    (whole-program mode), 3.11's specializer refuses BINARY_SUBSCR_GETITEM (an instance
    of a class with a Python __getitem__), as it refuses CALL_PY_EXACT_ARGS, but only
    after writing the class's type version into the instruction's cache; an adaptive
    BINARY_SUBSCR with a type version there saw such a class, and is reported as
    BINARY_SUBSCR_GETITEM (its fast path keeps its own cache: typed.py).

    Handlers that have not run since quickening are reported too, as {handler's first
    instruction: HANDLER_NOT_RUN} (`handlers_not_run`). Code not quickened says nothing
    of its handlers: a compile before the first call (`--threshold 0`) compiles them all
    (a guess that they do not run would cost a recompile for each that does, in the
    timed part of a short run)."""
    if not L.INLINE_CACHES or not quickened(code):
        return {}
    out = {}
    for ins in instructions(code) if instrs is None else instrs:
        if ins.name in TYPED:
            form = _NAMES[_opcode_now(code, ins)]
            if form == "BINARY_SUBSCR_ADAPTIVE" and _u32_at(L.code_unit_address(
                    code, _unit(ins) + 1 + L.SUBSCR_CACHE_TYPE_VERSION)).value:
                form = "BINARY_SUBSCR_GETITEM"
            out[ins.offset] = form
    for target in handlers_not_run(code, instrs):
        out[target] = HANDLER_NOT_RUN
    out[-1] = "quickened"
    return out


HANDLER_NOT_RUN = "HANDLER_NOT_RUN"
_ENDS_BLOCK = frozenset(n for n in dis.opmap if "JUMP" in n or n in (
    "RETURN_VALUE", "RERAISE", "RAISE_VARARGS"))


def handlers_not_run(code, instrs=None) -> list[int]:
    """The exception handlers (their first instruction's offset, in code units) of
    quickened `code` that have not run since quickening: the first instruction with an
    inline cache in the handler's first block (`except E`'s LOAD_GLOBAL, ...) is still
    in its adaptive form with a zero counter (3.11 quickens with zero counters, and an
    adaptive instruction's first run specializes it or backs its counter off). A handler
    without such an instruction (a `with` block's exit, a cleanup) is not reported:
    nothing says, and it is small. The optimizing tier leaves these handlers to the
    interpreter until they run (lowering/handlers.py)."""
    instrs = instructions(code) if instrs is None else instrs
    out = []
    if not quickened(code):
        return out
    for target in sorted({e.target // 2 for e in dis._parse_exception_table(code)}):
        for ins in instrs:
            if ins.offset < target:
                continue
            if _CACHES[ins.opcode]:
                address = L.code_unit_address(code, _unit(ins))
                if _u8_at(address).value in _ADAPTIVE and _u16_at(address + 2).value == 0:
                    out.append(target)
                break
            if ins.name in _ENDS_BLOCK:
                break
    return out



# The function coconut.compile() is compiling: (its code, its globals), while it does.
# Inlining looks a call's callee up in those globals (lowering/inline.py; code found
# by neither this nor its module's file inlines nothing). Two slots set and cleared,
# not a mapping kept: a compile leaves no object behind (tests/test_gc_clean.py).
_compiling = [None, None]


def compiling_function(func) -> None:
    """coconut.compile() of `func` begins (None: it ended)."""
    _compiling[0] = func.__code__ if func is not None else None
    _compiling[1] = func.__globals__ if func is not None else None


def known_globals(code) -> dict | None:
    return _compiling[1] if _compiling[0] is code else None
