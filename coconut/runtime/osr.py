"""On-stack replacement on the stock interpreter: a frame the interpreter is running
enters native code at a loop header, through a one-shot C trace function.

A call that runs a long loop (a program's main loop, a benchmark's timed function on
its first call) is compiled while it runs, but the hook only sends *new* frames to
native code: without OSR that call finishes in the interpreter. 3.11's interpreter
has one place where C code may take over a running frame and hand it back changed:
the line event of a trace function. After the trace call, ceval's DO_TRACING reloads
the stack pointer from `frame->stacktop` and the next instruction from
`frame->prev_instr` (that is how a debugger jumps), and an error returned by the
trace function is raised at the instruction. So:

* **Asking.** The sampler's pending call (runtime/sampler.py) finds the main thread
  running, in the interpreter, code that is hot or compiled. It calls the driver
  (`jit._osr_sample`), which compiles the code's OSR variant in the background
  (lowering `lower(..., osr=True)`: entered at every loop header that no exception
  handler covers, with the locals in the frame) and, once it is there, arms.
* **Arming** (`coconut_osr_arm(ts, frame, budget)`): the thread's C trace function
  becomes `coconut_osr_trace` (its object stays what it was: `sys.gettrace()` is
  unchanged; no audit event: the fields are set, as `_PyEval_SetTrace` sets them), and
  `use_tracing` is set. Refused under a tracer or profiler of the program's (the
  statistics' instruction counter is forwarded every event and put back).
* **Entering** (`coconut_osr_trace`). At a line event of the armed frame at one of
  the variant's loop headers it disarms, then calls the native entry on the frame as
  the hook would, with the frame unlinked and the recursion count given back first
  (the entry links and counts it again), and with what `call_trace` changed for the
  trace call undone meanwhile (`tstate->tracing`, the frame object's fixed
  `f_lineno`). The native code runs the rest of the call, deopting to a nested
  interpreter as always. Then:
  - a result: the frame's stack is that value and its next instruction one of the
    code's RETURN_VALUEs: the interpreter returns it, with no tracer to report it;
  - an exception: native code (or the nested interpreter) added the frame's
    traceback entry; it is taken off and `prev_instr` set to its instruction, so that
    the interpreter, raising it at the loop header, adds the same entry again. The
    loop header is covered by no handler, so the exception leaves the frame.
  Events of other frames, and line events elsewhere, count down a budget; at zero,
  or when the frame returns, it disarms without entering.

The per-code table (co_extra at the OSR index: `Table`) lists the variant's entry, the
loop headers, a RETURN_VALUE's offset and nlocalsplus.
"""
from __future__ import annotations

from . import layout as L

BUDGET = 10_000            # events before an armed trace gives up
TICKS = 1024               # back edges between two requests of a variant (patched interpreter)
_RSHIFT = 11               # GCC_JIT_BINARY_OP_RSHIFT
PYTRACE_LINE, PYTRACE_RETURN = 2, 3

# The table a code object's OSR co_extra slot points to, in longs:
# [number of headers n, RETURN_VALUE's unit, nlocalsplus, native entry, h_0 .. h_n-1]
T_COUNT, T_RETURN, T_NLOCALSPLUS, T_ENTRY, T_HEADERS = range(5)


