"""Coroutines compiled natively: GET_AWAITABLE (runtime/coroutines.py's
coconut_get_awaitable: a coroutine not started yet, or the type's am_await; the
interpreter's cases deopt before the instruction), SEND/YIELD_VALUE of the await loop,
and the resume dispatch. Each corpus function drives coroutines nested in it (the
harness compiles nested code), by hand (send, throw, close) or with asyncio: awaiting
coroutines, objects with __await__, generator-based coroutines, futures and tasks;
the errors of a bad awaitable, of a coroutine awaited twice or while it is awaited;
cr_await and cr_frame of a suspended coroutine."""
import asyncio
import inspect
import types


class Step:
    """An awaitable that suspends once, receives a value, and returns it doubled."""

    def __init__(self, tag):
        self.tag = tag

    def __await__(self):
        got = yield ("step", self.tag)
        return (got or 0) * 2


def drive(coro, values=()):
    """Run `coro` by hand: send None first, then each of `values`; collect what it
    yields and how it ends."""
    out = []
    values = list(values)
    try:
        out.append(coro.send(None))
        while True:
            out.append(coro.send(values.pop(0) if values else None))
    except StopIteration as e:
        out.append(("return", e.value))
    except Exception as e:  # noqa: BLE001
        out.append((type(e).__name__, str(e)))
    return out


def await_chain(n):
    async def leaf(i):
        return i * 3

    async def middle(i):
        a = await leaf(i)
        b = await leaf(a)
        return a + b

    async def top(n):
        total = 0
        for i in range(n):
            total += await middle(i)
        return total
    return drive(top(n))


def await_custom_awaitable(n):
    async def user(n):
        acc = []
        for i in range(n):
            acc.append(await Step(i))
        return acc
    return drive(user(n), [10, 20, 30, 40])


def await_generator_based(n):
    @types.coroutine
    def legacy(i):
        got = yield ("legacy", i)
        return got

    async def user(n):
        out = []
        for i in range(n):
            out.append(await legacy(i))
        return out
    return drive(user(n), ["a", "b", "c"])


def await_bad_objects(what):
    class NonIterator:
        def __await__(self):
            return 5

    class ReturnsCoroutine:
        def __await__(self):
            async def inner():
                pass
            c = inner()
            c.close()
            return c

    async def user(x):
        return await x
    objs = {"int": 3, "noniter": NonIterator(), "coro": ReturnsCoroutine(), "none": None}
    return drive(user(objs[what]))


def await_twice():
    async def leaf():
        return 1

    async def user():
        c = leaf()
        a = await c
        b = await c
        return a, b
    return drive(user())


def awaited_already():
    async def inner():
        await Step("inner")
        return "inner"

    async def user(c):
        return await c
    c = inner()
    first = c.send(None)
    second = drive(user(c))
    c.close()
    return first, second


def throw_into_await(n):
    log = []

    class Catching:
        def __await__(self):
            try:
                yield "waiting"
            except KeyError as e:
                log.append("caught %s" % e)
                return "recovered"

    async def user(n):
        r = await Catching()
        for i in range(n):
            await Step(i)
        return r
    c = user(n)
    out = [c.send(None), c.throw(KeyError("k"))]
    out.extend(drive(c))
    return out, log


def close_suspended_coroutine():
    log = []

    async def user():
        try:
            await Step(1)
            await Step(2)
        finally:
            log.append("finally")
    c = user()
    c.send(None)
    c.close()
    return log, inspect.getcoroutinestate(c)


def exception_inside(n):
    async def failing(i):
        if i == 2:
            raise ValueError("bad %d" % i)
        return i

    async def user(n):
        out = []
        for i in range(n):
            try:
                out.append(await failing(i))
            except ValueError as e:
                out.append(str(e))
            out.append(await Step(i))
        return out
    return drive(user(n), [1, 2, 3, 4, 5])


def suspended_introspection():
    async def user():
        x = 1.5
        got = await Step("s")
        return x + got
    c = user()
    c.send(None)
    state = (inspect.getcoroutinestate(c), type(c.cr_await).__name__,
             c.cr_frame.f_lineno - c.cr_code.co_firstlineno, sorted(c.cr_frame.f_locals))
    try:
        c.send(2)
    except StopIteration as e:
        return state, e.value


def with_asyncio(n):
    async def leaf(i):
        await asyncio.sleep(0)
        return i

    async def tree(n):
        if n <= 0:
            return await leaf(1)
        parts = await asyncio.gather(tree(n - 1), tree(n - 2), leaf(n))
        return sum(parts)

    async def main(n):
        task = asyncio.ensure_future(tree(n))
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, 7)
        return await task, await fut
    return asyncio.run(main(n))


def async_for_and_with(n):
    class Ctx:
        async def __aenter__(self):
            return "ctx"

        async def __aexit__(self, *exc):
            return False

    class Count:
        def __init__(self, n):
            self.i, self.n = 0, n

        def __aiter__(self):
            return self

        async def __anext__(self):
            if self.i >= self.n:
                raise StopAsyncIteration
            self.i += 1
            return self.i

    async def user(n):
        out = []
        async with Ctx() as c:
            out.append(c)
        async for i in Count(n):
            out.append(i)
        return out
    return drive(user(n))


def cancellation_and_timeout(n):
    log = []

    async def sleeper(i):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("cancelled %d" % i)
            raise

    async def quick(i):
        await asyncio.sleep(0)
        return i * 2

    async def main(n):
        tasks = [asyncio.ensure_future(sleeper(i)) for i in range(n)]
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(sleeper(99), timeout=0.001)
        except asyncio.TimeoutError:
            log.append("timed out")
        return [type(r).__name__ for r in results], await quick(n)
    return asyncio.run(main(n)), sorted(log)


