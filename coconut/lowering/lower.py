"""The lowering driver: walks the BytecodeCFG and calls each opcode's rule.

Only this driver maps the value stack to IR values: slot `s<i>` holds stack entry i
(`s<i>f` / `s<i>i` / `s<i>b` when it is an unboxed float / int / bool: see types.py).
Rules get their inputs as values and return their outputs; the driver moves outputs
into slots. The optimizing tier's type analysis (types.py) gives every block its entry
state (the kind of each local and stack entry); an instruction with a typed plan is
lowered by typed.py, any other by its generic rule, after the driver has boxed its
inputs and materialized every unboxed local into the frame (anything may look then).
Edges convert the state at their source into the state their target expects. Native code is entered only at the start of the function and never
unwinds, so exception handler blocks are unreachable in the IR: lowered like any
block (most deopt at their first instruction), then pruned.
"""
from __future__ import annotations

import os

from ..frontend import BytecodeCFG, Instruction
from ..ir import ops
from ..ir.cfg import IrCFG
from ..backend.capi import CAPI
from ..runtime import layout as L
from . import caches
from ..runtime import feedback as _feedback
from ..runtime.virtual import SYNC
from . import types as T
from .registry import OPCODES, NOT_NATIVE

_SUFFIX = {T.OBJ: "", T.FLOAT: "f", T.INT: "i", T.BOOL: "b"}
# Boxing an unboxed value: the C function and its argument's kind.
BOX = {"f64": "PyFloat_FromDouble", "i64": "PyLong_FromLong", "cbool": "PyBool_FromLong"}
# Exact types whose deallocator runs no code of the program (float's free list, int's
# PyObject_Free, str's, interned or not): freeing one is no observation point.
PLAIN_DEALLOC = (int, float, str)


def branch_if_plain(blk, tp, plain: str, other: str, new_block) -> None:
    """End `blk` with the tests of the type `tp` against PLAIN_DEALLOC: to `plain` on
    a match, else to `other` (`new_block(hint)` makes the blocks between the tests)."""
    for pytype in PLAIN_DEALLOC[:-1]:
        nxt = new_block("not_" + pytype.__name__)
        blk.terminator = ops.Branch(ops.Cond("==", tp, ops.ObjConst(pytype)), plain, nxt.name)
        blk = nxt
    blk.terminator = ops.Branch(ops.Cond("==", tp, ops.ObjConst(PLAIN_DEALLOC[-1])),
                                plain, other)


def slot(i: int, kind: str = T.OBJ) -> ops.Var:
    return ops.Var(f"s{i}{_SUFFIX[kind]}", T.CTYPE[kind])


def home(i: int, kind: str) -> ops.Var:
    """The C variable holding local i while it is unboxed."""
    return ops.Var(f"l{i}{_SUFFIX[kind]}", T.CTYPE[kind])


def synced(i: int) -> ops.Var:
    """1 while local i's frame slot holds its home's value boxed (only for the locals
    that may stay unsynced after a store: `Context.virtual`). Where the analysis says
    a local is unsynced, some paths may have boxed it meanwhile (a slow path, one arm
    of a branch): materializing checks this flag and boxes only what is stale."""
    return ops.Var(f"l{i}sync", "cbool")


def defined(i: int) -> ops.Var:
    """1 while home(i) holds local i's value (only for locals that may be undefined)."""
    return ops.Var(f"l{i}ok", "cbool")


