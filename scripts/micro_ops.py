"""Basic operations, plain `python3` vs compiled, each in its own process (the plain one
without coconut imported, so without its frame hook):

    PYTHONPATH=. python3 scripts/micro_ops.py [NAME ...] [--scaling]

prints ns per loop iteration and the ratio for each operation: a function whose loop
runs the operation, warmed up in the interpreter, then (compiled side) compiled in a
process with `COCONUT_THRESHOLD=0`; medians of 9 runs of MICRO_N (20 000) iterations.
`--scaling` also times a loop of `s += "ab"` at growing sizes (linear in both since
session 31). Numbers in docs/benchmarks.md (session 31)."""
import json
import os
import statistics
import subprocess
import sys
import time

SETUP = '''
class P:
    def __init__(self, x): self.x = x; self.y = 2.0
    def m(self, a): return a
    @property
    def prop(self): return self.x
class Q(P):
    def __init__(self, x):
        super().__init__(x)
def f2(a, b): return a
def f5(a, b, c=1, d=2, e=3): return a
def fkw(a, b=1, *, c=2): return a
def fva(*args): return args
def gen(n):
    for i in range(n): yield i
class CM:
    def __enter__(self): return self
    def __exit__(self, *a): return False
G = 5
'''
TESTS = {
 'attr_load': ('o = P(1)', 'o.x; o.x; o.x; o.x'),
 'method_call': ('o = P(1)', 'o.m(i); o.m(i)'),
 'func_call': ('', 'f2(i, i); f2(i, i)'),
 'func_defaults': ('', 'f5(i, i); f5(i, i)'),
 'kw_call': ('', 'fkw(i, c=3); fkw(i, b=2)'),
 'varargs_call': ('', 'fva(i, i); fva()'),
 'star_call': ('t = (1, 2)', 'f2(*t)'),
 'property': ('o = P(1)', 'o.prop; o.prop'),
 'new_obj': ('', 'P(i)'),
 'super_init': ('', 'Q(i)'),
 'generator': ('', 'for z in gen(5): pass'),
 'listcomp': ('l = list(range(10))', '[z for z in l]'),
 'genexpr_sum': ('l = list(range(10))', 'sum(z for z in l)'),
 'dict_iter': ('d = dict.fromkeys(range(10))', 'for k, v in d.items(): pass'),
 'try_except': ('', '''try:
            raise ValueError
        except ValueError:
            pass'''),
 'try_noexc': ('', '''try:
            z = i
        except ValueError:
            pass'''),
 'with_stmt': ('c = CM()', '''with c:
            pass'''),
 'fstring': ('s = "ab"', 'f"{s}-{i}"'),
 'str_methods': ('s = "a,b,c"', 's.split(","); s.upper()'),
 'in_dict': ('d = {1: 2, "a": 3}', '1 in d; "a" in d; 5 in d'),
 'sorted_key': ('l = [3, 1, 2]', 'sorted(l, key=lambda v: -v)'),
 'closure': ('k = 3\n    def inner(v): return v + k', 'inner(i)'),
 'global_store': ('global G2', 'G2 = i'),
 'isinstance': ('o = P(1)', 'isinstance(o, P); isinstance(i, str)'),
 'dict_build': ('', '{"a": i, "b": i}'),
 'list_append_pop': ('l = []', 'l.append(i); l.pop()'),
 'tuple_hash': ('d = {(1, 2): 3}', 'd[(1, 2)]'),
 'str_iadd': ('s = ""', 's += "x"'),
 'getattr_builtin': ('o = P(1)', 'getattr(o, "x"); hasattr(o, "y")'),
 'bound_method_obj': ('o = P(1)', 'o.m'),
}

def make(name, pre, body):
    src = SETUP + f"def run_{name}(n):\n    {pre}\n    for i in range(n):\n        {body}\n"
    g = {}
    exec(compile(src, f"<{name}>", "exec"), g)
    return g[f"run_{name}"]


def child(mode: str, only: list) -> None:
    n = int(os.environ.get("MICRO_N", "20000"))
    out = {}
    if mode == "jit":
        import coconut
    for name, (pre, body) in TESTS.items():
        if only and name not in only:
            continue
        f = make(name, pre, body)
        for _ in range(60):
            f(100)
        if mode == "jit":
            coconut.compile(f)
            assert coconut.is_compiled(f), name
        ts = []
        for _ in range(9):
            t = time.perf_counter()
            f(n)
            ts.append(time.perf_counter() - t)
        out[name] = statistics.median(ts) / n * 1e9
    print(json.dumps(out))


def scaling() -> None:
    import coconut
    src = "def build(n):\n    s = ''\n    for i in range(n):\n        s += 'ab'\n    return len(s)\n"
    plain, jitted = ({}, {})
    exec(compile(src, "<plain>", "exec"), plain)
    exec(compile(src, "<compiled>", "exec"), jitted)
    plain, jitted = plain["build"], jitted["build"]
    for _ in range(5):
        plain(100)
        jitted(100)
    coconut.compile(jitted)
    for n in (10_000, 100_000, 400_000):
        for label, f in (("plain", plain), ("compiled", jitted)):
            t = time.perf_counter()
            f(n)
            print(f"s += 'ab' x {n}: {label} {(time.perf_counter() - t) * 1e3:.2f} ms")


def main() -> None:
    names = [a for a in sys.argv[1:] if not a.startswith("-")]
    if names and names[0] in ("plain", "jit") and "--child" in sys.argv:
        child(names[0], names[1:])
        return
    me = os.path.abspath(__file__)
    root = os.path.dirname(os.path.dirname(me))
    plain = json.loads(subprocess.run([sys.executable, me, "plain", *names, "--child"],
                                      check=True, capture_output=True, text=True).stdout)
    env = dict(os.environ, COCONUT_JIT="1", COCONUT_THRESHOLD="0", COCONUT_BACKGROUND="0",
               PYTHONPATH=root)
    jit = json.loads(subprocess.run([sys.executable, me, "jit", *names, "--child"], check=True,
                                    env=env, capture_output=True, text=True).stdout)
    for k in plain:
        print(f"{k:18s} plain {plain[k]:7.1f}  jit {jit[k]:7.1f}  {plain[k] / jit[k]:5.2f}x")
    if "--scaling" in sys.argv:
        sys.path.insert(0, root)
        scaling()


if __name__ == "__main__":
    main()
