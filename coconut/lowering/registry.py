"""The opcode registry: each opcode's stack signature and lowering, defined once.

    @op("BINARY_OP", "lhs rhs -- res")
    def binary_op(b, ins, lhs, rhs): ...

A signature names the inputs (bottom to top) and outputs of the fall-through path;
`jump=` gives the stack when the jump is taken. `name[expr]` is a run of `expr`
values, `expr` a Python expression in `oparg`. Stack effects are derived from the
signature (and tested against `dis.stack_effect`); the lowering receives the input
values and returns the output values, never touching the stack itself.
"""
from __future__ import annotations

import dis
from .._record import record
from typing import Callable

@record(frozen=True)
class StackSignature:
    inputs: tuple[tuple[str, str | None], ...]
    outputs: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, text: str) -> "StackSignature":
        left, _, right = text.partition("--")
        return cls(_items(left), _items(right))

    def counts(self, oparg: int | None) -> tuple[int, int]:
        return _count(self.inputs, oparg), _count(self.outputs, oparg)

    def split_inputs(self, values: list, oparg: int | None) -> list:
        """Group the input values as the signature names them (runs become lists)."""
        out, i = [], 0
        for name, expr in self.inputs:
            if expr is None:
                out.append(values[i]); i += 1
            else:
                n = _eval(expr, oparg)
                out.append(list(values[i:i + n])); i += n
        return out


def _items(text: str):
    items = []
    for word in text.split():
        # name or name[expression] (not a regular expression: `re` caches the patterns
        # it compiles where a program can see them, and this runs at the first compile)
        name, bracket, rest = word.partition("[")
        if not (name and (name.isidentifier() or name.isdigit())) or \
                (bracket and (len(rest) < 2 or rest[-1] != "]")):
            raise ValueError(f"bad stack item {word!r}")
        items.append((name, rest[:-1] if bracket else None))
    return tuple(items)


def _eval(expr: str, oparg: int | None) -> int:
    return int(eval(expr, {"popcount": lambda x: bin(x).count("1")}, {"oparg": oparg}))


def _count(items, oparg) -> int:
    return sum(1 if expr is None else _eval(expr, oparg) for _, expr in items)


@record
class OpcodeRule:
    name: str
    signature: StackSignature
    jump: StackSignature | None
    lower: Callable
    doc: str

    def stack_effect(self, oparg: int | None, jump: bool = False) -> int:
        sig = self.jump if (jump and self.jump is not None) else self.signature
        n_in, n_out = sig.counts(oparg)
        return n_out - n_in


OPCODES: dict[str, OpcodeRule] = {}

# Opcodes that always deopt to the interpreter, with the reason.
NOT_NATIVE: dict[str, str] = {}


def op(*names: str, sig: str, jump: str | None = None):
    """Register a lowering for one or more opcodes that share it."""
    def register(fn):
        for name in names:
            if name not in dis.opmap:
                raise ValueError(f"{name} is not a CPython 3.11 opcode")
            if name in OPCODES:
                raise ValueError(f"{name} lowered twice")
            OPCODES[name] = OpcodeRule(name, StackSignature.parse(sig),
                                       StackSignature.parse(jump) if jump else None,
                                       fn, (fn.__doc__ or "").strip())
        return fn
    return register
