"""Compiling leaves nothing for the cycle collector: after a warm-up, one more compile
(coconut.compile, or a first call in whole-program mode; a cache miss, a cache hit, or
no cache) leaves len(gc.get_objects()) unchanged and creates no cyclic garbage.
CPython's test_descr.test_slots checks exactly this around the first calls of an __eq__.

Each case runs in a child with automatic collection off while it measures, so garbage
shows in the count instead of being collected by chance."""
import collections
import gc
import os
import shutil
import tempfile

import pytest

from tests.support import in_subprocess, run_code

if os.environ.get("COCONUT_TEST_STUB"):
    pytest.skip("compiled code's bookkeeping is part of the real JIT", allow_module_level=True)

SOURCE = '''
class G:
    def __eq__(self, other):
        t = (self, other, MARK, 1.5)
        try:
            return len(t) > LIMIT and self is other and t[0].__class__ is G
        except TypeError:
            return None
'''
WARM = 3        # classes compiled before the one measured


def _classes():
    out = []
    for i in range(WARM + 1):
        ns = {"MARK": "gc-clean mark", "LIMIT": 2}
        exec(compile(SOURCE.replace("class G", f"class G{i}").replace("is G", f"is G{i}"),
                     "<gc-clean>", "exec"), ns)
        out.append(ns[f"G{i}"])
    return out


def _types(objs):
    return dict(collections.Counter(type(o).__name__ for o in objs))


def scenario(entry, check=True):
    """Warm up, then compile one more __eq__ through `entry` and measure."""
    import coconut
    classes = _classes()
    objs = [c() for c in classes]
    if entry == "compile":
        for c in classes[:WARM]:
            coconut.compile(c.__eq__)
    else:
        coconut.enable(threshold=0)
        for o in objs[:WARM]:
            assert o == o
    target, g = classes[WARM], objs[WARM]
    _types(objs)                  # whole-program mode: what measuring calls is compiled
    coconut.stats()               # now, not while it measures
    gc.collect()
    gc.disable()
    known = {id(o) for o in gc.get_objects()}
    before_stats = coconut.stats()
    before = len(gc.get_objects())
    if entry == "compile":
        coconut.compile(target.__eq__)
    else:
        for i in range(10):
            g == g                                   # the first call compiles
    after = len(gc.get_objects())
    stats = coconut.stats()
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    garbage = _types(gc.garbage)
    gc.set_debug(0)
    gc.garbage.clear()
    new = _types(o for o in gc.get_objects() if id(o) not in known)
    gc.enable()
    coconut.disable()
    assert coconut.is_compiled(target.__eq__)
    hits = stats.get("cache_hits", 0) - before_stats.get("cache_hits", 0)
    misses = stats.get("cache_misses", 0) - before_stats.get("cache_misses", 0)
    if check:
        assert after == before, (f"{after - before:+d} objects tracked by the GC after one "
                                 f"compile; new objects: {new}")
        assert not garbage, f"cyclic garbage: {garbage}"
    return hits, misses


@in_subprocess(timeout=180)
@pytest.mark.parametrize("entry", ["compile", "whole_program"])
@pytest.mark.parametrize("cache", ["miss", "hit", "off"])
def test_compile_leaves_no_gc_objects(entry, cache):
    directory = tempfile.mkdtemp(prefix="coconut-gc-clean-")
    try:
        os.environ["COCONUT_CACHE_DIR"] = directory
        os.environ["COCONUT_CACHE"] = "0" if cache == "off" else "1"
        # No sampling: a sample landing in the measured calls (a slow machine's compile
        # makes that likely) has the sampler ask for `scenario`'s on-stack-replacement
        # variant there, a compile of its own (seen in a CI run: 3 misses, not 1).
        os.environ["COCONUT_SAMPLE_US"] = "0"
        if cache == "hit":           # another process fills the cache
            res = run_code(f"from tests.test_gc_clean import scenario\n"
                           f"scenario({entry!r}, check=False)\n")
            assert res.ok, res.describe()
        hits, misses = scenario(entry)
        assert (hits, misses) == {"miss": (0, 1), "hit": (1, 0), "off": (0, 0)}[cache]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@in_subprocess(timeout=180)
@pytest.mark.parametrize("entry", ["compile", "whole_program"])
def test_compile_runs_no_collection(entry):
    """The compiler's allocations do not start the cycle collector (a compile used to
    start three collections): the program's garbage is not collected, nor are its
    finalizers run, at the first call of a function."""
    import coconut
    os.environ["COCONUT_CACHE"] = "0"
    classes = _classes()
    objs = [c() for c in classes]
    if entry == "whole_program":
        coconut.enable(threshold=0)
    for o in objs[:WARM]:
        if entry == "compile":
            coconut.compile(type(o).__eq__)
        assert o == o
    started = []
    gc.callbacks.append(lambda phase, info: started.append(info) if phase == "start" else None)
    gc.collect()
    del started[:]
    if entry == "compile":
        coconut.compile(classes[WARM].__eq__)
    else:
        objs[WARM] == objs[WARM]
    assert coconut.is_compiled(classes[WARM].__eq__)
    assert started == [], started
