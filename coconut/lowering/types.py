"""Type inference for the optimizing tier: which values the lowering keeps unboxed.

Before a BytecodeCFG is lowered, a forward data-flow analysis (a fixpoint over its
blocks, the lattice below) decides for every program point the *kind* of each local
and of each value-stack entry:

    OBJ    a boxed Python object (a reference; the generic lowering);
    FLOAT  an exact float, kept as a C double;
    INT    an exact int that fits a signed 64-bit word, kept as a C long;
    BOOL   True/False, kept as a C int (a comparison feeding a branch).

Kinds come from constants, from the results of unboxed arithmetic, from `for ... in
range(...)` (an INT loop variable), and from *speculation*: an instruction that 3.11's
interpreter had specialized (the quickened form in `co_code_adaptive`, e.g.
BINARY_OP_ADD_FLOAT, COMPARE_OP_INT_JUMP) or whose other operand is a known float gets
a guard on its boxed operands; a failed guard deopts to the interpreter at that
instruction (`ops.Deopt.site` = its offset, so the runtime can recompile without it:
`avoid`). A guard on a value just loaded from a local also *refines* the local: it is
known to be of that kind, unboxed, until it is stored again.

A local in an unboxed kind lives in a C variable (its *home*); the frame's slot then
holds either the same value boxed (`synced`) or a stale float/int box (or NULL) that the
frame owns. Whatever could look at the frame (an instruction the typed rules do not
handle: a call, anything that may run Python code) is preceded by *materializing* every
unsynced local: boxing it into its frame slot. Exits (deopt, error) do the same, and box
the unboxed stack. So the frame is exact whenever anyone can see it.

Lattice, per local: bottom (unreached) < (FLOAT|INT, synced) < (FLOAT|INT, unsynced) <
(OBJ); different unboxed kinds join to OBJ. Per stack entry: the kind (equal kinds
join to themselves, else OBJ) and a *provenance* (which local it is a copy of, which
constant it is, whether it is the builtin `range` or a range's iterator), kept where
equal on every incoming edge.

The same transfer functions (`plan` and `State.after`) drive the fixpoint here and the
lowering (lower.py), which asserts that what it emits matches.
"""
from __future__ import annotations

import dis
from .._record import field, record, replace

from ..runtime import feedback as _feedback, layout as L

OBJ, FLOAT, INT, BOOL = "obj", "float", "int", "bool"
UNBOXED = (FLOAT, INT, BOOL)
# C types of unboxed values in the IR (ops.CTYPES): they are boxed at exits.
CTYPE = {FLOAT: "f64", INT: "i64", BOOL: "cbool", OBJ: "obj"}
KIND_OF_CTYPE = {v: k for k, v in CTYPE.items()}

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


@record(frozen=True)
class Item:
    """One value-stack entry: its kind and where it came from (None, ("local", i),
    ("const", value), ("global", name), ("range_call",), ("range_iter",))."""
    kind: str = OBJ
    prov: tuple | None = None


@record(frozen=True)
class LocalState:
    """kind; synced: the frame's slot holds the home's value boxed; undef: the home may
    hold no value on some path (the local was first assigned in a loop, and is dead
    where the paths join: its `defined` flag in the code says, at run time, whether the
    home or the frame is authoritative); null (an OBJ local): its slot is NULL (never
    assigned yet), so a first unboxed store has no old value to release; mixed (an
    OBJ local): the paths joined here hold it in different kinds, so a later join
    where it is dead cannot make it unboxed again."""
    kind: str = OBJ
    synced: bool = True
    undef: bool = False
    null: bool = False
    mixed: bool = False        # (OBJ) joined from different kinds: stays OBJ at joins


OBJ_ITEM = Item()
OBJ_LOCAL = LocalState()


@record(frozen=True)
class State:
    locals: tuple          # LocalState per local index (only unboxable ones vary)
    stack: tuple           # Item per stack entry, bottom first

    def unsynced(self) -> list[int]:
        return [i for i, ls in enumerate(self.locals) if ls.kind != OBJ and not ls.synced]

    def undef(self) -> list[int]:
        return [i for i, ls in enumerate(self.locals) if ls.kind != OBJ and ls.undef]

    def unboxed_locals(self) -> list[int]:
        return [i for i, ls in enumerate(self.locals) if ls.kind != OBJ]

    def with_local(self, i: int, ls: LocalState) -> "State":
        locals_ = list(self.locals)
        locals_[i] = ls
        return State(tuple(locals_), self.stack)

    def all_synced(self) -> "State":
        if all(ls.synced for ls in self.locals):
            return self
        return State(tuple(ls if ls.synced else replace(ls, synced=True) for ls in self.locals),
                     self.stack)

    def join(self, other: "State | None", dead=frozenset()) -> "State":
        """The least upper bound; `dead`: locals whose value is not read before it is
        written again from here on (an OBJ there joins as an undefined home)."""
        if other is None:
            return self
        assert len(self.stack) == len(other.stack), "stack depths differ at a join"
        locals_ = tuple(_join_local(a, b, i in dead)
                        for i, (a, b) in enumerate(zip(self.locals, other.locals)))
        stack = tuple(Item(a.kind if a.kind == b.kind else OBJ,
                           a.prov if a.prov == b.prov else None)
                      for a, b in zip(self.stack, other.stack))
        return State(locals_, stack)