class _At:
    def __init__(self, b, block):
        self.b, self.block = b, block

    def __enter__(self):
        self.saved, self.b.current = self.b.current, self.block
        return self.block

    def __exit__(self, *exc):
        self.b.current = self.saved


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
        self.count_trace: int | None = None
        self.avoid = frozenset()
        self.state: T.State | None = None         # kinds before the current instruction
        self.entry_states: dict[int, T.State] = {}
        self.jump_state: T.State | None = None     # after the current instruction's jump
        self.tcx: T.Context | None = None
        self.typed_ins = False                     # lowering a typed plan
        self.undef_locals: set[int] = set()        # locals with a `defined` flag
        self._tails: dict = {}
        self.inline_depth = 0                      # > 0: lowered to be inlined (inline.py)
        self.inline_refused: str | None = None     # why it is not worth inlining

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

    def emit_all(self, ops_) -> None:
        self.current.ops.extend(ops_)

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
            self._decref(v, False)

    def xdecref(self, value) -> None:
        self._decref(value, True)

    def _decref(self, value, maybe_null: bool) -> None:
        """Py_DECREF / Py_XDECREF. A deallocation may run Python code (__del__, weakref
        callbacks) that looks at the frame: while locals are unboxed and not synced,
        the dealloc path materializes them first."""
        unsynced = self.state.unsynced() if self.state is not None else []
        if not unsynced:
            if self.typed_ins:                 # (typed rules set no prev_instr otherwise)
                self.emit(ops.SetInstr(self.ins.offset, self.ins.name))
            self.emit(ops.Decref(value, maybe_null))
            return
        after = self.new_block("decref_done")
        if maybe_null:
            self.split(ops.Cond("==", value, ops.NULL), after.name, hint="xdecref")
        rc = self.load("ssize", value, L.OB_REFCNT)
        self.emit(ops.BinArith(rc, "-", rc, ops.IntConst(1, "ssize")))
        self.emit(ops.Store(value, L.OB_REFCNT, rc, "ssize"))
        dealloc = self.new_block("dealloc")
        self.terminate(ops.Branch(ops.Cond("==", rc, ops.IntConst(0, "ssize")),
                                  dealloc.name, after.name))
        self.current = dealloc
        # An exact int, float or str runs no code as it is freed (nothing can look at
        # the frame): no materialization for those, the commonest garbage of a typed
        # loop (a float box it replaced; MonteCarlo boxed its int counter for each).
        tp = self.load("ptr", value, L.OB_TYPE)
        plain, observed = self.new_block("plain_dealloc"), self.new_block("observed_dealloc")
        branch_if_plain(self.current, tp, plain.name, observed.name, self.new_block)
        self.current = observed
        with self.at(plain):
            self.emit(ops.CallC(None, "_Py_Dealloc", (value,)))
            self.terminate(ops.Jump(after.name))
        self.emit_materialize(unsynced)
        self.emit(ops.SetInstr(self.ins.offset, self.ins.name))   # for __del__
        self.emit(ops.CallC(None, "_Py_Dealloc", (value,)))
        self.terminate(ops.Jump(after.name))
        self.current = after

    # -- unboxed locals ----------------------------------------------------------------
    def emit_materialize(self, indices, state=None) -> None:
        """Box each unboxed local in `indices` into its frame slot (the stale box there,
        a float or an int or NULL, is released: no code runs). A local whose home may
        be undefined (LocalState.undef) is boxed only when its `defined` flag is set
        (otherwise the frame is exact already)."""
        state = state or self.state
        for i in indices:
            ls = state.locals[i]
            checks = []
            if ls.undef:
                checks.append(ops.Cond("!=", defined(i), ops.IntConst(0, "cbool")))
            if i in self.tcx.virtual:
                checks.append(ops.Cond("==", synced(i), ops.IntConst(0, "cbool")))
            if checks:
                skip = self.new_block("materialized")
                for cond in checks:
                    do = self.new_block("materialize")
                    self.current.terminator = ops.Branch(cond, do.name, skip.name)
                    self.current = do
            if self.inline_depth:      # inline.py turns the frame's slots into variables
                box, old = self.temp("obj", "box"), self.temp("obj", "stale")
                self.emit_all([ops.CallC(box, BOX[T.CTYPE[ls.kind]], (home(i, ls.kind),)),
                               ops.LoadLocal(old, i), ops.StoreLocal(i, box),
                               ops.Decref(old, True)])
            else:                      # one call on a cold path (runtime/virtual.py)
                self.emit(ops.CallC(None, SYNC[T.CTYPE[ls.kind]][0],
                                    (ops.Var("frame", "ptr"), ops.IntConst(i, "ssize"),
                                     home(i, ls.kind))))
            self.mark_synced(i)
            if checks:
                self.current.terminator = ops.Jump(skip.name)
                self.current = skip

    def mark_synced(self, local: int) -> None:
        """The frame's slot now holds the home's value boxed (see `synced`)."""
        if local in self.tcx.virtual:
            self.emit(ops.Assign(synced(local), ops.IntConst(1, "cbool")))

    def materialize_all(self) -> None:
        """Make the frame exact before anything may look at it (the state says so)."""
        unsynced = self.state.unsynced()
        if unsynced:
            self.emit_materialize(unsynced)
            self.state = self.state.all_synced()

    def observe_slow(self) -> None:
        """On a slow path that may run code: name the instruction (f_lineno) and
        materialize, but leave the state alone (the fast path did not). Code lowered to
        be inlined has no frame to show: it deopts there instead (the inputs are still
        untouched where a slow path starts), and the rest of the slow path is emitted
        into a block nothing reaches (pruned)."""
        if self.inline_depth:
            self.terminate(ops.Jump(self.deopt_block("inlined: a slow path may run code")))
            self.current = self.new_block("unreachable")
            return
        self.emit(ops.SetInstr(self.ins.offset, self.ins.name))
        if self.state is not None and self.state.unsynced():
            self.emit_materialize(self.state.unsynced())

    def define(self, local: int, kind: str, value) -> None:
        """home(local) = value: the local is defined (its flag, where it has one); its
        frame slot is stale until it is boxed there (`mark_synced`)."""
        self.emit(ops.Assign(home(local, kind), value))
        if local in self.undef_locals:
            self.emit(ops.Assign(defined(local), ops.IntConst(1, "cbool")))
        if local in self.tcx.virtual:
            self.emit(ops.Assign(synced(local), ops.IntConst(0, "cbool")))

    def at(self, block):
        """Emit into `block` for a while: `with b.at(blk): ...` (restores current)."""
        return _At(self, block)

    def stack_kind(self, i: int) -> str:
        return self.state.stack[i].kind if self.state is not None else T.OBJ

    def box(self, value, item: "T.Item"):
        """A new reference to `value` (of `item`'s kind) as an object: the constant or
        the frame's box when it is a copy of one (identity as in the interpreter)."""
        if item.kind == T.OBJ:
            return value
        prov = item.prov
        if prov and prov[0] == "const":
            const = self.const(prov[1])
            self.incref(const)
            return const
        if prov and prov[0] == "local":
            ls = self.state.locals[prov[1]]
            if ls.kind == item.kind and not ls.synced:
                # Materialize it to lend its box (types.after marks it synced too).
                self.emit_materialize([prov[1]])
                self.state = self.state.with_local(prov[1], T.LocalState(ls.kind, True))
                ls = self.state.locals[prov[1]]
            if ls.kind == item.kind and ls.synced:
                obj = self.temp()
                self.emit(ops.LoadLocal(obj, prov[1]))
                self.incref(obj)
                return obj
        return self.call(BOX[T.CTYPE[item.kind]], value)

    # -- control flow ----------------------------------------------------------------
    def new_block(self, hint: str):
        return self.ir.new_block(f"{block_name(self.ins.offset)}.{hint}")

    def terminate(self, terminator) -> None:
        if isinstance(terminator, (ops.Deopt, ops.ErrorExit)):
            self.emit_exit_materialize()
        self.current.terminator = terminator
        self.current = None

    def emit_exit_materialize(self) -> None:
        """Before leaving native code: materialize the unsynced locals (the unboxed
        stack is boxed by `box_exit_stacks` once the function is lowered)."""
        if self.state is not None and self.state.unsynced():
            self.emit_materialize(self.state.unsynced())

    def exit_block(self, hint: str, terminator) -> str:
        blk = self.new_block(hint)
        with self.at(blk):
            self.terminate(terminator)
        return blk.name

    def split(self, cond: ops.Cond, if_true: str, hint: str = "cont") -> None:
        """End the block with `if (cond) goto if_true`; go on in a new block."""
        cont = self.new_block(hint)
        self.terminate(ops.Branch(cond, if_true, cont.name))
        self.current = cont

    def select(self, cond: ops.Cond, if_true, if_false, ctype: str = "obj") -> ops.Var:
        """dst = cond ? if_true : if_false."""
        return self.select_many(cond, [(if_true, if_false, ctype)])[0]

    def select_many(self, cond: ops.Cond, choices: list) -> list[ops.Var]:
        """[cond ? if_true : if_false for (if_true, if_false, ctype) in choices], under
        one branch (each select is three blocks of C for gcc)."""
        dsts = [self.temp(ctype) for _, _, ctype in choices]
        t, f, join = self.new_block("then"), self.new_block("else"), self.new_block("join")
        self.terminate(ops.Branch(cond, t.name, f.name))
        for dst, (if_true, if_false, _) in zip(dsts, choices):
            t.ops.append(ops.Assign(dst, if_true))
            f.ops.append(ops.Assign(dst, if_false))
        t.terminator = ops.Jump(join.name)
        f.terminator = ops.Jump(join.name)
        self.current = join
        return dsts

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
        return tuple(slot(i, self.stack_kind(i)) for i in range(self.base))

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

    def _eval_breaker_check(self, block, stack, error_at, resume_at, cont: str,
                            state=None) -> None:
        """state: whose unsynced locals to materialize on the slow path (default: the
        current state)."""
        materialize_state = state or self.state
        unsynced = materialize_state.unsynced() if materialize_state is not None else []
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
        with self.at(slow):
            self.emit_materialize(unsynced, materialize_state)   # signal handlers may look
            self.emit(ops.CallC(verdict, "coconut_eval_breaker", (ops.Var("tstate", "ptr"),)))
            self.current.terminator = ops.Branch(ops.Cond("==", verdict, self.int(0)), cont,
                                                 leave.name)
        error = self.new_block("breaker_error")
        error.terminator = ops.ErrorExit(error_at, stack)
        deopt = self.new_block("breaker_deopt")
        deopt.terminator = ops.Deopt(resume_at, stack, "eval breaker or tracing")
        leave.terminator = ops.Branch(ops.Cond("<", verdict, self.int(0)), error.name, deopt.name)

    def _exit_block(self, key, terminator) -> str:
        unsynced = tuple(self.state.unsynced()) if self.state is not None else ()
        key = key + (tuple(terminator.stack), unsynced)
        if key not in self._exits:
            blk = self.ir.new_block(f"{key[0]}{key[1]}_{key[2]}")
            with self.at(blk):
                self.terminate(terminator)
            self._exits[key] = blk.name
        return self._exits[key]

    def error_if(self, cond: ops.Cond, keep: tuple = (), named: bool = False) -> None:
        """If `cond`, an exception is set: leave through the error exit. The inputs
        must be released (or listed in `keep`, which go back on the stack). `named`:
        ops.ErrorExit.named (not in code lowered to be inlined: its frame is virtual)."""
        stack = self.stack_below() + tuple(keep)
        named = named and not self.inline_depth
        if keep:
            target = self.exit_block("error", ops.ErrorExit(self.ins.offset, stack, named=named))
        else:
            target = self._exit_block(("error_named" if named else "error", self.ins.offset,
                                       len(stack)),
                                      ops.ErrorExit(self.ins.offset, stack, named=named))
        self.split(cond, target)

    def error_if_null(self, value, keep: tuple = (), named: bool = False) -> None:
        self.error_if(ops.Cond("==", value, ops.NULL), keep, named)

    def error_if_negative(self, value, keep: tuple = ()) -> None:
        self.error_if(ops.Cond("<", value, self.int(0)), keep)

    def deopt_if(self, cond: ops.Cond, reason: str, site: int | None = None) -> None:
        """If `cond`, resume the interpreter at this instruction (inputs untouched);
        `site`: the speculation this guard belongs to (ops.Deopt.site)."""
        self.split(cond, self.deopt_block(reason, site))

    def deopt_block(self, reason: str, site: int | None = None) -> str:
        """The block that resumes the interpreter at this instruction with its inputs
        (untouched), for guards that branch to it."""
        stack = self.stack_below() + tuple(self.inputs)
        return self._exit_block(("deopt", self.ins.offset, len(stack)),
                                ops.Deopt(self.ins.offset, stack, reason, site))

    def jump_edge(self, values: tuple = ()) -> str:
        """A block that moves `values` into the stack slots of the target (converted to
        the kinds its entry state wants) and jumps to it."""
        target = self.ins.jump_target
        backward = target <= self.ins.offset and self.ins.name != "JUMP_BACKWARD_NO_INTERRUPT"
        state = self.jump_state
        full = self.stack_below() + tuple(values)
        if not backward and not self.needs_conversion(state, target, full):
            return block_name(target)
        blk = self.new_block("jump")
        self._tails = {}
        with self.at(blk):
            self.convert(state, target, full)
            self._tails[blk.name] = self.current
        if backward:
            # ceval checks the eval breaker after a backward jump: an error there has
            # prev_instr at the jump (its traceback line); a deopt resumes at the target.
            want = self.entry_state(target)
            stack = tuple(slot(i, item.kind) for i, item in enumerate(want.stack))
            self._eval_breaker_check(self.current_of(blk), stack, self.ins.offset, target,
                                     block_name(target), state=want)
        else:
            self.current_of(blk).terminator = ops.Jump(block_name(target))
        return blk.name

    def entry_state(self, start: int) -> "T.State":
        state = self.entry_states.get(start)
        if state is None:
            state = T.generic_state(self.nlocalsplus, self.cfg.blocks[start].depth)
        return state

    def current_of(self, blk):
        """The block where emission into `blk` (with b.at) ended."""
        return self._tails.get(blk.name, blk)

    def needs_conversion(self, state, target, values) -> bool:
        want = self.entry_state(target)
        if any(v != slot(i, w.kind) for i, (v, w) in enumerate(zip(values, want.stack))):
            return True
        return any((have.kind != T.OBJ and need.kind == T.OBJ and not have.synced) or
                   (need.undef and have.kind == T.OBJ)
                   for have, need in zip(state.locals, want.locals))

    def convert(self, state: "T.State", target: int, values) -> None:
        """Emit what takes the frame and the stack `values` (of `state`) to the entry
        state of block `target`: box what it wants boxed, materialize the locals it
        holds in the frame, clear the `defined` flags of locals it may find undefined,
        move the stack into its slots."""
        want = self.entry_state(target)
        out = []
        saved, self.state = self.state, state
        try:
            for i, (have, need) in enumerate(zip(state.locals, want.locals)):
                if have.kind != T.OBJ and need.kind == T.OBJ and not have.synced:
                    self.emit_materialize([i], state)
                elif need.undef and have.kind == T.OBJ:
                    self.emit(ops.Assign(defined(i), ops.IntConst(0, "cbool")))
                else:
                    assert have.kind == need.kind or have.kind == T.OBJ == need.kind or \
                        (have.kind != T.OBJ and need.kind == T.OBJ), (i, have, need)
                    assert need.kind == T.OBJ or have.synced or not need.synced, (i, have, need)
                    assert need.kind == T.OBJ or need.undef or not have.undef, (i, have, need)
            final = []
            for i, (v, have, need) in enumerate(zip(values, state.stack, want.stack)):
                if have.kind != need.kind:
                    assert need.kind == T.OBJ, (i, have, need)
                    box = self.temp()
                    if have.prov and have.prov[0] == "const":
                        out += [ops.Assign(box, self.const(have.prov[1])), ops.Incref(box)]
                    else:
                        out.append(ops.CallC(box, BOX[T.CTYPE[have.kind]], (v,)))
                    v = box
                final.append(v)
            out += _moves_to(self, [slot(i, item.kind) for i, item in enumerate(want.stack)],
                             final)
            self.emit_all(out)
        finally:
            self.state = saved

    def branch_to_target(self, cond: ops.Cond, values: tuple = ()) -> None:
        """If `cond`, take the jump (with `values` on the stack); else fall through."""
        self.split(cond, self.jump_edge(values), hint="fall")

    def goto_target(self, values: tuple = ()) -> None:
        self.terminate(ops.Jump(self.jump_edge(values)))


