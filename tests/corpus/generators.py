"""Generators compiled natively: RETURN_GENERATOR (the interpreter makes the generator),
YIELD_VALUE (native code suspends the frame in the generator object) and the resume
dispatch (gen_send_ex2 enters the frame again where it stopped). Each corpus function
drives generators nested in it (the harness compiles nested code): next, send, throw,
close, yield from (GET_YIELD_FROM_ITER, SEND: a delegating generator
suspends with its sub-iterator on the stack), return values through StopIteration, exceptions raised inside (the interpreter
unwinds and goes on running the generator until its next yield), deopts between
yields, introspection of the suspended frame, generator expressions, and typed loops
(a range loop, float accumulators) across yields."""
import inspect
import sys


def squares(n):
    def gen(n):
        for i in range(n):
            yield i * i
    return list(gen(n)), sum(gen(n))


def float_accumulator(n):
    def gen(n):
        total = 0.0
        for i in range(n):
            total += i * 0.5
            yield total
    return list(gen(n))


def send_values(n):
    def gen():
        total = 0
        while True:
            x = yield total
            if x is None:
                return total
            total += x
    g = gen()
    out = [next(g)]
    for i in range(n):
        out.append(g.send(i))
    try:
        g.send(None)
    except StopIteration as e:
        out.append(("stop", e.value))
    return out


def send_to_new_generator(x):
    def gen():
        yield 1
    g = gen()
    try:
        g.send(x)
    except TypeError as e:
        return "TypeError", str(e)
    return "sent"


def return_value(n):
    def gen(n):
        for i in range(n):
            yield i
        return "done", n
    g = gen(n)
    out = []
    while True:
        try:
            out.append(next(g))
        except StopIteration as e:
            out.append(e.value)
            break
    return out


def throw_at_yield(n):
    def gen(n):
        caught = []
        for i in range(n):
            try:
                yield i
            except ValueError as e:
                caught.append(str(e))
                yield "caught %s" % e
        yield caught
    g = gen(n)
    out = [next(g)]
    out.append(g.throw(ValueError("one")))
    out.append(next(g))
    out.extend(g)
    return out


def throw_uncaught(n):
    def gen(n):
        x = 0
        for i in range(n):
            x += i
            yield x
    g = gen(n)
    next(g)
    next(g)
    try:
        g.throw(KeyError("k"))
    except KeyError as e:
        return "KeyError", str(e), inspect.getgeneratorstate(g)


def close_runs_finally(n):
    log = []

    def gen(n):
        try:
            for i in range(n):
                yield i
        finally:
            log.append("finally")
    g = gen(n)
    out = [next(g), next(g)]
    g.close()
    out.append(inspect.getgeneratorstate(g))
    out.append(list(log))
    return out


def close_catches_generator_exit():
    def gen():
        try:
            yield 1
        except GeneratorExit:
            yield 2
    g = gen()
    next(g)
    try:
        g.close()
    except RuntimeError as e:
        return "RuntimeError", str(e)
    return "closed"


def raise_inside(n):
    def gen(n):
        for i in range(n):
            yield 10 // (n - 1 - i)
    out = []
    try:
        for v in gen(n):
            out.append(v)
    except ZeroDivisionError as e:
        out.append(("ZeroDivisionError", str(e)))
    return out


def raise_then_continue(n):
    def gen(n):
        for i in range(n):
            try:
                v = 1 // (i % 2)
            except ZeroDivisionError:
                v = -1
            yield v, i
    return list(gen(n))


def stop_iteration_inside():
    def gen():
        yield 1
        raise StopIteration("inside")
    g = gen()
    out = [next(g)]
    try:
        next(g)
    except RuntimeError as e:
        out.append(("RuntimeError", str(e), type(e.__cause__).__name__))
    return out


def deopt_between_yields(values):
    def gen(values):
        acc = 0
        for v in values:
            acc = acc + v          # int until a float or a str arrives
            yield acc
    return list(gen(values))


def typed_then_other_type(n):
    def gen(n):
        x = 1
        for i in range(n):
            x = x * 3              # int that outgrows 64 bits
            yield x
    return [v % 1000003 for v in gen(n)]


def suspended_frame_locals(n):
    def gen(n):
        total = 0.0
        for i in range(n):
            total += i
            label = "step %d" % i
            yield total
    g = gen(n)
    out = []
    for _ in range(2):
        next(g)
        f = g.gi_frame
        out.append((f.f_lineno - f.f_code.co_firstlineno, sorted(f.f_locals.items())))
    out.append(g.gi_running)
    g.close()
    out.append(g.gi_frame)
    return out


