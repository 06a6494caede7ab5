"""The compile driver: function -> BytecodeCFG -> IrCFG -> passes -> native entry.

Compiled code is kept for the life of the process (a code object's native entry may
be running on some thread's stack at any time) and found through co_extra.
"""
from __future__ import annotations

import dis
import os
import re
import sys
import collections
import ctypes
import threading
import types
import weakref as _weakref
from opcode import opname as _OPNAME, opmap as _OPMAP

from typing import TYPE_CHECKING

from ..errors import CompileError, CompileWarning
if TYPE_CHECKING:
    from ..frontend import BytecodeCFG

# Bound at import, not looked up when called: a program may replace time.perf_counter,
# atexit.register, builtins.open, builtins.__import__ ... after importing coconut and
# must not see the compiler's calls (its work is invisible). warnings.warn is the
# original too: a CompileWarning still goes through the program's filters.
from atexit import register as _atexit_register
from importlib import import_module as _import_module
from io import open as _open
from os import close as _close, open as _os_open, readlink as _readlink
from os.path import join as _join
from _queue import Empty as _Empty, SimpleQueue as _SimpleQueue   # (queue: +0.6 ms start-up)
from time import perf_counter as _perf_counter, sleep as _sleep
from signal import (pthread_sigmask as _pthread_sigmask, SIG_BLOCK as _SIG_BLOCK,
                    SIG_SETMASK as _SIG_SETMASK, valid_signals as _valid_signals)
from warnings import warn as _warn
from _thread import (allocate_lock as _allocate_lock, interrupt_main as _interrupt_main,
                     start_new_thread as _start_new_thread, get_ident as _get_ident)
from threading import main_thread as _main_thread
_addressof, _getframe = ctypes.addressof, sys._getframe
_Py_IncRef, _py_object = ctypes.pythonapi.Py_IncRef, ctypes.py_object

# The compiler proper (frontend, lowering, passes, back end: half of coconut's import
# time) is imported at the first compile: a process whose code never gets hot does
# not pay for it.


def _compiler(name: str):
    """coconut's module `name` (relative to coconut.runtime), imported at its first
    use by import_module: an import statement calls builtins.__import__."""
    return _import_module(name, __package__)


def _frontend():
    return _compiler("..frontend").BytecodeCFG


def untrack(obj):
    return _compiler("..backend.gcc").untrack(obj)
from .hook import Runtime, NATIVE_COUNT, COUNTER_FUNC
from . import hook as _hook
from . import cache, feedback as _feedback, layout as L, osr as _osr_mod, perfmap
from . import sampler as _sampler, stability

# Code flags for functions whose frames the interpreter runs (see design notes).
# Code flags (inspect.CO_*, without importing inspect at start-up: ~3 ms).
_CO = {name: flag for flag, name in dis.COMPILER_FLAG_NAMES.items()}


def _interpreted_reason(code: types.CodeType) -> str | None:
    """Why `code`'s frames must run in the interpreter by design, or None. None now:
    functions, generators, coroutines and async generators are all compiled (what does
    not run natively deopts at its instruction: `lowering.NOT_NATIVE`)."""
    return None

_runtime: Runtime | None = None
# One compilation at a time: the runtime is created once, and libgccjit is not
# reentrant across threads (two threads compiling at once crashed it).
_lock = threading.RLock()
# Keyed by id(code): code objects compare equal by value, and two equal code objects
# are still two objects, each needing its own native entry. Entries are never removed,
# and are hidden from the cycle collector (see _compile_code).
_compiled: dict[int, tuple[types.CodeType, object, float]] = {}  # id -> (code, GccModule, seconds)
_stats = {"compiled": 0, "compile_seconds": 0.0, "recompiles": 0, "osr_compiled": 0}
# Recompiles (runtime/stability.py): the (code, GccModule, seconds) records a recompile
# replaced (still mapped: a frame may be running them; counted in stats), and per code
# object (id) how many recompiles were decided and the avoid set of the latest.
_retired: list = []
_recompiled: dict[int, tuple[int, tuple]] = {}
_auto = {"threshold": None, "background": False}          # whole-program compilation (enable(threshold=N))
# libgccjit's -O level: -O2 code is what the benchmarks measure; COCONUT_OPT overrides
# it for every size. gcc's time grows faster than linearly with a function's size
# (-O2: 0.5 ms per code unit at 900 units, 6 ms at 4000), so big code gets -O1 and the
# biggest stays interpreted. There is no -O0 tier: -O0 code keeps every C variable in
# memory, and is slower than the interpreter it replaces (cachegrind, regex_compile's
# loop with every function compiled: re._compiler._compile, 2250 code units, at -O0
# 3818 M estimated cycles per 2 loops, interpreted 3545 M, at -O1 3390 M; plain python3
# 3660 M; re._parser._parse at -O0 instead of interpreted: 3390 -> 3626 M).
# COCONUT_SIZE_LIMITS="500:2,2500:1" sets the table.
OPT_LEVEL = int(os.environ["COCONUT_OPT"]) if os.environ.get("COCONUT_OPT") else None
SIZE_LIMITS = ((500, 2), (2500, 1))     # (at most this many code units, -O)
if os.environ.get("COCONUT_SIZE_LIMITS"):
    SIZE_LIMITS = tuple(tuple(int(n) for n in item.split(":"))
                        for item in os.environ["COCONUT_SIZE_LIMITS"].split(","))
_BODY_FLAGS_MISSING = _CO["OPTIMIZED"]          # module and class bodies: run once


def opt_level_for(code: types.CodeType) -> int | None:
    """The -O level for `code`, or None when it is too big to compile in bounded time.
    Module and class bodies (which usually run once: compile time matters, their speed
    hardly) get one level less."""
    units = len(code.co_code) // 2
    for limit, level in SIZE_LIMITS:
        if units <= limit:
            if OPT_LEVEL is not None:
                return OPT_LEVEL
            if not code.co_flags & _BODY_FLAGS_MISSING:
                return max(level - 1, 0)
            return level
    return None
_failures: dict[int, tuple[types.CodeType, str]] = {}
VERIFY = bool(os.environ.get("COCONUT_VERIFY"))


def runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime()
            # Native code and the hook must outlive the interpreter's teardown of
            # modules: finalizers and daemon threads still call compiled functions
            # then, and the hook reads the runtime's control block. So the runtime
            # and every compiled module are never freed (one reference is leaked),
            # and compiling stops when the program exits.
            _Py_IncRef(_py_object(_runtime))
            _Py_IncRef(_py_object(_compiled))
            _runtime.on_recompile(_on_recompile)
            _atexit_register(_runtime.count_entries, None, None)
            _atexit_register(_stop_background)
            _atexit_register(_runtime.stop_sampler)
        return _runtime


def _check_function(func) -> types.FunctionType:
    if not isinstance(func, types.FunctionType):
        raise TypeError(f"coconut.compile() needs a Python function, got "
                        f"{type(func).__name__} {func!r:.60}")
    return func


def build_ir(cfg: BytecodeCFG, cache_forms: dict | None = None, avoid=frozenset(),
             feedback: dict | None = None, stop: tuple[str, str] | None = None,
             osr: bool | str = False):
    """Lowering and the pass pipeline for one BytecodeCFG, verified. cache_forms: the
    inline-cache fast paths to emit (default: caches.snapshot(cfg)); avoid: the
    speculation sites to compile without (runtime/stability.py); stop: where to end the
    pass pipeline, ("before" | "after", pass name) (a dump: not verified at the end)."""
    _budget["lowerings"] += 1
    rt = runtime()
    count_at = (_addressof(rt.control) + 8 * NATIVE_COUNT) if rt.counting else None
    count_trace = rt.control[COUNTER_FUNC] if rt.counting else None
    lower, run_pipeline = _compiler("..lowering").lower, _compiler("..passes").run_pipeline
    ir = run_pipeline(lower(cfg, count_at, cache_forms, avoid=frozenset(avoid),
                            feedback=feedback, count_trace=count_trace, osr=osr),
                      verify=VERIFY, stop=stop)
    if stop is None:
        ir.verify(dataflow=VERIFY)
    return ir


def _check_strict(code: types.CodeType) -> None:
    """Raise CompileError unless every reachable instruction runs natively."""
    reason = _interpreted_reason(code)
    if reason is not None:
        raise CompileError(f"{code.co_qualname}: {reason}")
    first_non_native = _compiler("..lowering").first_non_native
    cfg = _frontend()(code)
    ins = first_non_native(cfg)
    if ins is not None:
        # Some instructions (PUSH_EXC_INFO) have no line: name the one they follow.
        lineno = next((i.lineno for i in reversed(cfg.instructions)
                       if i.offset <= ins.offset and i.lineno is not None), code.co_firstlineno)
        raise CompileError(f"{code.co_qualname} ({code.co_filename}, line {lineno}): "
                           f"{ins.name} does not run natively")


def compile_function(func, strict: bool = False):
    func = _check_function(func)
    with _lock:
        if strict:
            _check_strict(func.__code__)
        _wait_for_background(func.__code__)
        _feedback.compiling_function(func)      # (where inlining finds its callees)
        try:
            _compile_code(func.__code__, warn=True, strict=strict)
        finally:
            _feedback.compiling_function(None)
    return func


def _wait_for_background(code: types.CodeType) -> None:
    """An explicit compile of code the compile thread has queued: wait for it."""
    while id(code) in _pending:
        if not _done:
            _sleep(0.001)
        _finish_background()


def _build_native_steps(code: types.CodeType, instrs, avoid: tuple = (), osr: bool | str = False):
    """Native code for `code`, as steps (see gccrun.run_steps): a GccModule whose first
    address is its entry, loaded from the on-disk cache when it is there
    (coconut/runtime/cache.py). The code depends on how the interpreter had specialized
    the instructions (the fast paths of lowering/caches.py, the speculations of
    lowering/types.py): one snapshot of that both keys the cache entry and is lowered;
    and on the speculation sites to avoid (a recompile, runtime/stability.py), also in
    the key; and on which attribute and method loads missed their forms in the
    interpreter (they get polymorphic caches: lowering/caches.py pic_site), also in the
    key. `instrs`: feedback.instructions(code). Only a cache miss builds the
    BytecodeCFG and imports the lowering."""
    forms = _feedback.snapshot(code, instrs)
    fb = _feedback.feedback(code, instrs)      # the optimizing tier's speculations
    avoid = tuple(sorted(avoid))
    variant = (sorted(forms.items()), avoid, sorted(fb.items())) + (
        (("osr", "covered") if osr == "covered" else ("osr",)) if osr else ()) + (
        (("missed", tuple(missed)),) if (missed := _feedback.missed_loads(code, instrs)) else ())
    return cache.build_native_steps(code, lambda: _lower(code, forms, avoid, fb, osr),
                                    runtime(), opt_level_for(code), variant=variant,
                                    any_variant=_any_variant if not (avoid or osr) else None)


_OWN_SOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")


# For bisecting a miscompile in a whole program: regular expressions searched in
# "qualname (file:line)"; only matching code is compiled / matching code is not.
_ONLY = re.compile(os.environ["COCONUT_ONLY"]) if os.environ.get("COCONUT_ONLY") else None
_SKIP = re.compile(os.environ["COCONUT_SKIP"]) if os.environ.get("COCONUT_SKIP") else None


def _any_variant() -> bool:
    """Whether the compile under way may load another variant from the cache: only
    whole-program mode's (an explicit coconut.compile gets code for the state the
    interpreter is in now)."""
    return bool(_gate)


def _lower(code: types.CodeType, forms: dict, avoid, fb: dict, osr: bool | str = False):
    """The IR for `code` at a cache miss. An auto compile (_gate) is first checked
    against the compile budget, before anything is imported or decoded, then for a
    first instruction that would deopt anyway."""
    if _gate and _gate[0][1]:
        _check_budget(_gate[0][0])
    cfg = _frontend()(code)
    if _gate:
        _first_deopts(cfg)
    return build_ir(cfg, forms, avoid, fb, osr=osr)


def _not_worth_compiling(code: types.CodeType) -> str | None:
    """Why whole-program mode should leave `code` interpreted, or None (what needs the
    lowering is decided at a cache miss: _first_deopts)."""
    if code.co_filename.startswith(_OWN_SOURCES):
        return "coconut's own code (the runner, statistics) is not compiled"
    if _ONLY is not None or _SKIP is not None:
        name = _describe(code)
        if (_ONLY is not None and not _ONLY.search(name)) or (_SKIP is not None and _SKIP.search(name)):
            return "excluded by COCONUT_ONLY / COCONUT_SKIP"
    return None