def _moves(b: Builder, base: int, values, kinds=None) -> list:
    """Parallel move of `values` into slots base, base+1, ... (of `kinds`, default
    OBJ) (through temps when a source is a slot that an earlier move would overwrite)."""
    kinds = kinds or [T.OBJ] * len(values)
    return _moves_to(b, [slot(base + i, k) for i, k in enumerate(kinds)], values)


def _moves_to(b: Builder, dsts_, values) -> list:
    moves = [(d, v) for d, v in zip(dsts_, values) if v != d]
    dsts = {d for d, _ in moves}
    if any(src in dsts for _, src in moves):
        temps = [(b.temp(d.ctype), src) for d, src in moves]
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
          cache_forms: dict | None = None, avoid: frozenset = frozenset(),
          feedback: dict | None = None, optimize: bool | None = None,
          count_trace: int | None = None, osr: bool | str = False,
          inline_depth: int = 0) -> IrCFG:
    """count_at: the address of a counter of instructions run natively (statistics);
    count_trace: the statistics' instruction-counting trace function, when it may be
    installed (a rule that deopts under a tracer lets that one be);
    cache_forms: the instructions with inline-cache fast paths, by offset (default:
    caches.snapshot(cfg), the interpreter's specializations now); avoid: bytecode
    offsets of speculation sites whose guards failed too often (`ops.Deopt.site`):
    they get the generic path; feedback: the quickened forms the typed rules speculate
    from (default: types.feedback(cfg), now); optimize: the typed tier on (default:
    OPTIMIZE, COCONUT_OPTIMIZE=0 turns it off); osr: the code a running frame enters
    at a loop header (on-stack replacement, runtime/osr.py), not at the first
    instruction (_osr_dispatch; "covered": also at headers inside try and with, for
    the patched interpreter: BytecodeCFG.osr_points); inline_depth: lowered to be
    inlined into a caller
    (inline.py), at that depth (code that may run Python code deopts instead)."""
    code = cfg.code
    ir = IrCFG(code.co_qualname, L.nlocalsplus(code), code)
    b = Builder(ir, cfg, caches.snapshot(cfg) if cache_forms is None else cache_forms)
    b.count_at = count_at
    b.count_trace = count_trace
    b.avoid = frozenset(avoid)
    fb = T.feedback(cfg) if feedback is None else feedback
    b.tcx = T.Context(cfg, fb, b.avoid, OPTIMIZE if optimize is None else optimize,
                      b.cache_forms)
    b.inline_depth = inline_depth
    b.tcx.returns_unboxed = inline_depth > 0
    if INLINE and b.tcx.enabled and not osr and not code.co_flags & L.CO_RESUMABLE:
        from .inline import Callees
        b.tcx.callees = Callees(code, inline_depth)
    b.entry_states = T.analyze(b.tcx, OPCODES)
    if b.tcx.callees is not None and b.tcx.callees.reprioritize(cfg, b.tcx.inlined):
        # the inline budget went to other sites than the innermost loops': again, with
        # those (inline.py Callees.reprioritize)
        b.tcx.inlined.clear()
        b.tcx.inline_kind.clear()
        b.entry_states = T.analyze(b.tcx, OPCODES)
    if osr:
        # entered at its loop headers, in the states a frame the interpreter ran has
        # there (every local in the frame): the analysis again, from those too
        b.tcx.osr_states = {h: T.osr_entered(b.entry_states[h])
                            for h in cfg.osr_points(covered=osr == "covered")
                            if h in b.entry_states}
        b.entry_states = T.analyze(b.tcx, OPCODES)
    b.undef_locals = {i for st in b.entry_states.values() for i in st.undef()}
    entry = ir.new_block("entry")
    if osr:
        _osr_dispatch(ir, cfg, entry, sorted(b.tcx.osr_states))
    elif code.co_flags & L.CO_RESUMABLE:
        _resume_dispatch(ir, cfg, entry)
    else:
        entry.terminator = ops.Jump(block_name(0))
    blocks = {start: ir.new_block(block_name(start), comment=f"bytecode block, depth {blk.depth}")
              for start, blk in cfg.blocks.items() if blk.depth is not None}
    for start, ir_block in blocks.items():
        b.current = ir_block
        b.state = b.entry_state(start)
        if start not in b.entry_states:
            # Not reached along normal edges from the entry (exception handlers, code
            # after an instruction that always deopts): hand over to the interpreter.
            b.ins = cfg.blocks[start].instructions[0]
            b.terminate(ops.Deopt(start, tuple(slot(i) for i in range(len(b.state.stack))),
                                  "not reached natively"))
            continue
        for ins in cfg.blocks[start].instructions:
            if not _lower_instruction(b, ins):
                break
        if b.current is not None:
            nxt = cfg.blocks[start].last.next_offset
            values = tuple(slot(i, item.kind) for i, item in enumerate(b.state.stack))
            b.convert(b.state, nxt, values)
            b.terminate(ops.Jump(block_name(nxt)))
    from .handlers import native_catches
    native_catches(b, ir)
    box_exit_stacks(ir)
    _initialize_homes(ir)
    ir.inline_refused = b.inline_refused
    return ir


