"""Inlining: a small Python callee lowered into its caller, its frame virtual.

A CALL whose callee the compiler can name (a module-level function loaded by
LOAD_GLOBAL, a method that LOAD_METHOD's inline cache found on a class of the module)
and whose code is small, loop-free, without cells, handlers or a varargs signature, and
already quickened by the interpreter, is planned "inline_call" (types.py). Its lowering
(`lower_call`) does what CALL_PY_EXACT_ARGS does, without a frame:

* guards, which deopt before the CALL (site: the CALL; a recompile then calls instead):
  the callable is a function whose `__code__` is the code inlined; no tracer or profiler
  is set (they would see the call); the recursion limit is not near (the interpreter
  would raise RecursionError entering the callee); the data stack's chunk has room for
  the callee's frames (see below);
* the callee's locals are C variables: the arguments are moved into them, as into the
  new frame's `localsplus`;
* its body is the callee's own IR (lower() of its code with `inline_depth`, so typed
  exactly as a compile of it would be), copied in with its frame operations rewritten:
  `localsplus[i]` becomes a variable, `prev_instr` stores are dropped, the code, the
  globals and the builtins are the callable's (`func_code`, `func_globals`,
  `func_builtins`), the return value becomes the CALL's result.

In inline mode the callee's lowering never runs code that could look at a frame
(lower.py: an instruction whose rule may run Python code deopts before it; a typed
rule's slow path deopts where it would start, `Builder.observe_slow`), so between the
guards and the return nothing can see that the callee's frame is missing, except:

* **exits**: where the callee's IR deopts (a failed guard) or unwinds an error, the
  exit's values go to one shared exit block per call site, where the callee's frame is
  materialized (`coconut_inl_push`: its locals and value stack, `prev_instr` where the
  exit says) and run in the interpreter from there (`coconut_inl_finish`); the caller's
  frame is made exact first, as its callee's caller. The callee's result is then the
  call's, and the caller goes on natively after the call as after the inlined return
  (an exception: the caller unwinds from the call); the exit counts as a deopt of the
  site (ops.CountExit), so a callee that keeps leaving is recompiled as a call. A
  nested inlined call's exits become the enclosing callee's exits this way, so frames
  are materialized innermost first.
* **deallocations**: a reference the body drops may be the last one, and a `__del__`
  may look at frames. Every `Decref` of the body is expanded: where the count reaches 0,
  an exact int, float or str is freed at once, anything else by `coconut_inl_dealloc`,
  with the callee's frame materialized (its locals lent) and current, as in the
  interpreter. The callee's locals are released at its return with the caller's frame
  current, as `_PyEval_Vector` releases a frame's after its evaluation (and as
  coconut_call does); a `__del__` there sees the caller's frame, made exact first.

The compiled module refers to the callee's code by a link (backend/gcc.py: "code"
links name the function by module and qualified name and carry a digest of its code, so
a cached module whose callee changed is not loaded).
"""
from __future__ import annotations

import ctypes
import os
import sys
import types as pytypes

from ..ir import ops
from ..ir.cfg import IrCFG, operand_items
from ..ir.ops import Cond, NULL
from ..runtime import layout as L
from .._record import replace
from .lower import branch_if_plain

# The callees inlined: at most this many code units (inline caches included: a method
# of ~85 instructions that reads and writes a dozen attributes, scimark's
# Random.nextDouble, is 176; 96 left it out, at 4.5x its inlined time in MonteCarlo),
# nested at most this deep, and at most BUDGET IR blocks of them in all in one function
# (the C gcc compiles grows with each copy: a callee inlined at six sites is there six
# times). 1200 left scimark's SOR_execute one block short of its sixth callee: five
# `G[x, y]` reads (Array2D.__getitem__ with its _idx, 203 blocks each) took 1015, and
# the store `G[x, y] = ...` (209) stayed a call of __setitem__ through
# slot_mp_ass_subscript: 1600 inlines it, 28% fewer estimated cycles in the kernel
# (cachegrind), for 12% more compile time. COCONUT_INLINE_UNITS and
# COCONUT_INLINE_BUDGET override them.
MAX_UNITS = int(os.environ.get("COCONUT_INLINE_UNITS", "200"))
MAX_DEPTH = 2
BUDGET = int(os.environ.get("COCONUT_INLINE_BUDGET", "1600"))
_CO_OPTIMIZED, _CO_NEWLOCALS = 0x1, 0x2
# varargs, varkeywords, nested (cells are checked apart), generator, coroutine,
# iterable coroutine, async generator
_CO_REFUSED = 0x4 | 0x8 | 0x20 | 0x80 | 0x100 | 0x200
_VALID_VERSION_TAG = 1 << 19
_u32_at = ctypes.c_uint32.from_address
_FRAME_FIELDS = {L.FRAME_CODE: L.FUNC_CODE, L.FRAME_GLOBALS: L.FUNC_GLOBALS,
                 L.FRAME_BUILTINS: L.FUNC_BUILTINS}


