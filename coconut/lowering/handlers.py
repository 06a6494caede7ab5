"""Exception handlers run natively: the unwind into a handler of the same frame, and the
opcodes of `except` and `with` blocks (ceval.c 3.11: `error:`, `exception_unwind:`,
PUSH_EXC_INFO, POP_EXCEPT, CHECK_EXC_MATCH, RERAISE, WITH_EXCEPT_START,
LOAD_ASSERTION_ERROR).

**The unwind** (`native_catches`, run on the IR once a function is lowered). An error
raised at an instruction leaves through an `ErrorExit` (the locals materialized, the
stack in C values). Where the exception table gives that instruction a handler, and the
analysis lowered the handler's block (`types.entry_points` seeds every handler with the
all-boxed state: everything is in the frame when it is entered), the exit becomes what
ceval does between `error:` and the handler's first instruction:

* under a trace or profile function (other than statistics' instruction counter)
  nothing changes: the `ErrorExit` hands the frame to the interpreter, which reports
  the exception event (`call_exc_trace`), unwinds and goes on traced (a profiler set
  by a callee that raised sees the rest of the call);
* otherwise: `prev_instr` names the instruction (the traceback entry's line), the stack
  above the handler's level is released (top first, as ceval pops), the raising
  instruction's offset is pushed when the handler wants it (`lasti`: `with` and
  cleanup handlers), and `coconut_catch` (runtime/exceptions.py) adds the traceback
  entry, fetches and normalizes the exception and gives it its traceback; it is pushed
  and native code jumps to the handler.

An error with no handler in the frame leaves it natively: the `ErrorExit` is marked
`leaves`, and the back end's shared tail for those calls `coconut_raise_out`
(runtime/exceptions.py), which adds the traceback entry, releases the stack the exit
spilled and returns NULL, as ceval's `exit_unwind` (the interpreter's unwind, under a
tracer or profiler).

`RERAISE` re-raises the exception with the traceback it has (no new entry) into a
handler of the same frame (a no-match falling to the cleanup handler; with an operand
it first moves `prev_instr` back to the `lasti` below it: an exception that leaves a
`with` block into an enclosing `try`), or out of the frame (`ErrorExit.reraise`: the
end of a `finally`, of a `with` block whose `__exit__` did not swallow, of an `except`
with no match); a bare `raise` alike. Under a tracer they deopt at the instruction
before anything is done (the interpreter reports the unwind), and so does a handler the
interpreter runs (`except*`).
"""
from __future__ import annotations

from ..ir import ops
from ..ir.ops import Cond, NULL
from ..runtime import layout as L
from ..runtime.feedback import HANDLER_NOT_RUN
from . import types as T
from .opcodes import _bool_from
from .registry import op


def _tstate():
    return ops.Var("tstate", "ptr")


# -- the unwind ------------------------------------------------------------------------
def handler_block(b, offset: int):
    """The exception table's handler for the instruction at `offset`, when native code
    unwinds into it (its block was lowered, or it is `not_run`), else None."""
    h = b.cfg.handler_for(offset)
    if h is None or (h.target not in b.entry_states and not not_run(b, h)):
        return None
    return h


# Its deopts fail the speculation at once (runtime/stability.py, EAGER).
HANDLER_DEOPT = "a handler that had not run"


def not_run(b, h) -> bool:
    """Whether handler `h` had not run when the code was compiled (feedback's
    HANDLER_NOT_RUN), and is not a site whose deopts asked for it (`avoid`): native
    code unwinds into it, then deopts at its first instruction (a speculation counted
    at that site: at its first deopt, a recompile makes it native), and its code is
    not compiled (less C: most handlers never run)."""
    return (b.tcx.fb.get(h.target) == HANDLER_NOT_RUN and h.target not in b.avoid
            and b.tcx.enabled)


def _release(v) -> list:
    """Ops that release a stack value popped by the unwind (unboxed values and NULLs
    own nothing)."""
    if isinstance(v, ops.Var) and v.ctype == "obj":
        return [ops.Decref(v, True)]
    if isinstance(v, ops.ObjConst):
        return [ops.Decref(v, False)]
    return []


