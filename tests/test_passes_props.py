"""Property tests of the IR passes: random IrCFGs (hypothesis) and the corpus's IR.

Each pass must keep the IR valid (the verifier), keep every exit that was reachable
reachable, and not change what the code does as far as references go. That last one is
checked with `Machine`, a reference interpreter of the IR that tracks objects and their
reference counts abstractly. Branch conditions are not evaluated: every combination of
branch outcomes is explored (up to a bound), the k-th evaluation of a branch taking
the same outcome before and after the pass. Along each path the machine records what
can be observed: each call that may run code or look at counts, with every refcount
at that moment; each deallocation; each store of a reference; each read of a refcount;
the exit and its stack, with the counts there. The passes may move refcount operations
between those points, never across them: the records must be equal. Paths on which the
original code frees an object and uses it again are undefined and are not compared.
"""
import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from coconut.backend.capi import CAPI
from coconut.ir import ops
from coconut.ir.cfg import IrCFG, IrVerifyError
from coconut.passes import PIPELINE, effects, prune
from coconut.runtime import layout as L

# -- the reference machine ----------------------------------------------------------


class Undefined(Exception):
    """The path uses an object after freeing it (or reads an unset variable)."""


class Diverges(Exception):
    """The path did not reach an exit within the step bound."""


class NeedDecision(Exception):
    def __init__(self, key):
        self.key = key


class Sym:
    """A symbolic value (an object, an int, a pointer), named by a tuple that may hold
    other Syms; interned, so that equal names are one Sym and hashing stays cheap."""
    __slots__ = ("key", "hash")
    _interned: dict = {}

    def __new__(cls, *key):
        sym = cls._interned.get(key)
        if sym is None:
            sym = object.__new__(cls)
            sym.key, sym.hash = key, hash(key)
            cls._interned[key] = sym
        return sym

    def __hash__(self):
        return self.hash

    def __repr__(self):
        return repr(self.key)