def _resume_dispatch(ir: IrCFG, cfg: BytecodeCFG, entry) -> None:
    """A generator's native entry: gen_send_ex2 enters its frame suspended where
    `prev_instr` says (RETURN_GENERATOR, or a YIELD_VALUE), with the value sent in
    pushed on the frame's stack (None for a throw). The stack is taken from the frame
    (the C slots own it from here: stacktop back to the locals), then:

    * `send()`, `next()` (throwflag 0): go on at the instruction after the suspension;
    * `throw()`, `close()` (throwflag 1: the exception is set, GeneratorExit for a
      close): ceval's `resume_with_error`, an error raised *at* the suspending
      instruction (`ErrorExit`): the traceback entry names the yield's line, and a
      handler of the frame that covers the yield catches it natively; else the
      exception leaves the frame.

    A fresh frame (`prev_instr` before the first unit: the generator function's call)
    starts at the first instruction; its RETURN_GENERATOR makes the generator. The hook
    sends a throw here only when no tracer or profiler is set. A frame stopped anywhere
    else (when `throw()` finishes a `yield from` sub-iterator, genobject.c moves
    prev_instr to before SEND's target) goes to the interpreter untouched, with its
    throwflag (`ops.AS_IS`)."""
    prev = ops.Var("resume_at", "ptr")
    entry.ops.append(ops.Load(prev, ops.Var("frame", "ptr"), L.FRAME_PREV_INSTR))
    points = sorted(cfg.resume_points().items())
    not_here = ir.new_block("not_at_a_resume_point")
    not_here.terminator = ops.Deopt(ops.AS_IS, (), "a generator frame not at a resume point")
    if not points:
        entry.terminator = ops.Branch(ops.Cond("==", prev, ops.UnitAddress(-1)), block_name(0),
                                      not_here.name)
        return
    sends, throws = ir.new_block("resume_send"), ir.new_block("resume_throw")
    call = ir.new_block("not_thrown")
    entry.terminator = ops.Branch(ops.Cond("!=", ops.Var("throwflag", "int"), ops.IntConst(0, "int")),
                                  throws.name, call.name)
    # a fresh frame (prev_instr before the first unit): the generator function's call
    call.terminator = ops.Branch(ops.Cond("==", prev, ops.UnitAddress(-1)), block_name(0), sends.name)
    for kind, current in (("resume", sends), ("throw", throws)):
        for suspend, start in points:
            depth = cfg.blocks[start].depth
            edge = ir.new_block(f"{kind}{suspend}",
                                comment=f"{kind} after {suspend}, depth {depth}")
            stack = tuple(slot(i) for i in range(depth))
            edge.ops += [ops.LoadLocal(v, ir.nlocalsplus + i) for i, v in enumerate(stack)]
            edge.ops.append(ops.Store(ops.Var("frame", "ptr"), L.FRAME_STACKTOP,
                                      ops.IntConst(ir.nlocalsplus, "int"), "int"))
            edge.terminator = (ops.Jump(block_name(start)) if kind == "resume"
                               else ops.ErrorExit(suspend, stack))
            nxt = ir.new_block(f"not_{kind}{suspend}")
            current.terminator = ops.Branch(ops.Cond("==", prev, ops.UnitAddress(suspend)),
                                            edge.name, nxt.name)
            current = nxt
        current.terminator = ops.Jump(not_here.name)