def _kept(b, stack, h) -> list:
    """Release the stack above handler `h`'s level (top first, as ceval pops it) and
    return the values below it, boxed (the handler is entered all boxed)."""
    from .lower import BOX
    for v in reversed(stack[h.depth:]):
        b.emit_all(_release(v))
    kept = []
    for v in stack[:h.depth]:
        if isinstance(v, ops.Var) and v.ctype in BOX:
            boxed = b.temp()
            b.emit(ops.CallC(boxed, BOX[v.ctype], (v,)))
            v = boxed
        kept.append(v)
    return kept


def _named_lasti(b, offset: int) -> None:
    """catch_lasti = the unit prev_instr names, `offset` or the last of its cache
    (ops.ErrorExit.named: 4 units for CALL and BINARY_SUBSCR)."""
    prev, lasti = b.temp("ptr", "prev"), ops.Var("catch_lasti", "ssize")
    b.emit(ops.Load(prev, ops.Var("frame", "ptr"), L.FRAME_PREV_INSTR))
    at, moved, join = b.new_block("lasti_at"), b.new_block("lasti_moved"), b.new_block("lasti_named")
    b.terminate(ops.Branch(Cond("==", prev, ops.UnitAddress(offset)), at.name, moved.name))
    at.ops.append(ops.Assign(lasti, b.int(offset, "ssize")))
    at.terminator = ops.Jump(join.name)
    moved.ops.append(ops.Assign(lasti, b.int(offset + 4, "ssize")))
    moved.terminator = ops.Jump(join.name)
    b.current = join


def _lasti_object(b, offset):
    """A new reference to the int `offset` (an int, or a ssize value):
    _PyInterpreterFrame_LASTI, the raising instruction in code units (0..255 are cached
    small ints; a larger one fails only when memory is exhausted, and is then pushed as
    None rather than unwinding again as ceval would)."""
    lasti = b.call("PyLong_FromLong", b.int(offset, "ssize") if isinstance(offset, int) else offset)
    none, got = b.new_block("lasti_none"), b.new_block("lasti")
    b.current.terminator = ops.Branch(Cond("==", lasti, NULL), none.name, got.name)
    none.ops += [ops.Assign(lasti, b.const(None)), ops.Incref(lasti)]
    none.terminator = ops.Jump(got.name)
    b.current = got
    return lasti


def _enter_handler(b, h, kept, add_traceback: bool) -> None:
    """Fetch the exception (coconut_catch), push it above `kept` and jump to `h` (or
    deopt there: `not_run`)."""
    from .lower import block_name
    exc = b.temp()
    b.emit(ops.CallC(exc, "coconut_catch", (b.int(int(add_traceback)),)))
    kept = list(kept) + [exc]
    if not_run(b, h):
        b.terminate(ops.Deopt(h.target, tuple(kept), HANDLER_DEOPT, site=h.target))
        return
    b.convert(T.generic_state(b.nlocalsplus, len(kept)), h.target, tuple(kept))
    b.terminate(ops.Jump(block_name(h.target)))


def emit_catch(b, offset, stack: tuple, h, add_traceback: bool) -> None:
    """Into b.current: unwind from the instruction at `offset` with `stack` (the frame
    exact, the exception set) into handler `h`, and jump to it. `offset`: the code unit
    the frame's prev_instr names (the lasti pushed for the handler), or an int object
    that holds it (RERAISE with an operand)."""
    lasti = None
    if h.lasti and not isinstance(offset, int):
        # the same int again, a new reference, taken before the stack (which holds it:
        # RERAISE n's operand) is released: released first, it could be freed and then
        # pushed (a use after free, found by test_asyncio)
        lasti = b.temp()
        b.emit_all([ops.Assign(lasti, offset), ops.Incref(lasti)])
    kept = _kept(b, stack, h)
    if lasti is not None:
        kept.append(lasti)
    elif h.lasti:
        kept.append(_lasti_object(b, offset))
    _enter_handler(b, h, kept, add_traceback)


