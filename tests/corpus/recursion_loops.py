"""Recursion (compiled calling itself through a global) and long-running loops."""


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def fib_iter(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def ackermann(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def recurse_then_fail(n):
    if n == 0:
        return {}["missing"]
    return recurse_then_fail(n - 1)


def sum_list_recursive(lst):
    if not lst:
        return 0
    return lst[0] + sum_list_recursive(lst[1:])


def hanoi(n, a, b, c, moves):
    if n:
        hanoi(n - 1, a, c, b, moves)
        moves.append((a, c))
        hanoi(n - 1, b, a, c, moves)
    return len(moves)


def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = flags[1] = False
    i = 2
    while i * i <= n:
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = False
        i += 1
    return sum(flags), [k for k in range(50) if flags[k]]


def collatz_max(n):
    best = 0
    best_i = 0
    for i in range(1, n):
        x = i
        steps = 0
        while x != 1:
            if x % 2:
                x = 3 * x + 1
            else:
                x //= 2
            steps += 1
        if steps > best:
            best, best_i = steps, i
    return best_i, best


def matrix_mult(n):
    a = [[(i * n + j) % 7 for j in range(n)] for i in range(n)]
    b = [[(i + j) % 5 for j in range(n)] for i in range(n)]
    c = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            s = 0
            for k in range(n):
                s += a[i][k] * b[k][j]
            c[i][j] = s
    return sum(map(sum, c)), c[n - 1]


def nbody_like(steps):
    xs = [0.0, 1.0, 2.5]
    vs = [0.1, -0.2, 0.05]
    for _ in range(steps):
        for i in range(3):
            f = 0.0
            for j in range(3):
                if i != j:
                    d = xs[j] - xs[i]
                    f += d / (abs(d) ** 3 + 0.01)
            vs[i] += f * 0.001
        for i in range(3):
            xs[i] += vs[i] * 0.001
    return xs, vs


def string_building(n):
    parts = []
    for i in range(n):
        parts.append(str(i % 10))
    s = "".join(parts)
    count = 0
    for ch in s:
        if ch == "7":
            count += 1
    return count, len(s), s[:20]


CASES = [
    (fib, [(0,), (1,), (15,)]),
    (fib_iter, [(0,), (90,), (300,)]),
    (ackermann, [(2, 3), (1, 5)]),
    (is_even, [(10,), (7,)]),
    (recurse_then_fail, [(0,), (5,)]),
    (sum_list_recursive, [([1, 2, 3, 4],), ([],), ([1, "x"],)]),
    (hanoi, [(6, "a", "b", "c", [])]),
    (sieve, [(20000,)]),
    (collatz_max, [(3000,)]),
    (matrix_mult, [(20,)]),
    (nbody_like, [(200,)]),
    (string_building, [(5000,)]),
]