def _osr_dispatch(ir: IrCFG, cfg: BytecodeCFG, entry, points: list[int]) -> None:
    """The entry of on-stack replacement (runtime/osr.py): a frame the interpreter is
    running, stopped before the loop header `h` (`prev_instr` one unit before it), with
    its value stack in the frame. The stack is taken from the frame (the C slots own it
    from here: stacktop back to the locals), and native code goes on at `h`. Anywhere
    else the frame goes back to the interpreter as it is."""
    prev = ops.Var("resume_at", "ptr")
    entry.ops.append(ops.Load(prev, ops.Var("frame", "ptr"), L.FRAME_PREV_INSTR))
    current = entry
    for h in points:
        depth = cfg.blocks[h].depth
        edge = ir.new_block(f"osr{h}", comment=f"entered before {h}, depth {depth}")
        stack = tuple(slot(i) for i in range(depth))
        edge.ops += [ops.LoadLocal(v, ir.nlocalsplus + i) for i, v in enumerate(stack)]
        edge.ops.append(ops.Store(ops.Var("frame", "ptr"), L.FRAME_STACKTOP,
                                  ops.IntConst(ir.nlocalsplus, "int"), "int"))
        edge.terminator = ops.Jump(block_name(h))
        nxt = ir.new_block(f"not_osr{h}")
        current.terminator = ops.Branch(ops.Cond("==", prev, ops.UnitAddress(h - 1)),
                                        edge.name, nxt.name)
        current = nxt
    current.terminator = ops.Deopt(ops.AS_IS, (), "not at a loop header (OSR)")


