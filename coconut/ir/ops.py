"""IR operations.

A small, explicit IR. Values are C locals (`Var`) of a few C types; Python references
are `obj`. Reference ownership is explicit: `Incref`/`Decref` are ops, and every C call
names its callee, whose ownership rules are in `coconut.backend.capi`. Each block ends
in exactly one terminator; two of them leave native code:

* `Deopt`     resume the interpreter *before* an instruction, with the live stack;
* `ErrorExit` hand the pending exception to the interpreter *at* an instruction.

Both carry the frame state the interpreter needs (instruction offset + value stack).
"""
from __future__ import annotations

from .._record import record

# C types a Var may have. "obj" is PyObject*, "ptr" an untyped pointer, "int" a C int,
# "ssize" Py_ssize_t, "byte" an unsigned char, "u16" / "u32" uint16_t / uint32_t (fields
# of inline caches and version tags), "double" a C double, "u64" an unsigned long.
# The optimizing tier's unboxed values have C types of their own, so that exits know
# to box them: "f64" (a float, double), "i64" (an int, long), "cbool" (a bool, int).
CTYPES = ("obj", "ptr", "int", "ssize", "byte", "u16", "u32", "double", "u64",
          "f64", "i64", "cbool")


@record(frozen=True)
class Var:
    name: str
    ctype: str = "obj"

    def __str__(self) -> str:
        return self.name


@record(frozen=True)
class IntConst:
    value: int
    ctype: str = "int"

    def __str__(self) -> str:
        return str(self.value)


@record(frozen=True)
class FloatConst:
    """A C double constant (an unboxed float)."""
    value: float
    ctype: str = "f64"

    def __str__(self) -> str:
        return repr(self.value)

    def __eq__(self, other):          # 0.0 and -0.0 differ; nan equals itself
        return isinstance(other, FloatConst) and \
            _float_bits(self.value) == _float_bits(other.value)

    def __hash__(self):
        return hash(_float_bits(self.value))


def _float_bits(x: float) -> bytes:
    import struct
    return struct.pack("<d", x)


@record(frozen=True, eq=False)
class ObjConst:
    """The address of a Python object kept alive by the code object (consts, names)."""
    obj: object

    ctype = "obj"

    def __str__(self) -> str:
        r = repr(self.obj)
        return f"<{r[:40] + '...' if len(r) > 40 else r}>"


@record(frozen=True)
class Address:
    """A fixed C address with a name (printed by name: dumps stay deterministic)."""
    name: str
    value: int
    ctype = "ptr"

    def __str__(self) -> str:
        return f"&{self.name}"


@record(frozen=True)
class AddressOf:
    """&var: for C out-parameters (`var` is then written by the callee)."""
    var: Var
    ctype = "ptr"

    def __str__(self) -> str:
        return f"&{self.var}"


@record(frozen=True)
class UnitAddress:
    """&co_code_adaptive[offset] of the frame's code object: what `frame->prev_instr`
    holds when the interpreter last ran the instruction at `offset` (a generator
    suspended there)."""
    offset: int
    ctype = "ptr"

    def __str__(self) -> str:
        return f"&code[{self.offset}]"


SITE_CACHE_WORDS = 3


@record(frozen=True)
class SiteCache:
    """The address of cache slot `index` of the function: SITE_CACHE_WORDS
    zero-initialized words of the compiled module that only this function's code reads
    and writes (a LOAD_GLOBAL site's own cache: runtime/namespaces.py).
    IrCFG.site_caches counts them."""
    index: int
    ctype = "ptr"

    def __str__(self) -> str:
        return f"&site_cache[{self.index}]"


NULL = IntConst(0, "obj")
AS_IS = -1                     # Deopt.resume: hand the frame over untouched
Value = Var | IntConst | FloatConst | ObjConst | Address | AddressOf | SiteCache | UnitAddress


# -- plain ops ---------------------------------------------------------------------
@record
class Assign:
    dst: Var
    src: Value

    def __str__(self): return f"{self.dst} = {self.src}"


@record
class CallC:
    """dst = func(args) for a C function named in capi.CAPI (dst None: result ignored)."""
    dst: Var | None
    func: str
    args: tuple

    def __str__(self):
        call = f"{self.func}({', '.join(map(str, self.args))})"
        return call if self.dst is None else f"{self.dst} = {call}"


