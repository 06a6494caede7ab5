"""The IR: ops as plain dataclasses, blocks, and the IrCFG that holds them."""
from .ops import *  # noqa: F401,F403
from .cfg import IrBlock, IrCFG, IrVerifyError  # noqa: F401