class NotInlinable(Exception):
    """The callee's IR does something inlined code cannot (the call is lowered as a
    call then)."""


# -- which callee ------------------------------------------------------------------------
def module_globals(code) -> dict | None:
    """The globals of the module whose source file `code` comes from (the module is
    found in sys.modules by its __file__), or None. It only proposes a callee: the
    inlined code checks at run time that the callable is the function inlined."""
    from ..runtime.feedback import known_globals
    known = known_globals(code)
    if known is not None:
        return known
    filename = code.co_filename
    found = _by_file.get(filename)
    if found is not None and found.get("__file__") == filename:
        return found
    for module in list(sys.modules.values()):
        namespace = _module_dict(module)
        if namespace is not None and namespace.get("__file__") == filename:
            _by_file[filename] = namespace
            return namespace
    return None


_by_file: dict = {}
# What the compiler reads of modules and classes, read through the C slots: a module's
# __getattr__, a metaclass's properties would run Python code in the compiler.
_MODULE_DICT = pytypes.ModuleType.__dict__["__dict__"]
_TYPE_DICT, _TYPE_MRO = type.__dict__["__dict__"], type.__dict__["__mro__"]
_TYPE_FLAGS = type.__dict__["__flags__"]


def _module_dict(module) -> dict | None:
    try:
        return _MODULE_DICT.__get__(module)
    except TypeError:                  # not a module
        return None


def refusal(func) -> str | None:
    """Why `func` is not inlined, or None."""
    if type(func) is not pytypes.FunctionType:
        return "not a Python function"
    code = func.__code__
    if code.co_flags & _CO_REFUSED or \
            code.co_flags & (_CO_OPTIMIZED | _CO_NEWLOCALS) != _CO_OPTIMIZED | _CO_NEWLOCALS:
        return "a generator, coroutine or varargs signature"
    if code.co_kwonlyargcount or code.co_cellvars or code.co_freevars:
        return "keyword-only parameters or cells"
    if len(code.co_code) // 2 > MAX_UNITS:
        return "too big"
    if code.co_exceptiontable:
        return "exception handlers"
    from ..runtime import feedback
    if feedback.has_loop(code):
        return "a loop"
    if not feedback.quickened(code):
        return "not run by the interpreter yet (no feedback)"
    return None


MAX_CLASSES = 400


def loop_depths(cfg):
    """offset -> how many loops contain it: the ranges from a backward jump's target to
    the jump (CPython lays a loop's body out between them; a priority, not a fact
    anything relies on)."""
    spans = [(ins.jump_target, ins.offset) for ins in cfg.instructions
             if ins.is_jump and ins.jump_target is not None and ins.jump_target <= ins.offset]
    return lambda offset: sum(1 for lo, hi in spans if lo <= offset <= hi)


def _classes(namespace: dict) -> list:
    """The classes a module defines (their __module__ is its name) and their
    subclasses, each once, at most MAX_CLASSES."""
    name = namespace.get("__name__")
    seen, out = set(), []
    todo = [v for v in list(namespace.values())
            if issubclass(type(v), type) and _TYPE_DICT.__get__(v).get("__module__") == name]
    while todo and len(out) < MAX_CLASSES:
        cls = todo.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        out.append(cls)
        todo.extend(type.__subclasses__(cls))
    return out


def _lookup(cls, name: str):
    """_PyType_Lookup(cls, name), without running code."""
    for klass in _TYPE_MRO.__get__(cls):
        found = _TYPE_DICT.__get__(klass).get(name)
        if found is not None:
            return found
    return None


def _version(cls) -> int:
    """The class's version tag (0: none valid)."""
    if not _TYPE_FLAGS.__get__(cls) & _VALID_VERSION_TAG:
        return 0
    return _u32_at(id(cls) + L.TP_VERSION_TAG).value