def running_flag_inside():
    def gen():
        yield g.gi_running
        yield inspect.getgeneratorstate(g)
        yield sys._getframe().f_back.f_code.co_name
    g = gen()
    return list(g)


def generator_expressions(data):
    doubled = list(x * 2 for x in data)
    total = sum(x for x in data if x)
    pairs = dict((k, v) for k, v in zip(data, range(len(data))))
    nested = [list(y + 1 for y in range(x)) for x in range(3)]
    return doubled, total, pairs, nested


def genexpr_closure(n):
    k = 3
    g = (i * k for i in range(n))
    k = 5                      # the generator sees the cell's new value
    return list(g)


def nested_generators(n):
    def inner(n):
        for i in range(n):
            yield i

    def outer(n):
        for i in inner(n):
            for j in inner(i):
                yield i, j
    return list(outer(n))


def recursive_generator(depth):
    def walk(tree):
        if isinstance(tree, list):
            for item in tree:
                for leaf in walk(item):
                    yield leaf
        else:
            yield tree
    tree = 0
    for i in range(depth):
        tree = [tree, i, [i * 2]]
    return list(walk(tree))


def yield_in_expression(n):
    def gen(n):
        out = []
        for i in range(n):
            out.append((yield i) or -i)
        yield out
    g = gen(n)
    res = [next(g)]
    for i in range(n):
        res.append(g.send(i * 10 if i % 2 else None))
    return res


def yield_with_stack(n):
    def gen(n):
        # values below the yielded one stay on the stack across the suspension:
        # the list being built, the range iterator
        got = []
        for i in range(n):
            got.append((1.5, (yield i), str(i)))
        yield got
    g = gen(n)
    out = [next(g)]
    for i in range(n):
        out.append(g.send(i + 100))
    return out


def yield_in_call_args(n):
    def gen():
        r = max(1.5, (yield "a"), (yield "b"))
        yield r
    g = gen()
    return next(g), g.send(n), g.send(2.5)


def with_statement(n):
    log = []

    class CM:
        def __enter__(self):
            log.append("enter")
            return self

        def __exit__(self, *exc):
            log.append(("exit", exc[0].__name__ if exc[0] else None))
            return False

    def gen(n):
        with CM():
            for i in range(n):
                yield i
    out = list(gen(n))
    g = gen(n)
    next(g)
    g.close()
    return out, log


def traceback_through_generator(n):
    def gen(n):
        for i in range(n):
            yield helper(i)

    def helper(i):
        if i == 2:
            raise ValueError("at %d" % i)
        return i
    g = gen(n)
    out = []
    try:
        for v in g:
            out.append(v)
    except ValueError as e:
        tb = e.__traceback__
        names = []
        while tb is not None:
            names.append((tb.tb_frame.f_code.co_name, tb.tb_lineno - tb.tb_frame.f_code.co_firstlineno))
            tb = tb.tb_next
        out.append(names)
    return out


def global_rebound_between_yields(n):
    global GEN_SCALE

    def gen(n):
        for i in range(n):
            yield i * GEN_SCALE
    out = []
    GEN_SCALE = 2
    for v in gen(n):
        out.append(v)
        GEN_SCALE = 2.5 if len(out) == 2 else GEN_SCALE
    return out


GEN_SCALE = 1


def many_generators_alive(n):
    def gen(k):
        for i in range(k):
            yield i + k
    gens = [gen(k) for k in range(n)]
    out = []
    for _ in range(3):
        for g in gens:
            out.append(next(g, None))
    return out


def generator_object_attributes():
    def gen():
        yield 1
    g = gen()
    before = (g.__name__, g.__qualname__.split(".")[-1], inspect.getgeneratorstate(g),
              g.gi_frame is not None, g.gi_yieldfrom, g.gi_code.co_name)
    next(g)
    during = (inspect.getgeneratorstate(g), g.gi_frame.f_lineno - g.gi_code.co_firstlineno)
    list(g)
    return before, during, inspect.getgeneratorstate(g), g.gi_frame


def yield_from_generator(n):
    def inner(n):
        for i in range(n):
            got = yield i
            if got:
                yield "got %s" % got
        return "inner done"

    def outer(n):
        result = yield from inner(n)
        yield result
        yield from range(3)
        yield from [7.5, "x"]
    g = outer(n)
    out = [next(g), g.send(None), g.send("hello"), next(g)]
    out.extend(g)
    return out