class _Exprs:
    """The small expressions both emitters below build (`c` a gccjit context)."""

    def __init__(self, c):
        import gccjit              # (only to build the runtime library: see hook.py)
        T = gccjit.TypeKind
        self.c, self.gccjit = c, gccjit
        self.vp, self.it, self.long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
        self.bool_t, self.char_p = c.get_type(T.BOOL), c.get_type(T.CHAR).get_pointer()

    def num(self, value, type_=None):
        return self.c.new_rvalue_from_int(type_ or self.long_t, value)

    def at(self, base, byte_offset):
        """(char *)base + byte_offset, as a void *."""
        c = self.c
        return c.new_cast(c.new_array_access(c.new_cast(base, self.char_p), byte_offset).get_address(),
                          self.vp)

    def both(self, a, b):
        return self.c.new_binary_op(self.gccjit.BinaryOp.LOGICAL_AND, self.bool_t, a, b)

    def either(self, a, b):
        return self.c.new_binary_op(self.gccjit.BinaryOp.LOGICAL_OR, self.bool_t, a, b)

    def table_of(self, field, fn, blk, code, osr_index, table, found, missing, no_slot=None):
        """In `blk`: `table` = the code's OSR table (its co_extra slot at `osr_index`:
        _PyCodeObjectExtra { Py_ssize_t ce_size; void *ce_extras[]; }); then to
        `found`, or to `missing` when the slot is NULL, or to `no_slot` (default
        `missing`) when the code has no such slot (`table` NULL). Returns the local
        `extra` (co_extra; not NULL in `missing`)."""
        no_slot = no_slot or missing
        c, g = self.c, self.gccjit
        has_extra, has_slot = fn.new_block(b"has_extra"), fn.new_block(b"has_slot")
        extra = fn.new_local(self.vp, b"extra")
        blk.add_assignment(table, c.null(self.vp))
        blk.add_assignment(extra, field(code, L.CO_EXTRA, self.vp))
        blk.end_with_conditional(c.new_comparison(g.Comparison.NE, extra, c.null(self.vp)),
                                 has_extra, no_slot)
        has_extra.end_with_conditional(c.new_comparison(g.Comparison.LT, osr_index,
                                                        field(extra, 0, self.long_t)),
                                       has_slot, no_slot)
        has_slot.add_assignment(table, c.new_array_access(
            c.new_cast(self.at(extra, self.num(8, self.it)), self.vp.get_pointer()), osr_index))
        has_slot.end_with_conditional(c.new_comparison(g.Comparison.NE, table, c.null(self.vp)),
                                      found, missing)
        return extra

    def header_scan(self, field, fn, blk, table, code, frame, units_before, found, missing):
        """In `blk`: whether the frame's `prev_instr` is `units_before` code units
        before one of the loop headers of the OSR table `table`: to `found` or
        `missing`. Returns (first, here): the code's first unit and prev_instr."""
        c, g, long_t = self.c, self.gccjit, self.long_t
        longs = c.new_cast(table, long_t.get_pointer())
        first, here = fn.new_local(self.vp, b"first"), fn.new_local(self.vp, b"here")
        i, n = fn.new_local(long_t, b"i"), fn.new_local(long_t, b"n")
        test, more, step = fn.new_block(b"scan_test"), fn.new_block(b"scan_more"), fn.new_block(b"scan_next")
        blk.add_assignment(first, self.at(code, self.num(L.CO_CODE_ADAPTIVE, self.it)))
        blk.add_assignment(here, field(frame, L.FRAME_PREV_INSTR, self.vp))
        blk.add_assignment(n, c.new_array_access(longs, self.num(T_COUNT, self.it)))
        blk.add_assignment(i, c.zero(long_t))
        blk.end_with_jump(test)
        test.end_with_conditional(c.new_comparison(g.Comparison.LT, i, n), more, missing)
        header = c.new_array_access(longs, c.new_binary_op(g.BinaryOp.PLUS, long_t, i, self.num(T_HEADERS)))
        offset = c.new_binary_op(g.BinaryOp.MINUS, long_t,
                                 c.new_binary_op(g.BinaryOp.MULT, long_t, header, self.num(2)),
                                 self.num(2 * units_before))
        more.end_with_conditional(c.new_comparison(g.Comparison.EQ, here, self.at(first, offset)), found, step)
        step.add_assignment_op(i, g.BinaryOp.PLUS, self.num(1))
        step.end_with_jump(test)
        return first, here