class Machine:
    """Runs one path of an IrCFG; `decide(key) -> bool` picks the branch outcomes, where
    `key` is (id of the Cond, how many times it was evaluated before on this path)."""

    def __init__(self, ir: IrCFG, decide, max_steps: int):
        self.ir, self.decide, self.max_steps = ir, decide, max_steps
        self.env = {"tstate": Sym("tstate"), "frame": Sym("frame")}
        self.counts: dict = {}             # object -> its reference count
        self.initial: dict = {}            # object -> the count it was first seen with
        self.changed: dict = {}            # object -> count, for those incref'd or decref'd
        self.freed: set = set()
        self.locals = {}
        # (object, offset, whether read as an object) -> value: an int read of the same
        # word is a value of its own (else removing a dead int load, which dead_code
        # may, would change what a later object load of that word is taken to be)
        self.fields: dict = {}
        self.epoch = 0                     # bumped whenever memory may have changed
        self.calls = 0
        self.evaluations: dict = {}
        self.events: list = []

    # objects
    def obj(self, o, count: int = 1):
        if o not in self.counts:
            self.counts[o] = self.initial[o] = count
        return o

    def live(self, o):
        if o in self.freed:
            raise Undefined(f"use of freed {o}")
        return o

    def value(self, v):
        if isinstance(v, ops.Var):
            if v.name not in self.env:
                raise Undefined(f"{v} read before written")
            return self.env[v.name]
        if isinstance(v, ops.ObjConst):
            return self.obj(Sym("const", id(v.obj)))
        if isinstance(v, ops.IntConst):
            return "NULL" if v.ctype == "obj" and v.value == 0 else Sym("int", v.value)
        if isinstance(v, ops.AddressOf):
            return Sym("address of", v.var.name)
        if isinstance(v, ops.Address):
            return Sym("address", v.name)
        return Sym("value", str(v))

    def is_object(self, o) -> bool:
        return o in self.counts

    def snapshot(self):
        """Every count that is not the one the object was first seen with; the freed."""
        return (frozenset((o, c) for o, c in self.changed.items() if c != self.initial[o]),
                frozenset(self.freed))

    def event(self, *what, counts=True):
        self.events.append(what + ((self.snapshot(),) if counts else ()))

    def havoc(self):
        """Python code may have run: any memory may have changed."""
        self.epoch += 1
        self.fields.clear()

    # ops
    def incref(self, o):
        if self.is_object(self.live(o)):
            self.counts[o] += 1
            self.changed[o] = self.counts[o]

    def decref(self, o):
        if not self.is_object(self.live(o)):
            return
        self.counts[o] -= 1
        self.changed[o] = self.counts[o]
        if self.counts[o] == 0:
            self.freed.add(o)
            self.event("free", o)
            self.havoc()                   # a finalizer may run any code

    def load(self, dst: ops.Var, base, offset: int, refcount: bool):
        """`refcount`: the IR reads ob_refcnt through an object (effects.reads_refcount;
        a path that no run can take may load through a pointer that is an object)."""
        if self.is_object(base):
            self.live(base)
        if refcount and self.is_object(base):
            self.event("reads refcount", base)
            return Sym("refcount", self.counts[base])
        key = (base, offset, dst.ctype == "obj")
        if key not in self.fields:
            sym = Sym("field", base, offset, self.epoch)
            self.fields[key] = self.obj(sym) if dst.ctype == "obj" else sym
        return self.fields[key]

    def call(self, func: str, args: list, dst):
        for a in args:
            if self.is_object(a):
                self.live(a)
        quiet = func in effects.QUIET_CALLS
        self.event("call", func, tuple(args), counts=not quiet)
        if not quiet:
            self.havoc()
        self.calls += 1
        if dst is None:
            return None
        if dst.ctype == "obj":
            return self.obj(Sym("result", self.calls))
        return Sym("result", self.calls)

    def step(self, op):
        if isinstance(op, ops.Assign):
            self.env[op.dst.name] = self.value(op.src)
        elif isinstance(op, ops.Incref):
            self.incref(self.value(op.value))
        elif isinstance(op, ops.Decref):
            o = self.value(op.value)
            if not (op.maybe_null and o == "NULL"):
                self.decref(o)
        elif isinstance(op, ops.LoadLocal):
            if op.index not in self.locals:
                self.locals[op.index] = self.obj(Sym("local", op.index), count=2)
            self.env[op.dst.name] = self.locals[op.index]
        elif isinstance(op, ops.StoreLocal):
            src = self.value(op.src)
            if self.is_object(src):
                self.live(src)
            self.locals[op.index] = src
            self.event("store local", op.index, src)
        elif isinstance(op, ops.Load):
            self.env[op.dst.name] = self.load(op.dst, self.value(op.base), op.offset,
                                              effects.reads_refcount(op))
        elif isinstance(op, ops.Store):
            base, src = self.value(op.base), self.value(op.src)
            for o in (base, src):
                if self.is_object(o):
                    self.live(o)
            self.fields[(base, op.offset, op.ctype == "obj")] = src
            self.fields.pop((base, op.offset, op.ctype != "obj"), None)
            # (a word at offset 0 of an object is its refcount; a double written
            # through a pointer at offset 0, an array's item, is not)
            if op.ctype == "obj" or (op.offset == L.OB_REFCNT and
                                     effects.ctype_of(op.base) == "obj"):
                self.event("store", base, op.offset, src)
        elif isinstance(op, ops.BinArith):
            self.env[op.dst.name] = Sym("arith", op.op, self.value(op.a), self.value(op.b))
        elif isinstance(op, ops.PtrAdd):
            self.env[op.dst.name] = Sym("ptr", self.value(op.base), self.value(op.delta))
        elif isinstance(op, ops.SetInstr):
            pass
        elif isinstance(op, ops.CallC):
            result = self.call(op.func, [self.value(a) for a in op.args], op.dst)
            for a in op.args:
                if isinstance(a, ops.AddressOf):       # an out-parameter
                    self.env[a.var.name] = self.obj(Sym("out", self.calls, a.var.name))
            if op.dst is not None:
                self.env[op.dst.name] = result
        elif isinstance(op, effects.PURE):        # an op computing a value, known pure
            self.env[op.dst.name] = Sym(type(op).__name__, *map(self.value, effects.uses(op)))
        else:     # CallVectorcall, CallArray, any other op: as a call that may run code
            dst = getattr(op, "dst", None)
            result = self.call(type(op).__name__, [self.value(a) for a in effects.uses(op)],
                               dst if isinstance(dst, ops.Var) else None)
            if isinstance(dst, ops.Var):
                self.env[dst.name] = result

    def run(self):
        """The observable events of the path."""
        name, steps = self.ir.entry, 0
        while True:
            block = self.ir.blocks[name]
            for op in block.ops:
                steps += 1
                self.step(op)
            if steps > self.max_steps:
                raise Diverges()
            steps += 1
            t = block.terminator
            if isinstance(t, ops.Jump):
                name = t.target
            elif isinstance(t, ops.Branch):
                if t.if_true == t.if_false:
                    name = t.if_true
                else:
                    n = self.evaluations.get(id(t.cond), 0)
                    self.evaluations[id(t.cond)] = n + 1
                    name = t.if_true if self.decide((id(t.cond), n)) else t.if_false
            else:
                stack = t.stack if isinstance(t, (ops.Deopt, ops.ErrorExit)) else (t.value,)
                values = [self.value(v) for v in stack]
                for v in values:
                    if self.is_object(v):
                        self.live(v)
                self.event("exit", str(t).split(" [")[0], tuple(values))
                return self.events


