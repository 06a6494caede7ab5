"""Lowering: BytecodeCFG -> IrCFG, one rule per opcode (see opcodes.py)."""
from .registry import OPCODES, NOT_NATIVE, StackSignature, op  # noqa: F401
from . import opcodes  # noqa: F401  (fills the registry)
from . import namespace_ops  # noqa: F401  (f_locals names, imports, with, star ops)
from . import handlers  # noqa: F401  (exception handlers: the unwind, except and with)
from .lower import lower, first_non_native  # noqa: F401
