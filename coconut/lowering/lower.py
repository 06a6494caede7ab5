"""The lowering driver: walks the BytecodeCFG and calls each opcode's rule.

Only this driver maps the value stack to IR values: slot `s<i>` holds stack entry i.
Rules get their inputs as values and return their outputs; the driver moves outputs
into slots. Native code is entered only at the start of the function and never
unwinds, so exception handler blocks are unreachable in the IR: lowered like any
block (most deopt at their first instruction), then pruned.
"""
from __future__ import annotations

from ..frontend import BytecodeCFG, Instruction
from ..ir import ops
from ..ir.cfg import IrCFG
from ..backend.capi import CAPI
from ..runtime import layout as L
from . import caches
from .registry import OPCODES, NOT_NATIVE


def slot(i: int) -> ops.Var:
    return ops.Var(f"s{i}")


def block_name(offset: int) -> str:
    return f"b{offset}"


class Builder:
    """What an opcode rule uses to emit IR for one instruction."""

    def __init__(self, ir: IrCFG, cfg: BytecodeCFG, cache_forms: dict | None = None):
        self.ir = ir
        self.cfg = cfg
        self.code = cfg.code
        self.current = None
        self.ins: Instruction | None = None
        self.base = 0                     # stack depth below the current inputs
        self.inputs: list = []
        self.pending_kwnames = None       # set by KW_NAMES for the next CALL
        self._ntemps = 0
        self._exits: dict = {}
        self.eval_breaker = L.eval_breaker_address()
        self._always_bound = None
        self._code_object: ops.Var | None = None
        # {offset: specialized form} with an inline-cache fast path (caches.snapshot)
        self.cache_forms = cache_forms or {}
        self.count_at: int | None = None

    # -- values --------------------------------------------------------------------
    def temp(self, ctype: str = "obj", hint: str = "t") -> ops.Var:
        self._ntemps += 1
        return ops.Var(f"{hint}{self._ntemps}", ctype)

    def const(self, obj) -> ops.ObjConst:
        return ops.ObjConst(obj)

    @staticmethod
    def int(value: int, ctype: str = "int") -> ops.IntConst:
        return ops.IntConst(value, ctype)

    def code_object(self) -> ops.Var:
        """frame->f_code (the code this function was compiled from: its
        co_code_adaptive holds the interpreter's inline caches), loaded once on entry."""
        if self._code_object is None:
            self._code_object = ops.Var("code_object", "ptr")
            self.ir.blocks[self.ir.entry].ops.insert(
                0, ops.Load(self._code_object, ops.Var("frame", "ptr"), L.FRAME_CODE))
        return self._code_object

    def emit(self, op) -> None:
        self.current.ops.append(op)

    def call(self, func: str, *args) -> ops.Var:
        kind, ctype, params = CAPI[func]
        assert len(args) == len(params), f"{func} takes {len(params)} arguments"
        dst = self.temp(ctype)
        self.emit(ops.CallC(dst, func, tuple(args)))
        return dst

    def call_void(self, func: str, *args) -> None:
        self.emit(ops.CallC(None, func, tuple(args)))

    def load(self, ctype: str, base, offset: int) -> ops.Var:
        dst = self.temp(ctype)
        self.emit(ops.Load(dst, base, offset))
        return dst

    def incref(self, *values) -> None:
        for v in values:
            self.emit(ops.Incref(v))

    def decref(self, *values) -> None:
        for v in values:
            self.emit(ops.Decref(v))

    def xdecref(self, value) -> None:
        self.emit(ops.Decref(value, maybe_null=True))

    # -- control flow ----------------------------------------------------------------
    def new_block(self, hint: str):
        return self.ir.new_block(f"{block_name(self.ins.offset)}.{hint}")

    def terminate(self, terminator) -> None:
        self.current.terminator = terminator
        self.current = None

    def split(self, cond: ops.Cond, if_true: str, hint: str = "cont") -> None:
        """End the block with `if (cond) goto if_true`; go on in a new block."""
        cont = self.new_block(hint)
        self.terminate(ops.Branch(cond, if_true, cont.name))
        self.current = cont

    def select(self, cond: ops.Cond, if_true, if_false, ctype: str = "obj") -> ops.Var:
        """dst = cond ? if_true : if_false."""
        dst = self.temp(ctype)
        t, f, join = self.new_block("then"), self.new_block("else"), self.new_block("join")
        self.terminate(ops.Branch(cond, t.name, f.name))
        t.ops.append(ops.Assign(dst, if_true)); t.terminator = ops.Jump(join.name)
        f.ops.append(ops.Assign(dst, if_false)); f.terminator = ops.Jump(join.name)
        self.current = join
        return dst

    @property
    def nlocalsplus(self) -> int:
        return self.ir.nlocalsplus

    def may_be_unbound(self, index: int) -> bool:
        """Whether local `index` can be NULL when read: arguments are bound on entry
        and only DELETE_FAST unbinds them (a debugger writing f_locals runs with
        tracing on, which sends the frame to the interpreter)."""
        if self._always_bound is None:
            code = self.code
            nargs = (code.co_argcount + code.co_kwonlyargcount
                     + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08))
            deleted = {i.arg for i in self.cfg.instructions if i.name == "DELETE_FAST"}
            cells = set(code.co_cellvars)
            self._always_bound = {i for i in range(nargs)
                                  if i not in deleted and code.co_varnames[i] not in cells}
        return index not in self._always_bound

    def stack_below(self) -> tuple:
        """The stack under the current instruction's inputs."""
        return tuple(slot(i) for i in range(self.base))

    def assign_and_jump(self, dst, src, target: str) -> str:
        """A block doing `dst = src; goto target` (to join values from two paths)."""
        blk = self.new_block("assign")
        blk.ops.append(ops.Assign(dst, src))
        blk.terminator = ops.Jump(target)
        return blk.name

    def check_eval_breaker(self, outputs: tuple, error_at: int, resume_at: int) -> None:
        """After an instruction that may run arbitrary code: if the eval breaker is
        set or tracing was turned on, let the runtime handle it (signals, pending
        calls, letting other threads run); it may ask to leave for the interpreter."""
        cont = self.new_block("go_on")
        self._eval_breaker_check(self.current, self.stack_below() + tuple(outputs),
                                 error_at, resume_at, cont.name)
        self.current = cont

    def _eval_breaker_check(self, block, stack, error_at, resume_at, cont: str) -> None:
        flag = self.temp("int", "breaker")
        cframe = self.temp("ptr", "cframe")
        tracing = self.temp("byte", "tracing")
        slow, check_tracing = self.new_block("breaker"), self.new_block("check_tracing")
        block.ops.append(ops.Load(flag, ops.Address("eval_breaker", self.eval_breaker), 0))
        block.terminator = ops.Branch(ops.Cond("!=", flag, self.int(0)), slow.name,
                                      check_tracing.name)
        check_tracing.ops += [ops.Load(cframe, ops.Var("tstate", "ptr"), L.TS_CFRAME),
                              ops.Load(tracing, cframe, L.CFRAME_USE_TRACING)]
        check_tracing.terminator = ops.Branch(ops.Cond("!=", tracing, self.int(0, "byte")),
                                              slow.name, cont)
        verdict = self.temp("int", "verdict")
        leave = self.new_block("leave")
        slow.ops.append(ops.CallC(verdict, "coconut_eval_breaker", (ops.Var("tstate", "ptr"),)))
        slow.terminator = ops.Branch(ops.Cond("==", verdict, self.int(0)), cont, leave.name)
        error = self.new_block("breaker_error")
        error.terminator = ops.ErrorExit(error_at, stack)
        deopt = self.new_block("breaker_deopt")
        deopt.terminator = ops.Deopt(resume_at, stack, "eval breaker or tracing")
        leave.terminator = ops.Branch(ops.Cond("<", verdict, self.int(0)), error.name, deopt.name)

    def _exit_block(self, key, terminator) -> str:
        if key not in self._exits:
            blk = self.ir.new_block(f"{key[0]}{key[1]}_{key[2]}")
            blk.terminator = terminator
            self._exits[key] = blk.name
        return self._exits[key]

    def error_if(self, cond: ops.Cond, keep: tuple = ()) -> None:
        """If `cond`, an exception is set: leave through the error exit. The inputs
        must be released (or listed in `keep`, which go back on the stack)."""
        stack = self.stack_below() + tuple(keep)
        if keep:
            blk = self.new_block("error")
            blk.terminator = ops.ErrorExit(self.ins.offset, stack)
            target = blk.name
        else:
            target = self._exit_block(("error", self.ins.offset, len(stack)),
                                      ops.ErrorExit(self.ins.offset, stack))
        self.split(cond, target)

    def error_if_null(self, value, keep: tuple = ()) -> None:
        self.error_if(ops.Cond("==", value, ops.NULL), keep)

    def error_if_negative(self, value, keep: tuple = ()) -> None:
        self.error_if(ops.Cond("<", value, self.int(0)), keep)

    def deopt_if(self, cond: ops.Cond, reason: str) -> None:
        """If `cond`, resume the interpreter at this instruction (inputs untouched)."""
        stack = self.stack_below() + tuple(self.inputs)
        target = self._exit_block(("deopt", self.ins.offset, len(stack)),
                                  ops.Deopt(self.ins.offset, stack, reason))
        self.split(cond, target)

    def jump_edge(self, values: tuple = ()) -> str:
        """A block that moves `values` into the stack slots and jumps to the target."""
        target = self.ins.jump_target
        backward = target <= self.ins.offset and self.ins.name != "JUMP_BACKWARD_NO_INTERRUPT"
        if not values and not backward:
            return block_name(target)
        blk = self.new_block("jump")
        blk.ops.extend(_moves(self, self.base, values))
        if backward:
            # ceval checks the eval breaker after a backward jump: an error there has
            # prev_instr at the jump (its traceback line); a deopt resumes at the target.
            stack = tuple(slot(i) for i in range(self.base + len(values)))
            self._eval_breaker_check(blk, stack, self.ins.offset, target, block_name(target))
        else:
            blk.terminator = ops.Jump(block_name(target))
        return blk.name

    def branch_to_target(self, cond: ops.Cond, values: tuple = ()) -> None:
        """If `cond`, take the jump (with `values` on the stack); else fall through."""
        self.split(cond, self.jump_edge(values), hint="fall")

    def goto_target(self, values: tuple = ()) -> None:
        self.terminate(ops.Jump(self.jump_edge(values)))