def _mid_import(exc: Exception) -> bool:
    """Whether `exc` says a module the compiler imports is still being imported by the
    program (CPython's message for a circular import)."""
    return "partially initialized module" in str(exc)


class _NotWorth(Exception):
    """Whole-program mode leaves this code interpreted (the message says why)."""


def _first_deopts(cfg: BytecodeCFG) -> None:
    """Raise _NotWorth when `cfg`'s first instruction would deopt anyway. (A
    generator's is RETURN_GENERATOR, lowered: one is never refused here, and rightly,
    since its later resumptions run natively even when its first stretch deopts.)"""
    first = next((ins for ins in cfg.instructions
                  if ins.name not in ("RESUME", "NOP", "MAKE_CELL", "COPY_FREE_VARS", "CACHE")),
                 None)
    if first is not None and first.name not in _compiler("..lowering").OPCODES:
        raise _NotWorth(f"would deopt at its first instruction ({first.name})")


class _Job:
    """One compile of one code object: the build's steps (a generator that yields the
    gcc runs it needs and returns the GccModule) and the time spent on it."""
    __slots__ = ("code", "steps", "run", "seconds", "warn", "strict", "avoid", "osr", "key")

    def __init__(self, code, steps, warn, strict, avoid=None, osr=False):
        self.code, self.steps, self.run = code, steps, None
        self.seconds, self.warn, self.strict = 0.0, warn, strict
        self.avoid = avoid             # a recompile: the speculation sites it avoids
        self.osr = osr                 # the code's OSR variant (runtime/osr.py)
        self.key = ("osr", id(code)) if osr else id(code)     # in _pending


_MORE = object()                       # _advance: the job waits for a gcc run


def _compile_code(code: types.CodeType, warn: bool, auto: bool = False,
                  strict: bool = False, background: bool = False,
                  avoid: tuple | None = None) -> bool:
    """Give `code` a native entry; on failure remember why, and mark it NEVER so the
    hook stops counting it. Returns whether it is compiled. Raises only when strict.
    With `background`, gcc runs on the compile thread and the code is installed later
    (see _finish_background); this returns False then. With `avoid` (a recompile of
    compiled code, see _reconsider), the new code replaces the old entry."""
    if id(code) in _compiled and avoid is None:
        return True
    if id(code) in _failures or id(code) in _pending:
        return False                   # failed before (and was warned about), or queued
    rt = runtime()
    with rt.compiling():               # one stretch: no collection inside (see compiling)
        return _compile_in(rt, code, warn, auto, strict, background, avoid)


def _compile_in(rt, code, warn, auto, strict, background, avoid=None) -> bool:
    started = _perf_counter()
    reason = _interpreted_reason(code)
    if reason is None:
        try:
            instrs = _feedback.instructions(code)
            reason = _not_worth_compiling(code) if auto and avoid is None else None
            if reason is None and opt_level_for(code) is None:
                reason = (f"too big to compile in bounded time ({len(code.co_code) // 2} "
                          f"code units, limit {SIZE_LIMITS[-1][0]})")
            if reason is None:
                # (two arguments unless recompiling: tests replace this function)
                steps = (_build_native_steps(code, instrs, avoid) if avoid
                         else _build_native_steps(code, instrs))
        except RecursionError:
            if strict:
                raise
            return False               # see _advance
        except Exception as exc:       # never take the user's program down
            reason = _failure_reason(exc, code, warn, strict)
    if reason is not None:
        return _fail(rt, code, reason)
    job = _Job(code, steps, warn, strict, avoid)
    job.seconds = _perf_counter() - started
    lowerings = _budget["lowerings"]
    if auto and avoid is None:         # build_ir checks these at a cache miss
        _gate.append((code, _budgeted()))
    try:
        while True:
            outcome = _advance(job)
            _gate.clear()
            if outcome is not _MORE:
                return outcome
            if background and _start_worker():
                _pending[id(code)] = job
                if id(code) in _compiled:  # a recompile: the old code runs meanwhile
                    rt.set_entry(code, _entry_of(code))
                else:
                    rt.set_never(code)     # not counted while it compiles
                _queue.put(job)
                return False
            gcc_started = _perf_counter()
            job.run()                      # gcc, on this thread
            job.seconds += _perf_counter() - gcc_started
    finally:
        _gate.clear()
        seconds, lowered = _perf_counter() - started, _budget["lowerings"] != lowerings
        if lowered:
            _lowering_seconds[id(code)] = seconds
        if auto or avoid is not None:  # (explicit compiles are the program's own choice)
            _spent(seconds, code if lowered and auto else None)


def _fail(rt, code: types.CodeType, reason: str) -> bool:
    """Remember why `code` stays interpreted (untracked, as _compiled's entries) and
    mark it NEVER: not retried. A failed recompile keeps the code it had, and ends
    its recompiles."""
    if id(code) in _compiled:
        avoid = _recompiled.get(id(code), (0, ()))[1]
        _recompiled[id(code)] = untrack((stability.MAX_RECOMPILES, avoid))
        _recompile_failures.append(untrack((code, reason)))
        rt.set_entry(code, _entry_of(code))
        return False
    _failures[id(code)] = untrack((code, reason))
    rt.set_never(code)
    return False


def _entry_of(code: types.CodeType) -> int | None:
    """The native entry `code` has (the latest, after recompiles), or None."""
    record = _compiled.get(id(code))
    return next(iter(record[1].addresses.values())) if record is not None else None


def _warning_stacklevel() -> int:
    """warnings.warn's stacklevel, called from _failure_reason, for the first frame
    outside coconut: the program's call of coconut.compile."""
    frame, level = _getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_SOURCES):
        frame, level = frame.f_back, level + 1
    return level


def _failure_reason(exc: Exception, code: types.CodeType, warn: bool, strict: bool) -> str:
    if strict:
        raise CompileError(f"{code.co_qualname}: {exc}") from exc
    if warn:
        _warn(f"coconut: {code.co_qualname} stays interpreted: {exc}",
              CompileWarning, stacklevel=_warning_stacklevel())
    return f"{type(exc).__name__}: {exc}"


