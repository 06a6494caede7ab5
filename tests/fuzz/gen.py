"""Random Python programs for differential fuzzing of the JIT (deterministic per seed).

``generate(seed, size="normal")`` returns a program, a JSON-able dict:

    {"seed": N, "size": "normal", "source": "...", "func": "f",
     "warm": ["1", "2.5", "3"],         # argument expressions of the warm-up mix
     "mixes": [["..."], ...],           # argument mixes of the compared calls
     "variant": "warm" | "cold" | "all",
     "storm": None | ["..."]}           # a mix called STORM times after the compile

``source`` is a module: a few globals, small classes (``P``/``Q`` for attributes, class
attributes and ``__class__`` reassignment; ``H`` whose ``__eq__``/``__lt__``/``__add__``
and ``D`` whose ``__del__`` log ``snap(sys._getframe(1))``; ``IntS``/``FloatS``, int and
float subclasses with overridden operators, passed as arguments), helpers that change a
global, a class or a global function mid-loop, and the function under test
``f(a, b[, c])``. Argument expressions are evaluated in the program's namespace, so they
may build ``P(2)``. The variants (run.py): compile ``f`` after the warm-up, before it
("cold"), or every function and method of the program ("all"); ``storm`` makes a failing
speculation deopt often enough for the runtime to recompile without it.

What ``f`` contains: int/float/bool/bigint arithmetic (``+ - * / // % ** & | ^ << >>``,
unary ``-``, ``abs``, comparisons, mixed operands, constants around 2**30, 2**53, 2**62,
2**63, -0.0, inf, nan), comparisons and boolean operators feeding branches, ``for`` over
ranges (negative and huge steps, bounds at the int64 limits, nested) and tuples, counted
``while`` loops, ``break``/``continue``/``return`` in loops, locals rebound to another type
mid-loop (int -> float -> str, overflow into a bigint, containers into other containers),
locals first assigned inside a loop, list/tuple/dict subscripts and stores (negative, out
of range, non-int indices), tuple assignments (swaps and rotations), chained assignments
and ``:=``, attributes, calls to helpers, ``try/except`` around raising operations,
``len``/``isinstance``/``min``/``max``/``list.append``, ``print`` and an explicit log.
About half the programs are *typed*: each local keeps one kind (int or float) in most
assignments, the values the optimizing tier unboxes, until something breaks the
speculation (an argument of another type, an overflow, a rebinding).

Growth is bounded by construction: loop trip counts are small, and inside loops a product
or power of two non-trivial operands is reduced modulo a constant, so a program's
reference run is fast (the runner still stops comparing a program that is slow).
"""
import random
import re

EDGE_INTS = ["0", "1", "-1", "2", "3", "7", "-5", "2**30 - 1", "2**30", "-2**30",
             "2**31", "2**53", "2**53 + 1", "2**62 - 1", "2**62", "-2**62", "2**63 - 1",
             "2**63", "-2**63", "-2**63 - 1", "2**64", "10**20", "-(2**62) - 7"]
SMALL_INTS = ["0", "1", "2", "3", "5", "7", "10", "-1", "-2", "-3"]
FLOATS = ["0.0", "-0.0", "0.5", "1.5", "-2.25", "3.0", "0.1", "1e16", "2.0**53",
          "9007199254740993.0", "1e308", "-1e308", "5e-324", "1e-310",
          "float('inf')", "-float('inf')", "float('nan')", "-float('nan')", "INF", "NAN"]
TYPED_CONSTS = {
    "int": ["0", "1", "2", "3", "5", "7", "-1", "-3", "10", "100", "-2**63", "2**63 - 1",
            "2**62", "-2**62", "2**31", "2**53", "2**53 + 1", "-2**53 - 1", "2**32 - 1",
            "2**30", "-2**30", "0x7FFFFFFF", "2**60 - 1", "-2**60 + 1", "2**60", "2**30 - 1",
            "-2**31"],
    "float": ["0.5", "-0.0", "0.0", "1.5", "0.1", "1e308", "1e309", "-1e309", "2.0**53",
              "1e-320", "3.0", "-2.5", "1.0", "4.5e15", "-7.25", "2.0**63", "9007199254740993.0",
              "(1e309 - 1e309)", "-(1e309 - 1e309)"],
}
NONZERO = ["3", "7", "-2", "2.5", "2**31 + 1", "-2**62 - 1", "0.5", "1e-300", "-7", "10**20",
           "2**63", "1.5", "-0.25"]
MODULI = ["18446744073709551629", "2**61 - 1", "1000003", "2**63 + 5", "7.5"]

ARG_KINDS = {
    "int": ["0", "1", "2", "3", "5", "7", "-1", "-3", "10", "12"],
    "edge": EDGE_INTS[7:] + ["2**62 - 1", "2**63 - 1", "2**60 - 1", "-2**60", "2**60"],
    "float": ["0.5", "1.5", "-2.25", "3.0", "0.1", "7.0", "-0.0", "2.5", "0.0"],
    "fedge": ["float('inf')", "-float('inf')", "float('nan')", "-0.0", "1e308", "5e-324",
              "2.0**53", "-1e16", "-float('nan')"],
    "bool": ["True", "False"],
    "big": ["2**64", "-2**70", "10**30", "2**63", "-2**63 - 1", "2**62"],
    "str": ["'ab'", "''", "'7'"],
    "none": ["None"],
    "list": ["[1, 2.5]", "[]", "[3]"],
}