def _initialize_homes(ir: IrCFG) -> None:
    """Homes of unboxed locals (and their `defined` flags) start as 0: a home is read
    only where it holds the local (or behind its flag), but C and the verifier want
    every read variable written on every path."""
    inits = [ops.Assign(v, ops.FloatConst(0.0) if v.ctype == "f64" else ops.IntConst(0, v.ctype))
             for name, v in sorted(ir.variables().items()) if _is_home(name)]
    ir.blocks[ir.entry].ops[:0] = inits


def _is_home(name: str) -> bool:
    """Whether `name` is an unboxed local's home or flag: l<digits>f, i, ok or sync.
    (Not a regular expression: `re` caches every pattern it compiles, and a program
    can see its cache: pyperformance's regex_compile counts it.)"""
    digits = name[1:].rstrip("fiokysnc")
    return (name[:1] == "l" and digits.isdigit() and digits.isascii()
            and name[1 + len(digits):] in ("f", "i", "ok", "sync"))


OPTIMIZE = os.environ.get("COCONUT_OPTIMIZE", "1") not in ("0", "", "no", "off", "false")
# Inlining of small callees (inline.py); COCONUT_INLINE=0 turns it off.
INLINE = os.environ.get("COCONUT_INLINE", "1") not in ("0", "", "no", "off", "false")
# The instructions whose generic rules code lowered to be inlined keeps: they run no
# Python code (LOAD_ATTR, STORE_ATTR and LOAD_METHOD only with an inline-cache fast
# path, whose slow path deopts: Builder.observe_slow; no BUILD_TUPLE / BUILD_LIST: a
# collection may run at the allocation, and finalizers with it). Any other instruction without a
# typed plan is left to the interpreter (a raise, a call, generic arithmetic), with the
# callee's frame materialized there (inline.py).
INLINE_GENERIC = frozenset({
    "LOAD_FAST", "STORE_FAST", "LOAD_CONST", "POP_TOP", "RETURN_VALUE", "NOP", "COPY",
    "SWAP", "PUSH_NULL", "PRECALL", "RESUME", "JUMP_FORWARD", "IS_OP",
    "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE", "LOAD_GLOBAL",
    "UNPACK_SEQUENCE"})