def paths(ir: IrCFG, max_decisions: int, max_paths: int, max_steps: int):
    """[(decisions, events)] of the complete, defined paths of `ir` (depth first, at most
    max_paths, each with at most max_decisions branch outcomes)."""
    found, todo = [], [{}]
    while todo and len(found) < max_paths:
        decisions = todo.pop()

        def decide(key):
            if key not in decisions:
                raise NeedDecision(key)
            return decisions[key]
        try:
            events = Machine(ir, decide, max_steps).run()
        except NeedDecision as need:
            if len(decisions) < max_decisions:
                todo += [{**decisions, need.key: False}, {**decisions, need.key: True}]
            continue
        except (Undefined, Diverges):
            continue
        found.append((decisions, events))
    return found


def replay(ir: IrCFG, decisions: dict, max_steps: int):
    def decide(key):
        assert key in decisions, f"the pass added a branch evaluation {key}"
        return decisions[key]
    try:
        return Machine(ir, decide, max_steps).run()
    except Undefined as exc:
        return [("undefined", str(exc))]
    except Diverges:
        return [("diverges",)]


def reachable_exits(ir: IrCFG) -> set:
    return {id(ir.blocks[n].terminator) for n in ir.reverse_postorder()
            if not ir.blocks[n].terminator.successors()}


def copy_ir(ir: IrCFG) -> IrCFG:
    """A copy sharing the ops (passes replace ops and terminators, never change them)
    and the Conds (their identity names a branch for the machine)."""
    out = IrCFG(ir.name, ir.nlocalsplus, ir.code)
    for name, block in ir.blocks.items():
        b = out.new_block(name, block.comment)
        b.ops = list(block.ops)
        b.terminator = block.terminator
    out.entry = ir.entry
    return out


def check_pass(p, ir: IrCFG, max_decisions=6, max_paths=64, max_steps=150):
    """Run pass `p` on a copy of `ir` and check the properties; returns the result."""
    before = paths(ir, max_decisions, max_paths, max_steps)
    exits = reachable_exits(ir)
    after = p.run(copy_ir(ir))
    after.verify()
    assert reachable_exits(after) == exits, f"{p.name} changed the reachable exits"
    for decisions, events in before:
        got = replay(after, decisions, 3 * max_steps + 100)
        if got != events:
            raise AssertionError(
                f"{p.name} changed a path ({decisions}):\n--- before\n{ir.dump()}"
                f"--- after\n{after.dump()}--- events before\n" + "\n".join(map(str, events))
                + "\n--- events after\n" + "\n".join(map(str, got)))
    return after


# -- random IR --------------------------------------------------------------------------
OBJ_VARS = [ops.Var(n) for n in "abcd"]
INT_VARS = [ops.Var("i", "int"), ops.Var("j", "int")]
REFCNT = ops.Var("r", "ssize")
CONSTS = [ops.ObjConst("k"), ops.ObjConst(None)]
NCONDS = itertools.count()


def _entry_ops():
    a, b, c, d = OBJ_VARS
    i, j = INT_VARS
    frame = ops.Var("frame", "ptr")
    return [ops.LoadLocal(a, 0), ops.LoadLocal(b, 1), ops.LoadLocal(c, 0),    # c is a
            ops.Load(d, a, 24), ops.Load(i, frame, 16), ops.Load(j, frame, 20),
            ops.Load(REFCNT, frame, 8)]


obj_var = st.sampled_from(OBJ_VARS)
obj_value = st.one_of(obj_var, obj_var, st.sampled_from(CONSTS))
int_var = st.sampled_from(INT_VARS)