class Callees:
    """The callees of one code object's calls that may be inlined, found at compile time
    (types.py asks). `depth`: how deep this code is inlined itself."""

    def __init__(self, code, depth: int = 0):
        self.code, self.depth = code, depth
        self._globals = None
        self._irs: dict = {}
        self._containers = None
        self._class_list = None
        # Which sites get the budget: the first analysis plans sites in the order it
        # meets them; where that runs out, `reprioritize` chooses again, innermost
        # loops first, and the analysis runs again with only those (`allowed`).
        self.allowed: frozenset | None = None
        self.candidates: dict[int, int] = {}       # site: IR blocks of its callee
        self.over_budget = False

    @property
    def namespace(self) -> dict:
        if self._globals is None:
            self._globals = module_globals(self.code) or {}
        return self._globals

    def global_function(self, name: str):
        func = self.namespace.get(name)
        return func if type(func) is pytypes.FunctionType else None

    def method(self, name: str, load_method) -> object:
        """The function LOAD_METHOD `load_method` found for `name`: its inline cache
        (LOAD_METHOD_WITH_VALUES / LOAD_METHOD_NO_DICT) holds the type version of the
        class it was found on, which names one class of the module (or a subclass)."""
        from ..runtime import feedback
        code = self.code
        form = feedback.specialized_form(code, _Instr(load_method))
        if form not in ("LOAD_METHOD_WITH_VALUES", "LOAD_METHOD_NO_DICT"):
            return None
        version = _u32_at(L.code_unit_address(
            code, _unit(load_method) + 1 + L.METHOD_CACHE_TYPE_VERSION)).value
        return self._in_classes(name, version)

    def _in_classes(self, name: str, version: int):
        """The function `name` of the module's class whose version is `version`, or,
        when none has it (the class changed since), the one function of that name the
        module's classes define, if there is one."""
        classes = self.classes
        for cls in classes:
            if version and _version(cls) == version:
                func = _lookup(cls, name)
                return func if type(func) is pytypes.FunctionType else None
        found = {id(f.__code__): f for cls in classes
                 if type(f := _TYPE_DICT.__get__(cls).get(name)) is pytypes.FunctionType}
        return next(iter(found.values())) if len(found) == 1 else None

    def class_constant(self, name: str) -> bool:
        """Whether `name` is a plain value (its type has no __get__) of a class of the
        module, and a descriptor of none: a LOAD_ATTR of it in an inlined callee is
        most likely a class attribute read through an instance (caches.class_attr),
        whose cache serves without running code; anything else there would deopt at
        every call."""
        plain = False
        for cls in self.classes:
            found = _lookup(cls, name)
            if found is None:
                continue
            if _TYPE_DICT.__get__(type(found)).get("__get__") is not None or \
                    any("__get__" in _TYPE_DICT.__get__(k) for k in _TYPE_MRO.__get__(type(found))):
                return False
            plain = True
        return plain

    @property
    def classes(self) -> list:
        if self._class_list is None:
            self._class_list = _classes(self.namespace)
        return self._class_list

    def getitem(self, subscr) -> object:
        """The `__getitem__` of the class BINARY_SUBSCR `subscr` saw (3.11 writes its
        type version into the instruction's cache even where it does not specialize:
        runtime/feedback.py), or the only one the module's classes define."""
        code = self.code
        version = _u32_at(L.code_unit_address(
            code, _unit(subscr) + 1 + L.SUBSCR_CACHE_TYPE_VERSION)).value
        return self._in_classes("__getitem__", version)

    def setitem(self, cfg, store) -> object:
        """The `__setitem__` for STORE_SUBSCR `store` (3.11 records nothing for it): that
        of the class a BINARY_SUBSCR of this code saw (BINARY_SUBSCR_GETITEM) on the
        same local as the store's container, if there is one."""
        if self._containers is None:
            self._containers = _subscript_containers(cfg)
        local = self._containers.get(store.offset)
        func = None
        for offset, container in self._containers.items():
            ins = cfg.by_offset[offset]
            if container != local or local is None or ins.name != "BINARY_SUBSCR":
                continue
            getitem = self.getitem(ins)
            if getitem is None:
                continue
            for cls in self.classes:
                if _lookup(cls, "__getitem__") is getitem:
                    found = _lookup(cls, "__setitem__")
                    if type(found) is not pytypes.FunctionType or \
                            (func is not None and found is not func):
                        return None
                    func = found
        return func

    def plan(self, site: int, func, nargs: int, inlined: dict):
        """(code, IR) to inline at `site` (`inlined`: those planned so far in this code,
        by site), or None: not inlined, or over the budget."""
        got = self.callee_ir(func, nargs) if func is not None else None
        if got is None or site in inlined:
            return got
        if self.allowed is not None and site not in self.allowed:
            return None
        self.candidates[site] = len(got[1].blocks)
        used = sum(len(ir.blocks) for _, ir in inlined.values())
        if used + len(got[1].blocks) > BUDGET:
            self.over_budget = True
            return None
        return got

    def reprioritize(self, cfg, inlined: dict) -> frozenset | None:
        """After an analysis that ran out of budget: the sites to inline, chosen again
        innermost loop first (then in code order), or None when that is what the
        analysis planned. First come, first served left the hottest sites out where
        the loop nest comes last (scimark's LU_factor: its innermost loop's three
        `A[i][j]` reads stayed calls of ArrayList.__getitem__ while the reads of the
        outer loops were inlined)."""
        if not self.over_budget or self.allowed is not None:
            return None
        depth = loop_depths(cfg)
        chosen, used = set(), 0
        for site in sorted(self.candidates, key=lambda s: (-depth(s), s)):
            if used + self.candidates[site] <= BUDGET:
                chosen.add(site)
                used += self.candidates[site]
        if chosen == set(inlined):
            return None
        self.allowed = frozenset(chosen)
        return self.allowed

    def callee_ir(self, func, nargs: int):
        """The IR of `func`'s code lowered for inlining (memoized per compile), or None
        when it is not inlined."""
        code = func.__code__
        if self.depth >= MAX_DEPTH or code.co_argcount != nargs or code is self.code or \
                refusal(func) is not None:
            return None
        key = id(code)
        if key not in self._irs:
            self._irs[key] = None
            try:
                self._irs[key] = (code, _lower_callee(code, self.depth + 1))
            except NotInlinable:
                pass
        return self._irs[key]