INLINE_CACHED = frozenset({"LOAD_ATTR", "STORE_ATTR", "LOAD_METHOD"})


def box_exit_stacks(ir: IrCFG) -> None:
    """Exits hand the interpreter objects: box every unboxed value on their stacks
    (new references, which the frame takes). Known limit: a box that fails (MemoryError
    from PyFloat_FromDouble/PyLong_FromLong) is spilled as NULL, here and when a local
    is materialized; only memory exhaustion reaches it."""
    n = 0
    for block in ir.blocks.values():
        t = block.terminator
        if not isinstance(t, (ops.Deopt, ops.ErrorExit)):
            continue
        if not any(isinstance(v, ops.Var) and v.ctype in BOX for v in t.stack):
            continue
        stack = []
        for v in t.stack:
            if isinstance(v, ops.Var) and v.ctype in BOX:
                n += 1
                boxed = ops.Var(f"exitbox{n}")
                block.ops.append(ops.CallC(boxed, BOX[v.ctype], (v,)))
                v = boxed
            stack.append(v)
        if isinstance(t, ops.Deopt):
            block.terminator = ops.Deopt(t.resume, tuple(stack), t.reason, t.site)
        else:
            block.terminator = ops.ErrorExit(t.offset, tuple(stack), t.leaves, t.reraise, t.named)


