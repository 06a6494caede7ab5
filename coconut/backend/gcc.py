"""IrCFG -> libgccjit.

Each IrCFG becomes one C function `PyObject *f(PyThreadState *, _PyInterpreterFrame *,
int throwflag)` working on the live interpreter frame. The frame protocol lives
here, in one place each: the prologue (link the frame, count the recursion), `Return`,
`Deopt` and `ErrorExit` (spill the stack, name the instruction, unlink, hand the frame
to `_PyEval_EvalFrameDefault`). Several functions can share one context (one gcc run).

Generated code is process-independent: every address that is only known at run time (a
Python object, a runtime helper, the eval breaker) is read from a static `void *`
global of the module, a *link*, which the exported function
`void *coconut_fill_links(void **values)` sets right after loading, before any entry is
used; it returns the address of the module's deopt counters, a static array of its own.
Each link has a symbolic description (`Link.desc`) that another process can resolve
(see `resolve_link`), so a module written with `build_to_file` can be loaded again with
`load_file` (coconut/runtime/cache.py); a link without a description (an object found
nowhere but by identity) makes the module uncacheable, not unusable.
"""
from __future__ import annotations

import _ctypes
import array
import builtins
import ctypes
import sys
import os
import tempfile
import types
# Called while compiling and loading cached code, so bound here: a program may patch
# os.path.exists, importlib.import_module ... and must not see the compiler's calls.
# Taken from the modules that define them: this module is imported at the first
# compile, and the program may have patched os's and importlib's names by then.
from importlib._bootstrap import _gcd_import as _import_module   # import_module's core
from posix import F_OK as _F_OK, access as _access
from sys import intern as _intern

import gccjit

from ..ir import ops
from ..ir.cfg import IrCFG
from ..runtime import layout as L
from ..runtime.stability import CHECK_EVERY, EAGER
from .capi import CAPI
from .gccrun import GccRun, RawResult, prepare, run_steps
from .signals import preserved_signal_handlers

T = gccjit.TypeKind
CMP = {"==": gccjit.Comparison.EQ, "!=": gccjit.Comparison.NE, "<": gccjit.Comparison.LT,
       "<=": gccjit.Comparison.LE, ">": gccjit.Comparison.GT, ">=": gccjit.Comparison.GE}
ARITH = {"+": gccjit.BinaryOp.PLUS, "-": gccjit.BinaryOp.MINUS, "*": gccjit.BinaryOp.MULT,
         "&": gccjit.BinaryOp.BITWISE_AND, "|": gccjit.BinaryOp.BITWISE_OR,
         "^": gccjit.BinaryOp.BITWISE_XOR, "/": gccjit.BinaryOp.DIVIDE,
         "%": gccjit.BinaryOp.MODULO,
         "<<": 10, ">>": 11}   # the binding's enum lacks shifts; these are GCC_JIT_BINARY_OP_*


class BackendError(Exception):
    """libgccjit rejected what we gave it (a compiler bug)."""


FILL_FUNCTION = "coconut_fill_links"
_FILL_TYPE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
_WORD = (1 << 64) - 1

ctypes.pythonapi.PyObject_GC_UnTrack.argtypes = [ctypes.py_object]
ctypes.pythonapi.PyObject_GC_UnTrack.restype = None


def untrack(obj):
    """Hide `obj`, a container of coconut's own that is never freed, from the cycle
    collector (a compile then adds nothing to gc.get_objects()). Never for an object
    of the program's own, nor for one that is mutated later (dicts re-track)."""
    ctypes.pythonapi.PyObject_GC_UnTrack(obj)
    return obj


class GccModule:
    """Compiled code: function addresses, kept alive with what they point at.

    `handle` (a gccjit.Result, or the int handle of a dlopen'ed file) keeps the code
    mapped; the link `values` are set into the code (coconut_fill_links) before the
    addresses are handed out. No ctypes objects: each would be a few GC-tracked
    objects (and types) per compile.

    Counters (a static `long` array of the module, at `counters`): one per `Deopt`
    terminator, in the order of `deopt_reasons` / `deopt_sites` (the speculation site,
    `ops.Deopt.site`, or None) / `deopt_offsets` (where it resumes), then one per
    function counting its native entries (only in functions with a speculation site;
    0 in the others). `window` is the stability policy's (runtime/stability.py)."""

    __slots__ = ("handle", "addresses", "keepalive", "deopt_reasons", "deopt_sites",
                 "deopt_offsets", "counters", "window")

    def __init__(self, handle, addresses: dict, fill_address: int, values: list,
                 keepalive, deopt_reasons, deopt_sites=None, deopt_offsets=None):
        self.handle = handle
        self.addresses = addresses           # {str: int}: a dict the GC never tracks
        self.keepalive = tuple(keepalive)
        self.deopt_reasons = tuple(deopt_reasons)    # counter index -> reason
        n = len(self.deopt_reasons)
        self.deopt_sites = tuple(deopt_sites) if deopt_sites is not None else (None,) * n
        self.deopt_offsets = tuple(deopt_offsets) if deopt_offsets is not None else (-1,) * n
        self.window = None
        # The fill function copies the values: a temporary (untracked) array will do.
        links = array.array("Q", [v & _WORD for v in values] or [0])
        self.counters = _FILL_TYPE(fill_address)(links.buffer_info()[0])  # long[sites + functions]

    def make_immortal(self) -> None:
        """This module is never freed (jit.py keeps all): untrack it and its tuples
        (not their contents, the program's objects)."""
        untrack(self.keepalive)
        untrack(self.deopt_reasons)
        untrack(self.deopt_sites)
        untrack(self.deopt_offsets)
        if isinstance(self.handle, RawResult):
            untrack(self.handle)
        untrack(self)

    def deopt_values(self) -> list[int]:
        """The deopt counters, in the order of deopt_reasons."""
        n = len(self.deopt_reasons)
        if not n:
            return []
        return memoryview(ctypes.string_at(self.counters, 8 * n)).cast("l").tolist()

    def entries(self, index: int = 0) -> int:
        """Native entries of function `index` so far (counted only in a function with
        a speculation site)."""
        at = self.counters + 8 * (len(self.deopt_reasons) + index)
        return int.from_bytes(ctypes.string_at(at, 8), "little", signed=True)

    def deopt_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason, n in zip(self.deopt_reasons, self.deopt_values()):
            if n:
                counts[reason] = counts.get(reason, 0) + n
        return counts