quiet_op = st.one_of(
    st.builds(ops.Assign, obj_var, obj_value),
    st.builds(ops.LoadLocal, obj_var, st.integers(0, 2)),
    st.builds(ops.Load, obj_var, obj_var, st.sampled_from([16, 24])),
    st.builds(ops.Load, int_var, obj_var, st.just(16)),
    st.builds(ops.Store, obj_var, st.just(16), int_var, st.just("int")),
    st.builds(ops.BinArith, int_var, st.sampled_from("+-&"), int_var, int_var),
    st.builds(lambda d, i: ops.CallC(d, "PyLong_FromLong", (i,)), obj_var, int_var),
    st.builds(lambda: ops.CallC(None, "PyErr_Occurred", ())),
    st.builds(ops.SetInstr, st.integers(0, 3)),
)
barrier_op = st.one_of(
    st.builds(ops.StoreLocal, st.integers(0, 2), obj_var),
    st.builds(ops.Load, st.just(REFCNT), obj_var, st.just(L.OB_REFCNT)),
    st.builds(ops.Store, obj_var, st.just(24), obj_var),
    st.builds(lambda d, x, y: ops.CallC(d, "PyNumber_Add", (x, y)), obj_var, obj_var, obj_var),
    st.builds(lambda d, x: ops.CallC(d, "PyObject_IsTrue", (x,)), int_var, obj_var),
)
refcount_op = st.one_of(
    st.builds(ops.Incref, obj_value), st.builds(ops.Decref, obj_value),
    st.builds(ops.Decref, obj_var, st.just(True)))


@st.composite
def pair(draw):
    """incref x, a few ops, decref x (or of an alias of x)."""
    x = draw(obj_value)
    middle = draw(st.lists(st.one_of(quiet_op, quiet_op, quiet_op, barrier_op), max_size=3))
    return [ops.Incref(x), *middle, ops.Decref(draw(st.one_of(st.just(x), obj_value)))]


chunk = st.one_of(pair(), pair(), st.lists(quiet_op, min_size=1, max_size=2),
                  st.lists(barrier_op, max_size=1), st.lists(refcount_op, min_size=1, max_size=2))


@st.composite
def random_ir(draw):
    """A valid IrCFG: blocks b0..bn with random ops; jumps and branches to any block (so
    loops too); exits spilling random stacks. Every variable is written in the entry."""
    n = draw(st.integers(1, 7))
    ir = IrCFG("random", 3)
    entry = ir.new_block("entry")
    entry.ops = _entry_ops()
    entry.terminator = ops.Jump("b0")
    names = [f"b{k}" for k in range(n)]
    for k, name in enumerate(names):
        block = ir.new_block(name)
        block.ops = [op for c in draw(st.lists(chunk, max_size=3)) for op in c]
        kind = draw(st.sampled_from(["jump", "branch", "branch", "exit"] if k < n - 1 else
                                    ["exit", "branch"]))
        # mostly forward (paths end soon), sometimes anywhere (loops)
        target = st.one_of(*[st.sampled_from(names[k + 1:])] * 4 if k < n - 1 else [],
                           st.sampled_from(names))
        if kind == "jump":
            block.terminator = ops.Jump(draw(target))
        elif kind == "branch":
            cond = draw(st.one_of(
                st.builds(ops.Cond, st.sampled_from(["<", "=="]), int_var, int_var),
                st.builds(ops.Cond, st.just("=="), obj_var, st.just(ops.NULL))))
            block.terminator = ops.Branch(cond, draw(target), draw(target))
        else:
            exit_kind = draw(st.sampled_from(["return", "deopt", "error"]))
            stack = tuple(draw(st.lists(obj_var, max_size=3)))
            block.terminator = (ops.Return(draw(obj_var)) if exit_kind == "return" else
                                ops.Deopt(k, stack, "random") if exit_kind == "deopt" else
                                ops.ErrorExit(k, stack))
    ir = prune.prune_unreachable(ir)
    ir.verify()
    return ir


SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", [p.name for p in PIPELINE])
def test_pass_on_random_ir(name):
    p = next(p for p in PIPELINE if p.name == name)

    @SETTINGS
    @given(random_ir())
    def check(ir):
        check_pass(p, ir)
    check()


@SETTINGS
@given(random_ir())
def test_pipeline_on_random_ir(ir):
    for p in PIPELINE:
        ir = check_pass(p, ir)