def _join_local(a: LocalState, b: LocalState, dead: bool) -> LocalState:
    if a.kind == b.kind:
        return LocalState(a.kind, a.synced and b.synced, a.undef or b.undef) \
            if a.kind != OBJ else LocalState(null=a.null and b.null, mixed=a.mixed or b.mixed)
    if dead and OBJ in (a.kind, b.kind) and not (a.mixed or b.mixed):
        k = b if a.kind == OBJ else a
        return LocalState(k.kind, k.synced, True)
    return LocalState(mixed=True)


def initial_state(nlocalsplus: int, nargs: int = None, nlocals: int = 0) -> State:
    """At entry: arguments are bound; the other plain locals are NULL."""
    if nargs is None:
        return State((OBJ_LOCAL,) * nlocalsplus, ())
    return State(tuple(LocalState(null=nargs <= i < nlocals) for i in range(nlocalsplus)), ())


def generic_state(nlocalsplus: int, depth: int) -> State:
    """All boxed: blocks the analysis does not reach (exception handlers)."""
    return State((OBJ_LOCAL,) * nlocalsplus, (OBJ_ITEM,) * depth)


# -- feedback ------------------------------------------------------------------------

def feedback(cfg) -> dict[int, str]:
    """{offset: the quickened opcode name in co_code_adaptive now}, for the
    instructions the typed rules read feedback from (runtime/feedback.py)."""
    return _feedback.feedback(cfg.code, cfg.instructions)


# -- plans ---------------------------------------------------------------------------
# At most this many locals of a function stay unsynced after stores (every exit
# materializes each of them: code grows with their number times the exits').
MAX_VIRTUAL = 24

@record
class Plan:
    """What the typed lowering of one instruction does, decided from the input kinds.

    typed:   False: the generic rule (inputs boxed, every local materialized first).
    op:      the typed rule's variant ("float", "int", "mixed", "range", ...).
    want:    per input, the kind it is unboxed to (a guard where it is OBJ).
    outs:    Items pushed on fall-through; jump_outs: when the jump is taken.
    refine:  {local: kind}: locals proven of that kind by this instruction's guards.
    store:   (local, Item) for STORE_FAST.
    site:    the offset recorded in guard deopts (None: no speculation).
    """
    typed: bool = False
    op: str = ""
    want: tuple = ()
    outs: tuple = ()
    jump_outs: tuple | None = None
    refine: dict = field(default_factory=dict)
    store: tuple | None = None
    site: int | None = None


GENERIC = Plan()

_FLOAT_OPS = {"+", "-", "*", "/"}
_INT_OPS = {"+", "-", "*", "//", "%", "&", "|", "^", "/", ">>", "<<"}
# Operators 3.11 never specializes (no feedback: BINARY_OP stays adaptive) whose boxed
# operands are speculated to be ints all the same: shifts and `^` almost only ever see
# ints; `&` and `|` also see sets, dict views and flags, so they are speculated only
# next to an operand known to be an int (`x & 0xFF`). A failed guard deopts, and the
# recompile avoids the site (stability.py).
_INT_WITHOUT_FEEDBACK = {">>", "<<", "^"}
_INT_NEXT_TO_INT = {"&", "|"}
_CMP = {0: "<", 1: "<=", 2: "==", 3: "!=", 4: ">", 5: ">="}