# Branches to code that only leaves native code (a deopt, an error) are marked unlikely
# for gcc (IrCFG.cold_blocks, _Context.expect); COCONUT_BRANCH_HINTS=0 leaves them out.
BRANCH_HINTS = os.environ.get("COCONUT_BRANCH_HINTS", "1") not in ("0", "", "no", "off", "false")


class _Context:
    """A gccjit context with the C types and imported functions we use."""

    def __init__(self, opt_level: int = 2):
        self.ctx = c = gccjit.Context()
        prepare(c)
        c.set_int_option(gccjit.IntOption.OPTIMIZATION_LEVEL, opt_level)
        self.void = c.get_type(T.VOID)
        self.types = {
            "obj": c.get_type(T.VOID_PTR), "ptr": c.get_type(T.VOID_PTR),
            "int": c.get_type(T.INT), "ssize": c.get_type(T.LONG),
            "byte": c.get_type(T.UNSIGNED_CHAR), "u16": c.get_type(T.UNSIGNED_SHORT),
            "u32": c.get_type(T.UNSIGNED_INT), "double": c.get_type(T.DOUBLE),
            "u64": c.get_type(T.UNSIGNED_LONG), "f64": c.get_type(T.DOUBLE),
            "i64": c.get_type(T.LONG), "cbool": c.get_type(T.INT),
        }
        self.size_t = c.get_type(T.SIZE_T)
        self.char_p = c.get_type(T.CHAR).get_pointer()
        self.imported: dict = {}
        self.helpers: dict[str, int] = {}
        self.state: _ModuleState | None = None
        self._expect = None

    def t(self, ctype: str):
        return self.void if ctype == "void" else self.types[ctype]

    def imported_function(self, name: str):
        if name not in self.imported:
            _, ret, params = CAPI[name]
            ps = [self.ctx.new_param(self.t(p), f"a{i}".encode()) for i, p in enumerate(params)]
            self.imported[name] = self.ctx.new_function(
                gccjit.FunctionKind.IMPORTED, self.t(ret), name.encode(), ps)
        return self.imported[name]

    def call(self, name: str, args: list):
        _, ret, params = CAPI[name]
        args = [self.cast(a, p) for a, p in zip(args, params)]
        if name in self.helpers:       # coconut's runtime helpers, through a link
            fptr = self.ctx.new_function_ptr_type(self.t(ret), [self.t(p) for p in params])
            link = self.state.link(("helper", name), self.helpers[name])
            return self.ctx.new_call_through_ptr(self.ctx.new_cast(link, fptr), args)
        return self.ctx.new_call(self.imported_function(name), args)

    def expect(self, cond, likely: bool):
        """`cond`, with gcc told which way it mostly goes (__builtin_expect): gcc then
        lays the other side out of the hot path."""
        if self._expect is None:
            self._expect = self.ctx.get_builtin_function(b"__builtin_expect")
        long_t = self.types["ssize"]
        hinted = self.ctx.new_call(self._expect, [self.ctx.new_cast(cond, long_t),
                                                  self.int(int(likely), "ssize")])
        return self.ctx.new_comparison(gccjit.Comparison.NE, hinted, self.int(0, "ssize"))

    def cast(self, rvalue, ctype: str):
        want = self.t(ctype)
        return rvalue if rvalue.get_type() == want else self.ctx.new_cast(rvalue, want)

    def int(self, value: int, ctype: str = "int"):
        if ctype in ("obj", "ptr"):
            if not value:
                return self.ctx.null(self.types[ctype])
            # A raw address: valid in this process only (nothing emits one today).
            self.state.uncacheable = f"raw address {value:#x} in the code"
            return self.ctx.new_rvalue_from_ptr(self.types[ctype], value)
        if -2**31 <= value < 2**31:
            return self.ctx.new_rvalue_from_int(self.t(ctype), value)
        # new_rvalue_from_int takes a C int: build wider constants from 16-bit pieces,
        # in unsigned long (no signed shifts), then convert.
        u = self.types["u64"]
        word = value & _WORD
        acc = None
        for shift in (48, 32, 16, 0):
            piece = self.ctx.new_rvalue_from_int(u, (word >> shift) & 0xFFFF)
            if shift:
                piece = self.ctx.new_binary_op(10, u, piece, self.ctx.new_rvalue_from_int(u, shift))
            acc = piece if acc is None else self.ctx.new_binary_op(
                gccjit.BinaryOp.BITWISE_OR, u, acc, piece)
        return self.ctx.new_cast(acc, self.t(ctype))

    def field(self, base, offset: int, ctype: str):
        """The lvalue *(ctype *)((char *)base + offset)."""
        addr = self.ctx.new_array_access(self.ctx.new_cast(base, self.char_p),
                                         self.ctx.new_rvalue_from_int(self.types["int"], offset))
        return self.ctx.new_cast(addr.get_address(), self.t(ctype).get_pointer()).dereference()