def test_the_machine_sees_a_misplaced_incref():
    """The oracle itself: an incref sunk past a decref of an alias is caught."""
    x, a, c = ops.Var("x"), ops.Var("a"), ops.Var("c")
    head = [ops.LoadLocal(x, 0), ops.CallC(a, "PyNumber_Add", (x, x)), ops.Assign(c, a)]
    ir = IrCFG("alias", 1)
    entry = ir.new_block("entry")
    entry.ops = head + [ops.Incref(a), ops.Decref(c)]
    entry.terminator = ops.Return(a)
    wrong = copy_ir(ir)
    wrong.blocks["entry"].ops = head + [ops.Decref(c), ops.Incref(a)]
    (decisions, events), = paths(ir, 8, 10, 100)
    assert replay(wrong, decisions, 100) != events
    assert check_pass(PIPELINE[1], ir).blocks["entry"].ops == head + [ops.Incref(a), ops.Decref(c)]


# -- the corpus's IR --------------------------------------------------------------------
def _corpus_irs(modules=None, warm=False, limit_blocks=400):
    """(label, IR after prune_unreachable) of the corpus's code objects (cold, or after
    10 calls of each case: with the inline-cache fast paths the interpreter's
    specializations call for)."""
    from coconut.frontend import BytecodeCFG
    from coconut.lowering import caches, lower
    from scripts.pass_stats import code_objects, corpus_functions, warm_up
    from tests.harness import interpreted
    seen = set()
    for label, func, arglist in corpus_functions():
        if modules is not None and label.split(".")[0] not in modules:
            continue
        if warm:
            warm_up(func, arglist)
        for code in code_objects(func.__code__):
            if id(code) in seen or interpreted(code):
                continue
            seen.add(id(code))
            cfg = BytecodeCFG(code)
            ir = prune.prune_unreachable(lower(cfg, None, caches.snapshot(cfg) if warm else {}))
            if len(ir.blocks) <= limit_blocks:
                yield f"{label}:{code.co_qualname}", ir


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_passes_on_corpus_ir(warm):
    """Every pass on the IR of the corpus's smaller functions (cold: all modules; warm,
    with inline-cache fast paths: those with attributes, globals and calls), up to 40
    paths each."""
    checked = 0
    modules = {"globals_attrs", "calls", "closures", "namespaces"} if warm else None
    for label, ir in _corpus_irs(modules, warm):
        for p in PIPELINE[1:]:
            try:
                ir = check_pass(p, ir, max_decisions=14, max_paths=40, max_steps=2000)
            except (AssertionError, IrVerifyError) as exc:
                raise AssertionError(f"{label}: {exc}") from None
        checked += 1
    assert checked > (30 if warm else 300)


def test_the_machine_reads_an_int_and_an_object_of_one_word_apart():
    """Found by test_pass_on_random_ir[dead_code]: an int load of a word before an
    object load of it. dead_code removes the dead int load; the machine must not
    have taken the object for an int because of it."""
    a, d, i = ops.Var("a"), ops.Var("d"), ops.Var("i", "int")
    ir = IrCFG("punned", 1)
    entry, b0 = ir.new_block("entry"), ir.new_block("b0")
    entry.ops = [ops.LoadLocal(a, 0), ops.Load(d, a, 24)]
    entry.terminator = ops.Jump("b0")
    b0.ops = [ops.Incref(a), ops.Load(i, d, 16), ops.Load(a, d, 16), ops.Decref(a)]
    b0.terminator = ops.Return(a)
    check_pass(next(p for p in PIPELINE if p.name == "dead_code"), ir)


def test_operand_fields_miss_no_operand_on_the_corpus_ir():
    """The passes and the verifier read operands only from `cfg.operand_fields` (every
    field but names, offsets and flags, by annotation): over the corpus's IR, after
    every pass, no other field of any op holds a value."""
    from coconut.ir.cfg import field_values, operand_fields
    from coconut.passes import run_pipeline
    checked = 0
    for label, ir in _corpus_irs(limit_blocks=200):
        for block in run_pipeline(ir).blocks.values():
            for item in [*block.ops, block.terminator]:
                names = operand_fields(type(item))
                assert names is not None, type(item)
                for name, field in vars(item).items():
                    if name not in names:
                        assert not field_values(field), (label, item, name)
                checked += 1
    assert checked > 10000