def _advance(job: _Job):
    """Run the job's Python part up to its next gcc run (_MORE) or to its end: install
    the module (True) or record the failure (False)."""
    rt, code = runtime(), job.code
    started = _perf_counter()
    try:
        with rt.compiling():
            try:
                job.run = job.steps.send(None)
                return _MORE
            except StopIteration as stop:
                module = stop.value
    except _Deferred:                  # over the compile budget: counted again
        if not job.osr:
            rt.set_entry(code, None)
        return False
    except _NotWorth as exc:
        if job.osr:
            return _osr_failed(code, str(exc))
        return _fail(rt, code, str(exc))
    except (RecursionError, ImportError, AttributeError) as exc:
        if job.strict or not (isinstance(exc, RecursionError) or _mid_import(exc)):
            if job.strict:
                raise
            if job.osr:
                return _osr_failed(code, _failure_reason(exc, code, False, False))
            return _fail(rt, code, _failure_reason(exc, code, job.warn, job.strict))
        if job.osr:                    # (a later sample asks again)
            _osr["requested"].discard(id(code))
            return False
        # Entered deep in a recursion: the compiler itself ran out of stack; or the
        # program is in the middle of importing a module the compiler imports too
        # (`dataclasses`, which the `bytecode` package needs, when the first compile
        # that needs the front end comes while the program imports it). Not the
        # code's fault: it goes back to being counted (or to its old native code),
        # and a later entry tries again.
        rt.set_entry(code, _entry_of(code))
        if id(code) in _recompiled:    # (a recompile: decided again later)
            done, avoid = _recompiled[id(code)]
            _recompiled[id(code)] = untrack((done - 1, avoid))
        return False
    except Exception as exc:           # never take the user's program down
        if job.osr:                    # (the code's own entry is not touched)
            return _osr_failed(code, _failure_reason(exc, code, False, False))
        return _fail(rt, code, _failure_reason(exc, code, job.warn, job.strict))
    finally:
        job.seconds += _perf_counter() - started
    entry = next(iter(module.addresses.values()))
    if job.osr:
        return _install_osr(rt, job, module, entry)
    if entry & 1:                      # (unaligned: gccrun.prepare could not align it)
        return _fail(rt, code, "the native entry is not 2-byte aligned")
    # Compiling leaves no object for the cycle collector (a program may count
    # gc.get_objects(), as test_descr does): the module and its registry entry are
    # immortal, so untracked.
    module.make_immortal()
    replaced = _compiled.get(id(code))
    if replaced is not None:           # a recompile: the old module stays mapped
        _retired.append(replaced)
        _stats["recompiles"] += 1
    else:
        _stats["compiled"] += 1
    _compiled[id(code)] = untrack((code, module, job.seconds))
    if perfmap.enabled():              # before its code can run
        perfmap.register_code(module.addresses, code)
    rt.set_entry(code, entry)
    rt.install()
    _stats["compile_seconds"] += job.seconds
    return True


# -- on-stack replacement (runtime/osr.py) ------------------------------------------------
# COCONUT_OSR=0 turns it off.
OSR = os.environ.get("COCONUT_OSR", "1") not in ("0", "", "no", "off", "false")
_osr: dict = {"tables": {},            # id(code) -> (code, table, module)
              "requested": set(),      # id(code) of the variants asked for
              "failed": {}}            # id(code) -> (code, reason)


def _osr_mode():
    """The OSR variant's kind: "covered" on the patched interpreter, whose back edges
    may enter at headers inside try and with too (BytecodeCFG.osr_points), else True."""
    return "covered" if _hook.ENTRY == "native" else True


def _osr_failed(code: types.CodeType, reason: str) -> bool:
    _osr["failed"][id(code)] = untrack((code, reason))
    return False


def _install_osr(rt, job: _Job, module, entry: int) -> bool:
    """A finished OSR variant: its table goes into the code's OSR slot, where the trace
    function finds it (runtime/osr.py): [n, RETURN_VALUE's unit, nlocalsplus, entry,
    the n loop headers]."""
    code = job.code
    module.make_immortal()
    cfg = _frontend()(code)
    heads = cfg.osr_points(covered=_osr_mode() == "covered")
    ret = next(ins.offset for ins in cfg.instructions if ins.name == "RETURN_VALUE")
    table = untrack((ctypes.c_long * (4 + len(heads)))(
        len(heads), ret, L.nlocalsplus(code), entry, *heads))
    if perfmap.enabled():
        perfmap.register_code(module.addresses, code)
    rt.set_osr_table(code, table)
    _osr["tables"][id(code)] = untrack((code, table, module))
    _stats["compile_seconds"] += job.seconds
    _stats["osr_compiled"] += 1
    return True


def _osr_sample(code: types.CodeType) -> None:
    """The sampler's callback (runtime/sampler.py): the main thread's innermost frame
    runs `code` in the interpreter, and the code is compiled or hot. Arm on-stack
    replacement for the frame when the code's OSR variant is there; else ask for the
    variant (and for the code's own compile, as its next entry would). On the patched
    interpreter a loop's back edge asks too (runtime/osr.py's coconut_osr_loop), on
    any thread, and there is nothing to arm."""
    try:
        rt = runtime()
        frame = rt.osr_candidate()
        if not frame:
            return
        if _done:                      # (a loop that calls nothing: no hook entry installs it)
            _finish_background()
        known = _osr["tables"].get(id(code))
        if known is not None and known[0] is code:
            rt.osr_arm(frame, _osr_mod.BUDGET)
            return
        if not _feedback.quickened(code):
            return
        # (its next entry would too; while the hook waits for the first native code,
        # Runtime.install(lazy=True), this is how the first compile comes)
        if id(code) not in _compiled and id(code) not in _pending:
            _on_hot(code)
        if id(code) in _osr["requested"] or id(code) in _osr["failed"]:
            return
        if _budgeted() and not _within_budget(code):
            _budget["deferred"] += 1   # (over the compile budget: a later sample asks again)
            return
        if not _lock.acquire(blocking=False):
            return
        started = _perf_counter()
        try:
            _osr["requested"].add(id(code))
            _compile_osr(rt, code)
        finally:
            _lock.release()
            _spent(_perf_counter() - started, code)
    except KeyboardInterrupt:
        _interrupt_main()
    except Exception:                  # never take the user's program down
        pass


