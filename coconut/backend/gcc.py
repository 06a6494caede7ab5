"""IrCFG -> libgccjit.

Each IrCFG becomes one C function `PyObject *f(PyThreadState *, _PyInterpreterFrame *,
int throwflag)` working on the live interpreter frame. The frame protocol lives
here, in one place each: the prologue (link the frame, count the recursion), `Return`,
`Deopt` and `ErrorExit` (spill the stack, name the instruction, unlink, hand the frame
to `_PyEval_EvalFrameDefault`). Several functions can share one context (one gcc run).
"""
from __future__ import annotations

import ctypes
import os
import tempfile

import gccjit

from ..ir import ops
from ..ir.cfg import IrCFG
from ..runtime import layout as L
from .capi import CAPI

T = gccjit.TypeKind
CMP = {"==": gccjit.Comparison.EQ, "!=": gccjit.Comparison.NE, "<": gccjit.Comparison.LT,
       "<=": gccjit.Comparison.LE, ">": gccjit.Comparison.GT, ">=": gccjit.Comparison.GE}
ARITH = {"+": gccjit.BinaryOp.PLUS, "-": gccjit.BinaryOp.MINUS, "*": gccjit.BinaryOp.MULT,
         "&": gccjit.BinaryOp.BITWISE_AND, "|": gccjit.BinaryOp.BITWISE_OR,
         "^": gccjit.BinaryOp.BITWISE_XOR, "/": gccjit.BinaryOp.DIVIDE,
         "<<": 10, ">>": 11}   # the binding's enum lacks shifts; these are GCC_JIT_BINARY_OP_*


class BackendError(Exception):
    """libgccjit rejected what we gave it (a compiler bug)."""


class GccModule:
    """Compiled code: function addresses, kept alive with what they point at."""

    def __init__(self, result, names, keepalive, counters, deopt_reasons):
        self.result = result
        self.addresses = {n: result.get_code(n.encode()) for n in names}
        self.keepalive = keepalive
        self.counters = counters            # ctypes array of deopt counts, per site
        self.deopt_reasons = deopt_reasons  # site index -> reason

    def deopt_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i, reason in enumerate(self.deopt_reasons):
            if self.counters[i]:
                counts[reason] = counts.get(reason, 0) + self.counters[i]
        return counts


class _Context:
    """A gccjit context with the C types and imported functions we use."""

    def __init__(self, opt_level: int = 2):
        self.ctx = c = gccjit.Context()
        c.set_int_option(gccjit.IntOption.OPTIMIZATION_LEVEL, opt_level)
        self.void = c.get_type(T.VOID)
        self.types = {
            "obj": c.get_type(T.VOID_PTR), "ptr": c.get_type(T.VOID_PTR),
            "int": c.get_type(T.INT), "ssize": c.get_type(T.LONG),
            "byte": c.get_type(T.UNSIGNED_CHAR), "double": c.get_type(T.DOUBLE),
        }
        self.size_t = c.get_type(T.SIZE_T)
        self.char_p = c.get_type(T.CHAR).get_pointer()
        self.imported: dict = {}
        self.helpers: dict[str, int] = {}

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
        if name in self.helpers:       # coconut's runtime helpers, by address
            fptr = self.ctx.new_function_ptr_type(self.t(ret), [self.t(p) for p in params])
            return self.ctx.new_call_through_ptr(
                self.ctx.new_rvalue_from_ptr(fptr, self.helpers[name]), args)
        return self.ctx.new_call(self.imported_function(name), args)

    def cast(self, rvalue, ctype: str):
        want = self.t(ctype)
        return rvalue if rvalue.get_type() == want else self.ctx.new_cast(rvalue, want)

    def int(self, value: int, ctype: str = "int"):
        if ctype in ("obj", "ptr"):
            return self.ctx.new_rvalue_from_ptr(self.types[ctype], value) if value else \
                self.ctx.null(self.types[ctype])
        if -2**31 <= value < 2**31:
            return self.ctx.new_rvalue_from_int(self.t(ctype), value)
        # new_rvalue_from_int takes a C int: build wider constants from two halves.
        hi = self.ctx.new_rvalue_from_int(self.t(ctype), value >> 32)
        lo = self.ctx.new_rvalue_from_int(self.t(ctype), value & 0xFFFFFFFF)
        shifted = self.ctx.new_binary_op(10, self.t(ctype), hi, self.ctx.new_rvalue_from_int(self.t(ctype), 32))
        return self.ctx.new_binary_op(gccjit.BinaryOp.BITWISE_OR, self.t(ctype), shifted, lo)

    def field(self, base, offset: int, ctype: str):
        """The lvalue *(ctype *)((char *)base + offset)."""
        addr = self.ctx.new_array_access(self.ctx.new_cast(base, self.char_p),
                                         self.ctx.new_rvalue_from_int(self.types["int"], offset))
        return self.ctx.new_cast(addr.get_address(), self.t(ctype).get_pointer()).dereference()


