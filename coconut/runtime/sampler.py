"""Time as hotness: a sampling thread for whole-program mode, emitted into the runtime
library.

The hook counts a code object's *entries*, so a function called a few times that
spends seconds in a loop (scimark's kernels, a program's main loop over its data)
never reaches the threshold, and stays interpreted while it is the program's hottest
code. 3.11's interpreter counts backward jumps only until it has quickened a code
object (its `co_warmup` is a short; past 0 `_PyCode_Quicken` runs again, which walks
inline caches as instructions), so there is no loop counter to borrow. So the runtime
samples, as adaptive JITs driven by a timer do (Jikes RVM, the JVMs' profilers):

* A C thread (`coconut_sampler_main`, no Python thread state: `threading` does not
  list it) wakes every PERIOD_US. When the program's main thread holds the GIL (3.11's
  `_PyThreadState_UncheckedGet` is the GIL holder), it queues one pending call
  (`coconut_sample`) in the main interpreter's queue and sets that interpreter's eval
  breaker. It names the interpreter itself (`_PyEval_AddPendingCall`):
  `Py_AddPendingCall` takes it from the GIL holder's thread state, read again, which
  may by then be a subinterpreter's that the main thread is destroying
  (test_capi's subinterpreter tests crashed so).
  Pending calls run on the main thread only, at its next eval-breaker check (a
  backward jump or a call in the interpreter, `coconut_eval_breaker` in native code).
  The breaker is set only while the main thread holds the GIL: another thread would
  see it set at every check (it cannot run pending calls) until the next GIL switch.
  Adding a pending call recomputes the breaker in the calling thread, where signals
  cannot be handled either: setting it right after puts back a signal's request.
* `coconut_sample` (GIL held; only on the main thread's own thread state: a
  subinterpreter on the main thread has another) looks at the innermost frame: if its code is not
  compiled and not marked NEVER, its entry counter (co_extra) goes up by
  threshold / SAMPLES_TO_HOT, capped at the threshold. So a code object the main
  thread is seen running SAMPLES_TO_HOT times (about 40 ms of its time) is compiled at
  its next entry, as if it had been entered `threshold` times; the compile itself
  goes through the driver as any other (warm-up, compile budget, background).
  When native code runs the innermost frame (the sample is taken at its eval-breaker
  check), the sample goes to the first caller out whose code is not compiled: a loop
  that calls compiled functions spends most of its time in them, and is seldom the
  innermost frame at a check (scimark's SOR kernel, whose `G[x, y]` calls a compiled
  `__getitem__`, stayed interpreted for a second of its run without this).
* In the default whole-program mode the hook itself waits for the first native code
  (Runtime.install(lazy=True)): hot code the interpreter runs in a thread's frame is
  handed to the driver's callback (`jit._osr_sample`), which compiles it when the
  compile budget allows; the hook goes in with the finished module (`jit._advance`).
  Until then the interpreter runs the program at its own speed: under any PEP 523 hook
  3.11 no longer runs Python calls in its own loop, which a program whose compiles the
  budget put off paid for nothing (a recursive fib, 0.3 s: 2x slower with the hook in
  and nothing compiled). Where the callback cannot be asked (a generator's frame, a
  tracer set), the sampler puts the hook in itself
  (`_PyInterpreterState_SetEvalFrameFunc`, unless another frame evaluator came first),
  and the code compiles at its next entry.
* Nothing else changes for the program: no Python code runs, no object is allocated,
  the pending call returns 0 (never an exception). Only the main thread is sampled;
  without OSR, a code object entered once (a main loop) is not helped.

`coconut_sampler_start()` starts the thread (whole-program mode with a threshold);
`coconut_sampler_stop()` stops it and joins it, woken at once through a semaphore (at
exit, before the interpreter is finalized: the thread must not call into it then).
After fork() the child starts its own (Runtime.restart_sampler).
"""
from __future__ import annotations

import os

from . import layout as L

PERIOD_US = 10_000         # the sampling period
SAMPLES_TO_HOT = 4         # samples that make a code object as hot as `threshold` entries
MAX_HOPS = 4               # callers a sample in native code walks out to (see coconut_sample)


