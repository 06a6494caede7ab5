"""Performance stability: when a speculation keeps failing, compile without it.

The optimizing tier speculates (a guard on a type, a form, ...) and a failed guard
deopts: `ops.Deopt(site=<bytecode offset of the speculation>)`. A speculation that
fails often makes the function slower than no speculation at all, so:

* **Counting** (backend/gcc.py). Each module counts, in a static `long` per Deopt
  terminator, how often native code left through it, and per function how often it
  was entered natively (only functions with a speculation site count entries).
* **Asking** (native code, runtime/hook.py). At a speculation site, every
  CHECK_EVERY-th deopt of a terminator calls `coconut_deopt_check(frame)`: it only
  replaces the code's native entry in co_extra by the RECOMPILE mark. The next entry of
  that code goes through the hook's slow path, which calls the driver
  (`jit._on_recompile`, on the program's thread, before the frame starts).
* **Deciding** (here, `decide`). A site *fails* when, over the stretch since its last
  check, it deopted at least DEOPT_BOUND times and those deopts are at least MIN_SHARE
  of the function's native entries over the same stretch (a site that deopts 100 times
  in a million calls is worth keeping); an `EAGER` site fails at its first deopt. A check that finds a site below the share
  starts a new stretch for it. When some site fails, the code is recompiled with every
  failing site, and every other site that deopted at all in its stretch, added to its
  `avoid` set (`lower(..., avoid=...)`: those get the generic path); else the old
  entry is put back.
* **Never looping.** At most MAX_RECOMPILES recompiles per code object; the last one
  avoids every speculation site of the module it replaces, and so does one whose
  failing sites were all in `avoid` already (a lowering that speculated anyway). After
  that, or when nothing is left to avoid, checks put the entry back.

The new code replaces the old one for later calls (the old module stays mapped: a
frame may be running it, and its counts stay in the statistics). Recompiles run like
compiles: on a compile thread in background mode (the old code keeps running until the
new one is installed), at once with --sync or coconut.compile; the avoid set is part of
the on-disk cache key. `coconut.stats()` has "recompiles" and "deopt_sites".
"""
from __future__ import annotations

# Bound at import: a program may replace array.array or builtins.__import__ (which an
# import statement calls) and must not see the compiler's calls.
from array import array as _array
from importlib import import_module as _import_module

CHECK_EVERY = 100       # native code asks for a check at every 100th deopt of an exit
DEOPT_BOUND = 100       # deopts at one site over a stretch before it can fail ...
MIN_SHARE = 0.05        # ... and the share of the native entries they must reach
MAX_RECOMPILES = 3      # per code object; the last avoids every speculation site
# Speculations that fail at their first deopt (native code asks for a check at each):
# a handler compiled as not run (lowering/handlers.py) that runs. Each such deopt sends
# the rest of the call to the interpreter, however long it runs (a loop whose except
# ran once), and what the speculation saves is compile time only.
EAGER = frozenset({"a handler that had not run"})


def failing_sites(module, touched: list | None = None) -> list[int]:
    """The speculation sites of `module` (a GccModule holding one function) that fail,
    by the rule above; starts a new stretch for the sites checked and kept. `touched`
    (a list) gets every site that deopted at all in its stretch."""
    sites = module.deopt_sites
    if not any(s is not None for s in sites):
        return []
    counts = module.deopt_values()
    entries = module.entries(0)
    window = module.window
    if window is None:
        # per counter: [deopts, entries] when its stretch began (an array of numbers,
        # hidden from the cycle collector as the module is)
        untrack = _import_module("..backend.gcc", __package__).untrack
        window = module.window = untrack(_array("q", bytes(16 * len(sites))))
    stretch: dict = {}                 # site -> [deopts, entries, counter indices, eager]
    for i, site in enumerate(sites):
        if site is None:
            continue
        acc = stretch.get(site)
        if acc is None:
            acc = stretch[site] = [0, entries - window[2 * i + 1], [], False]
        acc[0] += counts[i] - window[2 * i]
        acc[2].append(i)
        acc[3] = acc[3] or module.deopt_reasons[i] in EAGER
    failing = []
    for site, (deopts, entered, indices, eager) in stretch.items():
        if touched is not None and deopts > 0:
            touched.append(site)
        if eager and deopts > 0:
            failing.append(site)
            continue
        if deopts < DEOPT_BOUND:
            continue
        if deopts >= MIN_SHARE * entered:
            failing.append(site)
        else:
            for i in indices:          # kept: a new stretch
                window[2 * i], window[2 * i + 1] = counts[i], entries
    return sorted(failing)


def all_sites(module) -> list[int]:
    return sorted({s for s in module.deopt_sites if s is not None})


def decide(module, recompiles: int, avoid: tuple) -> tuple | None:
    """The avoid set to recompile with (a sorted tuple), or None to keep `module`.
    `recompiles`: how many times the code was recompiled already; `avoid`: the set
    `module` was compiled with."""
    if recompiles >= MAX_RECOMPILES:
        return None
    touched: list = []
    failing = failing_sites(module, touched)
    if not failing:
        return None
    # A recompile costs a compile (a second for a big function): the sites that deopted
    # at all go with the failing ones (they usually fail for the same values, on other
    # paths: SubPattern.getwidth of re._parser and its int subclass did three rounds).
    new = set(avoid) | set(failing) | set(touched)
    if recompiles + 1 == MAX_RECOMPILES or new == set(avoid):
        # the last recompile, or one that would change nothing (a site failed that
        # was to be avoided already): every speculation site goes
        new |= set(all_sites(module))
        if new == set(avoid):
            return None
    return tuple(sorted(new))