class _FunctionEmitter:
    def __init__(self, cx: _Context, ir: IrCFG, fname: str, module_state, index: int = 0):
        self.cx, self.ir, self.c = cx, ir, cx.ctx
        self.index = index                       # of this function in the module
        self.state = module_state
        vp, it = cx.types["ptr"], cx.types["int"]
        self.params = [self.c.new_param(vp, b"tstate"), self.c.new_param(vp, b"frame"),
                       self.c.new_param(it, b"throwflag")]
        self.fn = self.c.new_function(gccjit.FunctionKind.EXPORTED, cx.types["obj"],
                                      fname.encode(), self.params)
        self.tstate, self.frame = self.params[0], self.params[1]
        self.locals = {}
        self.exits = {}                          # throwflag -> shared exit block
        self._nblocks = 0
        self.code = ir.code
        self.inlined = tuple(ir.inlined_codes())
        self.nlp = ir.nlocalsplus
        max_args = max([len(op.args) for b in ir.blocks.values() for op in b.ops
                        if isinstance(op, ops.CallVectorcall)] +
                       [len(op.values) for b in ir.blocks.values() for op in b.ops
                        if isinstance(op, ops.CallArray)] +
                       [len(op.values) for b in ir.blocks.values() for op in b.ops
                        if isinstance(op, ops.CallPtr) and op.values is not None] + [-1])
        # Also for calls with no arguments: their argument vector is still &scratch[0]
        # (BUILD_STRING 0 of f"" once met a NULL here and crashed libgccjit).
        self.scratch = (self.fn.new_local(self.c.new_array_type(vp, max_args + 1), b"scratch")
                        if max_args >= 0 else None)

    # -- values --------------------------------------------------------------------
    def var(self, v: ops.Var):
        if v.name == "tstate":
            return self.tstate
        if v.name == "frame":
            return self.frame
        if v.name == "throwflag":
            return self.params[2]
        if v.name not in self.locals:
            self.locals[v.name] = self.fn.new_local(self.cx.t(v.ctype), v.name.encode())
        return self.locals[v.name]

    def rv(self, v):
        if isinstance(v, ops.Var):
            return self.var(v)
        if isinstance(v, ops.IntConst):
            return self.cx.int(v.value, v.ctype)
        if isinstance(v, ops.FloatConst):
            return self.c.new_rvalue_from_double(self.cx.types["f64"], v.value)
        if isinstance(v, ops.ObjConst):
            return self.state.link(describe_object(v.obj, self.code, self.index, self.inlined),
                                   id(v.obj), v.obj)
        if isinstance(v, ops.Address):
            return self.state.link(("address", v.name), v.value)
        if isinstance(v, ops.AddressOf):
            return self.c.new_cast(self.var(v.var).get_address(), self.cx.types["ptr"])
        if isinstance(v, ops.UnitAddress):
            return self.unit_address(v.offset)
        if isinstance(v, ops.SiteCache):
            slot = self.c.new_array_access(self.state.site_caches,
                                           self.cx.int(ops.SITE_CACHE_WORDS * (self.state.site_cache_base[self.index] + v.index)))
            return self.c.new_cast(slot.get_address(), self.cx.types["ptr"])
        raise BackendError(f"not a value: {v!r}")

    def new_block(self, hint: str):
        self._nblocks += 1
        return self.fn.new_block(f"{hint}_{self._nblocks}".encode())

    def frame_field(self, offset: int, ctype: str):
        return self.cx.field(self.frame, offset, ctype)

    def unit_address(self, offset: int, delta: int = 0):
        """&co_code_adaptive[offset] (+ delta bytes), from the frame's f_code (the code
        object the entry belongs to): no absolute address in the code."""
        code = self.c.new_cast(self.frame_field(L.FRAME_CODE, "ptr"), self.cx.char_p)
        unit = self.c.new_array_access(code, self.cx.int(L.CO_CODE_ADAPTIVE + 2 * offset + delta))
        return self.c.new_cast(unit.get_address(), self.cx.types["ptr"])

    # -- the function --------------------------------------------------------------
    def emit(self):
        c, cx = self.c, self.cx
        entry = self.new_block("prologue")       # the first block made is the entry
        blocks = {name: self.fn.new_block(name.encode()) for name in self.ir.blocks}
        # Link the frame as the thread's current frame; count the recursion as ceval does.
        cframe = cx.field(self.tstate, L.TS_CFRAME, "ptr")
        entry.add_assignment(self.frame_field(L.FRAME_PREVIOUS, "ptr"),
                             cx.field(cframe, L.CFRAME_CURRENT_FRAME, "ptr"))
        entry.add_assignment(cx.field(cx.field(self.tstate, L.TS_CFRAME, "ptr"),
                                      L.CFRAME_CURRENT_FRAME, "ptr"), self.frame)
        if any(t.site is not None for t in _counted(self.ir)):
            # Native entries, for the share of them that deopt (runtime/stability.py).
            entries = c.new_array_access(self.state.counters,
                                         cx.int(self.state.nsites + self.index))
            entry.add_assignment_op(entries, gccjit.BinaryOp.PLUS, cx.int(1, "ssize"))
        remaining = cx.field(self.tstate, L.TS_RECURSION_REMAINING, "int")
        before = self.fn.new_local(cx.types["int"], b"recursion_remaining")
        entry.add_assignment(before, remaining)
        entry.add_assignment_op(remaining, gccjit.BinaryOp.MINUS, cx.int(1))
        check, failed = self.new_block("recursion_check"), self.new_block("recursion_error")
        entry.end_with_conditional(c.new_comparison(CMP["<="], before, cx.int(0)),
                                   check, blocks[self.ir.entry])
        status = cx.call("_Py_CheckRecursiveCall", [self.tstate, c.new_string_literal(b"")])
        check.end_with_conditional(c.new_comparison(CMP["!="], status, cx.int(0)),
                                   failed, blocks[self.ir.entry])
        self.unlink(failed, count_recursion=False)
        failed.end_with_return(cx.int(0, "obj"))

        self._cold = self.ir.cold_blocks() if BRANCH_HINTS else set()
        for name, irb in self.ir.blocks.items():
            blk = blocks[name]
            for op in irb.ops:
                blk = self.emit_op(blk, op)
            self.emit_terminator(blk, irb.terminator, blocks)

    def unlink(self, blk, count_recursion=True):
        """Leave: give the recursion count back, restore the caller as current frame."""
        cx = self.cx
        if count_recursion:
            blk.add_assignment_op(cx.field(self.tstate, L.TS_RECURSION_REMAINING, "int"),
                                  gccjit.BinaryOp.PLUS, cx.int(1))
        blk.add_assignment(cx.field(cx.field(self.tstate, L.TS_CFRAME, "ptr"),
                                    L.CFRAME_CURRENT_FRAME, "ptr"),
                           self.frame_field(L.FRAME_PREVIOUS, "ptr"))

    def spill(self, blk, stack):
        for i, v in enumerate(stack):
            blk.add_assignment(self.frame_field(L.FRAME_LOCALSPLUS + 8 * (self.nlp + i), "obj"),
                               self.cx.cast(self.rv(v), "obj"))
        blk.add_assignment(self.frame_field(L.FRAME_STACKTOP, "int"),
                           self.cx.int(self.nlp + len(stack)))

    def emit_terminator(self, blk, t, blocks):
        cx = self.cx
        if isinstance(t, ops.Jump):
            blk.end_with_jump(blocks[t.target])
        elif isinstance(t, ops.Branch):
            cond = self.cond(t.cond)
            cold_true, cold_false = t.if_true in self._cold, t.if_false in self._cold
            if cold_true != cold_false:    # one side only leaves: __builtin_expect
                cond = cx.expect(cond, cold_false)
            blk.end_with_conditional(cond, blocks[t.if_true], blocks[t.if_false])
        elif isinstance(t, ops.Return):
            value = cx.cast(self.rv(t.value), "obj")
            result = self.fn.new_local(cx.types["obj"], f"retval_{self._nblocks}".encode())
            self._nblocks += 1
            blk.add_assignment(result, value)
            self.unlink(blk)
            blk.end_with_return(result)
        elif isinstance(t, ops.Deopt) and t.resume == ops.AS_IS:
            # (only at the entry: the interpreter gets the frame, and the throwflag,
            # as native code was given them)
            assert not t.stack, t
            blk = self.count_deopt(blk, t)
            self.unlink(blk)
            blk.end_with_return(self.cx.call("coconut_resume",
                                             [self.tstate, self.frame, self.params[2]]))
        elif isinstance(t, (ops.Deopt, ops.ErrorExit)):
            self.spill(blk, t.stack)
            if isinstance(t, ops.Deopt):
                # Resume before `resume`: the interpreter runs prev_instr + 1 next.
                blk = self.count_deopt(blk, t)
                prev, throwflag = self.unit_address(t.resume, -2), 0
            elif t.reraise:             # prev_instr set by the lowering (RERAISE's lasti)
                prev, throwflag = None, 3
            elif t.offset is None:      # prev_instr set by the error site
                prev, throwflag = None, 1
            elif t.named:               # prev_instr set by the call (ErrorExit.named)
                prev, throwflag = None, (2 if t.leaves else 1)
            else:
                prev, throwflag = self.unit_address(t.offset), (2 if t.leaves else 1)
            if prev is not None:
                blk.add_assignment(self.frame_field(L.FRAME_PREV_INSTR, "ptr"), prev)
            blk.end_with_jump(self.exit_block(throwflag))
        else:
            raise BackendError(f"unknown terminator {t!r}")

    def exit_block(self, throwflag: int):
        """The function's shared tail for leaving to the interpreter (a deopt: 0, an
        error to unwind: 1): unlink, then coconut_resume; or for an error that leaves
        the frame (`ErrorExit.leaves`: 2; re-raised, `reraise`: 3) coconut_raise_out,
        which adds the traceback entry (not for a re-raise), releases the spilled stack
        and returns NULL. Each exit site only spills its stack and sets prev_instr
        before jumping here (less C for gcc)."""
        blk = self.exits.get(throwflag)
        if blk is None:
            blk = self.exits[throwflag] = self.new_block(
                ("resume", "unwind", "raise_out", "reraise_out")[throwflag])
            self.unlink(blk)
            if throwflag >= 2:
                blk.end_with_return(self.cx.call("coconut_raise_out", [
                    self.tstate, self.frame, self.cx.int(int(throwflag == 2))]))
            else:
                blk.end_with_return(self.cx.call("coconut_resume",
                                                 [self.tstate, self.frame, self.cx.int(throwflag)]))
        return blk

    def count_deopt(self, blk, t):
        """Count the deopt (an ops.Deopt, or an ops.CountExit: a way out that does not
        leave the function) in its own counter. At a speculation site (t.site), every
        CHECK_EVERY-th deopt also calls coconut_deopt_check(frame), which has the
        runtime look at the code's counters at its next entry (runtime/stability.py)."""
        c, cx, state = self.c, self.cx, self.state
        index = len(state.deopt_reasons)
        state.deopt_reasons.append(t.reason)
        state.deopt_sites.append(t.site)
        state.deopt_offsets.append(t.resume)
        counter = c.new_array_access(state.counters, cx.int(index))
        blk.add_assignment_op(counter, gccjit.BinaryOp.PLUS, cx.int(1, "ssize"))
        if t.site is None:
            return blk
        check, go_on = self.new_block("deopt_check"), self.new_block("deopt_counted")
        if t.reason in EAGER:          # checked at every deopt (runtime/stability.py)
            blk.end_with_jump(check)
            check.add_eval(cx.call("coconut_deopt_check", [self.frame]))
            check.end_with_jump(go_on)
            return go_on
        due = c.new_binary_op(gccjit.BinaryOp.MODULO, cx.types["ssize"], counter,
                              cx.int(CHECK_EVERY, "ssize"))
        blk.end_with_conditional(c.new_comparison(CMP["=="], due, cx.int(0, "ssize")),
                                 check, go_on)
        check.add_eval(cx.call("coconut_deopt_check", [self.frame]))
        check.end_with_jump(go_on)
        return go_on

    def cond(self, cond: ops.Cond):
        a, b = self.rv(cond.a), self.rv(cond.b)
        if a.get_type() != b.get_type():
            b = self.c.new_cast(b, a.get_type())
        return self.c.new_comparison(CMP[cond.op], a, b)

    def emit_op(self, blk, op):
        c, cx = self.c, self.cx
        if isinstance(op, ops.CountExit):
            return self.count_deopt(blk, op)
        if isinstance(op, ops.SetInstr):
            blk.add_assignment(self.frame_field(L.FRAME_PREV_INSTR, "ptr"),
                               self.unit_address(op.offset))
        elif isinstance(op, ops.Assign):
            blk.add_assignment(self.var(op.dst), cx.cast(self.rv(op.src), op.dst.ctype))
        elif isinstance(op, ops.LoadLocal):
            blk.add_assignment(self.var(op.dst),
                               self.frame_field(L.FRAME_LOCALSPLUS + 8 * op.index, "obj"))
        elif isinstance(op, ops.StoreLocal):
            blk.add_assignment(self.frame_field(L.FRAME_LOCALSPLUS + 8 * op.index, "obj"),
                               cx.cast(self.rv(op.src), "obj"))
        elif isinstance(op, ops.Load):
            blk.add_assignment(self.var(op.dst), cx.field(self.rv(op.base), op.offset, op.dst.ctype))
        elif isinstance(op, ops.PtrAdd):
            byte = c.new_array_access(c.new_cast(self.rv(op.base), cx.char_p),
                                      cx.cast(self.rv(op.delta), "ssize"))
            blk.add_assignment(self.var(op.dst), c.new_cast(byte.get_address(), cx.types["ptr"]))
        elif isinstance(op, ops.Store):
            blk.add_assignment(cx.field(self.rv(op.base), op.offset, op.ctype),
                               cx.cast(self.rv(op.src), op.ctype))
        elif isinstance(op, ops.Incref):
            blk.add_assignment_op(cx.field(self.rv(op.value), L.OB_REFCNT, "ssize"),
                                  gccjit.BinaryOp.PLUS, cx.int(1, "ssize"))
        elif isinstance(op, ops.Decref):
            return self.decref(blk, self.rv(op.value), op.maybe_null)
        elif isinstance(op, ops.BinArith):
            a = self.rv(op.a)
            blk.add_assignment(self.var(op.dst), c.new_binary_op(
                ARITH[op.op], cx.t(op.dst.ctype), cx.cast(a, op.dst.ctype),
                cx.cast(self.rv(op.b), op.dst.ctype)))
        elif isinstance(op, (ops.Neg, ops.Abs)):
            kind = gccjit.UnaryOp.MINUS if isinstance(op, ops.Neg) else gccjit.UnaryOp.ABS
            blk.add_assignment(self.var(op.dst), c.new_unary_op(
                kind, cx.t(op.dst.ctype), cx.cast(self.rv(op.a), op.dst.ctype)))
        elif isinstance(op, ops.CallC):
            call = cx.call(op.func, [self.rv(a) for a in op.args])
            if op.dst is None:
                blk.add_eval(call)
            else:
                blk.add_assignment(self.var(op.dst), call)
        elif isinstance(op, ops.CallVectorcall):
            self.emit_vectorcall(blk, op)
        elif isinstance(op, ops.CallPtr):
            self.emit_call_ptr(blk, op)
        elif isinstance(op, ops.CallArray):
            for i, v in enumerate(op.values):
                blk.add_assignment(self.scratch_slot(i), cx.cast(self.rv(v), "obj"))
            args = [self.rv(a) for a in op.before] + [
                self.scratch_slot(0).get_address(),
                cx.int(len(op.values), "ssize")]
            if op.dst is None:
                blk.add_eval(cx.call(op.func, args))
            else:
                blk.add_assignment(self.var(op.dst), cx.call(op.func, args))
        else:
            raise BackendError(f"unknown op {op!r}")
        return blk

    def scratch_slot(self, i, index_rvalue=None):
        index = index_rvalue if index_rvalue is not None else self.cx.int(i)
        return self.c.new_array_access(self.scratch, index)

    def emit_vectorcall(self, blk, op: ops.CallVectorcall):
        c, cx = self.c, self.cx
        # scratch[0] is free for PY_VECTORCALL_ARGUMENTS_OFFSET; args from scratch[1].
        for i, v in enumerate(op.args):
            blk.add_assignment(self.scratch_slot(i + 1), cx.cast(self.rv(v), "obj"))
        skip = cx.cast(self.rv(op.skip), "int")
        argv = self.scratch_slot(0, c.new_binary_op(gccjit.BinaryOp.PLUS, cx.types["int"],
                                                    cx.int(1), skip)).get_address()
        nargs = c.new_binary_op(gccjit.BinaryOp.MINUS, cx.types["int"],
                                cx.int(op.npositional), skip)
        # PY_VECTORCALL_ARGUMENTS_OFFSET, and for coconut_call the frame_inline bit
        offset_flag = c.new_binary_op(10, self.cx.size_t, c.new_rvalue_from_int(self.cx.size_t, 1),
                                      c.new_rvalue_from_int(self.cx.size_t, 63))
        if op.frame_inline and "coconut_call" in cx.helpers:
            offset_flag = c.new_binary_op(
                gccjit.BinaryOp.BITWISE_OR, self.cx.size_t, offset_flag,
                c.new_binary_op(10, self.cx.size_t, c.new_rvalue_from_int(self.cx.size_t, 1),
                                c.new_rvalue_from_int(self.cx.size_t, 62)))
        nargsf = c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, self.cx.size_t,
                                 c.new_cast(nargs, self.cx.size_t), offset_flag)
        callable_ = cx.cast(self.rv(op.callable), "obj")
        kwnames = cx.cast(self.rv(op.kwnames), "obj")
        argv = c.new_cast(argv, cx.types["ptr"])
        if "coconut_call" in cx.helpers:       # direct calls (runtime/calls.py)
            call = cx.call("coconut_call", [self.tstate, callable_, argv, nargsf, kwnames])
        else:
            call = c.new_call(self.vectorcall_function(), [callable_, argv, nargsf, kwnames])
        blk.add_assignment(self.var(op.dst), call)

    def emit_call_ptr(self, blk, op: ops.CallPtr):
        """A C function through a pointer: every argument an object (or pointer) but
        the array's count, a Py_ssize_t; the result an object."""
        c, cx = self.c, self.cx
        obj, ptr, ssize = cx.types["obj"], cx.types["ptr"], cx.types["ssize"]
        params = [obj] * len(op.before)
        args = [cx.cast(self.rv(a), "obj") for a in op.before]
        if op.values is not None:
            for i, v in enumerate(op.values):
                blk.add_assignment(self.scratch_slot(i), cx.cast(self.rv(v), "obj"))
            params += [ptr, ssize]
            args += [c.new_cast(self.scratch_slot(0).get_address(), ptr),
                     cx.int(len(op.values) if op.nargs < 0 else op.nargs, "ssize")]
        params += [obj] * len(op.after)
        args += [cx.cast(self.rv(a), "obj") for a in op.after]
        fn_t = c.new_function_ptr_type(obj, params)
        fn = c.new_cast(cx.cast(self.rv(op.fn), "ptr"), fn_t)
        blk.add_assignment(self.var(op.dst), c.new_call_through_ptr(fn, args))

    def vectorcall_function(self):
        cx = self.cx
        if "PyObject_Vectorcall" not in cx.imported:
            vp = cx.types["ptr"]
            ps = [self.c.new_param(vp, b"callable"), self.c.new_param(vp, b"args"),
                  self.c.new_param(cx.size_t, b"nargsf"), self.c.new_param(vp, b"kwnames")]
            cx.imported["PyObject_Vectorcall"] = self.c.new_function(
                gccjit.FunctionKind.IMPORTED, cx.types["obj"], b"PyObject_Vectorcall", ps)
        return cx.imported["PyObject_Vectorcall"]

    def decref(self, blk, value, maybe_null: bool):
        """Py_DECREF / Py_XDECREF: release, deallocate at zero. Returns the block after."""
        c, cx = self.c, self.cx
        after = self.new_block("after_decref")
        if maybe_null:
            nonnull = self.new_block("xdecref")
            blk.end_with_conditional(c.new_comparison(CMP["=="], value, cx.int(0, "obj")),
                                     after, nonnull)
            blk = nonnull
        refcnt = cx.field(value, L.OB_REFCNT, "ssize")
        blk.add_assignment_op(refcnt, gccjit.BinaryOp.MINUS, cx.int(1, "ssize"))
        dealloc = self.new_block("dealloc")
        blk.end_with_conditional(c.new_comparison(CMP["=="], refcnt, cx.int(0, "ssize")),
                                 dealloc, after)
        dealloc.add_eval(cx.call("_Py_Dealloc", [value]))
        dealloc.end_with_jump(after)
        return after