class Context:
    """What the plans need besides the kinds: the code, its feedback, the avoided
    sites, which locals may be unboxed."""

    def __init__(self, cfg, fb: dict, avoid=frozenset(), enabled: bool = True,
                 cache_forms: dict | None = None):
        self.cfg, self.code, self.fb, self.avoid = cfg, cfg.code, fb, frozenset(avoid)
        self.enabled = enabled
        self.cache_forms = cache_forms or {}
        kw, pending = set(), False
        for i in cfg.instructions:             # CALLs with keywords (after KW_NAMES)
            if i.name == "KW_NAMES":
                pending = True
            elif i.name == "CALL":
                if pending:
                    kw.add(i.offset)
                pending = False
        self.kw_calls = frozenset(kw)
        code = cfg.code
        deleted = {i.arg for i in cfg.instructions if i.name == "DELETE_FAST"}
        cells = set(code.co_cellvars)
        self.unboxable = frozenset(
            i for i in range(code.co_nlocals)
            if i not in deleted and code.co_varnames[i] not in cells)
        # Instructions in loops (blocks on a cycle of normal edges): only there does an
        # unboxed local stay unsynced after a store (virtual). Elsewhere a store boxes
        # at once: straight-line code gains little from it, and every exit would
        # materialize every unsynced local (code size grows with locals x exits).
        looping = loop_blocks(cfg)
        self.in_loop = frozenset(ins.offset for start in looping
                                 for ins in cfg.blocks[start].instructions)
        stored = sorted({i.arg for i in cfg.instructions
                         if i.name == "STORE_FAST" and i.offset in self.in_loop})
        self.virtual = frozenset(i for i in stored if i in self.unboxable)
        self.virtual = frozenset(sorted(self.virtual)[:MAX_VIRTUAL])
        self._dead = self._block_of = self._float_operands = None    # (when asked)
        # {loop header: the state a running frame enters native code in there} (OSR
        # entries, lower.osr_states)
        self.osr_states: dict = {}
        # Inlining (inline.py): the callees that may be inlined (None: none), and per
        # CALL planned "inline_call" its callee's (code, IR) and how it was loaded.
        self.callees = None
        self.returns_unboxed = False       # lowered to be inlined (lower.py)
        self.inlined: dict = {}
        self.inline_kind: dict = {}

    @property
    def dead(self) -> dict[int, frozenset]:
        """dead_locals(cfg), computed once."""
        if self._dead is None:
            self._dead = dead_locals(self.cfg)
        return self._dead

    def dead_after(self, ins, local: int) -> bool:
        """Whether `local` is written again before it is read on every normal path
        from just after `ins` (as `x += y` stores x at once): refining it there would
        keep nothing, and only make its guard strict."""
        if self._block_of is None:
            self._block_of = {i.offset: start for start, block in self.cfg.blocks.items()
                              for i in block.instructions}
        start = self._block_of.get(ins.offset)
        if start is None:
            return False
        block = self.cfg.blocks[start]
        seen = False
        for i in block.instructions:
            if not seen:
                seen = i.offset == ins.offset
                continue
            if i.arg == local and i.name in ("LOAD_FAST", "DELETE_FAST", "LOAD_CLOSURE"):
                return False
            if i.arg == local and i.name == "STORE_FAST":
                return True
        succ = [t for t in _successors(self.cfg, block) if t in self.cfg.blocks]
        if not succ:                   # (a return: nothing reads it after)
            return block.last.name == "RETURN_VALUE"
        return all(local in self.dead[t] for t in succ)

    @property
    def float_operands(self) -> frozenset:
        """Offsets of the BINARY_SUBSCRs whose value goes on, within its block (on the
        stack, or through a local stored and loaded again), into a BINARY_OP or
        COMPARE_OP that the interpreter specialized for floats: there a subscript it
        could not specialize may be speculated to read a C double."""
        if self._float_operands is None:
            self._float_operands = frozenset(_float_operands(self))
        return self._float_operands

    def boxed_at_once(self, ins) -> bool:
        """Whether the value `ins` pushes is taken by the next instruction as an
        object: returned, or stored into a local that is not virtual there."""
        nxt = self.cfg.by_offset.get(ins.next_offset)
        if nxt is None:
            return False
        if nxt.name == "RETURN_VALUE":
            # (code lowered to be inlined returns a double to its caller unboxed:
            # inline.float_return)
            return not self.returns_unboxed
        return nxt.name == "STORE_FAST" and not (
            nxt.arg in self.unboxable and self.stores_virtually(nxt, nxt.arg))

    def stores_virtually(self, ins, local: int) -> bool:
        """Whether STORE_FAST `ins` of an unboxed value may leave the frame's slot stale
        (a loop's local, among the first MAX_VIRTUAL), or must box it at once."""
        return ins.offset in self.in_loop and local in self.virtual

    def hint(self, ins) -> str | None:
        """The kind the interpreter's specialization of `ins` promises (FLOAT, INT,
        None), and "none" when it ran and could not be specialized."""
        form = self.fb.get(ins.offset)
        if form is None:
            return None
        if form.endswith("_FLOAT") or form.endswith("FLOAT_JUMP"):
            return FLOAT
        if form.endswith("_INT") or form.endswith("INT_JUMP"):
            return INT
        return None


def _float_operands(cx: Context) -> set[int]:
    """See Context.float_operands: a simulation of each block's stack, whose entries
    are the sets of BINARY_SUBSCRs their value comes from."""
    from .registry import OPCODES
    found: set[int] = set()
    none = frozenset()
    for block in cx.cfg.blocks.values():
        stack: list = []
        stored: dict[int, frozenset] = {}

        def pop(n):
            taken = [stack.pop() if stack else none for _ in range(n)]
            return taken[::-1]
        for ins in block.instructions:
            name = ins.name
            rule = OPCODES.get(name)
            if rule is None:
                break
            if name == "LOAD_FAST":
                stack.append(stored.get(ins.arg, none))
            elif name == "STORE_FAST":
                stored[ins.arg] = pop(1)[0]
            elif name in ("DELETE_FAST", "LOAD_CLOSURE"):
                stored.pop(ins.arg, None)
                stack.extend([none] * rule.signature.counts(ins.arg)[1])
            elif name == "COPY":
                stack.append(stack[-ins.arg] if len(stack) >= ins.arg else none)
            elif name == "SWAP":
                while len(stack) < ins.arg:
                    stack.insert(0, none)
                stack[-1], stack[-ins.arg] = stack[-ins.arg], stack[-1]
            elif name == "BINARY_SUBSCR":
                pop(2)
                stack.append(frozenset({ins.offset}))
            else:
                n_in, n_out = rule.signature.counts(ins.arg)
                taken = pop(n_in)
                if name in ("BINARY_OP", "COMPARE_OP") and cx.hint(ins) == FLOAT:
                    for sources in taken:
                        found |= sources
                stack.extend([none] * n_out)
    return found


def _want(kind: str, other: str, hint: str | None) -> str | None:
    """The kind an operand is unboxed to, or None (no typed path)."""
    if kind in (FLOAT, INT):
        return kind
    if kind != OBJ:
        return None
    if hint in (FLOAT, INT):
        return hint
    if other == FLOAT:
        return FLOAT
    return None