def emit_osr(c, field, imported, word, index, counter_func) -> None:
    """Add coconut_osr_trace and coconut_osr_arm to the runtime's context `c`. `word(i)`:
    the control block's i-th long; `index`: the control indices by name."""
    import gccjit                  # (only to build the runtime library: see hook.py)
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8, void = c.get_type(T.UNSIGNED_CHAR), c.get_type(T.VOID)
    eq, ne, le = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LE
    null = c.null(vp)
    X = _Exprs(c)
    num, both, either, at = X.num, X.both, X.either, X.at
    words = c.new_cast(word(0).get_address(), vp.get_pointer())

    def ptr(i):
        return c.new_array_access(words, num(i, it))

    get_ts = imported("PyThreadState_Get", vp, [])
    err_fetch = imported("PyErr_Fetch", void, [vp, vp, vp])
    err_restore = imported("PyErr_Restore", void, [vp, vp, vp])
    incref = imported("Py_IncRef", void, [vp])
    decref = imported("Py_DecRef", void, [vp])
    tracefunc_t = c.new_function_ptr_type(it, [vp, vp, it, vp])
    entry_t = c.new_function_ptr_type(vp, [vp, vp, it])

    def disarm(blk, ts):
        blk.add_assignment(field(ts, L.TS_C_TRACEFUNC, vp), ptr(index["OSR_SAVED_FUNC"]))
        blk.add_assignment(ptr(index["OSR_TARGET"]), null)

    # int coconut_osr_trace(PyObject *obj, PyFrameObject *f, int what, PyObject *arg)
    ps = [c.new_param(vp, b"obj"), c.new_param(vp, b"f"), c.new_param(it, b"what"),
          c.new_param(vp, b"arg")]
    obj, f, what, arg = ps
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_osr_trace", ps)
    B = {n: fn.new_block(n.encode()) for n in (
        "entry", "forward", "forwarded", "mine", "other", "spend", "give_up", "quiet",
        "returning", "line", "scan", "enter", "result", "raised", "own_entry", "restore")}
    ts, frame, code, table = (fn.new_local(vp, n) for n in (b"ts", b"frame", b"code", b"table"))
    saved, status = fn.new_local(vp, b"saved"), fn.new_local(it, b"status")
    result, last = fn.new_local(vp, b"result"), fn.new_local(vp, b"last")
    etype, evalue, etb = (fn.new_local(vp, nm) for nm in (b"etype", b"evalue", b"etb"))
    lineno = fn.new_local(it, b"lineno")
    longs = c.new_cast(table, long_t.get_pointer())

    def t_word(k):
        return c.new_array_access(longs, k if not isinstance(k, int) else num(k, it))

    e = B["entry"]
    e.add_assignment(ts, c.new_call(get_ts, []))
    e.add_assignment(status, c.zero(it))
    e.add_assignment(saved, ptr(index["OSR_SAVED_FUNC"]))
    e.end_with_conditional(c.new_comparison(ne, saved, null), B["forward"], B["forwarded"])
    # the statistics' counter, when it was the trace function: every event, first
    B["forward"].add_assignment(status, c.new_call_through_ptr(c.new_cast(saved, tracefunc_t), ps))
    B["forward"].end_with_jump(B["forwarded"])
    fw = B["forwarded"]
    fw.add_assignment(frame, field(f, L.FRAMEOBJ_FRAME, vp))
    fw.end_with_conditional(c.new_comparison(eq, frame, ptr(index["OSR_TARGET"])), B["mine"], B["other"])
    B["other"].end_with_jump(B["spend"])
    spend = B["spend"]
    spend.add_assignment_op(word(index["OSR_BUDGET"]), gccjit.BinaryOp.MINUS, num(1))
    spend.end_with_conditional(c.new_comparison(le, word(index["OSR_BUDGET"]), num(0)),
                               B["give_up"], B["quiet"])
    disarm(B["give_up"], ts)
    B["give_up"].end_with_jump(B["quiet"])
    B["quiet"].end_with_return(status)
    B["mine"].end_with_conditional(c.new_comparison(eq, what, num(PYTRACE_RETURN, it)),
                                   B["returning"], B["line"])
    disarm(B["returning"], ts)                  # the frame leaves: nothing to enter
    B["returning"].end_with_return(status)
    is_line = fn.new_block(b"is_line")
    B["line"].end_with_conditional(c.new_comparison(eq, what, num(PYTRACE_LINE, it)), is_line, B["quiet"])
    # at a loop header of the code's OSR table
    is_line.add_assignment(code, field(frame, L.FRAME_CODE, vp))
    X.table_of(field, fn, is_line, code, word(index["OSR_INDEX"]), table, B["scan"], B["spend"])
    first, here = X.header_scan(field, fn, B["scan"], table, code, frame, 0, B["enter"], B["spend"])

    # At a loop header of the armed frame: disarm, then run the rest of the call natively.
    en = B["enter"]
    disarm(en, ts)
    go = fn.new_block(b"go")
    # (a tracer or profiler of the program's set meanwhile: it sees the interpreter)
    en.end_with_conditional(
        either(c.new_comparison(ne, field(ts, L.TS_C_PROFILEFUNC, vp), null),
               both(c.new_comparison(ne, field(ts, L.TS_C_TRACEFUNC, vp), null),
                    c.new_comparison(ne, field(ts, L.TS_C_TRACEFUNC, long_t), counter_func))),
        B["quiet"], go)
    cframe = field(ts, L.TS_CFRAME, vp)
    go.add_assignment_op(field(ts, L.TS_TRACING, it), gccjit.BinaryOp.MINUS, c.one(it))
    go.add_assignment(lineno, field(f, L.FRAMEOBJ_LINENO, it))
    go.add_assignment(field(f, L.FRAMEOBJ_LINENO, it), c.zero(it))
    go.add_assignment(field(cframe, L.CFRAME_USE_TRACING, u8),
                      c.new_cast(c.new_comparison(ne, field(ts, L.TS_C_TRACEFUNC, vp), null), u8))
    go.add_assignment(field(cframe, L.CFRAME_USE_TRACING, u8),
                      c.new_binary_op(gccjit.BinaryOp.MULT, u8, field(cframe, L.CFRAME_USE_TRACING, u8),
                                      c.new_rvalue_from_int(u8, 255)))
    # once per frame: a deopt of the native code finishes the call in a nested
    # interpreter, which a later sample must not send back (see coconut_osr_arm)
    go.add_assignment(last, ptr(index["OSR_LAST"]))
    go.add_assignment(ptr(index["OSR_LAST"]), frame)
    # before the header, as a deopt leaves it (the entry dispatches on it)
    go.add_assignment(field(frame, L.FRAME_PREV_INSTR, vp), at(here, num(-2, it)))
    go.add_assignment(field(cframe, L.CFRAME_CURRENT_FRAME, vp), field(frame, L.FRAME_PREVIOUS, vp))
    go.add_assignment_op(field(ts, L.TS_RECURSION_REMAINING, it), gccjit.BinaryOp.PLUS, c.one(it))
    # is_entry as the frame had it: a deopt finishes the call in a nested interpreter,
    # whose _PyEval_EvalFrameDefault sets it, and the interpreter this frame goes back
    # to returns from a frame marked so to its own C caller. A frame it pushed itself
    # for a call (no hook installed then: the hook goes in later in the default mode)
    # is not one: its RETURN_VALUE must pop to its caller (cpython.patch keeps it so).
    was_entry = fn.new_local(u8, b"was_entry")
    go.add_assignment(was_entry, field(frame, L.FRAME_IS_ENTRY, u8))
    go.add_assignment(result, c.new_call_through_ptr(
        c.new_cast(c.new_array_access(c.new_cast(table, vp.get_pointer()), num(T_ENTRY, it)), entry_t),
        [ts, frame, c.zero(it)]))
    go.add_assignment_op(field(ts, L.TS_RECURSION_REMAINING, it), gccjit.BinaryOp.MINUS, c.one(it))
    go.add_assignment(field(frame, L.FRAME_IS_ENTRY, u8), was_entry)
    go.add_assignment(field(cframe, L.CFRAME_CURRENT_FRAME, vp), frame)
    go.add_assignment_op(field(ts, L.TS_TRACING, it), gccjit.BinaryOp.PLUS, c.one(it))
    go.add_assignment(field(f, L.FRAMEOBJ_LINENO, it), lineno)
    go.add_assignment(field(cframe, L.CFRAME_USE_TRACING, u8), c.zero(u8))   # as call_trace left it
    go.add_assignment_op(word(index["OSR_ENTRIES"]), gccjit.BinaryOp.PLUS, num(1))
    go.add_assignment(ptr(index["OSR_LAST"]), last)
    go.end_with_conditional(c.new_comparison(ne, result, null), B["result"], B["raised"])
    nlp = t_word(T_NLOCALSPLUS)
    local_slot = c.new_array_access(c.new_cast(at(frame, num(L.FRAME_LOCALSPLUS, it)), vp.get_pointer()), nlp)
    r = B["result"]
    r.add_assignment(local_slot, result)
    r.add_assignment(field(frame, L.FRAME_STACKTOP, it),
                     c.new_cast(c.new_binary_op(gccjit.BinaryOp.PLUS, long_t, nlp, num(1)), it))
    r.add_assignment(field(frame, L.FRAME_PREV_INSTR, vp),
                     at(first, c.new_binary_op(gccjit.BinaryOp.MULT, long_t, t_word(T_RETURN), num(2))))
    r.end_with_return(c.zero(it))
    x = B["raised"]
    x.add_assignment(field(frame, L.FRAME_STACKTOP, it), c.new_cast(nlp, it))
    x.add_eval(c.new_call(err_fetch, [etype.get_address(), evalue.get_address(), etb.get_address()]))
    x.end_with_conditional(both(c.new_comparison(ne, etb, null),
                                c.new_comparison(eq, field(etb, L.TB_FRAME, vp), f)),
                           B["own_entry"], B["restore"])
    o = B["own_entry"]
    o.add_assignment(field(frame, L.FRAME_PREV_INSTR, vp),
                     at(first, c.new_cast(field(etb, L.TB_LASTI, it), long_t)))
    o.add_assignment(saved, etb)
    o.add_assignment(etb, field(saved, L.TB_NEXT, vp))
    o.add_eval(c.new_call(incref, [etb]))        # (Py_IncRef takes NULL)
    o.add_eval(c.new_call(decref, [saved]))
    o.end_with_jump(B["restore"])
    B["restore"].add_eval(c.new_call(err_restore, [etype, evalue, etb]))
    B["restore"].end_with_return(c.new_rvalue_from_int(it, -1))

    # int coconut_osr_arm(PyThreadState *ts, _PyInterpreterFrame *frame, long budget)
    ap = [c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(long_t, b"budget")]
    af = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_osr_arm", ap)
    a0, refuse, arm = (af.new_block(nm) for nm in (b"entry", b"refuse", b"arm"))
    trace_now = field(ap[0], L.TS_C_TRACEFUNC, vp)
    a0.end_with_conditional(
        either(either(c.new_comparison(ne, field(ap[0], L.TS_C_PROFILEFUNC, vp), null),
                      c.new_comparison(ne, field(ap[0], L.TS_TRACING, it), c.zero(it))),
               either(either(c.new_comparison(ne, ptr(index["OSR_TARGET"]), null),
                             c.new_comparison(eq, ptr(index["OSR_LAST"]), ap[1])),
                      both(c.new_comparison(ne, trace_now, null),
                           c.new_comparison(ne, field(ap[0], L.TS_C_TRACEFUNC, long_t), counter_func)))),
        refuse, arm)
    refuse.end_with_return(c.zero(it))
    arm.add_assignment(ptr(index["OSR_SAVED_FUNC"]), trace_now)
    arm.add_assignment(trace_now, ptr(index["OSR_TRACE_FUNC"]))
    arm.add_assignment(ptr(index["OSR_TARGET"]), ap[1])
    arm.add_assignment(word(index["OSR_BUDGET"]), ap[2])
    arm.add_assignment(field(field(ap[0], L.TS_CFRAME, vp), L.CFRAME_USE_TRACING, u8),
                       c.new_rvalue_from_int(u8, 255))
    arm.end_with_return(c.one(it))