def _subscript_containers(cfg) -> dict[int, int]:
    """{offset of a BINARY_SUBSCR or STORE_SUBSCR: the local its container was loaded
    from by LOAD_FAST}, from a simulation of each block's stack."""
    from .registry import OPCODES
    out = {}
    for block in cfg.blocks.values():
        stack: list = []
        for ins in block.instructions:
            rule = OPCODES.get(ins.name)
            if rule is None:
                break
            n_in, n_out = rule.signature.counts(ins.arg)
            if ins.name in ("BINARY_SUBSCR", "STORE_SUBSCR") and len(stack) >= 2:
                if stack[-2] is not None:
                    out[ins.offset] = stack[-2]
            if ins.name == "LOAD_FAST":
                stack.append(ins.arg)
            elif ins.name == "COPY" and len(stack) >= ins.arg:
                stack.append(stack[-ins.arg])
            elif ins.name == "SWAP" and len(stack) >= ins.arg:
                stack[-1], stack[-ins.arg] = stack[-ins.arg], stack[-1]
            else:
                del stack[max(0, len(stack) - n_in):]
                stack.extend([None] * n_out)
    return out


class _Instr:
    """What feedback.specialized_form needs of a front-end instruction."""

    def __init__(self, ins):
        import dis
        self.offset, self.size, self.name = ins.offset, ins.size, ins.name
        self.opcode = dis.opmap[ins.name]


def _unit(ins) -> int:
    """The code unit of the instruction itself (after its EXTENDED_ARG prefixes)."""
    import dis
    return ins.offset + ins.size - 1 - dis._inline_cache_entries[dis.opmap[ins.name]]


def _lower_callee(code, depth: int) -> IrCFG:
    from ..frontend import BytecodeCFG
    from .lower import lower
    from ..passes.prune import prune_unreachable
    from ..passes.refcount import refcount
    ir = lower(BytecodeCFG(code), inline_depth=depth)
    if ir.inline_refused:              # it would leave native code at every call
        raise NotInlinable(ir.inline_refused)
    ir = refcount(prune_unreachable(ir))
    check(ir)
    ir.float_return = float_return(ir)
    return ir


# The C functions inlined code may call: none runs Python code or looks at frames.
# (Nothing that allocates an object the cyclic GC tracks, a tuple or a list: in 3.11
# such an allocation may run a collection, and its finalizers, on the spot.)
PURE_C = frozenset({
    "PyFloat_FromDouble", "PyLong_FromLong", "PyBool_FromLong", "PyType_IsSubtype",
    "sqrt", "sin", "cos", "_PyUnicode_Equal",
    "coconut_load_global", "coconut_class_attr", "coconut_attr_pic", "coconut_method_pic",
    "coconut_store_pic", "_Py_Dealloc", "coconut_inl_push", "coconut_inl_finish",
    "coconut_truth",
    "PyErr_SetString", "PyErr_SetNone", "PyErr_Format", "PyErr_Occurred",
    "PyErr_ExceptionMatches", "PyErr_Clear",
    # (typed.py calls these only on exact strs and arrays: unicode_getitem, array_item,
    # array_ass_item)
    "PySequence_GetItem", "PySequence_SetItem",
})


def check(ir: IrCFG) -> None:
    """Raise NotInlinable unless `ir` can be copied into a caller: its frame is used only
    in ways `_Splice` rewrites, and it calls only functions that run no Python code."""
    from ..ir.cfg import field_values
    for block in ir.blocks.values():
        for item in block.ops + [block.terminator]:
            if isinstance(item, (ops.CallC, ops.CallArray)) and item.func not in PURE_C:
                raise NotInlinable(f"calls {item.func}")
            if isinstance(item, (ops.CallVectorcall, ops.CallPtr)):
                raise NotInlinable("a call")
            if isinstance(item, ops.ErrorExit) and (item.reraise or item.offset is None):
                raise NotInlinable("an error exit without its instruction")
            if isinstance(item, ops.Deopt) and item.resume == ops.AS_IS:
                raise NotInlinable("a deopt that hands the frame over as it is")
            if isinstance(item, ops.Load) and item.base == _FRAME and \
                    item.offset in _FRAME_FIELDS:
                continue
            for _, value in operand_items(item):
                for v in field_values(value):
                    if isinstance(v, ops.Var) and v.name in ("frame", "throwflag"):
                        raise NotInlinable(f"uses the frame: {item}")
                    if isinstance(v, ops.UnitAddress):
                        raise NotInlinable(f"a code address: {item}")