@record
class CallVectorcall:
    """dst = PyObject_Vectorcall(callable, &argv[skip], (npositional - skip) |
    PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames), where argv holds `args` in a scratch
    array with one free slot before it (the callee may borrow argv[-1]).
    `frame_inline`: where the interpreter without a PEP 523 hook would push a Python
    callee's frame itself (CALL, BINARY_SUBSCR_GETITEM), with the caller's
    `prev_instr` at the instruction's last cache unit: coconut_call does the same on
    the patched interpreter (runtime/calls.py)."""
    dst: Var
    callable: Value
    args: tuple
    skip: Value            # 0 or 1: leading args that are not passed
    npositional: int       # positional arguments in `args` (the rest are keywords)
    kwnames: Value
    frame_inline: bool = False

    def __str__(self):
        return (f"{self.dst} = vectorcall({self.callable}, [{', '.join(map(str, self.args))}]"
                f"[{self.skip}:], npositional={self.npositional}, kwnames={self.kwnames}"
                f"{', frame_inline' if self.frame_inline else ''})")


@record
class CallArray:
    """dst = func(*before, &values[0], n): for C functions taking an array of objects
    (`dst` None: the result is not used)."""
    dst: Var | None
    func: str
    before: tuple
    values: tuple

    def __str__(self):
        pre = "".join(f"{a}, " for a in self.before)
        call = f"{self.func}({pre}[{', '.join(map(str, self.values))}], {len(self.values)})"
        return call if self.dst is None else f"{self.dst} = {call}"


@record
class CallPtr:
    """dst = ((PyObject *(*)(...))fn)(*before[, &values[0], nargs], *after): a C
    function through a pointer read at run time (a builtin's `ml_meth`, a type's
    `tp_vectorcall`); `values` None: no array; `nargs` -1: len(values)."""
    dst: Var
    fn: Value
    before: tuple
    values: tuple | None = None
    nargs: int = -1
    after: tuple = ()

    def __str__(self):
        args = [str(a) for a in self.before]
        if self.values is not None:
            n = len(self.values) if self.nargs < 0 else self.nargs
            args += [f"[{', '.join(map(str, self.values))}]", str(n)]
        args += [str(a) for a in self.after]
        return f"{self.dst} = (*{self.fn})({', '.join(args)})"


@record
class Load:
    """dst = *(ctype *)((char *)base + offset) — a field of a C struct."""
    dst: Var
    base: Value
    offset: int

    def __str__(self): return f"{self.dst} = *({self.dst.ctype} *)({self.base} + {self.offset})"


@record
class Store:
    """*(ctype *)((char *)base + offset) = src."""
    base: Value
    offset: int
    src: Value
    ctype: str = "obj"

    def __str__(self): return f"*({self.ctype} *)({self.base} + {self.offset}) = {self.src}"


@record
class PtrAdd:
    """dst = (char *)base + delta: the address of a field at a run-time offset (`delta`
    an integer value), for Load and Store."""
    dst: Var
    base: Value
    delta: Value

    def __str__(self): return f"{self.dst} = {self.base} + {self.delta}"


@record
class LoadLocal:
    """dst = frame->localsplus[index] (a borrowed reference, possibly NULL)."""
    dst: Var
    index: int

    def __str__(self): return f"{self.dst} = localsplus[{self.index}]"


@record
class StoreLocal:
    """frame->localsplus[index] = src (the frame takes the reference)."""
    index: int
    src: Value

    def __str__(self): return f"localsplus[{self.index}] = {self.src}"


@record
class Incref:
    value: Value

    def __str__(self): return f"incref {self.value}"


@record
class Decref:
    """Py_DECREF, or Py_XDECREF when `maybe_null`."""
    value: Value
    maybe_null: bool = False

    def __str__(self): return f"{'x' if self.maybe_null else ''}decref {self.value}"


@record
class SetInstr:
    """frame->prev_instr = the instruction at `offset`: keeps f_lineno and tracebacks
    right for anything the next ops may call."""
    offset: int
    name: str = ""             # the bytecode instruction, for readers of the dump

    def __str__(self): return f"set_instr {self.offset} ({self.name})"