HEADER = '''\
import sys
from tests.fuzz.rt import snap

LOG = []
G = 0
INF = float("inf")
NAN = float("nan")
'''

CLASSES_PQ = '''
class P:
    k = 3

    def __init__(self, v):
        self.v = v


class Q:
    k = 2.5

    def __init__(self, v):
        self.v = v * 2
'''

CLASSES_HD = '''
class H:
    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        LOG.append(("eq", snap(sys._getframe(1))))
        return self.n == other

    def __lt__(self, other):
        LOG.append(("lt", snap(sys._getframe(1))))
        return self.n < other

    def __add__(self, other):
        LOG.append(("add", snap(sys._getframe(1))))
        return self.n + other

    __radd__ = __add__


class D:
    def __init__(self, n):
        self.n = n

    def __del__(self):
        LOG.append(("del", self.n, snap(sys._getframe(1))))
'''

CLASSES_SUB = '''
class IntS(int):
    def __add__(self, other):
        LOG.append(("IntS.add", snap(sys._getframe(1))))
        return int(self) + other + 1000

    __radd__ = __add__

    def __lt__(self, other):
        LOG.append(("IntS.lt", snap(sys._getframe(1))))
        return int(self) > other


class FloatS(float):
    def __mul__(self, other):
        LOG.append(("FloatS.mul", snap(sys._getframe(1))))
        return float(self) * other - 0.5

    __rmul__ = __mul__

    def __sub__(self, other):
        return "FloatS.sub"
'''

HELPERS = '''
def bump(x):
    global G
    G = G + x
    return G


def retype(x):
    global G
    if x == 1:
        G = float(G) + 0.5
    elif x == 2:
        G = str(G)
    else:
        G = 2**64 + G
    return x


def scale(x):
    return x * 2


def swap():
    global scale
    scale = lambda x: x - 1.5


def shadow(on):
    # a module global named like a builtin hides it (LOAD_GLOBAL caches must notice)
    if on:
        globals()["len"] = lambda s: -1
        globals()["isinstance"] = lambda v, t: "shadowed"
    else:
        globals().pop("len", None)
        globals().pop("isinstance", None)
'''

# Small helpers the JIT inlines (lowering/inline.py): loop-free functions, methods and a
# Python __getitem__/__setitem__, quickened at import by warm_inl() with ints and floats,
# then called by f with whatever its arguments are (a failed guard inside an inlined body
# materializes the callee's frame; clampk raises from one).
HELPERS_INL = '''
def addk(a, b):
    return a + b


def mulk(a, b):
    c = a * b
    return c - 1


def pickk(c, a, b):
    if c:
        return a
    return b


def clampk(x, lo, hi):
    if x < lo:
        raise ValueError("low", x)
    return x if x < hi else hi


class V:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    def scaled(self, k):
        return self.v * k

    def __getitem__(self, i):
        return self.v + i

    def __setitem__(self, i, x):
        self.v = x - i


def warm_inl():
    vv = V(1)
    for i in range(20):
        addk(i, 2), addk(1.5, i), mulk(i, 3), pickk(i % 2, i, 2.5), clampk(i, -5, 10)
        vv.get(), vv.scaled(2), vv[i]
        vv[i] = i


warm_inl()
'''

HELPERS_PQ = '''
def patch(how):
    if how == 0:
        P.k = 1.5
    elif how == 1:
        P.v = property(lambda self: 99)
    elif how == 2:
        P.k = "str"
    else:
        del P.k


def morph(o):
    o.__class__ = Q if type(o) is P else P
'''

_ATOM = re.compile(r"[A-Za-z_][\w.]*|\d+(\.\d*)?")
STORM = 120
CMPOPS = ["<", "<=", "==", "!=", ">", ">="]
LOOPVARS = ["i", "j", "k", "m"]


SIZES = {  # statements at the top level of f, and per nested body
    "small": ((3, 8), 3),
    "normal": ((7, 20), 4),
}


