"""What entering native code costs code that is NOT compiled: recursive fib(25), best
of 5, before importing coconut, after, and after one coconut.compile() elsewhere in the
program (on the stock interpreter that installs the PEP 523 hook; on the patched one it
turns native entries on: docs/patched-interpreter.md).

    PYTHONPATH=. python3 scripts/hook_cost.py [N]
"""
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def best(n, rounds=5):
    out = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        fib(n)
        out = min(out, time.perf_counter() - t)
    return out * 1000


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    before = best(n)
    import coconut
    from coconut.runtime import hook
    imported = best(n)

    def other(x):
        return x + 1
    coconut.compile(other)
    after = best(n)
    print(f"{sys.version.split()[0]} entry={hook.ENTRY}: fib({n}) before {before:.1f} ms, "
          f"coconut imported {imported:.1f} ms, after a compile {after:.1f} ms "
          f"({after / before:.2f}x)")


if __name__ == "__main__":
    main()