_SINGLETONS = {"None": None, "True": True, "False": False, "Ellipsis": Ellipsis,
               "NotImplemented": NotImplemented, "empty_str": "", "empty_tuple": (),
               "empty_bytes": b"",
               # types the typed rules guard on that no module names
               "range_iterator": type(iter(range(0))),
               "list_iterator": type(iter([])), "tuple_iterator": type(iter(())),
               "list.append": list.__dict__["append"],
               "builtin_function_or_method": type(len),
               "method_descriptor": type(list.__dict__["append"])}
_BUILTINS = dict(vars(builtins))      # as at import: resolved by name in any process
_BUILTIN_NAMES = {}
for _name, _obj in _BUILTINS.items():
    if not _name.startswith("_"):
        _BUILTIN_NAMES.setdefault(id(_obj), _name)


def _const_path(obj, consts, path=()):
    for i, c in enumerate(consts):
        if c is obj:
            return path + (i,)
        if type(c) is tuple:
            found = _const_path(obj, c, path + (i,))
            if found is not None:
                return found
    return None


def describe_code(code: types.CodeType):
    """A description of the code of a function of a module ("code", module, qualified
    name, digest of the code), for an inlined callee; None when the module's attribute
    path does not lead to it."""
    from ..lowering.inline import module_globals
    from ..runtime.cache import code_digest
    namespace = module_globals(code)
    name = namespace.get("__name__") if namespace else None
    if not isinstance(name, str) or sys.modules.get(name) is None or "<" in code.co_qualname:
        return None
    try:
        func = _getattr_path(sys.modules[name], code.co_qualname)
    except AttributeError:
        return None
    if getattr(func, "__code__", None) is not code:
        return None
    return ("code", name, code.co_qualname, code_digest(code))