class _Gen:
    def __init__(self, seed, size="normal"):
        self.seed = seed
        (lo, hi), self.body_max = SIZES[size]
        r = self.r = random.Random(seed)
        self.feat = {
            "pq": r.random() < 0.45,
            "hd": r.random() < 0.35,
            "sub": r.random() < 0.2,
            "helpers": r.random() < 0.45,
            "cont": r.random() < 0.55,
            "try": r.random() < 0.6,
            "print": r.random() < 0.25,
            # (its own generator: the programs of the seeds without it stay as they were)
            "inl": random.Random(seed * 7919 + 17).random() < 0.5,
        }
        self.params = ["a", "b", "c"][:r.choice([2, 3, 3])]
        self.nums = ["x", "y", "z", "w"][:r.randint(2, 4)]
        # typed programs keep each local to one kind (int or float) most of the time:
        # what the optimizing tier unboxes, until a speculation breaks
        self.typed = r.random() < 0.55
        np_ = len(self.params)
        self.warm_kinds = r.choice([["int"] * np_, ["int"] * np_, ["float"] * np_,
                                    [r.choice(["int", "float"]) for _ in range(np_)]])
        self.kinds = dict(zip(self.params, self.warm_kinds))
        for v in self.nums:
            self.kinds[v] = r.choice(["int", "int", "float"])
        self.temps = 0
        self.rangevars = {}
        self.loopvars = []
        self.counters = 0
        self.depth = 1
        self.loops = 0
        self.lines = []
        self.budget = r.randint(lo, hi)

    # ------------------------------------------------------------------ helpers
    def emit(self, line):
        self.lines.append("    " * self.depth + line)

    def chance(self, p):
        return self.r.random() < p

    def choice(self, seq):
        return self.r.choice(seq)

    def numvars(self):
        return self.params + self.nums + self.loopvars

    def safe(self, e):
        """Operands whose product cannot blow up across iterations."""
        return e in self.params or e in self.loopvars or e in SMALL_INTS or e in FLOATS \
            or e.startswith("len(")

    # ------------------------------------------------------------------ expressions
    def const(self):
        r = self.r.random()
        if r < 0.45:
            return self.choice(SMALL_INTS)
        if r < 0.75:
            return self.choice(EDGE_INTS)
        if r < 0.8:
            return self.choice(["True", "False"])
        return self.choice(FLOATS)

    def leaf(self):
        if self.chance(0.6):
            vs = self.numvars()
            # loop variables are the hot values: prefer them
            if self.loopvars and self.chance(0.4):
                return self.choice(self.loopvars)
            return self.choice(vs)
        return self.const()

    def index(self):
        seq = self.choice(["lst", "lst", "tup"])
        lv = self.loopvars[-1] if self.loopvars else self.choice(self.params)
        if self.chance(0.6):
            return seq, self.choice(["%s %% len(%s)" % (lv, seq), "-1", "0", "-(%s %% len(%s)) - 1"
                                     % (lv, seq), "len(%s) - 1" % seq])
        return seq, self.choice([
            lv, lv, "1", "-2", "len(%s)" % seq, "-len(%s) - 1" % seq, "-len(%s)" % seq,
            "2**63", "1.5", "True", self.choice(self.params), "-%s" % lv, "-2**63",
            "2**63 - 1", "%s - 2**62" % lv])

    def key(self):
        lv = self.loopvars[-1] if self.loopvars else self.choice(self.params)
        return self.choice(["0", "1", "'k'", "'z'", lv, lv, "1.0", "True", "-0.0",
                            self.choice(self.params), "%s %% 3" % lv])

    def expr(self, d=2):
        r = self.r
        if self.typed and r.random() < 0.75:
            return self.texpr(r.choice(["int", "int", "float"]), d)
        if d <= 0 or r.random() < 0.25:
            return self.leaf()
        kinds = ["bin"] * 10 + ["bits"] + ["neg", "abs", "minmax", "ifexp", "conv", "cmpval", "isinst"]
        if self.feat["cont"]:
            kinds += ["sub", "sub", "dget", "len"]
        if self.feat["pq"]:
            kinds += ["attr", "attr", "cattr"]
        if self.feat["helpers"]:
            kinds += ["glob", "scale", "bump"]
        if self.feat["hd"]:
            kinds += ["hadd"]
        if self.feat["inl"]:
            kinds += ["inl", "inl"]
        k = r.choice(kinds)
        if k == "bin":
            op = r.choice(["+", "+", "-", "-", "*", "*", "/", "//", "%", "**"])
            left = self.expr(d - 1)
            if op == "**":
                right = r.choice(["2", "3", "0", "-1", "0.5", "2.0", "-2"] +
                                 ["(%s %% 4)" % v for v in self.loopvars])
                e = "%s ** %s" % (self._paren(left), right)
                if self.loops and not self.safe(left):
                    e = "(%s) %% %s" % (e, r.choice(MODULI))
                return "(%s)" % e
            if op in ("/", "//", "%") and r.random() < 0.65:
                right = r.choice(NONZERO)
            else:
                right = self.expr(d - 1)
            e = "%s %s %s" % (self._paren(left), op, self._paren(right))
            if op == "*" and self.loops and not (self.safe(left) or self.safe(right)):
                e = "(%s) %% %s" % (e, r.choice(MODULI))
            return "(%s)" % e
        if k == "bits":
            op = r.choice(["&", "|", "^", "<<", ">>"])
            right = r.choice(["1", "3", "31", "63", "-1", "64"]) if op in ("<<", ">>") \
                else self.expr(d - 1)
            return "(%s %s %s)" % (self._paren(self.expr(d - 1)), op, self._paren(right))
        if k == "neg":
            return "(-%s)" % self._paren(self.expr(d - 1))
        if k == "abs":
            return "abs(%s)" % self.expr(d - 1)
        if k == "minmax":
            n = r.choice([2, 2, 3])
            return "%s(%s)" % (r.choice(["min", "max"]),
                               ", ".join(self.expr(d - 1) for _ in range(n)))
        if k == "ifexp":
            return "(%s if %s else %s)" % (self.expr(d - 1), self.cond(d - 1), self.expr(d - 1))
        if k == "conv":
            return "%s(%s)" % (r.choice(["float", "int", "int", "bool"]), self.expr(d - 1))
        if k == "cmpval":
            return "(%s %s %s)" % (self.expr(d - 1), r.choice(CMPOPS), self.expr(d - 1))
        if k == "isinst":
            return "isinstance(%s, %s)" % (self.choice(self.numvars()),
                                           r.choice(["int", "float", "bool", "str",
                                                     "(int, float)"]))
        if k == "sub":
            seq, idx = self.index()
            return "%s[%s]" % (seq, idx)
        if k == "dget":
            if r.random() < 0.7:
                return "dct.get(%s, %s)" % (self.key(), self.leaf())
            return "dct[%s]" % self.key()
        if k == "len":
            return "len(%s)" % r.choice(["lst", "tup", "dct"])
        if k == "attr":
            return "o.v"
        if k == "cattr":
            return r.choice(["o.k", "P.k"])
        if k == "glob":
            return "G"
        if k == "scale":
            return "scale(%s)" % self.expr(d - 1)
        if k == "bump":
            return "bump(%s)" % self.leaf()
        if k == "hadd":
            return r.choice(["(hk + %s)", "(%s + hk)"]) % self._paren(self.expr(d - 1))
        if k == "inl":
            return self.inl_call(lambda: self.expr(d - 1))
        raise AssertionError(k)

    def inl_call(self, sub):
        """A call of one of HELPERS_INL (inlined where the JIT can), on `sub()`s."""
        r = self.r
        form = r.choice(["add", "add", "mul", "pick", "clamp", "get", "scaled", "item"])
        if form == "add":
            return "addk(%s, %s)" % (sub(), sub())
        if form == "mul":
            return "(mulk(%s, %s) %% 1000003)" % (sub(), r.choice(["2", "3", "-1", "0.5"]))
        if form == "pick":
            return "pickk(%s, %s, %s)" % (self.choice(self.loopvars or self.params), sub(), sub())
        if form == "clamp":
            return "clampk(%s, -1000, 1000)" % sub()
        if form == "get":
            return "vv.get()"
        if form == "scaled":
            return "(vv.scaled(%s) %% 1000003)" % r.choice(["2", "3", "0.5", "-1"])
        return "vv[%s]" % self.choice(self.loopvars or self.params)

    @staticmethod
    def _paren(e):
        """e, parenthesized unless it is an atom or already wrapped as a whole."""
        if _ATOM.fullmatch(e):
            return e
        if e.startswith("("):
            depth = 0
            for pos, ch in enumerate(e):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0:
                    if pos == len(e) - 1:
                        return e
                    break
        return "(%s)" % e

    # ------------------------------------------------------------------ typed expressions
    def kind_of(self, v):
        if v in self.kinds:
            return self.kinds[v]
        if v in self.loopvars and (v.startswith("n") or self.rangevars.get(v)):
            return "int"
        return None

    def tleaf(self, kind):
        vs = [v for v in self.numvars() if self.kind_of(v) == kind]
        if vs and self.chance(0.7):
            if self.loopvars and kind == "int" and self.chance(0.3):
                lv = [v for v in self.loopvars if self.kind_of(v) == "int"]
                if lv:
                    return self.choice(lv)
            return self.choice(vs)
        return self.choice(TYPED_CONSTS[kind])

    def texpr(self, kind, d=2):
        """An expression meant to have the given kind (int or float) on the warm-up
        types: what the optimizing tier keeps unboxed."""
        r = self.r
        if d <= 0 or r.random() < 0.25:
            return self.tleaf(kind)
        if self.feat["inl"] and r.random() < 0.15:
            return "addk(%s, %s)" % (self.texpr(kind, d - 1), self.texpr(kind, d - 1))
        if kind == "int":
            op = r.choice(["+", "+", "-", "-", "*", "//", "%", "&", "|", "^", "neg"])
            if op == "neg":
                return "(-%s)" % self._paren(self.texpr("int", d - 1))
            left = self.texpr("int", d - 1)
            if op in ("//", "%") and r.random() < 0.6:
                right = r.choice(["3", "7", "-2", "-1", "2**31", "-2**62", "2**63 - 1", "10"])
            else:
                right = self.texpr("int", d - 1)
            e = "%s %s %s" % (self._paren(left), op, self._paren(right))
            if op == "*" and self.loops and not (self.safe(left) or self.safe(right)):
                e = "(%s) %s %s" % (e, r.choice(["%", "&"]),
                                    r.choice(["1000003", "(2**61 - 1)", "0xFFFFFFFF",
                                              "(2**62 - 1)"]))
            return "(%s)" % e
        op = r.choice(["+", "+", "-", "*", "*", "/", "neg", "mixed", "mixed", "intdiv"])
        if op == "neg":
            return "(-%s)" % self._paren(self.texpr("float", d - 1))
        if op == "intdiv":
            return "(%s / %s)" % (self._paren(self.texpr("int", d - 1)),
                                  self._paren(r.choice(["3", "7", "-2", "2**53", "10"])
                                              if r.random() < 0.6 else self.texpr("int", d - 1)))
        if op == "mixed":
            a, b = self.texpr("int", d - 1), self.texpr("float", d - 1)
            if r.random() < 0.5:
                a, b = b, a
            return "(%s %s %s)" % (self._paren(a), r.choice(["+", "-", "*", "/"]),
                                   self._paren(b))
        left, right = self.texpr("float", d - 1), self.texpr("float", d - 1)
        if op == "/" and r.random() < 0.5:
            right = r.choice(["2.0", "0.1", "-3.0", "1e-300", "0.0", "-0.0"])
        return "(%s %s %s)" % (self._paren(left), op, self._paren(right))

    def tcond(self, d=1):
        k1, k2 = self.r.choice(["int", "float"]), self.r.choice(["int", "float"])
        return "%s %s %s" % (self._paren(self.texpr(k1, d)), self.choice(CMPOPS),
                             self._paren(self.texpr(k2, d)))

    def cond(self, d=1):
        if self.typed and self.r.random() < 0.6:
            return self.tcond(d)
        return self.cond_(d)

    def cond_(self, d=1):
        r = self.r.random()
        if r < 0.5 or d <= 0:
            return "%s %s %s" % (self._paren(self.expr(d)), self.choice(CMPOPS),
                                 self._paren(self.expr(d)))
        if r < 0.6:
            return "%s < %s <= %s" % (self._paren(self.leaf()), self._paren(self.expr(d)),
                                      self._paren(self.leaf()))
        if r < 0.7:
            return "not (%s)" % self.cond(d - 1)
        if r < 0.8:
            return "(%s) %s (%s)" % (self.cond(d - 1), self.choice(["and", "or"]),
                                     self.cond(d - 1))
        if r < 0.85:
            return "isinstance(%s, %s)" % (self.choice(self.numvars()),
                                           self.choice(["int", "float", "str"]))
        if r < 0.9 and self.loopvars:
            lv = self.choice(self.loopvars)
            return "%s %% %d == %d" % (lv, self.r.randint(2, 4), self.r.randint(0, 1))
        if self.feat["hd"] and r < 0.95:
            return self.choice(["hk == %s", "hk < %s", "%s == hk"]) % self._paren(self.leaf())
        return self._paren(self.expr(d))

    # ------------------------------------------------------------------ statements
    def forvars(self):
        """Loop variables that may be rebound (not the counters of while loops)."""
        return [v for v in self.loopvars if not v.startswith("n")]

    def target(self):
        if self.forvars() and self.chance(0.1):
            return self.choice(self.forvars())
        if self.chance(0.12):
            return self.choice(self.params)
        return self.choice(self.nums)

    def mid_loop_guard(self):
        lv = self.loopvars[-1]
        return "if %s == %s:" % (lv, self.choice(["0", "1", "2", "3", "5", "%s" % lv]))

    def simple(self):
        """One simple statement (or a small if-guarded one)."""
        r = self.r
        kinds = ["assign"] * 6 + ["aug"] * 4 + ["log", "swap", "swap", "chain", "walrus"]
        if self.r.random() < 0.15:
            kinds += ["comp"]
        if self.loops:
            kinds += ["retype", "retype", "overflow", "brk", "temp"]
        if self.typed:
            kinds += ["assign"] * 4 + ["aug"] * 2
        if self.feat["cont"]:
            kinds += ["append", "store", "dstore", "tup", "unpack", "load"]
            if self.loops:
                kinds += ["cretype"]
        if self.feat["pq"]:
            kinds += ["ostore", "ostore", "oaug", "cstore"]
            if self.loops:
                kinds += ["morph", "patch"]
        if self.feat["helpers"]:
            kinds += ["bump", "retypeg"]
            if self.loops:
                kinds += ["swap_fn"]
        if self.feat["hd"]:
            kinds += ["hnew", "dnew", "dnew", "hadd", "dkill", "dround"]
        if self.feat["print"]:
            kinds += ["print"]
        if self.feat["inl"]:
            kinds += ["vstore", "vnew"]
        k = r.choice(kinds)
        if k == "assign" and self.typed:
            t = self.target()
            self.emit("%s = %s" % (t, self.texpr(self.kinds.get(t) or "int",
                                                 r.choice([1, 2, 2, 3]))))
        elif k == "assign":
            self.emit("%s = %s" % (self.target(), self.expr(r.choice([1, 2, 2, 3]))))
        elif k == "temp":
            # a local first assigned inside a loop (maybe unbound after it)
            t = "t%d" % self.temps
            self.temps += 1
            kind = r.choice(["int", "float"])
            self.emit("%s = %s" % (t, self.texpr(kind, 2)))
            self.nums.append(t)
            self.kinds[t] = kind
        elif k == "aug":
            t = self.target()
            op = r.choice(["+=", "+=", "-=", "*=", "/=", "//=", "%="])
            if op == "*=" and self.loops:
                rhs = r.choice(SMALL_INTS + ["1.5", "-0.5"] + self.params + self.loopvars)
            elif self.typed:
                rhs = self.texpr(self.kinds.get(t) or "int", 1)
            else:
                rhs = self.expr(1)
            self.emit("%s %s %s" % (t, op, rhs))
        elif k == "log":
            self.emit("LOG.append((%s))" % ", ".join(
                r.sample(self.numvars(), min(2, len(self.numvars()))) + [""]))
        elif k == "swap":
            # tuple assignments compile to SWAP/COPY between loads and stores
            pool = self.nums + self.params + self.forvars()
            if len(self.nums) >= 3 and r.random() < 0.4:
                names = r.sample(pool, 3)
                perm = r.choice([(2, 0, 1), (1, 2, 0), (2, 1, 0)])
                self.emit("%s = %s" % (", ".join(names), ", ".join(names[i] for i in perm)))
            elif r.random() < 0.7:
                a, b = r.sample(pool, 2)
                self.emit("%s, %s = %s, %s" % (a, b, b, a))
            else:
                a, b = r.sample(self.nums, 2)
                self.emit("%s, %s = %s, %s" % (a, b, self.expr(1), a))
        elif k == "comp":
            # nested code: a comprehension or lambda that reads a local of f makes it a
            # cell (never unboxed); one that does not reads only its own arguments
            t, v = r.sample(self.nums, 2)
            self.emit(r.choice([
                "%s = sum([q * 2 for q in (%s, 1, 2.5)])" % (t, v),
                "%s = max([q + %s for q in range(3)])" % (t, v),
                "%s = (lambda q: q * %s)(%s)" % (t, v, self.leaf()),
                "%s = len([q for q in range(4) if q != %s])" % (t, v),
            ]))
        elif k == "chain":
            a, b = r.sample(self.nums, 2)
            kind = self.kinds.get(a) or "int"
            self.emit("%s = %s = %s" % (a, b, self.texpr(kind, 1) if self.typed
                                        else self.expr(1)))
        elif k == "walrus":
            t = self.choice(self.nums)
            self.emit("if (%s := %s) %s %s:" % (t, self.texpr(self.kinds.get(t) or "int", 1)
                                               if self.typed else self.expr(1),
                                               self.choice(CMPOPS), self.leaf()))
            self.emit("    %s = %s" % (self.choice(self.nums), self.leaf()))
        elif k == "retype":
            # a local changes type in the middle of a loop
            self.emit(self.mid_loop_guard())
            v = self.choice(self.nums + self.forvars()[-1:])
            self.emit("    %s = %s" % (v, r.choice(["%s * 0.5" % v, "float(%s)" % v,
                                                    "%s * 0.5" % v, "%s + 0.25" % v,
                                                    "str(%s)" % v, "'s'", "2**64",
                                                    "%s + 2**63" % v, "-0.0", "True",
                                                    "None", "float('nan')", "2**62",
                                                    "%s - 2**63" % v, "-(2**63)"])))
        elif k == "overflow":
            # a local that becomes a bigint by overflow
            v = self.choice(self.nums)
            if self.chance(0.3):
                self.emit("%s = %s * %s" % (v, v, r.choice(["2", "3", "-2"])))
            else:
                self.emit("%s = %s %s %s" % (v, v, r.choice(["+", "-"]),
                                             r.choice(["2**62", "2**61 + 3", "2**30", "3",
                                                       "-2**62", "2**53", "2**63 - 1"])))
        elif k == "brk":
            self.emit("if %s:" % self.cond(1))
            self.emit("    %s" % r.choice(["break", "continue", "continue"]))
        elif k == "cretype":
            # a container local becomes another kind of sequence or mapping mid-loop
            self.emit(self.mid_loop_guard())
            self.emit("    " + r.choice(["lst = 'xyz'", "lst = {0: 1, -1: 2.5}", "lst = tup",
                                          "tup = lst", "lst = range(10)", "tup = 'ab'",
                                          "lst = [0.5] * 3", "tup = (1, 2.5, 2**64)"]))
        elif k == "append":
            self.emit("lst.append(%s)" % self.expr(1))
        elif k == "store":
            _, idx = self.index()
            self.emit("lst[%s] %s %s" % (idx, r.choice(["=", "=", "+=", "*="]), self.expr(1)))
        elif k == "dstore":
            self.emit("dct[%s] %s %s" % (self.key(), r.choice(["=", "=", "-="]), self.expr(1)))
        elif k == "tup":
            n = r.choice([2, 2, 3])
            self.emit("tup = (%s)" % ", ".join(self.expr(1) for _ in range(n)))
        elif k == "unpack":
            a, b = r.sample(self.nums, 2)
            src = r.choice(["tup", "tup", "lst[:2]", "(%s, %s)" % (self.expr(1), self.expr(1))])
            self.emit("%s, %s = %s" % (a, b, src))
        elif k == "load":
            seq, idx = self.index()
            self.emit("%s = %s[%s]" % (self.target(), seq, idx))
        elif k == "ostore":
            self.emit("o.v = %s" % self.expr(1))
        elif k == "oaug":
            self.emit("o.v %s %s" % (r.choice(["+=", "-=", "*="]),
                                     r.choice(SMALL_INTS + self.loopvars + ["0.5"])))
        elif k == "cstore":
            if self.loopvars:
                self.emit(self.mid_loop_guard())
                self.emit("    %s = %s" % (r.choice(["P.k", "o.w", "o.k"]), self.expr(1)))
            else:
                self.emit("%s = %s" % (r.choice(["P.k", "o.w"]), self.expr(1)))
        elif k == "morph":
            self.emit(self.mid_loop_guard())
            self.emit("    " + r.choice(["o.__class__ = Q", "o.__class__ = P", "morph(o)"]))
        elif k == "patch":
            self.emit(self.mid_loop_guard())
            self.emit("    patch(%d)" % r.randint(0, 3))
        elif k == "bump":
            self.emit("%s = bump(%s)" % (self.target(), self.leaf()))
        elif k == "retypeg":
            guard = self.loopvars[-1] if self.loopvars else self.choice(self.params)
            self.emit("retype(%s)" % r.choice([guard, "1", "2", "3"]))
        elif k == "swap_fn":
            self.emit(self.mid_loop_guard())
            self.emit("    " + r.choice(["swap()", "swap()", "shadow(True)", "shadow(False)"]))
        elif k == "vstore":
            self.emit("vv[%s] = %s" % (self.choice(self.loopvars or self.params), self.leaf()))
        elif k == "vnew":
            self.emit("vv = V(%s)" % self.leaf())
        elif k == "hnew":
            self.emit("hk = H(%s)" % self.leaf())
        elif k == "dnew":
            self.emit("dd = D(%s)" % self.leaf())
        elif k == "dkill":
            # the D dies when a number is stored over it: its __del__ sees the frame with
            # the number already stored (STORE_FAST stores, then releases the old value)
            self.emit("dd = %s" % (self.texpr(r.choice(["int", "float"]), 1) if self.typed
                                   else self.expr(1)))
        elif k == "dround":
            # a numeric local holds a D for a moment; the D dies at the next store
            v = self.choice(self.nums)
            self.emit("%s = D(%s)" % (v, v))
            self.emit("%s = %s.n" % (v, v))
        elif k == "hadd":
            self.emit("%s = %s" % (self.target(), r.choice(["hk + %s", "%s + hk"])
                                   % self._paren(self.leaf())))
        elif k == "print":
            self.emit("print(%s)" % ", ".join(r.sample(self.numvars(),
                                                        min(2, len(self.numvars())))))
        else:
            raise AssertionError(k)

    def block(self, n):
        """n statements at the current depth."""
        for _ in range(n):
            self.statement()

    def indented(self, n):
        self.depth += 1
        start = len(self.lines)
        self.block(n)
        if len(self.lines) == start:
            self.emit("pass")
        self.depth -= 1

    def statement(self):
        self.budget -= 1
        r = self.r.random()
        nest_ok = self.budget > 0 and self.depth < 5
        if r < 0.22 and nest_ok and self.loops < 3:
            self.for_loop()
        elif r < 0.30 and nest_ok and self.loops < 3:
            self.while_loop()
        elif r < 0.42 and nest_ok:
            self.if_stmt()
        elif r < 0.52 and nest_ok and self.feat["try"]:
            self.try_stmt()
        elif 0.52 <= r < 0.55 and self.loops:
            self.emit("if %s:" % self.cond(1))
            self.emit("    return %s" % self.ret_value())
        else:
            self.simple()

    def range_expr(self):
        r = self.r
        small = r.random()
        if self.loops >= 1:
            hi = r.choice([2, 3, 4, 5])
        else:
            hi = r.choice([3, 5, 8, 12, 20])
        p = self.choice(self.params)
        if self.typed and small < 0.5:
            ints = [v for v in self.params + self.nums if self.kinds.get(v) == "int"]
            if ints and small < 0.25:
                return "range(min(%s, %d))" % (self.choice(ints), hi)
            return "range(%d)" % hi
        if small < 0.4:
            return "range(%d)" % hi
        if small < 0.55:
            return ("range(min(%s, %d))" if r.random() < 0.5 else "range(min(int(%s), %d))") \
                % (p, hi)
        if small < 0.7:
            return r.choice(["range(%d, -3, -2)" % hi, "range(-%d, %d, 3)" % (hi, hi),
                             "range(%d, 0, -1)" % hi])
        if small < 0.85:
            return r.choice(["range(2**62 - 2, 2**62 + 2)", "range(2**63 - 2, 2**63 + 1)",
                             "range(-2**63, -2**63 + 3)", "range(0, 2**64, 2**62)",
                             "range(2**30 - 2, 2**30 + 2)", "range(2**62, 0, -2**61)",
                             "range(2**53 - 1, 2**53 + 2)", "range(-2**62 - 1, -2**62 + 1)",
                             "range(2**63 - 3, 2**63 - 1)", "range(2**63 - 4, 2**63 - 1, 2)",
                             "range(-2**63 + 2, -2**63, -1)", "range(-2**63 + 1, 0, 2**62)",
                             "range(2**63 - 1, 0, -2**62)", "range(5, 0, -2**63)"])
        if small < 0.93:
            return "(%s, %s, %s)" % (self.const(), self.leaf(), self.const())
        if self.feat["cont"]:
            return "tup"
        return "range(%d)" % hi

    def for_loop(self):
        lv = LOOPVARS[len(self.loopvars)]
        rng = self.range_expr()
        self.emit("for %s in %s:" % (lv, rng))
        self.rangevars[lv] = rng.startswith("range(")
        self.loopvars.append(lv)
        self.loops += 1
        self.indented(self.r.randint(1, self.body_max))
        self.loops -= 1
        self.loopvars.pop()

    def while_loop(self):
        n = "n%d" % self.counters
        self.counters += 1
        hi = self.r.choice([3, 6, 10]) if self.loops == 0 else self.r.choice([2, 3])
        start = self.choice(["0", "0", "0", "2**62 - 3", "-2**63 + 1", "2**30 - 2"])
        limit = "%d" % hi if start == "0" else "%s + %d" % (start, hi)
        self.emit("%s = %s" % (n, start))
        if self.chance(0.6):
            self.emit("while %s < %s:" % (n, limit))
            self.depth += 1
            self.emit("%s += 1" % n)
            self.depth -= 1
        else:
            self.emit("while True:")
            self.depth += 1
            self.emit("%s += 1" % n)
            self.emit("if %s > %s:" % (n, limit))
            self.emit("    break")
            self.depth -= 1
        self.loopvars.append(n)
        self.loops += 1
        self.indented(self.r.randint(1, self.body_max))
        self.loops -= 1
        self.loopvars.pop()

    def if_stmt(self):
        self.emit("if %s:" % self.cond(2))
        self.indented(self.r.randint(1, self.body_max - 1))
        if self.chance(0.3):
            self.emit("elif %s:" % self.cond(1))
            self.indented(self.r.randint(1, 2))
        if self.chance(0.5):
            self.emit("else:")
            self.indented(self.r.randint(1, 2))

    def try_stmt(self):
        self.emit("try:")
        self.indented(self.r.randint(1, self.body_max - 1))
        exc = self.choice(["(ArithmeticError, TypeError, ValueError, LookupError, "
                           "AttributeError)", "ZeroDivisionError", "Exception",
                           "(TypeError, OverflowError)", "IndexError"])
        self.emit("except %s as e:" % exc)
        self.depth += 1
        h = self.r.random()
        if h < 0.5:
            self.emit("LOG.append((type(e).__name__, str(e)))")
        elif h < 0.8:
            self.emit("%s = %s" % (self.choice(self.nums), self.const()))
        else:
            self.emit("LOG.append(type(e).__name__)")
            if self.loops:
                self.emit(self.choice(["continue", "break"]))
        self.depth -= 1

    def ret_value(self):
        vals = [v for v in self.nums if not v.startswith("t")]
        if self.feat["cont"]:
            vals += ["lst", "dct", "tup"]
        if self.feat["pq"]:
            vals += ["o.v"]
        if self.feat["helpers"]:
            vals += ["G"]
        if self.chance(0.2):
            return self.expr(2)
        return "(%s)" % ", ".join(vals + [""])

    # ------------------------------------------------------------------ program
    def function(self):
        r = self.r
        nums, self.nums = self.nums, []
        if self.feat["cont"]:
            self.emit("lst = [%s]" % ", ".join(self.leaf() for _ in range(r.choice([0, 1, 2, 3, 4, 4]))))
            self.emit("tup = (%s)" % ", ".join([self.leaf() for _ in range(r.randint(1, 3))]
                                              + [""]))
            self.emit("dct = {0: %s, 'k': %s, 1.5: %s}" % (self.leaf(), self.leaf(),
                                                            self.leaf()))
        if self.feat["pq"]:
            self.emit("o = %s(%s)" % (r.choice(["P", "P", "Q"]), self.leaf()))
        if self.feat["hd"]:
            self.emit("hk = H(%s)" % self.leaf())
            self.emit("dd = D(%s)" % self.leaf())
        if self.feat["inl"]:
            self.emit("vv = V(%s)" % self.leaf())
        for v in nums:
            init = r.random()
            if self.typed:
                same = [p for p in self.params if self.kinds[p] == self.kinds[v]]
                val = self.choice(same) if same and init < 0.4 else \
                    self.texpr(self.kinds[v], 1) if init < 0.6 else self.tleaf(self.kinds[v])
            elif init < 0.35:
                val = self.const()
            elif init < 0.6:
                val = self.choice(self.params)
            else:
                val = self.expr(1)
            self.emit("%s = %s" % (v, val))
            self.nums.append(v)
        while self.budget > 0:
            self.statement()
        self.emit("return %s" % self.ret_value())
        return ("def f(%s):\n" % ", ".join(self.params)) + "\n".join(self.lines) + "\n"

    def module(self):
        f = self.function()
        parts = [HEADER]
        if self.feat["pq"]:
            parts.append(CLASSES_PQ)
        if self.feat["hd"]:
            parts.append(CLASSES_HD)
        if self.feat["sub"]:
            parts.append(CLASSES_SUB)
        if self.feat["helpers"]:
            parts.append(HELPERS)
        if self.feat["pq"]:
            parts.append(HELPERS_PQ)
        if self.feat["inl"]:
            parts.append(HELPERS_INL)
        parts.append("\n" + f)
        return "\n".join(parts)

    def mixes(self):
        r = self.r
        kinds = list(ARG_KINDS)
        extra = {}
        if self.feat["pq"]:
            extra["obj"] = ["P(2)", "Q(1.5)"]
        if self.feat["hd"]:
            extra["h"] = ["H(3)", "H(0.5)"]
        if self.feat["sub"]:
            extra["sub"] = ["IntS(3)", "IntS(-2**62)", "FloatS(2.5)", "FloatS(-0.0)"]

        def values(kind_list):
            table = dict(ARG_KINDS, **extra)
            return [r.choice(table[k]) for k in kind_list]

        np_ = len(self.params)
        warm_kinds = self.warm_kinds
        warm = values(warm_kinds)
        mixes = [warm, values(warm_kinds)]
        other_kinds = kinds + list(extra)
        mixes.append(values(["edge"] * np_))
        mixes.append(values(["float" if k == "int" else "int" for k in warm_kinds]))
        for _ in range(r.randint(2, 4)):
            mixes.append(values([r.choice(other_kinds) for _ in range(np_)]))
        mixes.append(values(["fedge" if r.random() < 0.5 else "big" for _ in range(np_)]))
        mixes.append(warm)
        return warm, mixes