def osr_arm(frame_obj, sync: bool = True) -> bool:
    """Arm on-stack replacement for the running frame `frame_obj` (a frame object of
    this thread, that the interpreter runs: `sys._getframe(1)` in a callee), compiling
    its code's OSR variant first (on this thread with `sync`). Its next line event at a
    loop header enters native code. What the sampler does in whole-program mode, for
    tests and for a program that knows where its long loop is. Returns whether armed."""
    code, rt = frame_obj.f_code, runtime()
    if id(code) not in _osr["tables"]:
        with _lock:
            saved = _auto["background"]
            _auto["background"] = saved and not sync
            try:
                _osr["requested"].add(id(code))
                _compile_osr(rt, code)
            finally:
                _auto["background"] = saved
        if id(code) not in _osr["tables"]:
            return False
    rt.install()
    return rt.osr_arm(ctypes.c_void_p.from_address(id(frame_obj) + L.FRAMEOBJ_FRAME).value,
                      _osr_mod.BUDGET)


def _compile_osr(rt, code: types.CodeType) -> None:
    """Compile `code`'s OSR variant: in the background where the machine allows it."""
    with rt.compiling():
        reason = _interpreted_reason(code) or _not_worth_compiling(code)
        if reason is None and opt_level_for(code) is None:
            reason = "too big to compile in bounded time"
        if reason is None and not _frontend()(code).osr_points(covered=_osr_mode() == "covered"):
            reason = "no loop header to enter at (or only inside try/with)"
        if reason is None:
            try:
                steps = _build_native_steps(code, _feedback.instructions(code), osr=_osr_mode())
            except Exception as exc:
                reason = _failure_reason(exc, code, False, False)
        if reason is not None:
            _osr_failed(code, reason)
            return
        job = _Job(code, steps, False, False, osr=True)
        while True:
            outcome = _advance(job)
            if outcome is not _MORE:
                return
            if _auto["background"] and _start_worker():
                _pending[job.key] = job
                _queue.put(job)
                return
            started = _perf_counter()
            job.run()
            job.seconds += _perf_counter() - started


# -- recompiles (runtime/stability.py) ---------------------------------------------------
_recompile_failures: list = []         # (code, reason) of recompiles that failed


def _on_recompile(code: types.CodeType) -> None:
    """The hook's callback for code marked RECOMPILE: its native code asked for a look
    at its deopt counters (coconut_deopt_check). Puts a native entry back, old or new;
    when another thread holds the compiler, the mark stays and the next entry asks
    again."""
    _as_compiler(_reconsider, code)


def _as_compiler(action, code: types.CodeType) -> None:
    """action(rt, code) holding the compiler (unless another thread does: then the
    mark stays, and a later entry asks again)."""
    if not _lock.acquire(blocking=False):
        return
    rt = runtime()
    try:
        with rt.compiling():
            action(rt, code)
    except KeyboardInterrupt:
        _interrupt_main()              # as _on_hot
    finally:
        _lock.release()


def _reconsider(rt, code: types.CodeType) -> None:
    """Apply the policy (stability.decide) to `code`'s current native code: keep it, or
    recompile it without the speculation sites that fail."""
    entry = _entry_of(code)
    if entry is None:                  # (not ours: cannot happen) counted again
        rt.set_entry(code, None)
        return
    if id(code) in _pending or _worker["stopping"]:
        rt.set_entry(code, entry)      # a recompile is on its way (or the program exits)
        return
    done, avoid = _recompiled.get(id(code), (0, ()))
    module = _compiled[id(code)][1]
    new_avoid = stability.decide(module, done, avoid)
    if new_avoid is None:
        rt.set_entry(code, entry)
        return
    if _budgeted() and not _recompile_within_budget(code):
        # Over the compile budget: the interpreter runs the code meanwhile (faster than
        # native code that deopts at a failing site on every call) and counts its
        # entries again; when it is hot again, _on_hot asks the budget once more.
        _budget["deferred"] += 1
        _recompile_waiting[id(code)] = untrack(new_avoid)
        rt.set_entry(code, None)
        return
    _recompile(code, done, new_avoid)


def _recompile_waited(rt, code: types.CodeType) -> None:
    """The recompile the budget put off (_recompile_waiting), now."""
    _recompile(code, _recompiled.get(id(code), (0, ()))[0], _recompile_waiting[id(code)])


def _recompile(code: types.CodeType, done: int, new_avoid: tuple) -> None:
    _recompile_waiting.pop(id(code), None)
    _recompiled[id(code)] = untrack((done + 1, untrack(new_avoid)))
    # installs the new entry, or (background) queues it and puts the old one back, or
    # (failure) puts the old one back and stops recompiling this code
    _compile_code(code, warn=False, background=_auto["background"], avoid=new_avoid)


# id(code) -> the avoid set of a recompile that the compile budget put off (_reconsider)
_recompile_waiting: dict[int, tuple] = {}
# id(code) -> seconds the program's thread spent on the code's last lowering (its own
# bytecode and every callee inlined into it): what a recompile of it will cost again.
_lowering_seconds: dict[int, float] = {}


def _recompile_within_budget(code: types.CodeType) -> bool:
    """Whether recompiling `code` now keeps the program's thread within its budget:
    predicted from what its last lowering took (the size-based prediction of a first
    compile knows nothing of the callees a lowering inlines: 3-4x too low for
    regex_compile's recompiles), else as a first compile."""
    return _within_budget(code, _lowering_seconds.get(id(code)))


# -- background compiles ---------------------------------------------------------------
# The program's thread does a compile's Python part (bytecode, IR, emitting the gccjit
# context: ~16% of the time) at the entry that reached the threshold; gcc (the rest)
# runs on one compile thread without the GIL while the program goes on interpreted,
# and the program's thread installs the result at a later entry of uncompiled code
# (Runtime.on_finished). The compile thread runs no Python but its loop: it allocates
# nothing the cyclic GC could collect, so it never runs a program's finalizers. It is
# started with _thread (threading.enumerate() does not list it).
_pending: dict[int, _Job] = {}         # id(code) -> job queued or compiling
_done: collections.deque = collections.deque()      # jobs whose gcc run finished
_queue = _SimpleQueue()
_worker = {"ident": None, "stopping": False}
_running = _allocate_lock()            # held while gcc runs in this process (or forks)
# COCONUT_GCC_CHILD=1: gcc for the compile thread's runs in a forked child process
# (backend/gccrun.py), so exit never waits for gcc. Not the default: fork() runs the
# pthread_atfork handlers of every library in the process on the compile thread, while
# the program's thread may be inside that library; OpenBLAS's shuts its thread pool
# down under a running numpy call, which then spins forever (seen in networkx's tests).
CHILD_PROCESSES = os.environ.get("COCONUT_GCC_CHILD", "0") not in ("0", "", "no", "off", "false")


