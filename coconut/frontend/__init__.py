"""Front end: a code object becomes a BytecodeCFG (blocks, stack depths, handler edges)."""
from .bytecode_cfg import BytecodeCFG, BytecodeError, Instruction, Block, HandlerEdge

__all__ = ["BytecodeCFG", "BytecodeError", "Instruction", "Block", "HandlerEdge"]