def _resolve_code(desc):
    from ..runtime.cache import code_digest
    module = sys.modules.get(desc[1]) or _import_module(desc[1])
    code = _getattr_path(module, desc[2]).__code__
    if code_digest(code) != desc[3]:
        raise LinkError(f"the code of {desc[2]} changed")
    return code


def describe_object(obj, code: types.CodeType, index: int = 0, inlined=()):
    """A description of `obj` that `resolve_link` turns back into the same object in
    another process running the same code, or None. `inlined`: the code objects of the
    callees inlined into `code` (their constants and names are found there too)."""
    found = _describe_in(obj, code, index)
    if found is not None:
        return found
    for callee in inlined:
        if obj is callee:
            return describe_code(callee)
        path = _const_path(obj, callee.co_consts)
        names = [i for i, n in enumerate(callee.co_names) if n is obj]
        if path is not None or names:
            where = describe_code(callee)
            if where is not None:
                return (("code_const", where, list(path)) if path is not None
                        else ("code_name", where, names[0]))
    return None


def _describe_in(obj, code: types.CodeType, index: int):
    for name, value in _SINGLETONS.items():
        if obj is value:
            return ("singleton", name)
    for i, n in enumerate(code.co_names):
        if n is obj:
            return ("name", index, i)
    path = _const_path(obj, code.co_consts)
    if path is not None:
        return ("const", index, list(path))
    name = _BUILTIN_NAMES.get(id(obj))
    if name is not None and _BUILTINS[name] is obj:
        return ("builtin", name)
    varname = getattr(code, "_varname_from_oparg", None)
    if varname is not None and type(obj) is str:
        for i in range(L.nlocalsplus(code)):
            if varname(i) is obj:
                return ("varname", index, i)
    if isinstance(obj, type) or type(obj) is types.BuiltinFunctionType:
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
        if isinstance(module, str) and module in sys.modules and "<" not in qualname:
            try:
                if _getattr_path(sys.modules[module], qualname) is obj:
                    return ("global", module, qualname)
            except AttributeError:
                pass
        for name, value in vars(types).items():     # types.ModuleType: builtins.module
            if value is obj:
                return ("global", "types", name)
    if type(obj) is str:
        return ("str", obj)            # any equal string will do: interned in each process
    return None