def period_us() -> int:
    """COCONUT_SAMPLE_US: the sampling period in microseconds (0: no sampling)."""
    try:
        return max(0, int(os.environ.get("COCONUT_SAMPLE_US", PERIOD_US)))
    except ValueError:
        return PERIOD_US


def emit_sampler(c, field, imported, word, index, extra_index) -> None:
    """Add coconut_sample, coconut_sampler_main, coconut_sampler_start and
    coconut_sampler_stop to the runtime's context `c`. `word(i)` is the control
    block's i-th long (an lvalue), `index` the control indices by name (see
    hook.Runtime), `extra_index` the co_extra index (a long rvalue)."""
    import gccjit                  # (only to build the runtime library: see hook.py)
    T = gccjit.TypeKind
    vp, it, long_t = c.get_type(T.VOID_PTR), c.get_type(T.INT), c.get_type(T.LONG)
    ulong, char_p = c.get_type(T.UNSIGNED_LONG), c.get_type(T.CHAR).get_pointer()
    bool_t, void = c.get_type(T.BOOL), c.get_type(T.VOID)
    eq, ne, lt, gt = (gccjit.Comparison.EQ, gccjit.Comparison.NE, gccjit.Comparison.LT,
                      gccjit.Comparison.GT)
    null = c.null(vp)

    def num(value, type_=long_t):
        return c.new_rvalue_from_int(type_, value)

    def either(a, b):
        return c.new_binary_op(gccjit.BinaryOp.LOGICAL_OR, bool_t, a, b)

    never = c.new_unary_op(gccjit.UnaryOp.BITWISE_NEGATE, ulong, c.zero(ulong))
    recompile = c.new_binary_op(gccjit.BinaryOp.MINUS, ulong, never, num(2, ulong))
    set_extra = imported("_PyCode_SetExtra", it, [vp, long_t, ulong])
    get_ts = imported("PyThreadState_Get", vp, [])
    holder = imported("_PyThreadState_UncheckedGet", vp, [])
    add_pending = imported("_PyEval_AddPendingCall", it, [vp, vp, vp])
    pthread_create = imported("pthread_create", it, [vp, vp, vp, vp])
    pthread_join = imported("pthread_join", it, [ulong, vp])
    sem_init = imported("sem_init", it, [vp, it, c.get_type(T.UNSIGNED_INT)])
    sem_post = imported("sem_post", it, [vp])
    sem_timedwait = imported("sem_timedwait", it, [vp, vp])
    clock_gettime = imported("clock_gettime", it, [it, vp])
    call_one = imported("PyObject_CallOneArg", vp, [vp, vp])
    call_none = imported("PyObject_CallNoArgs", vp, [vp])
    sigfillset = imported("sigfillset", it, [vp])
    pthread_sigmask = imported("pthread_sigmask", it, [it, vp, vp])
    err_clear = imported("PyErr_Clear", void, [])
    decref = imported("Py_DecRef", void, [vp])

    words = c.new_cast(word(0).get_address(), vp.get_pointer())

    def ptr(i):
        """The control block's i-th word read as a pointer."""
        return c.new_array_access(words, num(i, it))

    # int coconut_sample(void *arg): the pending call (main thread, GIL held).
    sp = c.new_param(vp, b"arg")
    sf = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_sample", [sp])
    B = {n: sf.new_block(n.encode()) for n in (
        "entry", "look", "frame", "has_extra", "has_slot", "no_slot", "counter", "credit",
        "store_direct", "store_call", "done")}
    frame, code, extra = (sf.new_local(vp, n) for n in (b"frame", b"code", b"extra"))
    bits, count, limit = (sf.new_local(ulong, n) for n in (b"bits", b"count", b"limit"))
    has_slot = sf.new_local(bool_t, b"slot_exists")
    hops = sf.new_local(long_t, b"hops")      # callers walked past (see walk below)
    B["entry"].add_assignment(hops, num(0))
    B["entry"].add_assignment(word(index["SAMPLE_PENDING"]), num(0))
    B["entry"].add_assignment_op(word(index["SAMPLES"]), gccjit.BinaryOp.PLUS, num(1))
    # A background compile finished while the hook still waits for the first native
    # code: nothing else would install it (the hook does at an entry once it is in).
    finish, sample = sf.new_block(b"finish"), sf.new_block(b"sample")
    B["entry"].end_with_conditional(
        c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, bool_t,
                        c.new_comparison(ne, word(index["HOOK_PENDING"]), num(0)),
                        c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, bool_t,
                                        c.new_comparison(ne, word(index["FINISHED"]), num(0)),
                                        c.new_comparison(eq, word(index["IN_COMPILER"]), num(0)))),
        finish, sample)
    result = sf.new_local(vp, b"result")

    def as_compiler(blk, call, after):
        """From `blk`: the driver's callback `call` (a Python call) as the compiler
        (IN_COMPILER: not counted by statistics, and the sampling thread queues nothing
        meanwhile), its result or exception dropped; then `after`. (A compile there
        takes a while, and a call queued while this one runs cannot run: the
        interpreter's eval breaker would stay set, and under a trace function ceval's
        DO_TRACING checks it again and again at a RESUME, forever.)"""
        failed, called = sf.new_block(), sf.new_block()
        blk.add_assignment(word(index["IN_COMPILER"]), num(1))
        blk.add_assignment(result, call)
        blk.add_assignment(word(index["IN_COMPILER"]), num(0))
        blk.end_with_conditional(c.new_comparison(eq, result, null), failed, called)
        failed.add_eval(c.new_call(err_clear, []))
        failed.end_with_jump(after)
        called.add_eval(c.new_call(decref, [result]))
        called.end_with_jump(after)
    finish.add_assignment(word(index["FINISHED"]), num(0))
    as_compiler(finish, c.new_call(call_none, [ptr(index["FINISH_CALLBACK"])]), sample)
    # (threshold 0: nothing to credit, but on-stack replacement is asked for)
    sample.end_with_conditional(
        either(c.new_comparison(gt, num(0), word(index["THRESHOLD"])),
               c.new_comparison(ne, word(index["IN_COMPILER"]), num(0))),
        B["done"], B["look"])
    # Only on the main thread's own thread state (a subinterpreter running on the main
    # thread has another, and its own co_extra indices).
    ts = sf.new_local(vp, b"ts")
    B["look"].add_assignment(ts, c.new_call(get_ts, []))
    on_main = sf.new_block(b"on_main")
    B["look"].end_with_conditional(c.new_comparison(eq, ts, ptr(index["MAIN_TS"])), on_main,
                                   B["done"])
    on_main.add_assignment(frame, field(field(ts, L.TS_CFRAME, vp), L.CFRAME_CURRENT_FRAME, vp))
    on_main.end_with_conditional(c.new_comparison(eq, frame, null), B["done"], B["frame"])
    B["frame"].add_assignment(code, field(frame, L.FRAME_CODE, vp))
    B["frame"].add_assignment(extra, field(code, L.CO_EXTRA, vp))
    B["frame"].add_assignment(bits, c.zero(ulong))
    B["frame"].add_assignment(has_slot, c.new_rvalue_from_int(bool_t, 0))
    B["frame"].end_with_conditional(c.new_comparison(ne, extra, null), B["has_extra"], B["no_slot"])
    # _PyCodeObjectExtra { Py_ssize_t ce_size; void *ce_extras[]; }
    B["has_extra"].end_with_conditional(c.new_comparison(gt, field(extra, 0, long_t), extra_index),
                                        B["has_slot"], B["no_slot"])
    slots = c.new_cast(c.new_array_access(c.new_cast(extra, char_p), num(8, it)).get_address(),
                       ulong.get_pointer())
    B["has_slot"].add_assignment(bits, c.new_array_access(slots, extra_index))
    B["has_slot"].add_assignment(has_slot, c.new_rvalue_from_int(bool_t, 1))
    B["has_slot"].end_with_jump(B["counter"])
    B["no_slot"].end_with_jump(B["counter"])
    # A native entry (even, not NULL), NEVER or RECOMPILE: nothing to count.
    low_bit = c.new_binary_op(gccjit.BinaryOp.BITWISE_AND, ulong, bits, c.one(ulong))
    native = c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, bool_t,
                             c.new_comparison(ne, bits, c.zero(ulong)),
                             c.new_comparison(eq, low_bit, c.zero(ulong)))
    osr, is_native = sf.new_block(b"osr"), sf.new_block(b"is_native")
    native_code, walk, up = (sf.new_block(n) for n in (b"native_code", b"walk", b"up"))
    B["counter"].end_with_conditional(native, native_code, is_native)
    # Native code at its eval-breaker check runs this frame: the time is its caller's
    # too (a loop calling compiled functions: its own bytecode is a small share of the
    # time, and it is seldom the innermost frame when a sample is taken). Walk out
    # past the callers whose code is native too, up to MAX_HOPS of them, and credit
    # the first whose code is counted: its next entry compiles it. (Not by how the
    # frame runs: the stock interpreter leaves `stacktop` -1 in a frame it runs, but
    # the patched one sets it at a call, as at any call it runs itself.) A frame of
    # counted code that native code runs (on-stack replacement's) is credited too: it
    # is hot. Not on-stack replacement from here: arming turns tracing on for the
    # thread, and the native code between would leave for the interpreter at its next
    # check (a sample taken in the caller's own bytecode arms it, below).
    in_native = c.new_comparison(ne, word(index["IN_NATIVE_BREAKER"]), num(0))
    native_code.end_with_conditional(in_native, walk, osr)
    walk.add_assignment_op(hops, gccjit.BinaryOp.PLUS, num(1))
    walk.end_with_conditional(c.new_comparison(gt, hops, num(MAX_HOPS)), B["done"], up)
    up.add_assignment(frame, field(frame, L.FRAME_PREVIOUS, vp))
    up.end_with_conditional(c.new_comparison(eq, frame, null), B["done"], B["frame"])
    is_native.end_with_conditional(
        either(c.new_comparison(eq, bits, never), c.new_comparison(eq, bits, recompile)),
        B["done"], B["credit"])
    credit = B["credit"]
    credit.add_assignment(count, c.new_binary_op(_RSHIFT, ulong, bits, c.one(ulong)))
    credit.add_assignment(limit, c.new_cast(word(index["THRESHOLD"]), ulong))
    # count = min(count + weight, max(count, threshold))
    raised, capped, keep = (sf.new_block(n) for n in (b"raised", b"capped", b"keep"))
    credit.end_with_conditional(c.new_comparison(lt, count, limit), raised, osr)
    raised.add_assignment_op(count, gccjit.BinaryOp.PLUS, c.new_cast(word(index["SAMPLE_WEIGHT"]), ulong))
    raised.end_with_conditional(c.new_comparison(gt, count, limit), capped, keep)
    capped.add_assignment(count, limit)
    capped.end_with_jump(keep)
    tagged = c.new_binary_op(gccjit.BinaryOp.BITWISE_OR, ulong,
                             c.new_binary_op(_LSHIFT, ulong, count, c.one(ulong)), c.one(ulong))
    keep.end_with_conditional(has_slot, B["store_direct"], B["store_call"])
    B["store_direct"].add_assignment(c.new_array_access(slots, extra_index), tagged)
    stored = sf.new_block(b"stored")
    B["store_direct"].end_with_jump(stored)
    B["store_call"].add_eval(c.new_call(set_extra, [code, extra_index, tagged]))
    B["store_call"].end_with_jump(stored)
    stored.end_with_conditional(c.new_comparison(lt, count, limit), B["done"], osr)
    # Hot or compiled code that the interpreter runs in the innermost frame (not native
    # code at its eval-breaker check), with no tracer or profiler but the statistics'
    # counter: the driver may compile it for on-stack replacement, or arm it
    # (runtime/osr.py).
    ask, asked = sf.new_block(b"ask"), sf.new_block(b"asked")
    # Hot code, and the hook still waits for it (Runtime.install(lazy=True)). Where the
    # driver's callback can be asked (the frame's code runs in the interpreter, on its
    # thread's frame, with no tracer or profiler but the statistics' counter), it
    # decides: it compiles the code when the compile budget allows, and the hook goes
    # in with the first native code (jit._advance): until then the program keeps the
    # interpreter's own speed (3.11 stops running Python calls in its own loop under any
    # PEP 523 hook: a recursive fib ran 2x slower with the hook in and every compile
    # put off by the budget). Else it goes in now, unless another frame evaluator came
    # first (a debugger's: then coconut stays out, as install() would refuse to share
    # it). The code's counter is at the threshold: its next entry, through the hook,
    # compiles it.
    def not_askable():
        owner = field(frame, L.FRAME_OWNER, c.get_type(T.UNSIGNED_CHAR))
        return either(either(c.new_comparison(eq, word(index["OSR_CALLBACK"]), num(0)),
                             in_native),
                      either(c.new_comparison(ne, owner, c.new_rvalue_from_int(c.get_type(T.UNSIGNED_CHAR), L.OWNED_BY_THREAD)),
                             either(c.new_comparison(ne, field(ts, L.TS_C_PROFILEFUNC, vp), null),
                                    c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, bool_t,
                                                    c.new_comparison(ne, field(ts, L.TS_C_TRACEFUNC, vp), null),
                                                    c.new_comparison(ne, field(ts, L.TS_C_TRACEFUNC, long_t),
                                                                     word(index["COUNTER_FUNC"]))))))
    hook_pending, hook_now, set_hook, osr_check = (sf.new_block(n) for n in (
        b"hook_pending", b"hook_now", b"set_hook", b"osr_check"))
    get_eval = imported("_PyInterpreterState_GetEvalFrameFunc", vp, [vp])
    set_eval = imported("_PyInterpreterState_SetEvalFrameFunc", void, [vp, vp])
    osr.end_with_conditional(c.new_comparison(ne, word(index["HOOK_PENDING"]), num(0)),
                             hook_pending, osr_check)
    hook_pending.end_with_conditional(not_askable(), hook_now, ask)
    hook_now.add_assignment(word(index["HOOK_PENDING"]), num(0))
    hook_now.end_with_conditional(
        c.new_comparison(eq, c.new_call(get_eval, [ptr(index["MAIN_INTERP"])]),
                         ptr(index["DEFAULT_EVAL"])), set_hook, osr_check)
    set_hook.add_eval(c.new_call(set_eval, [ptr(index["MAIN_INTERP"]), ptr(index["HOOK_ADDRESS"])]))
    set_hook.end_with_jump(osr_check)
    osr_check.end_with_conditional(not_askable(), B["done"], ask)
    ask.add_assignment(ptr(index["OSR_CANDIDATE"]), frame)
    as_compiler(ask, c.new_call(call_one, [ptr(index["OSR_CALLBACK"]), code]), asked)
    asked.add_assignment(ptr(index["OSR_CANDIDATE"]), null)
    asked.end_with_jump(B["done"])
    B["done"].end_with_return(c.zero(it))

    # void *coconut_sampler_main(void *arg): the thread (no thread state, no GIL).
    mp = c.new_param(vp, b"arg")
    mf = c.new_function(gccjit.FunctionKind.EXPORTED, vp, b"coconut_sampler_main", [mp])
    M = {n: mf.new_block(n.encode()) for n in (
        "entry", "wait", "woken", "main_runs", "queue", "queued", "breaker", "exit")}
    when = mf.new_local(c.new_array_type(long_t, 2), b"when")      # struct timespec
    sec, nsec = (c.new_array_access(when, num(i, it)) for i in (0, 1))
    M["entry"].end_with_jump(M["wait"])
    wait = M["wait"]
    wait.add_eval(c.new_call(clock_gettime, [num(0, it), c.new_cast(when.get_address(), vp)]))  # CLOCK_REALTIME
    wait.add_assignment_op(nsec, gccjit.BinaryOp.PLUS,
                           c.new_binary_op(gccjit.BinaryOp.MULT, long_t, word(index["SAMPLE_PERIOD"]), num(1000)))
    wait.add_assignment_op(sec, gccjit.BinaryOp.PLUS,
                           c.new_binary_op(gccjit.BinaryOp.DIVIDE, long_t, nsec, num(1_000_000_000)))
    wait.add_assignment(nsec, c.new_binary_op(gccjit.BinaryOp.MODULO, long_t, nsec, num(1_000_000_000)))
    # returns 0 when stop posted the semaphore, -1 (ETIMEDOUT, EINTR) otherwise
    wait.add_eval(c.new_call(sem_timedwait, [ptr(index["SAMPLER_SEM"]), c.new_cast(when.get_address(), vp)]))
    wait.end_with_jump(M["woken"])
    M["woken"].end_with_conditional(c.new_comparison(ne, word(index["SAMPLER_STOP"]), num(0)),
                                    M["exit"], M["main_runs"])
    # (nothing while the compiler runs: see coconut_sample's callback)
    M["main_runs"].end_with_conditional(
        c.new_binary_op(gccjit.BinaryOp.LOGICAL_AND, bool_t,
                        c.new_comparison(eq, c.new_call(holder, []), ptr(index["MAIN_TS"])),
                        c.new_comparison(eq, word(index["IN_COMPILER"]), num(0))),
        M["queue"], M["wait"])
    M["queue"].end_with_conditional(c.new_comparison(eq, word(index["SAMPLE_PENDING"]), num(0)),
                                    M["queued"], M["breaker"])
    M["queued"].add_assignment(word(index["SAMPLE_PENDING"]), num(1))
    failed = mf.new_block(b"failed")
    M["queued"].end_with_conditional(
        c.new_comparison(eq, c.new_call(add_pending, [ptr(index["MAIN_INTERP"]), ptr(index["SAMPLE_FUNC"]),
                                                      null]), c.zero(it)),
        M["breaker"], failed)
    failed.add_assignment(word(index["SAMPLE_PENDING"]), num(0))
    failed.end_with_jump(M["wait"])
    M["breaker"].add_assignment(c.new_cast(ptr(index["EVAL_BREAKER"]), it.get_pointer()).dereference(),
                                c.one(it))
    M["breaker"].end_with_jump(M["wait"])
    M["exit"].end_with_return(null)

    # int coconut_sampler_start(void): 0, or pthread_create's error.
    tf = c.new_function(gccjit.FunctionKind.EXPORTED, it, b"coconut_sampler_start", [])
    tb = tf.new_block(b"entry")
    tb.add_assignment(word(index["SAMPLER_STOP"]), num(0))
    tb.add_assignment(word(index["SAMPLE_PENDING"]), num(0))
    tb.add_eval(c.new_call(sem_init, [ptr(index["SAMPLER_SEM"]), c.zero(it),
                                      c.zero(c.get_type(T.UNSIGNED_INT))]))
    # The thread starts with every signal blocked (it inherits the mask it is created
    # with): the kernel delivers a process signal to a thread that does not block it,
    # and a program that blocks one in its own threads (pthread_sigmask, then
    # sigpending/sigwait) must find it pending, as without us.
    sigset_t = c.new_array_type(c.get_type(T.UNSIGNED_CHAR), 128)
    every, before = tf.new_local(sigset_t, b"every"), tf.new_local(sigset_t, b"before")
    status = tf.new_local(it, b"status")
    tb.add_eval(c.new_call(sigfillset, [c.new_cast(every.get_address(), vp)]))
    tb.add_eval(c.new_call(pthread_sigmask, [num(0, it), c.new_cast(every.get_address(), vp),
                                             c.new_cast(before.get_address(), vp)]))   # SIG_BLOCK
    tb.add_assignment(status, c.new_call(pthread_create, [
        c.new_cast(word(index["SAMPLER_THREAD"]).get_address(), vp), null,
        ptr(index["SAMPLER_MAIN"]), null]))
    tb.add_eval(c.new_call(pthread_sigmask, [num(2, it), c.new_cast(before.get_address(), vp),
                                             null]))                                  # SIG_SETMASK
    tb.end_with_return(status)

    # void coconut_sampler_stop(void): wakes the thread and waits for it to end.
    xf = c.new_function(gccjit.FunctionKind.EXPORTED, void, b"coconut_sampler_stop", [])
    xb = xf.new_block(b"entry")
    xb.add_assignment(word(index["SAMPLER_STOP"]), num(1))
    xb.add_eval(c.new_call(sem_post, [ptr(index["SAMPLER_SEM"])]))
    xb.add_eval(c.new_call(pthread_join, [c.new_cast(word(index["SAMPLER_THREAD"]), ulong), null]))
    xb.end_with_void_return()


_LSHIFT, _RSHIFT = 10, 11    # GCC_JIT_BINARY_OP_LSHIFT/RSHIFT (missing from the binding's enum)