class _FunctionEmitter:
    def __init__(self, cx: _Context, ir: IrCFG, fname: str, module_state):
        self.cx, self.ir, self.c = cx, ir, cx.ctx
        self.state = module_state
        vp, it = cx.types["ptr"], cx.types["int"]
        self.params = [self.c.new_param(vp, b"tstate"), self.c.new_param(vp, b"frame"),
                       self.c.new_param(it, b"throwflag")]
        self.fn = self.c.new_function(gccjit.FunctionKind.EXPORTED, cx.types["obj"],
                                      fname.encode(), self.params)
        self.tstate, self.frame = self.params[0], self.params[1]
        self.locals = {}
        self._nblocks = 0
        self.code = ir.code
        self.nlp = ir.nlocalsplus
        max_args = max([len(op.args) for b in ir.blocks.values() for op in b.ops
                        if isinstance(op, ops.CallVectorcall)] +
                       [len(op.values) for b in ir.blocks.values() for op in b.ops
                        if isinstance(op, ops.CallArray)] + [0])
        self.scratch = (self.fn.new_local(self.c.new_array_type(vp, max_args + 1), b"scratch")
                        if max_args else None)

    # -- values --------------------------------------------------------------------
    def var(self, v: ops.Var):
        if v.name == "tstate":
            return self.tstate
        if v.name == "frame":
            return self.frame
        if v.name not in self.locals:
            self.locals[v.name] = self.fn.new_local(self.cx.t(v.ctype), v.name.encode())
        return self.locals[v.name]

    def rv(self, v):
        if isinstance(v, ops.Var):
            return self.var(v)
        if isinstance(v, ops.IntConst):
            return self.cx.int(v.value, v.ctype)
        if isinstance(v, ops.ObjConst):
            self.state.keepalive.append(v.obj)
            return self.c.new_rvalue_from_ptr(self.cx.types["obj"], id(v.obj))
        if isinstance(v, ops.Address):
            return self.cx.int(v.value, "ptr")
        if isinstance(v, ops.AddressOf):
            return self.c.new_cast(self.var(v.var).get_address(), self.cx.types["ptr"])
        raise BackendError(f"not a value: {v!r}")

    def new_block(self, hint: str):
        self._nblocks += 1
        return self.fn.new_block(f"{hint}_{self._nblocks}".encode())

    def frame_field(self, offset: int, ctype: str):
        return self.cx.field(self.frame, offset, ctype)

    def unit_address(self, offset: int):
        return self.cx.int(L.code_unit_address(self.code, offset), "ptr")

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
            blk.end_with_conditional(self.cond(t.cond), blocks[t.if_true], blocks[t.if_false])
        elif isinstance(t, ops.Return):
            value = cx.cast(self.rv(t.value), "obj")
            result = self.fn.new_local(cx.types["obj"], f"retval_{self._nblocks}".encode())
            self._nblocks += 1
            blk.add_assignment(result, value)
            self.unlink(blk)
            blk.end_with_return(result)
        elif isinstance(t, (ops.Deopt, ops.ErrorExit)):
            self.spill(blk, t.stack)
            if isinstance(t, ops.Deopt):
                # Resume before `resume`: the interpreter runs prev_instr + 1 next.
                site = len(self.state.deopt_reasons)
                self.state.deopt_reasons.append(t.reason)
                blk.add_assignment_op(cx.field(cx.int(self.state.counters_address, "ptr"),
                                               8 * site, "ssize"),
                                      gccjit.BinaryOp.PLUS, cx.int(1, "ssize"))
                prev, throwflag = L.code_unit_address(self.code, t.resume) - 2, 0
            else:
                prev, throwflag = L.code_unit_address(self.code, t.offset), 1
            blk.add_assignment(self.frame_field(L.FRAME_PREV_INSTR, "ptr"), cx.int(prev, "ptr"))
            self.unlink(blk)
            blk.end_with_return(cx.call("_PyEval_EvalFrameDefault",
                                        [self.tstate, self.frame, cx.int(throwflag)]))
        else:
            raise BackendError(f"unknown terminator {t!r}")

    def cond(self, cond: ops.Cond):
        a, b = self.rv(cond.a), self.rv(cond.b)
        if a.get_type() != b.get_type():
            b = self.c.new_cast(b, a.get_type())
        return self.c.new_comparison(CMP[cond.op], a, b)

    def emit_op(self, blk, op):
        c, cx = self.c, self.cx
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
        elif isinstance(op, ops.CallC):
            call = cx.call(op.func, [self.rv(a) for a in op.args])
            if op.dst is None:
                blk.add_eval(call)
            else:
                blk.add_assignment(self.var(op.dst), call)
        elif isinstance(op, ops.CallVectorcall):
            self.emit_vectorcall(blk, op)
        elif isinstance(op, ops.CallArray):
            for i, v in enumerate(op.values):
                blk.add_assignment(self.scratch_slot(i), cx.cast(self.rv(v), "obj"))
            args = [self.rv(a) for a in op.before] + [
                self.scratch_slot(0).get_address(), cx.int(len(op.values), "ssize")]
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
        offset_flag = c.new_binary_op(10, self.cx.size_t, c.new_rvalue_from_int(self.cx.size_t, 1),
                                      c.new_rvalue_from_int(self.cx.size_t, 63))
        nargsf = c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, self.cx.size_t,
                                 c.new_cast(nargs, self.cx.size_t), offset_flag)
        fn = self.vectorcall_function()
        blk.add_assignment(self.var(op.dst), c.new_call(fn, [
            cx.cast(self.rv(op.callable), "obj"), c.new_cast(argv, cx.types["ptr"]), nargsf,
            cx.cast(self.rv(op.kwnames), "obj")]))

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