def yield_from_introspection(n):
    def inner():
        yield 1
        yield 2

    def outer():
        yield from inner()
        yield "after"
    g = outer()
    next(g)
    return (type(g.gi_yieldfrom).__name__, g.gi_frame.f_lineno - g.gi_code.co_firstlineno,
            list(g), g.gi_yieldfrom)


def yield_from_throw_and_close(n):
    log = []

    def inner():
        try:
            yield 1
            yield 2
        except ValueError as e:
            log.append("inner caught %s" % e)
            return "inner returned"
        finally:
            log.append("inner finally")

    def outer():
        r = yield from inner()
        log.append(r)
        yield "outer after"
        yield "outer end"
    g = outer()
    out = [next(g), g.throw(ValueError("v")), next(g)]
    g2 = outer()
    next(g2)
    g2.close()
    return out, log, inspect.getgeneratorstate(g2)


def yield_from_errors(x):
    def outer(x):
        yield from x
    try:
        return list(outer(x))
    except TypeError as e:
        return "TypeError", str(e)


def yield_from_coroutine():
    async def coro():
        return 1

    def outer(c):
        yield from c
    c = coro()
    try:
        list(outer(c))
    except TypeError as e:
        return "TypeError", str(e)
    finally:
        c.close()


def yield_from_stop_iteration_value(n):
    def inner(n):
        if n:
            yield n
        return [n] * 2

    def outer(n):
        x = yield from inner(n)
        y = yield from inner(0)
        return x, y
    g = outer(n)
    out = list(g)
    try:
        next(outer(0))
    except StopIteration as e:
        out.append(e.value)
    return out


def recursive_yield_from(depth):
    def walk(tree):
        if isinstance(tree, list):
            for item in tree:
                yield from walk(item)
        else:
            yield tree
    tree = 0
    for i in range(depth):
        tree = [tree, i, [i * 2.5]]
    return list(walk(tree))


def two_generators_one_iterator(n):
    def take_evens(it):
        for x in it:
            if x % 2 == 0:
                yield x

    def take_all(it):
        for x in it:
            yield -x
    it = iter(range(n))
    a, b = take_evens(it), take_all(it)
    out = []
    for _ in range(n):
        out.append(next(a, None))
        out.append(next(b, None))
    return out


def closed_mid_yield_from(n):
    log = []

    def inner():
        try:
            for i in range(n):
                yield i
        finally:
            log.append("inner closed")

    def outer():
        try:
            yield from inner()
        finally:
            log.append("outer closed")
    g = outer()
    out = [next(g), next(g)]
    g.close()
    return out, log, inspect.getgeneratorstate(g)


def throw_into_nested_delegation(n):
    log = []

    def innermost():
        try:
            yield "deep"
        except IndexError as e:
            log.append("innermost caught %s" % e)
            yield "deep again"
        return "innermost done"

    def middle():
        r = yield from innermost()
        log.append(r)
        yield "middle"
        return "middle done"

    def outer():
        r = yield from middle()
        yield r
    g = outer()
    out = [next(g), g.throw(IndexError("i")), next(g), next(g)]
    try:
        g.throw(KeyError("uncaught"))
    except KeyError as e:
        out.append(("KeyError", str(e)))
    return out, log


# -- throw() and close() run natively (gen_send_ex2 with exc: an error at the yield) ---
def throw_with_unboxed_locals(n):
    """A throw while the loop's int and float locals are unboxed: the handler sees
    them exact, and the loop goes on natively (range iterator on the stack)."""
    def gen(n):
        total, scale = 0, 0.5
        for i in range(n):
            try:
                yield total
            except ArithmeticError as e:
                total -= 100
                scale *= 2.0
                yield (str(e), i, total, scale)
            total += i * 2
            scale += 0.25
        yield ("end", total, scale)
    g = gen(n)
    out = [next(g), next(g), g.throw(ZeroDivisionError("z")), next(g)]
    out.append(g.throw(OverflowError("o")))
    out.extend(g)
    return out