def split_traced(b, traced: str) -> None:
    """Go to block `traced` if a trace or profile function is set (other than
    statistics' instruction counter, a trace function without a profile function, which
    ignores exception events); go on in a new block otherwise."""
    cframe, tracing = b.temp("ptr", "cframe"), b.temp("byte", "tracing")
    b.emit_all([ops.Load(cframe, _tstate(), L.TS_CFRAME),
                ops.Load(tracing, cframe, L.CFRAME_USE_TRACING)])
    untraced = b.new_block("untraced")
    if b.count_trace is None:
        b.current.terminator = ops.Branch(Cond("==", tracing, ops.IntConst(0, "byte")),
                                          untraced.name, traced)
    else:
        counter, no_profile = b.new_block("counted"), b.new_block("counted_only")
        b.current.terminator = ops.Branch(Cond("==", tracing, ops.IntConst(0, "byte")),
                                          untraced.name, counter.name)
        tracefunc, profilefunc = b.temp("ptr", "tracefunc"), b.temp("ptr", "profilefunc")
        counter.ops.append(ops.Load(tracefunc, _tstate(), L.TS_C_TRACEFUNC))
        counter.terminator = ops.Branch(
            Cond("==", tracefunc, ops.Address("count_trace", b.count_trace)),
            no_profile.name, traced)
        no_profile.ops.append(ops.Load(profilefunc, _tstate(), L.TS_C_PROFILEFUNC))
        no_profile.terminator = ops.Branch(Cond("==", profilefunc, ops.IntConst(0, "ptr")),
                                           untraced.name, traced)
    b.current = untraced


def _shared_catch(b, ir, h, shared: dict) -> tuple:
    """The blocks every error site that handler `h` covers jumps to, with `prev_instr`
    set, the stack above the handler's level released, the rest in the stack slots
    (boxed) and the raising offset in `catch_lasti`: (`checked`: tests for a tracer
    first, for sites with nothing above the level; `untraced`: sites that tested it
    themselves before releasing their stack). One per handler: the unwind's code is
    emitted once, not at every instruction of a `try` body."""
    from .lower import slot
    key = h.target
    if key not in shared:
        checked, untraced = ir.new_block(f"catch{h.target}"), ir.new_block(f"catch{h.target}.untraced")
        kept = [slot(i) for i in range(h.depth)]
        # a tracer: the interpreter unwinds from prev_instr, which the site named
        traced = ir.new_block(f"catch{h.target}.traced")
        traced.terminator = ops.ErrorExit(None, tuple(kept))
        b.current, b.state = checked, None
        split_traced(b, traced.name)
        b.terminate(ops.Jump(untraced.name))
        b.current = untraced
        if h.lasti:
            kept.append(_lasti_object(b, ops.Var("catch_lasti", "ssize")))
        _enter_handler(b, h, kept, add_traceback=True)
        shared[key] = (checked.name, untraced.name)
    return shared[key]


def native_catches(b, ir) -> None:
    """Turn each `ErrorExit` whose instruction has a native handler into the unwind
    (module docstring). Runs after lowering, before `box_exit_stacks`."""
    from .lower import _moves_to, slot
    shared: dict = {}
    for name in list(ir.blocks):
        blk = ir.blocks[name]
        t = blk.terminator
        if not isinstance(t, ops.ErrorExit) or t.leaves or t.offset is None:
            continue
        if b.cfg.handler_for(t.offset) is None:
            blk.terminator = ops.ErrorExit(t.offset, t.stack, leaves=True, named=t.named)
            continue
        h = handler_block(b, t.offset)
        if h is None:
            continue
        checked, untraced = _shared_catch(b, ir, h, shared)
        b.current, b.state = blk, None
        extras = t.stack[h.depth:]
        if extras:
            # the tracer's exception event comes before the stack is released
            leave = ir.new_block(f"{name}.traced")
            leave.terminator = t
            split_traced(b, leave.name)
        if not t.named:
            b.emit(ops.SetInstr(t.offset, "unwind"))
        kept = _kept(b, t.stack, h)
        if h.lasti and t.named:            # the offset prev_instr names: t.offset or its
            _named_lasti(b, t.offset)      # last cache unit
        elif h.lasti:
            b.emit(ops.Assign(ops.Var("catch_lasti", "ssize"), b.int(t.offset, "ssize")))
        b.emit_all(_moves_to(b, [slot(i) for i in range(h.depth)], kept))
        b.terminate(ops.Jump(untraced if extras else checked))
    b.current = None