def _compile_thread(rt) -> None:
    rt.set_worker_thread()
    while True:
        job = _queue.get()
        if job is None:
            return
        run, started = job.run, _perf_counter()
        if CHILD_PROCESSES:            # (gccrun: the lock is held around the fork only)
            if _worker["stopping"]:
                continue
            run.in_child, run.lock = True, _running
            run()
        else:
            with _running:             # exit waits for this run, and none starts after
                if _worker["stopping"]:
                    continue
                run()
        job.seconds += _perf_counter() - started
        if _worker["stopping"]:
            continue
        _done.append(job)
        rt.finished()


def _start_worker() -> bool:
    """The compile thread runs (started now if needed); False where gcc cannot run
    beside the program (see gccrun.background_safe)."""
    if _worker["ident"] is not None:
        return True
    gccrun = _compiler("..backend.gccrun")
    if _worker["stopping"] or not gccrun.background_safe():
        return False
    rt = runtime()
    GccRun, RawResult = gccrun.GccRun, gccrun.RawResult
    # Its few Python functions stay interpreted and uncounted: never compiled on it.
    for code in (_compile_thread.__code__, GccRun.__call__.__code__, GccRun._run_raw.__code__,
                 GccRun._run_here.__code__, GccRun._run_child.__code__,
                 RawResult.__init__.__code__,
                 type(rt).finished.__code__, type(rt).set_worker_thread.__code__):
        rt.set_never(code)
    if CHILD_PROCESSES:
        gccrun.use_child_processes(rt.compile_child_address)
    rt.on_finished(_finish_background)
    # Started with every signal blocked (a thread inherits its creator's mask), as the
    # sampling thread (runtime/sampler.py): the kernel delivers a process signal to a
    # thread that does not block it, and one the program blocks in its own threads must
    # stay pending for it.
    before = _pthread_sigmask(_SIG_BLOCK, _valid_signals())
    try:
        _worker["ident"] = _start_new_thread(_compile_thread, (rt,))
    finally:
        _pthread_sigmask(_SIG_SETMASK, before)
    return True


def _finish_background() -> None:
    """Install what the compile thread finished (called by the hook on a program
    thread, see Runtime.on_finished)."""
    if not _lock.acquire(blocking=False):
        runtime().finished()           # someone is compiling: at a later entry
        return
    started = _perf_counter()
    try:
        with runtime().compiling():
            while _done:
                job = _done.popleft()
                del _pending[job.key]
                if _advance(job) is _MORE:     # another gcc run (none of our builds has one)
                    _pending[job.key] = job
                    _queue.put(job)
    finally:
        _lock.release()
        _spent(_perf_counter() - started)


def _stop_background() -> None:
    """At exit: no new gcc runs; wait for the one running (gcc must not be in the
    middle of a compile while the process tears down)."""
    _worker["stopping"] = True
    if _worker["ident"] is not None:
        _queue.put(None)
        if "coconut.backend.gccrun" in sys.modules:
            sys.modules["coconut.backend.gccrun"].cancel_children()   # not waited for
        with _running:                 # a gcc run in this process: waited for
            pass
    # The builds that will not finish: closed now, while the modules their cleanup
    # uses are intact (a generator collected at teardown printed "Exception ignored").
    for job in list(_pending.values()):
        try:
            job.steps.close()
        except Exception:
            pass
    _pending.clear()


def _after_fork_in_child() -> None:
    """The compile thread is gone: queued jobs go to a new one, started on demand."""
    global _queue, _running
    _running = _allocate_lock()
    _worker["ident"] = None
    if _runtime is not None and _forking["from_main"]:
        # A child forked from another thread runs without a sampler: when that thread
        # ends, the child's last Python thread exits without finalizing (no atexit),
        # and a sampling thread would keep the process alive.
        _runtime.restart_sampler()
    old, _queue = _queue, _SimpleQueue()
    while True:
        try:
            job = old.get_nowait()
        except _Empty:
            break
        if job is not None:
            _queue.put(job)
    if not _queue.empty():
        _start_worker()


_forking = {"from_main": True}


def _before_fork() -> None:
    _forking["from_main"] = _get_ident() == _main_thread().ident
    _running.acquire()


os.register_at_fork(before=_before_fork,
                    after_in_parent=lambda: _running.release(),
                    after_in_child=_after_fork_in_child)


# Whole-program mode compiles a code object once the interpreter has quickened it (its
# specializations are the optimizing tier's type feedback, lowering/types.py): at the
# first entry after the threshold at which the code is quickened. COCONUT_WARMUP=0
# compiles at the threshold whatever the interpreter has seen (for coverage runs).
WARMUP = os.environ.get("COCONUT_WARMUP", "1") not in ("0", "", "no", "off", "false")

# The compile budget of whole-program mode (a threshold > 0): the program's thread
# spends at most this share of the time since enable() on compiling (the Python part:
# bytecode, IR, passes, emitting the gccjit context; gcc runs on the compile thread).
# A hot code object whose compile would go over it is counted again from 0 and retried
# after `threshold` more entries, when the run has lasted longer: a short program is not
# made slower by compiles that cannot pay back, a long one gets everything hot compiled
# soon. The cost of a compile is predicted from its size (seconds per code unit, learned
# from this process's compiles); one the on-disk cache answers is always done (cheap).
# COCONUT_COMPILE_BUDGET=0 turns the budget off.
def _budget_share() -> float:
    try:
        return max(0.0, float(os.environ.get("COCONUT_COMPILE_BUDGET", "0.05")))
    except ValueError:
        return 0.05


COMPILE_BUDGET = _budget_share()
_budget = {"since": None, "spent": 0.0, "units": 0, "seconds": 0.0, "deferred": 0,
           "lowerings": 0}
_BUDGET_PRIOR = (2000, 0.3)            # as if 2000 code units had taken 0.3 s
_FIRST_LOWERING = 0.03                 # importing the front end, lowering, passes, backend


class _Deferred(Exception):
    """A compile over the budget: the code is counted again."""


def _budgeted() -> bool:
    return bool(COMPILE_BUDGET) and bool(_auto["threshold"]) and _budget["since"] is not None