_FRAME = ops.Var("frame", "ptr")
# Types whose deallocator runs no Python code (no __del__, no items, no weak references).
_TSTATE = ops.Var("tstate", "ptr")


def frame_words(code) -> int:
    """The data-stack words a frame of `code` takes (_PyFrame_NumSlotsForCodeObject)."""
    return L.nlocalsplus(code) + code.co_stacksize + L.FRAME_SPECIALS_SIZE


def chain_words(ir: IrCFG) -> int:
    """Words for `ir`'s frame and, at most, those of the callees inlined into it (each
    materialized on top of its caller's at an exit)."""
    return frame_words(ir.code) + max([chain_words(c) for c in ir.inlined] + [0])


def chain_depth(ir: IrCFG) -> int:
    return 1 + max([chain_depth(c) for c in ir.inlined] + [0])


# -- the call ------------------------------------------------------------------------------
_counter = [0]
STATS = {"inlined": 0}         # call sites inlined (coconut.stats()["inlined_calls"])


def lower_call(b, ins, plan, inputs, items) -> list:
    """CALL planned "inline_call" (see the module docstring)."""
    code, callee = b.tcx.inlined[ins.offset]
    args = b.inputs = [b.box(v, item) for v, item in zip(inputs, items)]
    method = b.tcx.inline_kind[ins.offset] == "method"
    b.emit(ops.SetInstr(ins.offset, ins.name))       # the callee's frame's caller line
    deopt = b.deopt_block("guard: not the callee inlined", plan.site)
    func = args[0] if method else args[1]
    if method:
        b.split(Cond("==", func, NULL), deopt, hint="method")
    b.split(Cond("!=", b.load("ptr", func, L.OB_TYPE), b.const(pytypes.FunctionType)), deopt,
            hint="function")
    _guards(b, func, code, callee, deopt)
    return [_Splice(b, ins, code, callee, func, args[1:] if method else args[2:]).run()]


def lower_getitem(b, ins, plan, inputs, items) -> list:
    """BINARY_SUBSCR planned "inline_getitem": the container's class has a Python
    `__getitem__` (typeobject.c's slot_mp_subscript calls it with the container and the
    key)."""
    container, key = b.inputs = [b.box(v, item) for v, item in zip(inputs, items)]
    return [_slot_call(b, ins, plan, container, "__getitem__", "slot_mp_subscript",
                       L.MP_SUBSCRIPT, [container, key])]


def lower_setitem(b, ins, plan, inputs, items) -> list:
    """STORE_SUBSCR planned "inline_setitem": the container's class has a Python
    `__setitem__` (slot_mp_ass_subscript calls it with the container, the key and the
    value, and drops its result)."""
    value, container, key = b.inputs = [b.box(v, item) for v, item in zip(inputs, items)]
    result = _slot_call(b, ins, plan, container, "__setitem__", "slot_mp_ass_subscript",
                        L.MP_ASS_SUBSCRIPT, [container, key, value])
    if result.ctype == "obj":                  # (not a double: float_return)
        b.decref(result)
    return []


def _slot_call(b, ins, plan, container, method: str, slot: str, offset: int, args):
    """The inlined body of the Python `method` a mapping slot of the container's class
    calls, found through the site's own cache (typed._python_slot_function); its
    result."""
    from .typed import _python_slot_function
    code, callee = b.tcx.inlined[ins.offset]
    b.emit(ops.SetInstr(ins.offset, ins.name))
    deopt = b.deopt_block(f"guard: not the {method} inlined", plan.site)
    func = _python_slot_function(b, container, method, slot, offset, deopt)
    release = b.new_block("not_inlined")
    with b.at(release):
        b.decref(func)
        b.terminate(ops.Jump(deopt))
    _guards(b, func, code, callee, release.name)
    return _Splice(b, ins, code, callee, func, args).run()