# -- the opcodes of handlers -----------------------------------------------------------
def _exc_info(b):
    return b.load("ptr", _tstate(), L.TS_EXC_INFO)


@op("PUSH_EXC_INFO", sig="value -- prev value")
def push_exc_info(b, ins, value):
    """PUSH_EXC_INFO: the exception being handled (tstate->exc_info->exc_value, or
    None) goes under the new one, which becomes the one being handled (the stack and
    exc_info each hold a reference)."""
    info = _exc_info(b)
    prev = b.load("obj", info, L.EXC_INFO_VALUE)
    none, join = b.new_block("no_prev"), b.new_block("prev")
    b.terminate(ops.Branch(Cond("==", prev, NULL), none.name, join.name))
    none.ops += [ops.Assign(prev, b.const(None)), ops.Incref(prev)]
    none.terminator = ops.Jump(join.name)
    b.current = join
    b.incref(value)
    b.emit(ops.Store(info, L.EXC_INFO_VALUE, value))
    return [prev, value]


@op("POP_EXCEPT", sig="value --")
def pop_except(b, ins, value):
    """POP_EXCEPT: the value below becomes the exception being handled again; the one
    that was is released (its deallocation may run code: the frame is exact)."""
    info = _exc_info(b)
    old = b.load("obj", info, L.EXC_INFO_VALUE)
    b.emit(ops.Store(info, L.EXC_INFO_VALUE, value))
    b.xdecref(old)
    return []


@op("CHECK_EXC_MATCH", sig="left right -- left res")
def check_exc_match(b, ins, left, right):
    """CHECK_EXC_MATCH: `except right` matches the exception `left` (coconut_exc_match:
    TypeError when right is not an exception class or a tuple of them)."""
    res = b.call("coconut_exc_match", left, right)
    b.decref(right)
    b.error_if_negative(res, keep=(left,))
    return [left, _bool_from(b, Cond("!=", res, b.int(0)))]


@op("RERAISE", sig="val --")
def reraise(b, ins, val):
    """RERAISE: raise `val` again with its own traceback, into the handler of this
    frame that covers the instruction (module docstring); else the interpreter's."""
    h = handler_block(b, ins.offset)
    if h is None and b.cfg.handler_for(ins.offset) is not None:
        b.terminate(ops.Deopt(ins.offset, b.stack_below() + (val,),
                              "RERAISE: into a handler run by the interpreter"))
        return []
    if h is None:
        # out of the frame: the interpreter's under a tracer (its 'return' event)
        split_traced(b, b.deopt_block("RERAISE out of the frame under a tracer"))
    lasti = ins.offset
    if ins.arg:
        # the raising instruction's lasti (pushed by the unwind into a `with` or cleanup
        # handler) becomes prev_instr again: the frame's f_lineno, and the lasti the
        # next handler gets (an exact int: anything else is the interpreter's error)
        held = b.stack_below()[-ins.arg]
        b.deopt_if(Cond("!=", b.load("obj", held, L.OB_TYPE), b.const(int)),
                   "RERAISE: lasti is not an int")
        units = b.call("_PyLong_AsInt", held)
        byte = b.temp("ssize", "lasti_byte")
        b.emit(ops.Assign(byte, units))
        b.emit(ops.BinArith(byte, "*", byte, b.int(2, "ssize")))
        b.emit(ops.BinArith(byte, "+", byte, b.int(L.CO_CODE_ADAPTIVE, "ssize")))
        at = b.temp("ptr", "lasti_at")
        b.emit(ops.PtrAdd(at, b.code_object(), byte))
        b.emit(ops.Store(ops.Var("frame", "ptr"), L.FRAME_PREV_INSTR, at, "ptr"))
        lasti = held
    _restore_and_unwind(b, ins, val, b.stack_below(), h, lasti)
    return []


def _restore_and_unwind(b, ins, val, stack, h, lasti) -> None:
    """Set the exception `val` again with its own traceback, and unwind with `stack`
    without a new traceback entry: into handler `h`, or out of the frame (h None: the
    caller checked for a tracer)."""
    tp = b.load("obj", val, L.OB_TYPE)
    b.incref(tp)
    tb = b.call("PyException_GetTraceback", val)
    b.call_void("PyErr_Restore", tp, val, tb)          # steals the three
    if h is None:
        b.terminate(ops.ErrorExit(ins.offset, stack, leaves=True, reraise=True))
    else:
        emit_catch(b, lasti, stack, h, add_traceback=False)