def emit_osr_loop(c, field, imported, traced, word, index, extra_index):
    """`int coconut_osr_loop(PyThreadState *ts, _PyInterpreterFrame *frame, PyObject
    **result)`: on-stack replacement on the patched interpreter (cpython.patch), where
    the interpreter itself offers a running frame at each loop back edge to the code's
    native entry (`coconut_entry` with _PyEval_NATIVE_LOOP), unlinked and uncounted as
    at a call, `prev_instr` one unit before the loop header and the value stack in the
    frame: what the trace function above arranges on the stock interpreter. No arming:
    when the code's OSR variant is there and the header is one of its entries, the
    variant runs the rest of the call and 1 is returned with its result (or NULL and
    the exception, the frame's traceback entry added); the interpreter then returns or
    unwinds the frame itself. Declined (0): under a tracer or profiler, a generator's
    frame, and the frame that native code handed to the interpreter last (a deopt:
    entering it again would nest a native call and an interpreter per deopt; see
    coconut_resume's OSR_RESUMED).

    The compile request is made here too. Every TICKS-th back edge (of any code, with
    no variant yet) credits the code it is in with TICKS entries (its count in the slot
    at `extra_index`: loops make code hot, as the sampler's time does), and when the
    code is compiled or hot (its count reached the threshold) asks the driver for the
    variant (the sampler's callback, `jit._osr_sample`, with the frame as
    OSR_CANDIDATE, as the compiler: IN_COMPILER), on any thread but the compile
    thread; the sampler asks as well, on the main thread. Returns the function."""
    import gccjit                  # (only to build the runtime library: see hook.py)
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    u8 = c.get_type(T.UNSIGNED_CHAR)
    eq, ne, lt, ge = gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT, gccjit.Comparison.GE
    null = c.null(vp)
    entry_t = c.new_function_ptr_type(vp, [vp, vp, it])
    X = _Exprs(c)
    num, at, either = X.num, X.at, X.either

    ps = [c.new_param(vp, b"ts"), c.new_param(vp, b"frame"), c.new_param(vp.get_pointer(), b"result")]
    ts, frame, result = ps
    fn = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_osr_loop", ps)
    B = {n: fn.new_block(n.encode()) for n in (
        "entry", "decline", "look", "scan", "enter", "no_table", "tick", "slot", "ask", "asked", "failed")}
    code, table = fn.new_local(vp, b"code"), fn.new_local(vp, b"table")
    B["entry"].end_with_conditional(
        either(either(traced(ts), c.new_comparison(ne, field(frame, L.FRAME_OWNER, u8),
                                                   c.new_rvalue_from_int(u8, L.OWNED_BY_THREAD))),
               c.new_comparison(eq, c.new_array_access(c.new_cast(word(0).get_address(), vp.get_pointer()),
                                                        num(index["OSR_RESUMED"], it)), frame)),
        B["decline"], B["look"])
    B["decline"].end_with_return(c.zero(it))
    B["look"].add_assignment(code, field(frame, L.FRAME_CODE, vp))
    extra = X.table_of(field, fn, B["look"], code, word(index["OSR_INDEX"]), table,
                       B["scan"], B["no_table"], B["decline"])
    # -- no variant yet: every TICKS-th time, ask for one when the code is hot
    ulong = c.get_type(T.UNSIGNED_LONG)
    ticks = word(index["OSR_TICKS"])
    nt = B["no_table"]
    nt.add_assignment_op(ticks, gccjit.BinaryOp.PLUS, num(1))
    nt.end_with_conditional(
        either(either(c.new_comparison(ne, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, long_t, ticks,
                                                           num(TICKS - 1)), num(0)),
                      c.new_comparison(eq, word(index["OSR_CALLBACK"]), num(0))),
               either(c.new_comparison(ne, word(index["IN_COMPILER"]), num(0)),
                      c.new_comparison(eq, ts, c.new_array_access(
                          c.new_cast(word(0).get_address(), vp.get_pointer()), num(index["WORKER_TS"], it))))),
        B["decline"], B["tick"])
    bits = fn.new_local(ulong, b"bits")
    B["tick"].end_with_conditional(c.new_comparison(lt, extra_index, field(extra, 0, long_t)),
                                   B["slot"], B["decline"])
    B["slot"].add_assignment(bits, c.new_array_access(
        c.new_cast(at(extra, num(8, it)), ulong.get_pointer()), extra_index))
    is_odd = c.new_comparison(ne, c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, ulong, bits, c.one(ulong)),
                              c.zero(ulong))
    never = c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong, c.zero(ulong))
    counted_hot = c.new_binary_op(
        gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL),
        c.new_comparison(ge, word(index["THRESHOLD"]), num(0)),
        c.new_comparison(ge, c.new_binary_op(_RSHIFT, ulong, bits, c.one(ulong)),
                         c.new_cast(word(index["THRESHOLD"]), ulong)))
    # A count (odd, not NEVER or RECOMPILE) is credited with TICKS entries: every
    # TICKS-th back edge of any code counts for TICKS entries of the code it is in
    # (CPython's warm-up counts a back edge as an entry, too).
    credit, check = fn.new_block(b"credit"), fn.new_block(b"check")
    sl = B["slot"]
    counting = c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL), is_odd,
                               c.new_comparison(lt, bits, c.new_binary_op(
                                   gccjit.BinaryOp.MINUS, ulong, never, c.new_rvalue_from_int(ulong, 2))))
    sl.end_with_conditional(counting, credit, check)
    credit.add_assignment_op(bits, gccjit.BinaryOp.PLUS, c.new_rvalue_from_int(ulong, 2 * TICKS))
    credit.add_assignment(c.new_array_access(c.new_cast(at(extra, num(8, it)), ulong.get_pointer()),
                                             extra_index), bits)
    credit.end_with_jump(check)
    # compiled (an even entry), or a count at the threshold (not NEVER, not RECOMPILE)
    check.end_with_conditional(
        c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, c.get_type(T.BOOL),
                        c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL),
                                        c.new_comparison(ne, bits, c.zero(ulong)),
                                        c.new_unary_op(gccjit.UnaryOp.LOGICAL_NEGATE, c.get_type(T.BOOL), is_odd)),
                        c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, c.get_type(T.BOOL),
                                        c.new_comparison(lt, bits, c.new_binary_op(
                                            gccjit.BinaryOp.MINUS, ulong, never, c.new_rvalue_from_int(ulong, 2))),
                                        counted_hot)),
        B["ask"], B["decline"])
    call_one = imported("PyObject_CallOneArg", vp, [vp, vp])
    decref = imported("Py_DecRef", c.get_type(T.VOID), [vp])
    err_clear = imported("PyErr_Clear", c.get_type(T.VOID), [])
    words = c.new_cast(word(0).get_address(), vp.get_pointer())
    candidate = c.new_array_access(words, num(index["OSR_CANDIDATE"], it))
    answer = fn.new_local(vp, b"answer")
    ask = B["ask"]
    ask.add_assignment(word(index["IN_COMPILER"]), num(1))
    ask.add_assignment(candidate, frame)
    ask.add_assignment(answer, c.new_call(call_one, [c.new_array_access(words, num(index["OSR_CALLBACK"], it)), code]))
    ask.add_assignment(candidate, null)
    ask.add_assignment(word(index["IN_COMPILER"]), num(0))
    ask.end_with_conditional(c.new_comparison(eq, answer, null), B["failed"], B["asked"])
    B["failed"].add_eval(c.new_call(err_clear, []))
    B["failed"].end_with_jump(B["decline"])
    B["asked"].add_eval(c.new_call(decref, [answer]))
    B["asked"].end_with_jump(B["decline"])
    # one unit before a loop header of the variant: enter it there
    X.header_scan(field, fn, B["scan"], table, code, frame, 1, B["enter"], B["decline"])
    en = B["enter"]
    en.add_assignment_op(word(index["OSR_ENTRIES"]), gccjit.BinaryOp.PLUS, num(1))
    en.add_assignment(result.dereference(), c.new_call_through_ptr(
        c.new_cast(c.new_array_access(c.new_cast(table, vp.get_pointer()), num(T_ENTRY, it)), entry_t),
        [ts, frame, c.zero(it)]))
    en.end_with_return(c.one(it))
    return fn