def _getattr_path(obj, dotted: str):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


class LinkError(Exception):
    """A link description that cannot be resolved here."""


def resolve_link(desc, codes: list, helpers: dict, addresses: dict):
    """(value, object to keep alive or None) of the link described by `desc` (a list
    or tuple, as read back from JSON), for the module of code objects `codes`."""
    kind = desc[0]
    try:
        if kind == "singleton":
            obj = _SINGLETONS[desc[1]]
        elif kind == "name":
            obj = codes[desc[1]].co_names[desc[2]]
        elif kind == "const":
            obj = codes[desc[1]].co_consts
            for i in desc[2]:
                obj = obj[i]
        elif kind == "builtin":
            obj = _BUILTINS[desc[1]]
        elif kind == "code":
            obj = _resolve_code(desc)
        elif kind == "code_const":
            obj = _resolve_code(desc[1]).co_consts
            for i in desc[2]:
                obj = obj[i]
        elif kind == "code_name":
            obj = _resolve_code(desc[1]).co_names[desc[2]]
        elif kind == "varname":
            obj = codes[desc[1]]._varname_from_oparg(desc[2])
        elif kind == "global":
            module = sys.modules.get(desc[1]) or _import_module(desc[1])
            obj = _getattr_path(module, desc[2])
        elif kind == "str":
            obj = _intern(desc[1])
        elif kind == "helper":
            return helpers[desc[1]], None
        elif kind == "address":
            return addresses[desc[1]], None
        else:
            raise LinkError(f"unknown link kind {kind!r}")
    except (KeyError, IndexError, TypeError, AttributeError, ImportError) as exc:
        raise LinkError(f"cannot resolve link {desc!r}: {exc!r}") from exc
    return id(obj), obj