def _numeric_plan(cx: Context, ins, a: Item, b: Item, result_of, hint=None) -> Plan:
    if not cx.enabled or ins.offset in cx.avoid:
        return GENERIC
    hint = cx.hint(ins) or hint
    wa, wb = _want(a.kind, b.kind, hint), _want(b.kind, a.kind, hint)
    if wa is None or wb is None:
        return GENERIC
    variant = FLOAT if FLOAT in (wa, wb) else INT
    if variant == FLOAT:               # a boxed operand next to a float is a float
        wa = FLOAT if a.kind == OBJ else wa
        wb = FLOAT if b.kind == OBJ else wb
    res = result_of(variant)
    if res is None:
        return GENERIC
    # A boxed local is refined (kept unboxed from here) where the interpreter saw
    # exactly that type (feedback); a float speculated only from the other operand
    # may also be an int (converted, as float_add does), and the local stays boxed.
    refine = {}
    for item, want in ((a, wa), (b, wb)):
        if item.kind == OBJ and item.prov and item.prov[0] == "local" and \
                item.prov[1] in cx.unboxable and (want == INT or hint == want) and \
                not cx.dead_after(ins, item.prov[1]):
            refine[item.prov[1]] = want
    speculative = a.kind == OBJ or b.kind == OBJ
    return Plan(True, variant if wa == wb else "mixed", (wa, wb), (Item(res),),
                refine=refine, site=ins.offset if speculative else None)