def _lower_instruction(b: Builder, ins: Instruction) -> bool:
    """Emit one instruction; False when control does not go on to the next one."""
    rule = OPCODES.get(ins.name)
    depth = ins.depth_before
    b.ins = ins
    if rule is not None and b.inline_depth and ins.name not in INLINE_GENERIC and not (
            ins.name in INLINE_CACHED and ins.offset in b.cache_forms) and not (
            caches.class_attr_site(b, ins) and
            getattr(b.tcx, "callees", None) is not None and
            b.tcx.callees.class_constant(b.code.co_names[ins.arg])) and \
            not T.plan(b.tcx, ins, b.state).typed:
        rule = None                    # (inlined: left to the interpreter)
        # A callee that would leave native code on a path it takes is not inlined; a
        # path to a raise, or through an instruction the interpreter never ran since
        # it quickened the callee (an uncommon trap: should it start running, its
        # deopts recompile the caller without inlining that call), does not count.
        if b.cfg.block_of(ins.offset).last.name not in ("RAISE_VARARGS", "RERAISE") and \
                not _feedback.never_ran(b.cfg.code, ins):
            b.inline_refused = f"{ins.name} at {ins.offset} may run code"
    if rule is None:
        b.emit(ops.SetInstr(ins.offset, ins.name))
        reason = NOT_NATIVE.get(ins.name, "not lowered yet" if ins.name not in OPCODES
                                else "may run code (inlined)")
        # An unboxed copy of a constant or of a local goes back as that object (its
        # identity: `match x: case float(z)` binds z to x itself); box_exit_stacks
        # would make a new one.
        stack = []
        for i in range(depth):
            item = b.state.stack[i] if b.state is not None else T.OBJ_ITEM
            v = slot(i, b.stack_kind(i))
            if item.kind != T.OBJ and item.prov and item.prov[0] in ("const", "local"):
                boxed = b.box(v, item)
                v = slot(i, T.OBJ)
                b.emit(ops.Assign(v, boxed))
            stack.append(v)
        b.terminate(ops.Deopt(ins.offset, tuple(stack), f"{ins.name}: {reason}"))
        return False
    plan = T.plan(b.tcx, ins, b.state)
    if not plan.typed or b.inline_depth:
        b.emit(ops.SetInstr(ins.offset, ins.name))
    if b.count_at is not None:
        # Statistics: one more instruction run natively (a guard that deopts later
        # in this instruction makes the interpreter count it again).
        n = b.temp("ssize", "count")
        counter = ops.Address("native_instructions", b.count_at)
        b.emit(ops.Load(n, counter, 0))
        b.emit(ops.BinArith(n, "+", n, ops.IntConst(1, "ssize")))
        b.emit(ops.Store(counter, 0, n, "ssize"))
    n_in, n_out = rule.signature.counts(ins.arg)
    b.base = depth - n_in
    items = b.state.stack[b.base:]
    fall, jump = T.after(b.tcx, ins, b.state, plan, rule)
    b.jump_state = jump
    b.typed_ins = plan.typed
    if plan.typed:
        from . import typed
        b.inputs = [slot(i, b.stack_kind(i)) for i in range(b.base, depth)]
        outputs = typed.lower(b, ins, plan, b.inputs, items)
    else:
        b.materialize_all()
        b.inputs = [b.box(slot(i, item.kind), item) for i, item in zip(range(b.base, depth), items)]
        if b.jump_state is not None:      # the generic rule's jump: the frame is exact
            b.jump_state = T.State(b.state.locals, b.jump_state.stack)
        outputs = rule.lower(b, ins, *rule.signature.split_inputs(b.inputs, ins.arg))
    if b.current is None:
        return False
    outputs = tuple(outputs or ())
    assert len(outputs) == n_out, f"{ins.name} returned {len(outputs)} values, not {n_out}"
    assert b.base + n_out == ins.depth_after, f"{ins}: stack signature disagrees with bytecode"
    assert fall is not None, f"{ins}: falls through where the analysis says it does not"
    b.current.ops.extend(_moves(b, b.base, outputs,
                                [item.kind for item in fall.stack[b.base:]]))
    b.state = fall
    return True