class _ModuleState:
    def __init__(self, cx: _Context, deopt_sites: int, functions: int = 1):
        # No reference to cx (cx.state is this): a cycle would be garbage per compile.
        self.ctx, self.ptr = cx.ctx, cx.types["ptr"]
        self.nsites = deopt_sites
        self.counters = cx.ctx.new_global(   # zeroed, one per load of the module
            gccjit.GlobalKind.INTERNAL,
            cx.ctx.new_array_type(cx.types["ssize"], max(1, deopt_sites + functions)),
            b"coconut_deopt_counters")
        self.keepalive: list = []
        self.deopt_reasons: list[str] = []
        self.deopt_sites: list = []           # counter index -> ops.Deopt.site (or None)
        self.deopt_offsets: list[int] = []    # counter index -> ops.Deopt.resume
        self.descs: list = []                 # link index -> description (None: none)
        self.values: list[int] = []           # link index -> value in this process
        self.globals: list = []               # link index -> gccjit global
        self._index: dict = {}
        self.uncacheable: str | None = None   # why the module only works in this process

    def add_site_caches(self, cx: _Context, counts: list[int]) -> None:
        """SITE_CACHE_WORDS zeroed words per ops.SiteCache of each function
        (site_cache_base: where each function's start), a static array of the module:
        process-local state."""
        self.site_cache_base = [sum(counts[:i]) for i in range(len(counts))]
        self.site_caches = cx.ctx.new_global(
            gccjit.GlobalKind.INTERNAL, cx.ctx.new_array_type(cx.types["ssize"], max(1, ops.SITE_CACHE_WORDS * sum(counts))),
            b"coconut_site_caches")

    def link(self, desc, value: int, obj=None):
        """The global holding the link `desc` (value `value` in this process)."""
        key = desc if desc is not None else ("object", id(obj))
        key = tuple(tuple(k) if isinstance(k, list) else k for k in key)
        if key not in self._index:
            if desc is None and self.uncacheable is None:
                r = repr(obj)
                self.uncacheable = f"no symbolic name for {type(obj).__name__} {r[:60]}"
            if obj is not None:
                self.keepalive.append(obj)
            self._index[key] = len(self.globals)
            self.descs.append(desc)
            self.values.append(value)
            self.globals.append(self.ctx.new_global(
                gccjit.GlobalKind.INTERNAL, self.ptr, f"coconut_link_{len(self.globals)}".encode()))
        return self.globals[self._index[key]]

    def emit_fill(self, cx: _Context):
        """void *coconut_fill_links(void **values): set every link; returns the
        address of the deopt counters."""
        c, vp = self.ctx, self.ptr
        param = c.new_param(vp.get_pointer(), b"values")
        fn = c.new_function(gccjit.FunctionKind.EXPORTED, vp, FILL_FUNCTION.encode(), [param])
        blk = fn.new_block(b"fill")
        for i, g in enumerate(self.globals):
            blk.add_assignment(g, c.new_array_access(param, cx.int(i)))
        blk.end_with_return(c.new_cast(c.new_array_access(self.counters, cx.int(0)).get_address(), vp))