def plan(cx: Context, ins, state: State) -> Plan:
    """The plan for `ins` with the stack and locals of `state` (see Plan)."""
    name = ins.name
    stack = state.stack
    if name in ("NOP", "PRECALL") or (name == "RESUME"):
        return Plan(True, name.lower())
    if name in ("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"):
        return Plan(True, "jump", jump_outs=())
    if not cx.enabled:
        return GENERIC
    if name == "LOAD_FAST":
        ls = state.locals[ins.arg]
        if ls.undef:                   # (cannot happen where it is dead) read the frame
            return GENERIC
        return Plan(True, "load_fast", outs=(Item(ls.kind, ("local", ins.arg)),))
    if name == "LOAD_CONST":
        value = cx.code.co_consts[ins.arg]
        kind = OBJ
        if type(value) is float:
            kind = FLOAT
        elif type(value) is int and INT64_MIN <= value <= INT64_MAX:
            kind = INT
        return Plan(True, "load_const", outs=(Item(kind, ("const", value)),))
    if name == "STORE_FAST":
        return Plan(True, "store_fast", want=(stack[-1].kind,), store=(ins.arg, stack[-1]))
    if name == "POP_TOP":
        return Plan(True, "pop_top", want=(stack[-1].kind,))
    if name == "CALL" and ins.arg in (1, 2, 3):
        callee = stack[-ins.arg - 1]
        if callee.prov == ("global", "range") and stack[-ins.arg - 2].prov == ("null",):
            return Plan(False, outs=(Item(OBJ, ("range_call",)),))
    if name == "CALL" and ins.offset not in cx.kw_calls:
        p = _call_plan(cx, ins, stack)
        if p is not None:
            return p
    if name == "GET_ITER" and stack[-1].prov == ("range_call",):
        return Plan(True, "range", want=(OBJ,), outs=(Item(OBJ, ("range_iter",)),))
    if name == "FOR_ITER" and stack[-1].prov == ("range_iter",) and ins.offset not in cx.avoid:
        return Plan(True, "range", want=(OBJ,), outs=(stack[-1], Item(INT)), jump_outs=(),
                    site=ins.offset)
    if name == "FOR_ITER":
        # Lists and tuples inline (listiter_next, tupleiter_next), others on a slow path.
        return Plan(True, "for_iter_seq", want=(OBJ,), outs=(stack[-1], OBJ_ITEM),
                    jump_outs=())
    if name == "BINARY_OP":
        symbol = dis._nb_ops[ins.arg][1].rstrip("=")

        def result(variant):
            if variant == FLOAT:
                return FLOAT if symbol in _FLOAT_OPS else None
            if symbol not in _INT_OPS:
                return None
            return FLOAT if symbol == "/" else INT
        guess = None                   # (no feedback for these: see _INT_WITHOUT_FEEDBACK)
        if symbol in _INT_WITHOUT_FEEDBACK or (
                symbol in _INT_NEXT_TO_INT and INT in (stack[-2].kind, stack[-1].kind)):
            guess = INT
        p = _numeric_plan(cx, ins, stack[-2], stack[-1], result, guess)
        if stack[-2].kind == OBJ and stack[-1].kind == OBJ and cx.enabled and (
                (p is GENERIC and ins.offset in cx.avoid) or
                (p.want == (FLOAT, FLOAT) and not p.refine and cx.boxed_at_once(ins))):
            # Two boxed operands whose result is boxed anyway: no speculation (a
            # double boxed at once gains nothing, and two ints under a float
            # speculation would deopt), or whose speculation failed here before.
            return Plan(True, "arith_obj", want=(OBJ, OBJ), outs=(OBJ_ITEM,))
        return p
    if name == "COMPARE_OP":
        p = _numeric_plan(cx, ins, stack[-2], stack[-1], lambda variant: BOOL)
        if p is GENERIC and BOOL not in (stack[-2].kind, stack[-1].kind):
            # No unboxed speculation: PyObject_RichCompare with inline paths for what
            # it computes without running code (typed._compare_obj); no deopt.
            return Plan(True, "compare_obj", want=(stack[-2].kind, stack[-1].kind),
                        outs=(OBJ_ITEM,))
        return p
    if name == "UNARY_NEGATIVE" and stack[-1].kind in (FLOAT, INT):
        return Plan(True, "negative", want=(stack[-1].kind,), outs=(Item(stack[-1].kind),))
    if name == "UNARY_NOT" and stack[-1].kind == BOOL:
        return Plan(True, "not", want=(BOOL,), outs=(Item(BOOL),))
    if name in ("POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_TRUE",
                "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_FALSE"):
        return Plan(True, "truth", want=(stack[-1].kind,), jump_outs=())
    if name in ("POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NONE",
                "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE"):
        return Plan(True, "none", want=(stack[-1].kind,), jump_outs=())
    if name in ("BINARY_SUBSCR", "STORE_SUBSCR") and stack[-2].kind == OBJ:
        sub = stack[-1]
        form = cx.fb.get(ins.offset, "")
        if form == "BINARY_SUBSCR_GETITEM" and L.INLINE_CACHES:
            # a class with a Python __getitem__ (an int index is boxed for it), whose
            # body may be inlined (inline.py)
            if name == "BINARY_SUBSCR" and cx.callees is not None and ins.offset not in cx.avoid:
                got = cx.callees.plan(ins.offset, cx.callees.getitem(ins), 2, cx.inlined)
                if got is not None:
                    cx.inlined[ins.offset], cx.inline_kind[ins.offset] = got, "getitem"
                    return Plan(True, "inline_getitem", want=(OBJ, OBJ),
                                outs=(_inlined_result(got),), site=ins.offset)
            return Plan(True, "subscr_getitem", want=(OBJ, OBJ), outs=(OBJ_ITEM,))
        if name == "STORE_SUBSCR" and form == "STORE_SUBSCR_ADAPTIVE" and \
                cx.callees is not None and ins.offset not in cx.avoid and L.INLINE_CACHES:
            # the store into a container whose class has a Python __setitem__ (known
            # from a BINARY_SUBSCR of the same local), whose body may be inlined
            got = cx.callees.plan(ins.offset, cx.callees.setitem(cx.cfg, ins), 3, cx.inlined)
            if got is not None:
                cx.inlined[ins.offset], cx.inline_kind[ins.offset] = got, "setitem"
                return Plan(True, "inline_setitem", want=(OBJ, OBJ, OBJ), site=ins.offset)
        if name == "BINARY_SUBSCR" and form == "BINARY_SUBSCR_ADAPTIVE" and \
                sub.kind in (INT, OBJ) and ins.offset not in cx.avoid and \
                ins.offset in cx.float_operands:
            # (typed._subscr_float: an array of doubles, else a deopt)
            return Plan(True, "subscr_float", want=(OBJ, sub.kind), outs=(Item(FLOAT),),
                        site=ins.offset)
        int_index = sub.kind == INT or (
            sub.kind == OBJ and ins.offset not in cx.avoid and
            form in ("BINARY_SUBSCR_LIST_INT", "BINARY_SUBSCR_TUPLE_INT", "STORE_SUBSCR_LIST_INT"))
        if int_index:
            refine = {}
            if sub.kind == OBJ and sub.prov and sub.prov[0] == "local" and \
                    sub.prov[1] in cx.unboxable:
                refine[sub.prov[1]] = INT
            site = ins.offset if sub.kind == OBJ else None
            if name == "BINARY_SUBSCR":
                return Plan(True, "subscr_int", want=(OBJ, INT), outs=(OBJ_ITEM,),
                            refine=refine, site=site)
            return Plan(True, "store_subscr_int", want=(OBJ, OBJ, INT), refine=refine,
                        site=site)
        if name == "BINARY_SUBSCR" and sub.kind == OBJ and form == "BINARY_SUBSCR_DICT":
            return Plan(True, "subscr_dict", want=(OBJ, OBJ), outs=(OBJ_ITEM,))
        if sub.kind == OBJ and form in ("BINARY_SUBSCR_ADAPTIVE", "STORE_SUBSCR_ADAPTIVE"):
            # What the interpreter did not specialize (it ran the function: the code is
            # quickened; a cold compile keeps the generic path, no code for a guess):
            # an array.array by an int is read and written without running code (no
            # materialization); anything else takes the generic path.
            if name == "BINARY_SUBSCR":
                return Plan(True, "subscr_array", want=(OBJ, OBJ), outs=(OBJ_ITEM,))
            return Plan(True, "store_subscr_array", want=(OBJ, OBJ, OBJ))
    if name == "SWAP":
        return Plan(True, "swap")
    if name == "RETURN_VALUE":
        # The frame is cleared after it: its locals are materialized only when a frame
        # object will outlive the call (f_locals of a kept frame).
        return Plan(True, "return", want=(OBJ,))
    if name == "COPY" and len(stack) >= ins.arg:
        # (an unboxed item is copied as its C value: a chained comparison's operand)
        return Plan(True, "copy", want=tuple(it.kind for it in stack[-ins.arg:]),
                    outs=tuple(stack[-ins.arg:]) + (stack[-ins.arg],))
    if name == "IS_OP" and stack[-1].kind == OBJ and stack[-2].kind == OBJ:
        return Plan(True, "is", want=(OBJ, OBJ), outs=(Item(BOOL),))
    if (ins.offset in cx.cache_forms and name in ("LOAD_ATTR", "STORE_ATTR", "LOAD_METHOD")
            or name == "LOAD_GLOBAL" or _caches().pic_site(cx.cache_forms, cx.code, ins)):
        # The inline-cache fast path (LOAD_GLOBAL, polymorphic attribute and method
        # loads: the site's own cache) runs no code; its generic path materializes.
        n_out = {"LOAD_ATTR": 1, "STORE_ATTR": 0, "LOAD_METHOD": 2,
                 "LOAD_GLOBAL": 1 + (ins.arg or 0) % 2 if name == "LOAD_GLOBAL" else 0}[name]
        n_in = 0 if name == "LOAD_GLOBAL" else 1 + (name == "STORE_ATTR")
        return Plan(True, "cached", want=(OBJ,) * n_in, outs=_named_outs(cx, ins) or
                    (OBJ_ITEM,) * n_out)
    outs = _named_outs(cx, ins)
    if outs:
        return Plan(False, outs=outs)
    return GENERIC