def _within_budget(code: types.CodeType, predicted: float | None = None) -> bool:
    """Whether lowering `code` now (predicted to take `predicted` seconds, or as its
    size says) keeps the program's thread within its share of the run's time."""
    if predicted is None:
        units = len(code.co_code) // 2
        per_unit = (_budget["seconds"] + _BUDGET_PRIOR[1]) / (_budget["units"] + _BUDGET_PRIOR[0])
        predicted = units * per_unit
        if "coconut.passes" not in sys.modules:
            predicted += _FIRST_LOWERING   # the first one imports the compiler
    elapsed = _perf_counter() - _budget["since"]
    return _budget["spent"] + predicted <= COMPILE_BUDGET * elapsed


def _check_budget(code: types.CodeType) -> None:
    """Raise _Deferred when compiling `code` now would take the program's thread over
    its budget; such code is not even looked up in the cache again (its key costs up to
    a millisecond or two) until the budget allows it (_on_hot)."""
    if not _within_budget(code):
        _budget["deferred"] += 1
        _deferred.add(id(code))
        raise _Deferred


_deferred: set = set()                 # ids of code objects deferred by the budget


def _spent(seconds: float, code: types.CodeType | None = None) -> None:
    """Account the program thread's compile time (and, for a lowering, its size)."""
    _budget["spent"] += seconds
    if code is not None:
        _budget["units"] += len(code.co_code) // 2
        _budget["seconds"] += seconds


def _median(values: list) -> float:
    """statistics.median (not imported at start-up: ~2 ms)."""
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


_gate: list = []                       # [(code, budgeted)] while an auto compile runs


# After quickening, code without loops also waits (at most SETTLE_ENTRIES entries)
# while some instruction failed to specialize only a few times and is about to be
# tried again (feedback.unsettled), or, where the threshold is below SETTLE_ENTRIES,
# has not run yet (feedback.not_run): the first tries often see a state that does not
# last (an object of another type on the first calls), and what is compiled then keeps
# its generic path for good: native code runs instead of the interpreter, which would
# have specialized it a few runs later. (A generator's first entries may all stop at
# its first yield: a tree's `__iter__` is entered down the left spine before any
# `yield self.value` runs. After a threshold of thousands of entries, an instruction
# that has not run is cold, and this callback comes once per threshold, not per entry:
# waiting for it delayed the default mode's compiles by 16 thresholds.) Code with a loop does not wait: the loop's
# instructions have run (and retried) many times already, the unsettled ones are
# outside it, and such code may be entered only a few times in the whole run
# (scimark's kernels: waiting left them interpreted).
SETTLE_ENTRIES = 16
# id(code): [a weak reference to it, entries since quickened, its adaptive units]
_settling: dict = {}


def _warmed_up(code: types.CodeType) -> bool:
    if not WARMUP:
        return True
    if not _feedback.quickened(code):
        return False
    if _feedback.has_loop(code):
        return True
    state = _settling.get(id(code))
    if state is None or state[0]() is not code:      # (an id can be reused)
        state = _settling[id(code)] = [_weakref.ref(code), 0, _feedback.adaptive_units(code)]
    state[1] += 1
    if state[1] < SETTLE_ENTRIES and (_feedback.unsettled(code, state[2]) or (
            (_auto["threshold"] or 0) < SETTLE_ENTRIES and _feedback.not_run(code, state[2]))):
        return False
    del _settling[id(code)]
    return True


def _on_hot(code: types.CodeType) -> None:
    """The hook's callback: `code` was entered `threshold` times (called again at each
    entry until it is compiled or marked never)."""
    if not _warmed_up(code):
        return                         # the interpreter warms it up first
    if id(code) in _deferred:
        if _budgeted() and not _within_budget(code):
            runtime().set_entry(code, None)    # still over the budget: count again
            return
        _deferred.discard(id(code))
    if id(code) in _recompile_waiting:     # a recompile put off by the budget
        if _budgeted() and not _recompile_within_budget(code):
            _budget["deferred"] += 1
            runtime().set_entry(code, None)
            return
        _as_compiler(_recompile_waited, code)
        return
    if not _lock.acquire(blocking=False):
        return                         # another thread is compiling: count on
    try:
        _compile_code(code, warn=False, auto=True, background=_auto["background"])
    except KeyboardInterrupt:
        # A signal that arrived while compiling: deliver it to the program again.
        _interrupt_main()
    finally:
        _lock.release()


def enable(threshold: int | None = None, background: bool = False, lazy: bool = False) -> None:
    """Install the hook; with a threshold, compile every code object on the entry
    after `threshold` entries (0: on its first call). With `background`, gcc runs on
    a compile thread while the program goes on interpreted, and compiled code is used
    from a later entry on (where the machine allows it: gccrun.background_safe()).
    With `lazy` (and a threshold, the sampler running, nothing compiled yet), the hook
    goes in with the first native code, compiled from what the sampler finds hot
    (Runtime.install, runtime/sampler.py): entries are counted from then on."""
    if threshold is not None and (not isinstance(threshold, int) or threshold < 0):
        raise ValueError(f"coconut.enable(): threshold must be an int >= 0, not {threshold!r}")
    with _lock:
        rt = runtime()
        if threshold is not None:
            rt.count_entries(threshold, _on_hot)
            _auto["threshold"] = threshold
            if _budget["since"] is None:
                _budget["since"] = _perf_counter()
            _auto["background"] = bool(background)
            # time as hotness (runtime/sampler.py), and on-stack replacement: with
            # threshold 0 too, where a long first call would stay interpreted
            if OSR:
                rt.on_osr_sample(_osr_sample)
            if threshold > 0 or OSR:
                rt.start_sampler(threshold, _sampler.period_us())
            # (the compile thread starts with the first background compile: a program
            # that never gets hot never loads libgccjit)
        if threshold is not None or _compiled:
            rt.install(lazy=lazy and bool(threshold) and not _compiled)


def disable() -> None:
    """Uninstall the hook and stop counting: everything runs in the interpreter."""
    if _runtime is not None:
        _runtime.uninstall()
        _runtime.stop_sampler()


def is_compiled(func) -> bool:
    return id(getattr(func, "__code__", None)) in _compiled