class _ModuleState:
    def __init__(self, n_deopt_sites: int):
        self.keepalive: list = []
        self.deopt_reasons: list[str] = []
        self.counters = (ctypes.c_long * max(1, n_deopt_sites))()
        self.counters_address = ctypes.addressof(self.counters)


def _build(irs: list[IrCFG], helpers: dict[str, int], opt_level: int):
    cx = _Context(opt_level)
    cx.helpers = helpers
    state = _ModuleState(sum(isinstance(b.terminator, ops.Deopt)
                             for ir in irs for b in ir.blocks.values()))
    names = []
    for i, ir in enumerate(irs):
        name = f"coconut_{i}_{ir.code.co_name}" if ir.code.co_name.isidentifier() else f"coconut_{i}"
        _FunctionEmitter(cx, ir, name, state).emit()
        names.append(name)
    return cx, state, names


def build_module(irs: list[IrCFG], helpers: dict[str, int], opt_level: int = 2) -> GccModule:
    cx, state, names = _build(irs, helpers, opt_level)
    result = cx.ctx.compile()
    if result is None:
        raise BackendError(f"libgccjit: {cx.ctx.get_first_error()}")
    return GccModule(result, names, state.keepalive, state.counters, state.deopt_reasons)


def dump_text(irs: list[IrCFG], helpers: dict[str, int], kind: str, opt_level: int = 2) -> str:
    """'c': the C-like code libgccjit reports; 'asm': the generated assembly."""
    cx, state, names = _build(irs, helpers, opt_level)
    with tempfile.TemporaryDirectory(prefix="coconut-dump-") as tmp:
        path = os.path.join(tmp, "out")
        if kind == "c":
            cx.ctx.dump_to_file(path.encode(), False)
        else:
            cx.ctx.compile_to_file(gccjit.OutputKind.ASSEMBLER, path.encode())
        with open(path) as f:
            return f.read()