def _caches():
    from . import caches
    return caches


def _named_outs(cx: Context, ins) -> tuple | None:
    """What LOAD_GLOBAL / LOAD_METHOD push, with the provenance the typed calls look for:
    ("null",) for the NULL, ("global", name), ("meth", name, offset of the LOAD_METHOD)
    and ("self", name)."""
    if ins.name == "LOAD_GLOBAL":
        gname = cx.code.co_names[ins.arg >> 1]
        return (Item(OBJ, ("null",)),) * (ins.arg & 1) + (Item(OBJ, ("global", gname)),)
    if ins.name == "LOAD_METHOD":
        mname = cx.code.co_names[ins.arg]
        return (Item(OBJ, ("meth", mname, ins.offset)), Item(OBJ, ("self", mname)))
    if ins.name == "LOAD_ATTR":
        return (Item(OBJ, ("attr", cx.code.co_names[ins.arg])),)
    return None


# Builtins called natively: {name: (arity, plan op)} (typed.py has their rules).
BUILTIN_CALLS = {"len": 1, "abs": 1, "min": 2, "max": 2, "float": 1, "int": 1,
                 "isinstance": 2}
# Functions of the math module called natively on floats (libm, as mathmodule.c).
MATH_CALLS = ("sqrt", "sin", "cos")


def _call_plan(cx: Context, ins, stack) -> Plan | None:
    """A typed plan for CALL of a builtin (len, abs, min, max, float, int, isinstance),
    of math.sqrt/sin/cos, or of list.append; None: the generic call."""
    n = ins.arg
    if ins.offset in cx.avoid or len(stack) < n + 2:
        return None
    meth, callee, args = stack[-n - 2], stack[-n - 1], stack[-n:]
    kinds = [a.kind for a in args]
    inlined = _inline_plan(cx, ins, meth, callee)
    if inlined is not None:
        return inlined
    if meth.prov == ("null",) and callee.prov and callee.prov[0] == "global":
        name = callee.prov[1]
        if BUILTIN_CALLS.get(name) != n:
            return None
        out = None
        if name == "len":
            out = INT
        elif name == "isinstance":
            out = BOOL if kinds[1] == OBJ else None
        elif name == "abs" and kinds[0] in (FLOAT, INT):
            out = kinds[0]
        elif name in ("min", "max") and kinds[0] == kinds[1] and kinds[0] in (FLOAT, INT):
            out = kinds[0]
        elif name == "float" and kinds[0] in (FLOAT, INT):
            out = FLOAT
        elif name == "int" and kinds[0] in (FLOAT, INT):
            out = INT
        if out is None:
            return None
        arg_wants = (OBJ,) * n if name in ("len", "isinstance") else tuple(kinds)
        return Plan(True, "builtin_call", want=(OBJ, OBJ) + arg_wants, outs=(Item(out),),
                    site=ins.offset)
    if meth.prov == ("null",) and callee.prov and callee.prov[0] == "attr" and \
            callee.prov[1] in MATH_CALLS and n == 1:       # math.sqrt(x): (NULL, attribute)
        want = FLOAT if kinds[0] != INT else INT
        return Plan(True, "math_call", want=(OBJ, OBJ, want), outs=(Item(FLOAT),),
                    site=ins.offset)
    if meth.prov and meth.prov[0] == "meth" and callee.prov == ("self", meth.prov[1]):
        name = meth.prov[1]
        if name in MATH_CALLS and n == 1 and kinds[0] in (FLOAT, INT, OBJ):
            want = FLOAT if kinds[0] != INT else INT
            return Plan(True, "math_call", want=(OBJ, OBJ, want), outs=(Item(FLOAT),),
                        site=ins.offset)
        if name == "append" and n == 1:
            return Plan(True, "list_append", want=(OBJ, OBJ, OBJ), outs=(OBJ_ITEM,))
    return None


def _inline_plan(cx: Context, ins, meth: Item, callee: Item) -> Plan | None:
    """CALL of a Python function whose body is lowered into the caller (inline.py):
    a function of the module loaded by LOAD_GLOBAL, or a method LOAD_METHOD found."""
    callees = cx.callees
    if callees is None:
        return None
    if meth.prov == ("null",) and callee.prov and callee.prov[0] == "global":
        kind, func = "global", callees.global_function(callee.prov[1])
    elif meth.prov and meth.prov[0] == "meth" and callee.prov == ("self", meth.prov[1]):
        kind, func = "method", callees.method(meth.prov[1], cx.cfg.by_offset[meth.prov[2]])
    else:
        return None
    got = callees.plan(ins.offset, func, ins.arg + (kind == "method"), cx.inlined)
    if got is None:
        return None
    cx.inlined[ins.offset], cx.inline_kind[ins.offset] = got, kind
    return Plan(True, "inline_call", want=(OBJ,) * (ins.arg + 2),
                outs=(_inlined_result(got),), site=ins.offset)