def throw_into_with_and_finally(n):
    log = []

    class CM:
        def __init__(self, swallow):
            self.swallow = swallow

        def __enter__(self):
            log.append("enter")
            return self

        def __exit__(self, typ, value, tb):
            log.append(("exit", typ.__name__ if typ else None, str(value) if value else None))
            return self.swallow

    def gen(swallow):
        try:
            with CM(swallow):
                yield 1
                yield 2
            yield "after with"
        finally:
            log.append("finally")
        yield "after finally"
    out = []
    for swallow in (True, False):
        g = gen(swallow)
        out.append(next(g))
        try:
            out.append(g.throw(KeyError("in with")))
            out.append(next(g))
        except KeyError as e:
            out.append(("raised", str(e), inspect.getgeneratorstate(g)))
    g = gen(False)
    next(g)
    g.close()                         # GeneratorExit through __exit__ and finally
    out.append(inspect.getgeneratorstate(g))
    return out, log


def throw_traceback_lines(n):
    """The traceback of an exception thrown in and not caught: the caller's line, then
    the yield's line (the throw's entry); a traceback given to throw() is kept below."""
    def gen(n):
        for i in range(n):
            yield i
    def tb_lines(e):
        out = []
        tb = e.__traceback__
        while tb is not None:
            out.append((tb.tb_frame.f_code.co_name, tb.tb_lineno - gen.__code__.co_firstlineno))
            tb = tb.tb_next
        return out
    out = []
    g = gen(n)
    next(g)
    try:
        g.throw(ValueError("v"))
    except ValueError as e:
        out.append(tb_lines(e))
    try:
        raise IndexError("with tb")
    except IndexError as e:
        given = e
    g = gen(n)
    next(g)
    try:
        g.throw(IndexError, given, given.__traceback__)
    except IndexError as e:
        out.append((e is given, len(tb_lines(e))))
    g = gen(n)
    try:
        g.throw(TypeError("not started"))
    except TypeError as e:
        out.append((tb_lines(e), inspect.getgeneratorstate(g)))
    return out


def throw_caught_many_times(n):
    def worker():
        count = 0
        while True:
            try:
                x = yield count
                count += x
            except ValueError:
                count -= 1
            except GeneratorExit:
                raise
    g = worker()
    next(g)
    out = []
    for i in range(n):
        out.append(g.send(i))
        out.append(g.throw(ValueError(i)))
    g.close()
    out.append(inspect.getgeneratorstate(g))
    return out


# -- the generator function's call runs natively (RETURN_GENERATOR) ------------------
def created_generator_state(n):
    """A generator made by native code: its frame (cells and free variables of the
    prologue included), state, line, locals and name are the interpreter's."""
    k = n * 2

    def gen(a, *rest, b=3, **kw):
        total = a + b + k                    # a free variable (COPY_FREE_VARS)

        def inner():
            return total + len(rest)         # a cell (MAKE_CELL)
        yield inner()
        yield sorted(kw.items())
    g = gen(n, 1, 2, b=4, z=5)
    f = g.gi_frame
    out = [inspect.getgeneratorstate(g), f.f_lineno - gen.__code__.co_firstlineno,
           f.f_lasti, sorted(f.f_locals), g.__name__, g.__qualname__.split(".")[-1],
           g.gi_code is gen.__code__, g.gi_running, g.gi_yieldfrom, g.gi_suspended,
           f.f_back is None]
    out.extend(g)
    out.append(inspect.getgeneratorstate(g))
    gens = [gen(i) for i in range(n)]        # many made, then run in another order
    out.append([next(x) for x in reversed(gens)])
    return out


def generator_made_at_recursion_limit(n):
    def gen(i):
        yield i

    def down(i):
        if i == 0:
            return gen(i)
        return down(i - 1)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(80)
    try:
        try:
            down(n)
            return "made"
        except RecursionError as e:
            return "RecursionError", str(e)
    finally:
        sys.setrecursionlimit(limit)