def _moves(b: Builder, base: int, values) -> list:
    """Parallel move of `values` into slots base, base+1, ... (through temps when a
    source is a slot that an earlier move would overwrite)."""
    moves = [(slot(base + i), v) for i, v in enumerate(values) if v != slot(base + i)]
    dsts = {d for d, _ in moves}
    if any(src in dsts for _, src in moves):
        temps = [(b.temp(), src) for _, src in moves]
        return ([ops.Assign(t, src) for t, src in temps]
                + [ops.Assign(d, t) for (d, _), (t, _) in zip(moves, temps)])
    return [ops.Assign(d, src) for d, src in moves]


def first_non_native(cfg: BytecodeCFG) -> Instruction | None:
    """The first reachable instruction that would deopt because it is not lowered."""
    for block in cfg.reachable_blocks():
        for ins in block.instructions:
            if ins.name not in OPCODES:
                return ins
    return None


def lower(cfg: BytecodeCFG, count_at: int | None = None,
          cache_forms: dict | None = None, avoid: frozenset = frozenset()) -> IrCFG:
    """count_at: the address of a counter of instructions run natively (statistics);
    cache_forms: the instructions with inline-cache fast paths, by offset (default:
    caches.snapshot(cfg), the interpreter's specializations now); avoid: bytecode
    offsets of speculation sites whose guards failed too often (`ops.Deopt.site`):
    they get the generic path."""
    code = cfg.code
    ir = IrCFG(code.co_qualname, L.nlocalsplus(code), code)
    b = Builder(ir, cfg, caches.snapshot(cfg) if cache_forms is None else cache_forms)
    b.count_at = count_at
    b.avoid = frozenset(avoid)
    entry = ir.new_block("entry")
    entry.terminator = ops.Jump(block_name(0))
    blocks = {start: ir.new_block(block_name(start), comment=f"bytecode block, depth {blk.depth}")
              for start, blk in cfg.blocks.items() if blk.depth is not None}
    for start, ir_block in blocks.items():
        b.current = ir_block
        for ins in cfg.blocks[start].instructions:
            if not _lower_instruction(b, ins):
                break
        if b.current is not None:
            nxt = cfg.blocks[start].last.next_offset
            b.terminate(ops.Jump(block_name(nxt)))
    return ir