def _inlined_result(got) -> Item:
    """The result of an inlined call: a float (a C double) when every return of the
    callee boxes one (inline.float_return), else an object."""
    return Item(FLOAT) if got[1].float_return else OBJ_ITEM


def after(cx: Context, ins, state: State, p: Plan, rule) -> tuple[State | None, State | None]:
    """(state on fall-through, state when the jump is taken) after `ins` ran with
    plan `p` (None where that way is not taken)."""
    n_in, n_out = rule.signature.counts(ins.arg)
    below = state.stack[:len(state.stack) - n_in]
    locals_ = state.locals
    if not p.typed:
        # Every local materialized before a generic instruction; it pushes objects.
        st = State(state.all_synced().locals, below)
        outs = tuple(p.outs) if p.outs else (OBJ_ITEM,) * n_out
        fall = State(st.locals, below + outs) if ins.depth_after is not None else None
        jump = None
        if ins.is_jump and ins.depth_jump is not None:
            jump = State(st.locals, (below + (OBJ_ITEM,) * (ins.depth_jump - len(below)))
                         [:ins.depth_jump])
        return _kill(fall, ins), jump
    st = state
    # An unboxed copy of a local that the rule boxes: the local is materialized to lend
    # its box (the same object, as in the interpreter).
    for item, want in zip(state.stack[len(state.stack) - n_in:], p.want):
        if want == OBJ and item.kind != OBJ and item.prov and item.prov[0] == "local":
            j = item.prov[1]
            if st.locals[j].kind == item.kind:
                st = st.with_local(j, LocalState(item.kind, True, st.locals[j].undef))
    for local, kind in p.refine.items():
        st = st.with_local(local, LocalState(kind, True))
    if p.store is not None:
        local, item = p.store
        st = State(st.locals, tuple(Item(it.kind, None) if it.prov == ("local", local) else it
                                    for it in st.stack))
        if local in cx.unboxable and item.kind in (FLOAT, INT):
            synced = item.prov is not None and item.prov[0] in ("const", "local")
            if state.locals[local].kind == OBJ and not state.locals[local].null:
                synced = True           # the first store boxes (the old object goes now)
            if not cx.stores_virtually(ins, local):
                synced = True           # outside loops: stored boxed too
            st = st.with_local(local, LocalState(item.kind, synced))
        else:
            st = st.with_local(local, OBJ_LOCAL)
        # A copy of another local: that one is materialized (boxed) to share its box.
        if item.prov and item.prov[0] == "local" and st.locals[item.prov[1]].kind != OBJ:
            j = item.prov[1]
            st = st.with_local(j, LocalState(st.locals[j].kind, True, st.locals[j].undef))
        below = st.stack[:len(st.stack) - n_in]
    else:
        below = st.stack[:len(st.stack) - n_in]
    if ins.name == "SWAP":
        items = list(st.stack)
        items[-1], items[-ins.arg] = items[-ins.arg], items[-1]
        return State(st.locals, tuple(items)), None
    fall = State(st.locals, below + tuple(p.outs)) if ins.depth_after is not None else None
    jump = None
    if p.jump_outs is not None and ins.is_jump:
        jump = State(st.locals, below + tuple(p.jump_outs))
    return _kill(fall, ins), jump


# Instructions after which control does not go on to the next one.
NO_FALL = frozenset({"RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD",
                     "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"})


# Instructions that suspend a generator: native code returns there, and is entered
# again at the next instruction (a resume point, where everything is in the frame).
SUSPENDS = frozenset({"YIELD_VALUE", "RETURN_GENERATOR"})


def _kill(state: State | None, ins) -> State | None:
    return None if ins.name in NO_FALL or ins.name in SUSPENDS else state


def resumed(state: State) -> State:
    """The state where a generator resumes after a YIELD_VALUE that ran in `state`:
    the locals boxed in the frame (a debugger may have rebound them meanwhile); the
    stack below the value boxed, with no provenance (the interpreter may have run to
    this yield after a deopt, with other values) but a range iterator's: the typed
    FOR_ITER over it checks its type anyway (a deopt otherwise), and keeps the loop a
    C counting loop; the value sent in on top."""
    return State((OBJ_LOCAL,) * len(state.locals),
                 tuple(_boxed_keeping_range_iter(it) for it in state.stack[:-1]) + (OBJ_ITEM,))


def _boxed_keeping_range_iter(item: Item) -> Item:
    return Item(OBJ, item.prov) if item.prov == ("range_iter",) else OBJ_ITEM


def osr_entered(state: State) -> State:
    """The state a running frame enters native code in at a loop header whose state is
    `state` when native code runs the whole call (on-stack replacement): every local
    boxed in the frame, the stack boxed too; a range's iterator keeps its provenance
    (the typed FOR_ITER over it checks its type, and keeps the loop a C counting loop)."""
    return State((OBJ_LOCAL,) * len(state.locals),
                 tuple(_boxed_keeping_range_iter(it) for it in state.stack))


