"""The IR: ops as plain records (coconut/_record.py), blocks, and the IrCFG that holds them."""
from .ops import *  # noqa: F401,F403
from .cfg import IrBlock, IrCFG, IrVerifyError  # noqa: F401