def stats() -> dict:
    deopts: dict[str, int] = {}
    entries = list(_compiled.values())
    osr_modules = [(code, module, 0.0) for code, _, module in list(_osr["tables"].values())]
    for _, module, _ in entries + _retired + osr_modules:
        for reason, n in module.deopt_counts().items():
            deopts[reason] = deopts.get(reason, 0) + n
    slowest = sorted(((t, c) for c, _, t in entries), key=lambda tc: -tc[0])
    times = sorted(t for t, _ in slowest)
    return {**_stats, **cache.counters(), "failed": len(_failures), "deopts": deopts,
            "not_compiled": {_describe(c): r for c, r in list(_failures.values())},
            "compile_median_seconds": _median(times) if times else 0.0,
            "compile_max_seconds": times[-1] if times else 0.0,
            "code_bytes": code_memory(),
            "slowest_compiles": [(_describe(c), len(c.co_code) // 2, t) for t, c in slowest[:5]],
            "threshold": _auto["threshold"],
            "compile_budget": COMPILE_BUDGET if _budgeted() else 0.0,
            "compiles_deferred": _budget["deferred"],
            "compile_seconds_program_thread": _budget["spent"],
            "samples": _runtime.samples() if _runtime is not None else 0,
            "osr_entries": _runtime.osr_entries() if _runtime is not None else 0,
            "entry_mechanism": _entry_mechanism(),
            "osr_failed": {_describe(c): r for c, r in list(_osr["failed"].values())},
            "deopt_sites": deopt_sites(entries + _retired + osr_modules),
            "recompiled": {_describe(c): {"recompiles": _recompiled[id(c)][0],
                                          "avoid": list(_recompiled[id(c)][1])}
                           for c, _, _ in entries if id(c) in _recompiled},
            "recompile_failures": {_describe(c): r for c, r in _recompile_failures},
            "inlined_calls": _inlined_calls()}


def _entry_mechanism() -> str:
    """How the interpreter enters native code: "native entries (patched interpreter)" or
    "PEP 523 hook" (runtime/hook.py's ENTRY)."""
    return ("native entries (patched interpreter)" if _hook.ENTRY == "native"
            else "PEP 523 hook")


def _inlined_calls() -> int:
    """Call sites inlined by the lowerings of this process (lowering/inline.py)."""
    inline = sys.modules.get("coconut.lowering.inline")
    return inline.STATS["inlined"] if inline is not None else 0


def deopt_sites(records) -> list[dict]:
    """Deopts by site, most first: for each (function, offset, reason) with deopts,
    the offset being the speculation site (`speculative`) or else where the
    interpreter resumed, and the opcode there."""
    sites: dict = {}
    for code, module, _ in records:
        for i, n in enumerate(module.deopt_values()):
            if not n:
                continue
            site = module.deopt_sites[i]
            offset = site if site is not None else module.deopt_offsets[i]
            key = (id(code), offset, module.deopt_reasons[i], site is not None)
            if key in sites:
                sites[key]["count"] += n
            else:
                sites[key] = {"function": _describe(code), "offset": offset,
                              "opcode": _opcode_at(code, offset),
                              "reason": module.deopt_reasons[i], "count": n,
                              "speculative": site is not None}
    return sorted(sites.values(), key=lambda s: -s["count"])


def _opcode_at(code: types.CodeType, offset: int) -> str:
    """The name of the instruction at code-unit `offset` (past an EXTENDED_ARG prefix,
    which the front end folds into it)."""
    raw, i = code.co_code, 2 * offset
    while 0 <= i < len(raw) - 2 and raw[i] == _OPMAP["EXTENDED_ARG"]:
        i += 2
    return _OPNAME[raw[i]] if 0 <= i < len(raw) else "?"


def _describe(code: types.CodeType) -> str:
    return f"{code.co_qualname} ({code.co_filename}:{code.co_firstlineno})"


def code_memory() -> int:
    """Bytes of memory mapped for compiled code: each module is a shared object (a
    deleted temporary file of libgccjit's, or a file in the cache), counted here from
    /proc/self/maps."""
    total = 0
    cached = _join(_kernel_path(cache.cache_dir()), "")
    try:
        with _open("/proc/self/maps") as maps:
            for line in maps:
                if ("libgccjit" in line and "fake.so" in line) or cached in line:
                    lo, hi = line.split(None, 1)[0].split("-")
                    total += int(hi, 16) - int(lo, 16)
    except OSError:
        return 0
    return total + perfmap.anonymous_bytes()


def _kernel_path(directory: str) -> str:
    """The directory's path as /proc/self/maps names files in it (os.path.realpath's,
    but realpath looks up os.lstat when called); `directory` when it cannot be opened."""
    try:
        fd = _os_open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return directory
    try:
        return _readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return directory
    finally:
        _close(fd)


STAGES = ("bytecode", "ir", "c", "asm")


def parse_stage(stage: str, caller: str = "coconut.dump()") -> tuple[str, tuple | None]:
    """(stage, where the pass pipeline stops) from "bytecode", "ir", "c", "asm",
    "ir:before=<pass>" or "ir:after=<pass>"; ValueError otherwise."""
    if not isinstance(stage, str):
        raise TypeError(f"{caller}: the stage is a str, not {type(stage).__name__}")
    base, colon, point = stage.partition(":")
    if base not in STAGES:
        raise ValueError(f"{caller}: stage must be one of {', '.join(STAGES)} "
                         f"(or ir:before=<pass>, ir:after=<pass>), not {stage!r}")
    if not colon:
        return base, None
    find_pass = _compiler("..passes").find_pass
    when, equals, name = point.partition("=")
    if base != "ir" or when not in ("before", "after") or not equals:
        raise ValueError(f"{caller}: {stage!r}: a point in the pass pipeline is "
                         f"ir:before=<pass> or ir:after=<pass>")
    try:
        find_pass(name)
    except ValueError as exc:
        raise ValueError(f"{caller}: {stage!r}: {exc}") from None
    return base, (when, name)


def dump_stage(func, stage: str) -> str:
    with _lock:
        return _dump_stage(func, stage)


def _dump_stage(func, stage: str) -> str:
    code = _check_function(func).__code__
    stage, stop = parse_stage(stage)
    cfg = _frontend()(code)
    if stage == "bytecode":
        return cfg.dump()
    ir = build_ir(cfg, stop=stop)
    if stage == "ir":
        return ir.dump()
    return _compiler("..backend.gcc").dump_text([ir], runtime().helpers, stage)


def dot_stage(func, stage: str) -> str:
    code = _check_function(func).__code__
    stage, stop = parse_stage(stage, "coconut.write_dot()")
    cfg = _frontend()(code)
    if stage == "bytecode":
        return cfg.to_dot()
    if stage == "ir":
        return build_ir(cfg, stop=stop).to_dot()
    raise ValueError(f"coconut.write_dot(): stage must be 'bytecode' or 'ir', not {stage!r}")