def _guards(b, func, code, callee: IrCFG, deopt: str) -> None:
    """The function `func` is the one inlined, and nothing forbids running it without
    its frame now (see the module docstring)."""
    b.split(Cond("!=", b.load("obj", func, L.FUNC_CODE), b.const(code)), deopt, hint="code")
    cframe = b.load("ptr", _TSTATE, L.TS_CFRAME)
    b.split(Cond("!=", b.load("byte", cframe, L.CFRAME_USE_TRACING), b.int(0, "byte")), deopt,
            hint="not_traced")
    remaining = b.load("int", _TSTATE, L.TS_RECURSION_REMAINING)
    b.split(Cond("<=", remaining, b.int(chain_depth(callee) + 1)), deopt, hint="recursion")
    # room in the data stack's chunk, above its first frame (popping a frame is then a
    # store, as in coconut_call)
    top = b.load("ptr", _TSTATE, L.TS_DATASTACK_TOP)
    b.split(Cond("==", top, ops.IntConst(0, "ptr")), deopt, hint="datastack")
    first = b.temp("ptr", "chunk_data")
    b.emit(ops.PtrAdd(first, b.load("ptr", _TSTATE, L.TS_DATASTACK_CHUNK),
                      ops.IntConst(L.CHUNK_DATA, "ssize")))
    b.split(Cond("==", top, first), deopt, hint="not_first")
    end = b.temp("ptr", "end")
    b.emit(ops.PtrAdd(end, top, ops.IntConst(8 * chain_words(callee), "ssize")))
    b.split(Cond(">=", end, b.load("ptr", _TSTATE, L.TS_DATASTACK_LIMIT)), deopt, hint="room")
    _counter[0] += 1
    if b.inline_depth == 0:
        STATS["inlined"] += 1


def float_return(callee: IrCFG) -> dict | None:
    """{returning block: index of its PyFloat_FromDouble} when every return of the
    callee boxes a double just before (in the returning block, the box used by nothing
    else): the caller may take the double itself, unboxed (`_Splice.float_result`;
    types.py plans the call's result as a float). None otherwise."""
    from ..passes.effects import defs, uses
    boxes = {}
    for name, blk in callee.blocks.items():
        t = blk.terminator
        if not isinstance(t, ops.Return):
            continue
        v = t.value
        at = next((i for i, op in enumerate(blk.ops) if isinstance(op, ops.CallC)
                   and op.func == "PyFloat_FromDouble" and op.dst == v), None)
        if not isinstance(v, ops.Var) or at is None:
            return None
        arg = blk.ops[at].args[0]
        if any(arg in defs(op) or v in uses(op) for op in blk.ops[at + 1:]):
            return None
        boxes[name] = at
    if not boxes:
        return None
    boxed = {callee.blocks[name].terminator.value for name in boxes}
    for name, blk in callee.blocks.items():
        for i, op in enumerate(blk.ops):
            if boxed & set(uses(op)) or (boxed & set(defs(op)) and boxes.get(name) != i):
                return None
        if not isinstance(blk.terminator, ops.Return) and \
                boxed & set(uses(blk.terminator)):
            return None
    return boxes