def delegation_resumed_directly(n):
    """SEND and FOR_ITER resume a suspended generator without PyIter_Send
    (coconut_send, coconut_gen_next): the frame chain seen from inside (f_back is the
    delegating generator's frame, then the caller's), sys.exc_info() inside while the
    caller handles an exception, a generator that delegates to itself (already
    executing), a finished one sent to again, a return value dropped by a for loop,
    StopIteration raised inside (RuntimeError, its cause kept)."""
    seen = []

    def inner(k):
        for i in range(k):
            f = sys._getframe()
            seen.append((f.f_back.f_code.co_name, f.f_back.f_back.f_code.co_name,
                         repr(sys.exc_info()[1])))
            got = yield i
            if got is not None:
                seen.append(("got", got))
        return "ret %d" % k

    def outer(k):
        r = yield from inner(k)
        seen.append(r)
        r = yield from inner(0)
        seen.append(r)
        return r

    out = []
    try:
        raise KeyError("handled")
    except KeyError:
        for v in outer(n):
            out.append(v)
    g = outer(n)
    out.append(next(g))
    out.append(g.send("sent"))
    out.extend(g)

    def selfish():
        yield 1
        yield from me
    me = selfish()
    next(me)
    try:
        next(me)
    except ValueError as e:
        out.append(("ValueError", str(e)))
    done = inner(1)
    list(done)

    def again():
        return (yield from done)
    try:
        next(again())
    except StopIteration as e:
        out.append(("stop", e.value))

    def raises():
        yield 1
        raise StopIteration("inside")

    def wrap():
        yield from raises()
    try:
        list(wrap())
    except RuntimeError as e:
        out.append((str(e), repr(e.__cause__)))
    try:
        for v in raises():
            out.append(v)
    except RuntimeError as e:
        out.append((str(e), repr(e.__cause__)))
    return out, seen


def await_chain_resumed_directly(n):
    """An await chain of coroutines (SEND on a coroutine: coconut_send), with a value
    sent through it, a coroutine awaited twice (its RuntimeError), and an exception
    thrown into the innermost."""
    class Suspend:
        def __await__(self):
            got = yield "suspended"
            return got

    async def leaf(i):
        got = await Suspend()
        if got == "boom":
            raise ValueError(i)
        return (i, got)

    async def middle(i):
        a = await leaf(i)
        b = await leaf(i + 1)
        return a, b

    async def top(k):
        return [await middle(i) for i in range(k)]
    out = []
    c = top(n)
    v = c.send(None)
    while True:
        out.append(v)
        try:
            v = c.send(len(out))
        except StopIteration as e:
            out.append(e.value)
            break
    c2 = middle(7)
    c2.send(None)
    try:
        c2.send("boom")
    except ValueError as e:
        out.append(("ValueError", e.args))
    inner = leaf(3)

    async def twice():
        await inner
        await inner
    c3 = twice()
    c3.send(None)
    try:
        c3.send(1)
    except RuntimeError as e:
        out.append(str(e))
    return out

CASES = [
    (delegation_resumed_directly, [(3,), (0,)]),
    (await_chain_resumed_directly, [(2,)]),
    (created_generator_state, [(3,)]),
    (generator_made_at_recursion_limit, [(5,), (200,)]),
    (throw_with_unboxed_locals, [(5,)]),
    (throw_into_with_and_finally, [(1,)]),
    (throw_traceback_lines, [(3,)]),
    (throw_caught_many_times, [(40,)]),
    (squares, [(0,), (5,)]),
    (float_accumulator, [(4,)]),
    (send_values, [(4,)]),
    (send_to_new_generator, [(None,), (1,)]),
    (return_value, [(3,)]),
    (throw_at_yield, [(3,)]),
    (throw_uncaught, [(4,)]),
    (close_runs_finally, [(5,)]),
    (close_catches_generator_exit, [()]),
    (raise_inside, [(4,)]),
    (raise_then_continue, [(5,)]),
    (stop_iteration_inside, [()]),
    (deopt_between_yields, [([1, 2, 3],), ([1, 2.5, 3],), ([1, "x"],)]),
    (typed_then_other_type, [(50,)]),
    (suspended_frame_locals, [(4,)]),
    (running_flag_inside, [()]),
    (generator_expressions, [([1, 0, 3],), ([],)]),
    (genexpr_closure, [(4,)]),
    (nested_generators, [(4,)]),
    (recursive_generator, [(5,)]),
    (yield_in_expression, [(4,)]),
    (yield_with_stack, [(3,)]),
    (yield_in_call_args, [(7,), (1.0,)]),
    (with_statement, [(3,)]),
    (traceback_through_generator, [(4,)]),
    (global_rebound_between_yields, [(4,)]),
    (many_generators_alive, [(4,)]),
    (generator_object_attributes, [()]),
    (yield_from_generator, [(3,)]),
    (yield_from_introspection, [(1,)]),
    (yield_from_throw_and_close, [(1,)]),
    (yield_from_errors, [([1, 2],), (5,), ("ab",)]),
    (yield_from_coroutine, [()]),
    (yield_from_stop_iteration_value, [(2,), (0,)]),
    (recursive_yield_from, [(6,)]),
    (two_generators_one_iterator, [(7,)]),
    (closed_mid_yield_from, [(4,)]),
    (throw_into_nested_delegation, [(1,)]),
]
