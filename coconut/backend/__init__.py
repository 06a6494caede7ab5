"""Back end: IrCFG -> libgccjit functions -> machine code."""
from .gcc import GccModule, BackendError, build_module  # noqa: F401
