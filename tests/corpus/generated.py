"""Randomly generated (fixed seed) arithmetic/comparison/branch functions over edge values:
exercises the inline small-int / float fast paths and their fallbacks around the 30-bit
digit, 64-bit and float boundaries. Regenerated identically on every import."""
import random

_rng = random.Random(20241121)

EDGE = [0, 1, -1, 2, 3, -3, 7, 2**30 - 1, 2**30, -(2**30) + 1, -(2**30), 2**31, -(2**31),
        2**62, 2**63 - 1, -(2**63), 2**100, True, False, 0.0, -0.0, 1.5, -2.25, 1e308,
        float("inf"), float("nan"), 3.0]
BINOPS = ["+", "-", "*", "//", "%", "/", "&", "|", "^"]
CMPOPS = ["<", "<=", "==", "!=", ">", ">="]
VARS = ["a", "b", "c"]


def _leaf():
    r = _rng.random()
    if r < 0.6:
        return _rng.choice(VARS)
    if r < 0.75:
        return repr(_rng.choice([0, 1, 2, -1, 2**30 - 1, 2**29, 2**31, -(2**30)]))
    if r < 0.85:
        return repr(_rng.choice([0.5, -1.0, 2.0, 1e-300]))
    return "(%s ** %d)" % (_rng.choice(VARS), _rng.choice([2, 3]))


def _expr(depth):
    if depth == 0 or _rng.random() < 0.25:
        return _leaf()
    r = _rng.random()
    if r < 0.7:
        return "(%s %s %s)" % (_expr(depth - 1), _rng.choice(BINOPS), _expr(depth - 1))
    if r < 0.8:
        return "(%s%s)" % (_rng.choice(["-", "~", "+", "not "]), _expr(depth - 1))
    if r < 0.9:
        return "(%s %s %d)" % (_expr(depth - 1), _rng.choice(["<<", ">>"]), _rng.choice([1, 5, 31, 40]))
    return "(%s if %s %s %s else %s)" % (_expr(depth - 1), _expr(depth - 1), _rng.choice(CMPOPS),
                                         _expr(depth - 1), _expr(depth - 1))


def _function(k):
    lines = ["def gen_%d(a, b, c):" % k, "    out = []"]
    for j in range(4):
        lines.append("    try:")
        lines.append("        out.append(%s)" % _expr(3))
        lines.append("    except (ArithmeticError, TypeError, ValueError) as e:")
        lines.append("        out.append((type(e).__name__, str(e)))")
    lines.append("    acc = %s" % _rng.choice(VARS))
    lines.append("    for i in range(3):")
    lines.append("        if acc %s %s:" % (_rng.choice(CMPOPS), _leaf()))
    lines.append("            acc = acc %s i" % _rng.choice(["+", "-", "*", "^", "|"]))
    lines.append("        else:")
    lines.append("            acc = acc %s %s" % (_rng.choice(["+", "-", "*"]), _leaf()))
    lines.append("    out.append(acc)")
    lines.append("    out.append(%s)" % _expr(2))   # may raise: propagates out
    lines.append("    return out")
    return "\n".join(lines) + "\n"


SOURCE = "".join(_function(k) for k in range(40))
_ns = {}
exec(compile(SOURCE, "<coconut generated corpus>", "exec"), _ns)

CASES = []
for _k in range(40):
    _args = [tuple(_rng.choice(EDGE) for _ in range(3)) for _ in range(10)]
    CASES.append((_ns["gen_%d" % _k], _args))