def _counted(ir: IrCFG):
    """The ways out of native code `ir` counts (runtime/stability.py): its Deopt
    terminators and CountExit ops."""
    for b in ir.blocks.values():
        for op in b.ops:
            if isinstance(op, ops.CountExit):
                yield op
        if isinstance(b.terminator, ops.Deopt):
            yield b.terminator


def _build(irs: list[IrCFG], helpers: dict[str, int], opt_level: int):
    cx = _Context(opt_level)
    cx.helpers = helpers
    sites = sum(1 for ir in irs for _ in _counted(ir))
    cx.state = state = _ModuleState(cx, sites, len(irs))
    state.add_site_caches(cx, [ir.site_caches for ir in irs])
    names = []
    for i, ir in enumerate(irs):
        name = f"coconut_{i}_{ir.code.co_name}" if ir.code.co_name.isidentifier() else f"coconut_{i}"
        _FunctionEmitter(cx, ir, name, state, i).emit()
        names.append(name)
    assert len(state.deopt_reasons) == sites, (len(state.deopt_reasons), sites)
    state.emit_fill(cx)
    return cx, state, names


def build_module_steps(irs: list[IrCFG], helpers: dict[str, int], opt_level: int = 2):
    """Compile in memory (libgccjit's own temporary shared object), as steps: yields
    the GccRun to execute (on any thread, see gccrun.py), returns the GccModule."""
    cx, state, names = _build(irs, helpers, opt_level)
    run = GccRun(cx.ctx, None)
    yield run
    result = run.result
    if result is None:
        raise BackendError(f"libgccjit: {cx.ctx.get_first_error()}")
    return GccModule(result, {n: result.get_code(n.encode()) for n in names},
                     result.get_code(FILL_FUNCTION.encode()), state.values,
                     state.keepalive, state.deopt_reasons, state.deopt_sites,
                     state.deopt_offsets)


def build_module(irs: list[IrCFG], helpers: dict[str, int], opt_level: int = 2) -> GccModule:
    return run_steps(build_module_steps(irs, helpers, opt_level))


class BuiltFile:
    """What `build_to_file` wrote: a shared object and what is needed to load it."""

    def __init__(self, path, names, state: _ModuleState):
        self.path = path
        self.names = names
        self.descs = state.descs
        self.values = state.values
        self.keepalive = state.keepalive
        self.deopt_reasons = state.deopt_reasons
        self.deopt_sites = state.deopt_sites
        self.deopt_offsets = state.deopt_offsets
        self.uncacheable = state.uncacheable

    def load(self) -> GccModule:
        """Load in this process, with the link values of this process."""
        return load_file(self.path, self.names, self.values, self.keepalive,
                         self.deopt_reasons, self.deopt_sites, self.deopt_offsets)


def build_to_file_steps(irs: list[IrCFG], helpers: dict[str, int], opt_level: int,
                        path: str):
    """Compile to the shared object `path` (one gcc run, as build_module), as steps:
    yields the GccRun, returns the BuiltFile."""
    cx, state, names = _build(irs, helpers, opt_level)
    yield GccRun(cx.ctx, path)
    error = cx.ctx.get_first_error()
    if error or not _access(path, _F_OK):
        raise BackendError(f"libgccjit: {error or 'no output written'}")
    return BuiltFile(path, names, state)


def build_to_file(irs: list[IrCFG], helpers: dict[str, int], opt_level: int,
                  path: str) -> BuiltFile:
    return run_steps(build_to_file_steps(irs, helpers, opt_level, path))


def load_file(path: str, names: list[str], values: list[int], keepalive,
              deopt_reasons: list[str], deopt_sites=None, deopt_offsets=None) -> GccModule:
    """dlopen a shared object written by build_to_file and fill its links. Raises
    OSError when it is not loadable. Never closed, as ctypes.CDLL (whose objects and
    per-library types this avoids)."""
    handle = _ctypes.dlopen(path, os.RTLD_NOW | os.RTLD_LOCAL)
    return GccModule(handle, {n: _ctypes.dlsym(handle, n) for n in names},
                     _ctypes.dlsym(handle, FILL_FUNCTION), values, keepalive, deopt_reasons,
                     deopt_sites, deopt_offsets)


def dump_text(irs: list[IrCFG], helpers: dict[str, int], kind: str, opt_level: int = 2) -> str:
    """'c': the C-like code libgccjit reports; 'asm': the generated assembly."""
    cx, state, names = _build(irs, helpers, opt_level)
    with tempfile.TemporaryDirectory(prefix="coconut-dump-") as tmp:
        path = os.path.join(tmp, "out")
        if kind == "c":
            cx.ctx.dump_to_file(path.encode(), False)
        else:
            with preserved_signal_handlers():
                cx.ctx.compile_to_file(gccjit.OutputKind.ASSEMBLER, path.encode())
        with open(path) as f:
            return f.read()
