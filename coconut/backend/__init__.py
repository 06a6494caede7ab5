"""Back end: IrCFG -> libgccjit functions -> machine code (gcc.py), and running gcc
(gccrun.py). Nothing is imported here: the runtime needs gccrun without the rest."""