@record
class CountExit:
    """Count a way out of native code that does not leave the function (an inlined
    callee that finishes in the interpreter: lowering/inline.py) in the counter a Deopt
    terminator would have: `reason`, speculation `site` and `resume` as in Deopt, so
    that runtime/stability.py recompiles without the speculation when it keeps being
    taken."""
    reason: str
    site: int | None
    resume: int

    def __str__(self):
        at = "" if self.site is None else f" site {self.site}"
        return f"count_exit @{self.resume} ({self.reason}{at})"


@record
class BinArith:
    """dst = a <op> b on C numbers of dst's type ('+', '-', '*', '/', '%', '^', '&',
    '|', '<<', '>>'), the operands converted to it."""
    dst: Var
    op: str
    a: Value
    b: Value

    def __str__(self): return f"{self.dst} = {self.a} {self.op} {self.b}"


@record
class Neg:
    """dst = -a (C negation: flips the sign of 0.0 and nan too)."""
    dst: Var
    a: Value

    def __str__(self): return f"{self.dst} = -{self.a}"


@record
class Abs:
    """dst = |a| (fabs for a double: clears the sign of -0.0 too)."""
    dst: Var
    a: Value

    def __str__(self): return f"{self.dst} = abs({self.a})"


# -- terminators -------------------------------------------------------------------
@record
class Cond:
    """a <op> b, op one of == != < <= > >=."""
    op: str
    a: Value
    b: Value

    def __str__(self): return f"{self.a} {self.op} {self.b}"

    def negated(self) -> "Cond":
        return Cond(_NEGATED[self.op], self.a, self.b)


_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


@record
class Jump:
    target: str

    def __str__(self): return f"goto {self.target}"

    def successors(self): return [self.target]


@record
class Branch:
    cond: Cond
    if_true: str
    if_false: str

    def __str__(self): return f"if ({self.cond}) goto {self.if_true} else goto {self.if_false}"

    def successors(self): return [self.if_true, self.if_false]


@record
class Return:
    """Leave native code with a new reference (the value stack is empty)."""
    value: Value

    def __str__(self): return f"return {self.value}"

    def successors(self): return []


@record
class Deopt:
    """Resume the interpreter before the instruction at `resume`, with `stack` spilled
    to the frame (the frame takes those references). `resume` AS_IS (with an empty
    `stack`): the frame goes to the interpreter as native code was given it
    (`prev_instr` and `stacktop` untouched: a generator frame suspended where native
    code does not resume)."""
    resume: int
    stack: tuple
    reason: str
    # The bytecode offset of the speculation whose guard failed (a site the optimizing
    # tier chose to specialize: `lower(avoid={site})` compiles it without), or None for
    # a deopt that is not a failed speculation (an opcode not lowered, an unbound local).
    site: int | None = None

    def __str__(self):
        at = "" if self.site is None else f" site {self.site}"
        return f"deopt @{self.resume} [{', '.join(map(str, self.stack))}] ({self.reason}{at})"

    def successors(self): return []


@record
class ErrorExit:
    """An exception is set: let the interpreter unwind from the instruction at `offset`
    with `stack` spilled (it adds the traceback entry and finds the handler).
    `leaves`: no handler of the frame covers `offset`, so the exception leaves the frame:
    native code adds the traceback entry, releases the stack and returns NULL itself
    (the interpreter's only under a tracer or profiler). `reraise` (with `leaves`): the
    exception is raised again (RERAISE, a bare `raise`: the lowering checked for a tracer
    and set `prev_instr` itself), so no traceback entry is added. `offset` None:
    `prev_instr` names the instruction already (a shared unwind under a tracer).
    `named`: the exit of a call that may have pushed a Python callee's frame as ceval
    does (CallVectorcall.frame_inline): `prev_instr` names `offset` already, or, where
    coconut_call moved it for such a callee that raised, the instruction's last cache
    unit, as ceval leaves it (the traceback's tb_lasti and a handler's lasti follow)."""
    offset: int | None
    stack: tuple
    leaves: bool = False
    reraise: bool = False
    named: bool = False

    def __str__(self):
        out = (" (re-raised out of the frame)" if self.reraise else
               " (leaves the frame)" if self.leaves else "")
        out += " (prev_instr named)" if self.named else ""
        at = "prev_instr" if self.offset is None else self.offset
        return f"error @{at} [{', '.join(map(str, self.stack))}]{out}"

    def successors(self): return []


TERMINATORS = (Jump, Branch, Return, Deopt, ErrorExit)