class _Splice:
    """Copies one callee's IR into the caller's (see the module docstring)."""

    def __init__(self, b, ins, code, callee: IrCFG, func, args):
        prefix = f"in{_counter[0]}_"
        self.b, self.ins, self.callee = b, ins, callee
        self.func, self.prefix = func, prefix
        self.locals = [ops.Var(f"{prefix}loc{i}") for i in range(callee.nlocalsplus)]
        self.args = args
        # a callee that returns a double it boxed: the caller gets the double
        self.float_result = callee.float_return
        self.result = b.temp("f64" if self.float_result else "obj", "inlined")
        self.caller_state = b.state
        # the shared exit's inputs: where, how deep a stack, deopt or error
        self.depth = callee.code.co_stacksize
        self.exit_stack = [ops.Var(f"{prefix}exit_s{i}") for i in range(self.depth)]
        self.exit_prev = ops.Var(f"{prefix}exit_prev", "ssize")
        self.exit_depth = ops.Var(f"{prefix}exit_depth", "ssize")
        self.exit_flag = ops.Var(f"{prefix}exit_flag", "int")
        self._exit = None
        self.site_base = b.ir.site_caches
        b.ir.site_caches += callee.site_caches
        b.ir.inlined.append(callee)

    def name(self, block: str) -> str:
        return f"{self.prefix}{block}"

    def run(self):
        b, callee = self.b, self.callee
        for i, v in enumerate(self.locals):
            b.emit(ops.Assign(v, self.args[i] if i < len(self.args) else NULL))
        join = b.new_block("inlined_return")
        self.join = join.name
        b.terminate(ops.Jump(self.name(callee.entry)))
        copies = {}
        for name, block in callee.blocks.items():
            copies[name] = b.ir.blocks[self.name(name)] = type(block)(
                self.name(name), comment=f"inlined {callee.name}: {block.comment}".rstrip(": "))
        for name, block in callee.blocks.items():
            self.copy_block(block, copies[name])
        b.current = join
        return self.result

    # -- values ------------------------------------------------------------------------
    def value(self, v):
        if isinstance(v, ops.Var):
            return v if v.name == "tstate" else ops.Var(self.prefix + v.name, v.ctype)
        if isinstance(v, ops.AddressOf):
            return ops.AddressOf(self.value(v.var))
        if isinstance(v, ops.SiteCache):
            return ops.SiteCache(v.index + self.site_base)
        if isinstance(v, tuple):
            return tuple(self.value(x) for x in v)
        if isinstance(v, Cond):
            return Cond(v.op, self.value(v.a), self.value(v.b))
        return v

    def op(self, op):
        changes = {name: self.value(value) for name, value in operand_items(op)}
        return replace(op, **changes)

    # -- blocks ----------------------------------------------------------------------------
    def copy_block(self, block, new) -> None:
        b = self.b
        self.at = None                 # the callee's instruction (its last SetInstr)
        cur = new
        unboxed_at = self.float_result.get(block.name) if self.float_result else None
        for i, op in enumerate(block.ops):
            if i == unboxed_at:
                continue               # the return's box: the caller takes the double
            if isinstance(op, ops.SetInstr):
                self.at = op.offset
            elif isinstance(op, ops.LoadLocal):
                cur.ops.append(ops.Assign(self.value(op.dst), self.locals[op.index]))
            elif isinstance(op, ops.StoreLocal):
                cur.ops.append(ops.Assign(self.locals[op.index], self.value(op.src)))
            elif isinstance(op, ops.Load) and op.base == _FRAME:
                cur.ops.append(ops.Load(self.value(op.dst), self.func, _FRAME_FIELDS[op.offset]))
            elif isinstance(op, ops.Decref):
                cur = self.decref(cur, self.value(op.value), op.maybe_null)
            elif isinstance(op, ops.CallC) and op.func == "_Py_Dealloc":
                cur = self.dealloc(cur, self.value(op.args[0]))
            elif isinstance(op, ops.CountExit):
                # a callee inlined into this callee left native code: counted at the
                # caller's site (a recompile calls this callee instead)
                cur.ops.append(ops.CountExit(op.reason, self.ins.offset, self.ins.next_offset))
            else:
                cur.ops.append(self.op(op))
        t = block.terminator
        if isinstance(t, ops.Jump):
            cur.terminator = ops.Jump(self.name(t.target))
        elif isinstance(t, ops.Branch):
            cur.terminator = ops.Branch(self.value(t.cond), self.name(t.if_true),
                                        self.name(t.if_false))
        elif isinstance(t, ops.Return):
            if unboxed_at is not None:
                self.returns(cur, self.value(block.ops[unboxed_at].args[0]))
            else:
                self.returns(cur, self.value(t.value))
        elif isinstance(t, ops.Deopt):
            self.exit(cur, t.resume - 1, self.value(t.stack), 0)
        elif isinstance(t, ops.ErrorExit):
            self.exit(cur, t.offset, self.value(t.stack), 1)
        else:
            raise NotInlinable(f"terminator {t}")

    def new_block(self, hint: str):
        return self.b.ir.new_block(f"{self.prefix}{hint}")

    def observe(self, blk) -> None:
        """On a path where code may run: the caller's frame exact (without changing the
        state the caller's lowering goes on with)."""
        b = self.b
        saved, b.current, saved_state = b.current, blk, b.state
        b.state = self.caller_state
        if b.state is not None and b.state.unsynced():
            b.emit_materialize(b.state.unsynced())
        end = b.current
        b.current, b.state = saved, saved_state
        return end

    def decref(self, blk, v, maybe_null: bool, callee_frame: bool = True):
        """Py_(X)DECREF: a deallocation runs with the callee's frame materialized and
        current (in the body), or with the caller's (`callee_frame` False), made exact."""
        after = self.new_block("decref_done")
        if maybe_null:
            present = self.new_block("xdecref")
            blk.terminator = ops.Branch(Cond("==", v, NULL), after.name, present.name)
            blk = present
        rc = self.b.temp("ssize", "rc")
        blk.ops += [ops.Load(rc, v, L.OB_REFCNT),
                    ops.BinArith(rc, "-", rc, ops.IntConst(1, "ssize")),
                    ops.Store(v, L.OB_REFCNT, rc, "ssize")]
        dead = self.new_block("dealloc")
        blk.terminator = ops.Branch(Cond("==", rc, ops.IntConst(0, "ssize")), dead.name, after.name)
        if callee_frame:
            dead = self.dealloc(dead, v)
        else:
            # the caller's frame made exact, unless `v` runs no code as it is freed
            # (the callee's float local at its return: MonteCarlo boxed its int
            # counter at every inlined Random.nextDouble)
            other, done = self.plain_dealloc(dead, v)
            dead = self.observe(other)
            dead.ops.append(ops.CallC(None, "_Py_Dealloc", (v,)))
            dead.terminator = ops.Jump(done.name)
            dead = done
        dead.terminator = ops.Jump(after.name)
        return after

    def plain_dealloc(self, blk, v):
        """Free `v` (its count is 0) at once when it is an exact int, float or str (its
        deallocator runs no code): (the block for other types, the block after)."""
        plain, other = self.new_block("plain_dealloc"), self.new_block("other_dealloc")
        done = self.new_block("deallocated")
        tp = self.b.temp("ptr", "tp")
        blk.ops.append(ops.Load(tp, v, L.OB_TYPE))
        branch_if_plain(blk, tp, plain.name, other.name, self.new_block)
        plain.ops.append(ops.CallC(None, "_Py_Dealloc", (v,)))
        plain.terminator = ops.Jump(done.name)
        return other, done

    def dealloc(self, blk, v):
        """Free `v` (its count is 0) with the callee's frame current (coconut_inl_dealloc
        materializes it, lending its locals). An exact int, float or str is freed at once:
        its deallocator runs no code."""
        other, done = self.plain_dealloc(blk, v)
        blk = self.observe(other)
        at = self.at if self.at is not None else 0
        blk.ops.append(ops.CallArray(None, "coconut_inl_dealloc",
                                     (_TSTATE, self.func, ops.IntConst(2 * at, "ssize"), v),
                                     tuple(self.locals)))
        blk.terminator = ops.Jump(done.name)
        return done

    def returns(self, blk, value) -> None:
        """The callee returns `value`: its locals are released, then the callable, as
        `_PyEval_Vector` releases a frame's after its evaluation (the caller's frame
        current: a `__del__` sees the caller, materialized first)."""
        for v in self.locals:
            blk = self.decref(blk, v, True, callee_frame=False)
        blk.ops.append(ops.Assign(self.result, value))
        blk = self.decref(blk, self.func, False, callee_frame=False)
        blk.terminator = ops.Jump(self.join)

    def exit(self, blk, prev_unit: int, stack: tuple, throwflag: int) -> None:
        """The callee leaves native code at `prev_unit` (a deopt: before the instruction
        after it; an error: unwinding from it) with `stack`: to the shared exit."""
        if len(stack) > self.depth:
            raise NotInlinable("an exit deeper than the callee's stack")
        for i in range(self.depth):
            blk.ops.append(ops.Assign(self.exit_stack[i], stack[i] if i < len(stack) else NULL))
        blk.ops += [ops.Assign(self.exit_prev, ops.IntConst(2 * prev_unit, "ssize")),
                    ops.Assign(self.exit_depth, ops.IntConst(len(stack), "ssize")),
                    ops.Assign(self.exit_flag, ops.IntConst(throwflag, "int"))]
        blk.terminator = ops.Jump(self.shared_exit().name)

    def shared_exit(self):
        """The block every exit of the callee jumps to: the callee's frame materialized
        (its locals and the exit's stack) runs in the interpreter from where the exit
        says; the caller goes on natively after the call with the result, or unwinds
        from it."""
        if self._exit is not None:
            return self._exit
        b, ins = self.b, self.ins
        blk = self._exit = self.new_block("exit")
        blk = self.observe(blk)
        frame = b.temp("ptr", "inlined_frame")
        blk.ops.append(ops.CallArray(frame, "coconut_inl_push",
                                     (_TSTATE, self.func, self.exit_prev, self.exit_depth),
                                     tuple(self.locals) + tuple(self.exit_stack)))
        res = b.temp("obj", "inlined_result")
        blk.ops.append(ops.CallC(res, "coconut_inl_finish", (_TSTATE, frame, self.exit_flag, NULL)))
        blk.ops.append(ops.Decref(self.func))
        saved_current, saved_state = b.current, b.state
        b.current = blk
        b.state = self.caller_state.all_synced() if self.caller_state is not None else None
        try:
            below = b.stack_below()
            error = b.exit_block("inlined_error", ops.ErrorExit(ins.offset, below))
            b.split(Cond("==", res, NULL), error, hint="inlined_ok")
            # The call is over, as a call of the function would have left it: the
            # caller goes on natively with its result (its C values are what the
            # inlined return finds: `observe` only wrote them to the frame as well).
            # Counted as a deopt of the site: a callee that keeps leaving is
            # recompiled as a call (runtime/stability.py).
            b.emit(ops.CountExit(f"inlined {self.callee.name} left native code", ins.offset,
                                 ins.next_offset))
            if self.float_result:
                # the caller goes on with a double: the interpreter's result, when it
                # is an exact float; anything else leaves the caller too, after the call
                other = b.exit_block("inlined_not_float", ops.Deopt(
                    ins.next_offset, below + (res,), "inlined: the result is not a float"))
                b.split(Cond("!=", b.load("ptr", res, L.OB_TYPE), ops.ObjConst(float)),
                        other, hint="inlined_float")
                b.emit(ops.Assign(self.result, b.load("f64", res, L.FLOAT_VALUE)))
                b.emit(ops.Decref(res))         # (a float: its dealloc runs no code)
            else:
                b.emit(ops.Assign(self.result, res))
            b.terminate(ops.Jump(self.join))
        finally:
            b.current, b.state = saved_current, saved_state
        return self._exit