def entry_points(cfg) -> dict[int, State]:
    """{block start: its state} where native code is entered: the first instruction
    of a function (a generator function's call: its prologue and RETURN_GENERATOR); for
    a generator, also where it resumes after RETURN_GENERATOR. The resume
    points after each YIELD_VALUE get their states from the analysis (`resumed`).
    Exception handlers, which native code enters from an unwind with every local in
    the frame and the stack boxed (handlers.native_catches), are entered all boxed."""
    code = cfg.code
    nlp = L.nlocalsplus(code)
    handlers = {h.target: generic_state(nlp, cfg.blocks[h.target].depth)
                for h in cfg.handlers
                if h.target in cfg.blocks and cfg.blocks[h.target].depth is not None}
    nargs = (code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) +
             bool(code.co_flags & 0x08))
    first = {0: initial_state(nlp, nargs, code.co_nlocals)}
    if code.co_flags & L.CO_RESUMABLE:
        return {**handlers, **first, **{start: generic_state(nlp, cfg.blocks[start].depth)
                                        for suspend, start in cfg.resume_points().items()
                                        if cfg.by_offset[suspend].name == "RETURN_GENERATOR"}}
    return {**handlers, **first}


def dead_locals(cfg) -> dict[int, frozenset]:
    """{block start: the locals dead at its entry}: written before read on every path
    along normal edges (exception handlers run in the interpreter on the exact frame)."""
    uses, defs = {}, {}
    for start, block in cfg.blocks.items():
        u, d = set(), set()
        for ins in block.instructions:
            if ins.name in ("LOAD_FAST", "DELETE_FAST", "LOAD_CLOSURE") and ins.arg not in d:
                u.add(ins.arg)
            elif ins.name == "STORE_FAST":
                d.add(ins.arg)
        uses[start], defs[start] = u, d
    succs = {start: [t for t in _successors(cfg, block) if t in cfg.blocks]
             for start, block in cfg.blocks.items()}
    live_in = {start: set() for start in cfg.blocks}
    changed = True
    while changed:
        changed = False
        for start in reversed(list(cfg.blocks)):
            out = set().union(*(live_in[t] for t in succs[start])) if succs[start] else set()
            new = uses[start] | (out - defs[start])
            if new != live_in[start]:
                live_in[start] = new
                changed = True
    nlocals = cfg.code.co_nlocals
    return {start: frozenset(range(nlocals)) - live for start, live in live_in.items()}


def loop_blocks(cfg) -> set[int]:
    """The blocks of natural loops: for each backward edge s -> h (h <= s), h and the
    blocks that reach s along normal edges without passing h. (No networkx views of
    cfg.graph: they would tie the graph in a reference cycle, garbage a compile must
    not leave.)"""
    preds: dict[int, list[int]] = {start: [] for start in cfg.blocks}
    back = []
    for start, block in cfg.blocks.items():
        for t in _successors(cfg, block):
            if t in preds:
                preds[t].append(start)
                if t <= start:
                    back.append((start, t))
    out: set[int] = set()
    for src, header in back:
        body, work = {header, src}, [src]
        while work:
            n = work.pop()
            for p in preds[n]:
                if p not in body:
                    body.add(p)
                    work.append(p)
        out |= body
    return out


def _successors(cfg, block) -> list[int]:
    last = block.last
    out = []
    if last.is_jump:
        out.append(last.jump_target)
    if last.name not in NO_FALL:
        out.append(last.next_offset)
    return out


def analyze(cx: Context, rules: dict) -> dict[int, State]:
    """{block start: State at its entry} for every block reachable from the entry
    along normal (non-exception) edges: the fixpoint of `plan`/`after`."""
    cfg = cx.cfg
    dead = cx.dead
    entry_states: dict[int, State] = entry_points(cfg)
    for start, state in cx.osr_states.items():
        entry_states[start] = state.join(entry_states.get(start))
    for start in [s for s, v in cx.fb.items() if v == _feedback.HANDLER_NOT_RUN]:
        if start not in cx.avoid and cx.enabled:
            entry_states.pop(start, None)    # deopts at entry (lowering/handlers.py)
    resume_points = cfg.resume_points().values() if cx.code.co_flags & L.CO_RESUMABLE else ()
    work = sorted(entry_states)
    while True:
        _fixpoint(cx, rules, entry_states, work, dead)
        # A resume point whose YIELD_VALUE native code never runs (the interpreter
        # may suspend there after a deopt): entered with everything boxed.
        work = [start for start in resume_points if start not in entry_states]
        if not work:
            break
        for start in work:
            entry_states[start] = generic_state(L.nlocalsplus(cx.code), cfg.blocks[start].depth)
    return entry_states


def _fixpoint(cx: Context, rules: dict, entry_states: dict, work: list, dead: dict) -> None:
    cfg = cx.cfg
    while work:
        start = work.pop(0)
        state = entry_states[start]
        block = cfg.blocks[start]
        outgoing: list[tuple[int, State]] = []
        for ins in block.instructions:
            rule = rules.get(ins.name)
            if rule is None:                 # deopts here: nothing flows on
                state = None
                break
            p = plan(cx, ins, state)
            fall, jump = after(cx, ins, state, p, rule)
            if jump is not None:
                outgoing.append((ins.jump_target, jump))
            if ins.name == "YIELD_VALUE":
                outgoing.append((ins.next_offset, resumed(state)))
            state = fall
            if state is None:
                break
        if state is not None:
            nxt = block.last.next_offset
            if nxt in cfg.blocks:
                outgoing.append((nxt, state))
        for target, st in outgoing:
            if target not in cfg.blocks:
                continue
            old = entry_states.get(target)
            new = st.join(old, dead[target]) if old is not None else st
            if new != old:
                entry_states[target] = new
                if target not in work:
                    work.append(target)
