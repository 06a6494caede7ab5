"""The exceptions and warnings coconut raises."""


class CompileError(Exception):
    """A function cannot run natively (raised with strict=True) or is not compilable."""


class CompileWarning(RuntimeWarning):
    """A function stays interpreted because compiling it failed."""