@op("END_ASYNC_FOR", sig="aiter val --")
def end_async_for(b, ins, aiter, val):
    """END_ASYNC_FOR (the handler an `async for` loop's await unwinds to): a
    StopAsyncIteration ends the loop (both released); anything else is raised again
    with its traceback, the iterator still on the stack (as RERAISE)."""
    h = handler_block(b, ins.offset)
    if h is None and b.cfg.handler_for(ins.offset) is not None:
        # a re-raise would go into a handler the interpreter runs: it runs this too
        b.terminate(ops.Deopt(ins.offset, b.stack_below() + (aiter, val),
                              "END_ASYNC_FOR: into a handler run by the interpreter"))
        return []
    stop = b.call("PyErr_GivenExceptionMatches", val, b.const(StopAsyncIteration))
    other = b.new_block("not_stop")
    b.split(Cond("==", stop, b.int(0)), other.name, hint="stopped")
    stopped, b.current = b.current, other
    if h is None:
        split_traced(b, b.deopt_block("END_ASYNC_FOR out of the frame under a tracer"))
    _restore_and_unwind(b, ins, val, b.stack_below() + (aiter,), h, ins.offset)
    b.current = stopped
    b.decref(val)
    b.decref(aiter)
    return []


@op("RAISE_VARARGS", sig="args[oparg] --")
def raise_varargs(b, ins, args):
    """RAISE_VARARGS: ceval's do_raise (coconut_do_raise: `raise C`, `raise e`,
    `raise ... from c`, with its messages), then the unwind from here. A bare `raise`
    sets the exception being handled again and unwinds without a new traceback entry:
    natively into a handler of this frame; out of the frame, the interpreter does it
    (a deopt at the instruction)."""
    if ins.arg == 0:
        h = handler_block(b, ins.offset)
        if h is None and b.cfg.handler_for(ins.offset) is not None:
            b.terminate(ops.Deopt(ins.offset, b.stack_below(),
                                  "raise: into a handler run by the interpreter"))
            return []
        if h is None:
            split_traced(b, b.deopt_block("raise: out of the frame under a tracer"))
        again = b.call("coconut_do_raise", _tstate(), NULL, NULL)
        error = b.exit_block("error", ops.ErrorExit(ins.offset, b.stack_below()))
        b.split(Cond("==", again, b.int(0)), error, hint="reraise")
        if h is None:
            b.terminate(ops.ErrorExit(ins.offset, b.stack_below(), leaves=True, reraise=True))
        else:
            emit_catch(b, ins.offset, b.stack_below(), h, add_traceback=False)
        return []
    exc, cause = args[0], (args[1] if ins.arg == 2 else NULL)
    b.call("coconut_do_raise", _tstate(), exc, cause)       # steals both
    b.terminate(ops.ErrorExit(ins.offset, b.stack_below()))
    return []


@op("WITH_EXCEPT_START", sig="exit_func lasti prev val -- exit_func lasti prev val res")
def with_except_start(b, ins, exit_func, lasti, prev, val):
    """WITH_EXCEPT_START: exit_func(type(val), val, val.__traceback__)."""
    tp = b.load("obj", val, L.OB_TYPE)
    tb = b.call("PyException_GetTraceback", val)
    b.xdecref(tb)                 # ceval borrows it: val keeps it alive
    res = b.temp()
    b.emit(ops.CallVectorcall(res, exit_func, (tp, tp, val, tb), b.int(1), 4, NULL))
    b.error_if_null(res, keep=(exit_func, lasti, prev, val))
    return [exit_func, lasti, prev, val, res]


@op("LOAD_ASSERTION_ERROR", sig="-- value")
def load_assertion_error(b, ins):
    """LOAD_ASSERTION_ERROR: PyExc_AssertionError (builtins' AssertionError as the
    interpreter started)."""
    value = b.temp()
    b.emit(ops.Assign(value, b.const(AssertionError)))
    b.incref(value)
    return [value]
