"""MAKE_CELL / LOAD_DEREF / STORE_DEREF / LOAD_CLOSURE / COPY_FREE_VARS, nonlocal, NameError
for free variables referenced before assignment, MAKE_FUNCTION (defaults, kwdefaults,
annotations, closures). Inner functions are also compiled (the harness compiles nested
code objects), and a few closures are themselves corpus entries."""


def make_counter(start):
    count = start

    def inc(step=1):
        nonlocal count
        count += step
        return count
    return inc


def counter_use(start):
    inc = make_counter(start)
    return inc(), inc(), inc(5), inc.__closure__[0].cell_contents


def cell_in_loop(n):
    fs = []
    for i in range(n):
        def f(i=i):
            return i * 10
        fs.append(f)
    last = None
    for i in range(n):
        last = i

        def g():
            return last
        fs.append(g)
    return [f() for f in fs]


def cell_param(x):
    def get():
        return x
    x = x * 2       # STORE_DEREF on a parameter cell
    return get()


def free_before_assignment(flag):
    def inner():
        return value
    if flag:
        return inner()     # NameError: free variable 'value' referenced before assignment
    value = 1
    return inner()


def free_before_assignment_caught():
    def inner():
        return later
    try:
        return inner()
    except NameError as e:
        return str(e)
    later = 0  # noqa: F841


def cell_unbound_in_outer(flag):
    if flag:
        v = 1

    def uses():
        return v
    return v, uses()     # UnboundLocalError/NameError on the cell in the outer function


def delete_deref(x):
    def get():
        return x
    r = get()
    del x             # DELETE_DEREF
    try:
        return r, get()
    except NameError as e:
        return r, str(e)


def nested_nonlocal(n):
    total = 0

    def outer_add(k):
        def inner_add():
            nonlocal total
            total += k
        inner_add()
        return total
    for i in range(n):
        outer_add(i)
    return total


def closure_sees_updates(n):
    acc = []
    val = 0

    def snap():
        acc.append(val)
    for val in range(n):
        snap()
    return acc


def make_functions(a):
    def with_defaults(x, y=a, *, z=a * 2) -> "ret":
        return x, y, z

    def annotated(p: int, q: "str" = "q") -> list:
        return [p, q]
    lam = lambda u, v=a: (u, v)  # noqa: E731
    return (with_defaults(1), with_defaults(1, 2, z=3), with_defaults.__defaults__,
            with_defaults.__kwdefaults__, with_defaults.__annotations__,
            annotated.__annotations__, annotated(1), lam(0), lam.__defaults__,
            with_defaults.__name__, with_defaults.__qualname__)


def make_function_in_loop(n):
    out = []
    for i in range(n):
        out.append((lambda k, m=i: k + m)(100))
    return out


def closure_factory(k):
    def mul(x):
        return x * k
    return mul


def compose(n):
    fs = [closure_factory(i) for i in range(n)]
    v = 1
    for f in fs:
        v = f(v) + 1
    return v


def recursive_closure(n):
    def fact(k):
        return 1 if k <= 1 else k * fact(k - 1)
    return fact(n)


def generator_closure(n):
    base = n

    def gen():
        for i in range(3):
            yield base + i
    return list(gen())


def locals_with_cells(a):
    b = a + 1

    def inner(c):
        d = a + c
        return sorted(locals().items())
    e = inner(b)
    return sorted((k, v) for k, v in locals().items() if k not in ("inner",)), e


def class_in_function(v):
    class Local:              # LOAD_BUILD_CLASS (not native)
        attr = v

        def get(self):
            return self.attr + v
    return Local().get(), Local.__qualname__


MUL3 = closure_factory(3)


def _raising_closure_factory():
    items = []

    def pop_item():
        return items.pop()
    return pop_item


POP_EMPTY = _raising_closure_factory()

CASES = [
    (counter_use, [(0,), (2**70,)]),
    (cell_in_loop, [(3,)]),
    (cell_param, [(2,), ("s",)]),
    (free_before_assignment, [(1,), (0,)]),
    (free_before_assignment_caught, [()]),
    (cell_unbound_in_outer, [(1,), (0,)]),
    (delete_deref, [(5,)]),
    (nested_nonlocal, [(10,)]),
    (closure_sees_updates, [(4,)]),
    (make_functions, [(7,)]),
    (make_function_in_loop, [(4,)]),
    (compose, [(6,)]),
    (recursive_closure, [(10,)]),
    (generator_closure, [(5,)]),
    (class_in_function, [(3,)]),
    (locals_with_cells, [(1,)]),
    (MUL3, [(4,), ("ab",), (None,)]),
    (POP_EMPTY, [()]),
]