def generate(seed, size="normal"):
    g = _Gen(seed, size)
    source = g.module()
    warm, mixes = g.mixes()
    v = g.r.random()
    variant = "cold" if v < 0.1 else "all" if v < 0.18 else "warm"
    # storm: one argument mix is called STORM times right after the compile, so that a
    # failing speculation deopts often enough for the runtime to recompile without it
    storm = list(mixes[g.r.randrange(2, len(mixes))]) \
        if g.r.random() < 0.2 and variant != "cold" else None
    return {"seed": seed, "size": size, "source": source, "func": "f", "warm": warm,
            "mixes": mixes, "variant": variant, "storm": storm}


def describe(prog):
    """The program as text a human can paste: source, then how it is called."""
    out = ["# fuzz program seed %s (size %s, variant %s)" % (prog.get("seed"), prog.get("size"),
                                                           prog.get("variant")),
           prog["source"].rstrip(), "",
           "# warm-up (interpreted, %s calls): f(%s)" % ("10", ", ".join(prog["warm"]))]
    if prog.get("storm") is not None:
        out.append("# then, compiled vs interpreted, %d times: f(%s)"
                   % (STORM, ", ".join(prog["storm"])))
    for m in prog["mixes"]:
        out.append("# then, compiled vs interpreted: f(%s)" % ", ".join(m))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys
    size = "normal"
    for s in sys.argv[1:] or ["0"]:
        if s in SIZES:
            size = s
        else:
            print(describe(generate(int(s), size)))