def task_group_exception_group(n):
    async def ok(i):
        await asyncio.sleep(0)
        return i

    async def bad(i):
        await asyncio.sleep(0)
        raise ValueError("bad %d" % i)

    async def main(n):
        caught = []
        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(n):
                    tg.create_task(ok(i))
                tg.create_task(bad(n))
        except* ValueError as eg:
            caught.extend(str(e) for e in eg.exceptions)
        return caught
    return asyncio.run(main(n))


def async_iteration_edges(what):
    """GET_AITER / GET_ANEXT / END_ASYNC_FOR / BEFORE_ASYNC_WITH natively, with their
    error messages: a non-iterable, an __aiter__ without __anext__, an __anext__ that
    gives no awaitable, an __anext__ that raises something else than
    StopAsyncIteration (END_ASYNC_FOR raises it again), an async generator (its asend
    objects), break, and async with: a swallowing __aexit__, a missing one."""
    class NoANext:
        def __aiter__(self):
            return 5

    class BadANext:
        def __aiter__(self):
            return self

        def __anext__(self):
            return 7

    class Raising:
        def __init__(self):
            self.i = 0

        def __aiter__(self):
            return self

        async def __anext__(self):
            self.i += 1
            if self.i > 2:
                raise KeyError("from __anext__")
            return self.i

    class Started:
        def __init__(self):
            self.coro = None

        def __aiter__(self):
            return self

        def __anext__(self):
            async def value():
                got = await Step("started")
                return got
            c = value()
            c.send(None)           # started: suspended in its await
            return c

    async def agen(n):
        for i in range(n):
            yield i * 10

    class Swallow:
        async def __aenter__(self):
            return self

        async def __aexit__(self, t, v, tb):
            self.seen = t
            return True

    class NoAExit:
        async def __aenter__(self):
            return self

    async def user(what):
        out = []
        try:
            if what == "not_iterable":
                async for x in 5:
                    out.append(x)
            elif what == "no_anext":
                async for x in NoANext():
                    out.append(x)
            elif what == "bad_anext":
                async for x in BadANext():
                    out.append(x)
            elif what == "raising":
                async for x in Raising():
                    out.append(x)
            elif what == "agen":
                async for x in agen(4):
                    out.append(x)
                    if x > 15:
                        break
            elif what == "started":
                it = Started()
                async for x in it:
                    out.append(x)
                    if len(out) > 2:
                        break
            elif what == "swallow":
                s = Swallow()
                async with s:
                    out.append("in")
                    raise ValueError("swallowed")
                out.append(s.seen.__name__)
            elif what == "no_aexit":
                async with NoAExit():
                    out.append("never")
        except Exception as e:  # noqa: BLE001
            out.append((type(e).__name__, str(e), repr(e.__cause__)))
        return out
    return drive(user(what))


def coroutine_origin_tracking(depth):
    """A coroutine made under sys.set_coroutine_origin_tracking_depth records where it
    was made (cr_origin: the interpreter's, RETURN_GENERATOR deopts); without it, none."""
    import sys

    async def coro(x):
        return x + 1

    def make(x):
        return coro(x)
    old = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(depth)
    try:
        c = make(1)
    finally:
        sys.set_coroutine_origin_tracking_depth(old)
    origin = c.cr_origin
    out = [c.cr_frame.f_back is None]
    out += [None if origin is None else [(name, line - make.__code__.co_firstlineno)
                                        for _, line, name in origin[:1]]]
    out.append(drive(c))
    return out


def async_generators(n):
    """Async generators compiled (ASYNC_GEN_WRAP, YIELD_VALUE, the resume dispatch):
    async for, asend with values, athrow at a yield (the interpreter's: throwflag),
    aclose running a finally, an await between yields, typed locals across yields,
    StopAsyncIteration at the end, and asyncio finalizing a generator left suspended."""
    log = []

    async def agen(n):
        total = 0.0
        try:
            for i in range(n):
                got = yield i * 1.5
                total += i
                if got:
                    total += got
                await Step("inner")
        finally:
            log.append(("finally", total))

    async def user(n):
        out = []
        async for v in agen(n):
            out.append(v)
        g = agen(n)
        out.append(await g.asend(None))
        out.append(await g.asend(5))
        try:
            await g.athrow(ValueError("thrown"))
        except ValueError as e:
            out.append(repr(e))
        try:
            await g.asend(None)
        except StopAsyncIteration:
            out.append("stopped")
        g2 = agen(n)
        out.append(await g2.__anext__())
        await g2.aclose()
        return out

    async def left_suspended():
        g = agen(3)
        first = await g.__anext__()
        return first                       # asyncio.run's shutdown closes g

    return drive(user(n)), asyncio.run(left_suspended()), log


CASES = [
    (coroutine_origin_tracking, [(0,), (2,)]),
    (async_generators, [(0,), (3,)]),
    (async_iteration_edges, [("not_iterable",), ("no_anext",), ("bad_anext",), ("raising",),
                             ("agen",), ("started",), ("swallow",), ("no_aexit",)]),
    (await_chain, [(0,), (4,)]),
    (await_custom_awaitable, [(3,)]),
    (await_generator_based, [(3,)]),
    (await_bad_objects, [("int",), ("noniter",), ("coro",), ("none",)]),
    (await_twice, [()]),
    (awaited_already, [()]),
    (throw_into_await, [(2,)]),
    (close_suspended_coroutine, [()]),
    (exception_inside, [(4,)]),
    (suspended_introspection, [()]),
    (with_asyncio, [(4,)]),
    (async_for_and_with, [(3,)]),
    (cancellation_and_timeout, [(3,)]),
    (task_group_exception_group, [(2,)]),
]