def _lower_instruction(b: Builder, ins: Instruction) -> bool:
    """Emit one instruction; False when control does not go on to the next one."""
    rule = OPCODES.get(ins.name)
    depth = ins.depth_before
    b.ins = ins
    b.emit(ops.SetInstr(ins.offset, ins.name))
    if b.count_at is not None and rule is not None:
        # Statistics: one more instruction run natively (a guard that deopts later
        # in this instruction makes the interpreter count it again).
        n = b.temp("ssize", "count")
        counter = ops.Address("native_instructions", b.count_at)
        b.emit(ops.Load(n, counter, 0))
        b.emit(ops.BinArith(n, "+", n, ops.IntConst(1, "ssize")))
        b.emit(ops.Store(counter, 0, n, "ssize"))
    if rule is None:
        reason = NOT_NATIVE.get(ins.name, "not lowered yet")
        b.terminate(ops.Deopt(ins.offset, tuple(slot(i) for i in range(depth)),
                              f"{ins.name}: {reason}"))
        return False
    n_in, n_out = rule.signature.counts(ins.arg)
    b.base = depth - n_in
    b.inputs = [slot(i) for i in range(b.base, depth)]
    outputs = rule.lower(b, ins, *rule.signature.split_inputs(b.inputs, ins.arg))
    if b.current is None:
        return False
    outputs = tuple(outputs or ())
    assert len(outputs) == n_out, f"{ins.name} returned {len(outputs)} values, not {n_out}"
    assert b.base + n_out == ins.depth_after, f"{ins}: stack signature disagrees with bytecode"
    b.current.ops.extend(_moves(b, b.base, outputs))
    return True

