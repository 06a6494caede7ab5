"""Differential fuzzing of the JIT: run generated programs interpreted and compiled, compare.

    python3 -m tests.fuzz.run -n 500 --seed 1000        # seeds 1000..1499, 2 jobs
    python3 -m tests.fuzz.run --seeds 17,4242 --show     # print the programs too
    python3 -m tests.fuzz.run --program case.json        # one program (dict as in gen.py)
    python3 -m tests.fuzz.run --stub broken -n 20        # check the fuzzer itself
    make fuzz N=5000 SEED=1                              # the same through make

Options: --size small|normal (default normal; tests/test_fuzz.py uses small), -j JOBS
children at once, --batch programs per child, --no-minimize, --minimize-seconds,
--loose-nan (NaN signs and payloads not compared), --json FILE (the failures, with
their programs, for --program).

Protocol for one program (``run_program``, in a child process):

1. its source is exec'd twice, in two fresh namespaces: the *compiled* copy and its
   *interpreted twin*, which is never compiled;
2. both are warmed up, interpreted, by WARM_CALLS calls with the program's warm-up mix of
   argument types, so that 3.11 quickens the code and records those types;
3. ``coconut.compile`` compiles the copy's ``f`` (variant "all": also the helpers ``f``
   names and the hook methods; variant "cold": before the warm-up instead of after it);
4. both are called with the program's "storm" mix gen.STORM times if it has one (the
   runtime then recompiles without the speculations that keep failing), then with every
   mix of ``prog["mixes"]`` (the warm-up mix, other values of the same types, and mixes
   that break the speculations), twice each, alternately, and every pair of calls is
   compared: return value, exception type and message (and its context), traceback
   (function, line) inside the program, stdout, what the call appended to the program's
   LOG (values, and the f_locals snapshots, with line numbers, that the __del__/__eq__/
   __add__ hooks took), the arguments afterwards and their reference counts, and the
   program's globals and class attributes afterwards. Values are compared through
   ``rt.canon``: type-exact, floats bit for bit.

One difference is not reported: CPython 3.11's superinstructions report an
UnboundLocalError raised by their second half at the line of their first half, in
quickened code only (see ``_superinstruction_quirk``).

Every batch of programs runs in a child process (tests/support.run_python): a crash or a
hang fails the program that was running (it is then re-run alone to tell whether it
crashes by itself) and the rest of the batch goes on in a new child.

A failing program is minimized (``--minimize``, the default on the command line): argument
mixes are dropped, then statements and sub-expressions of the source are removed or
simplified (through ``ast``) as long as the failure keeps its signature (crash / hang /
mismatch of the same field / compile error of the same kind).
"""
import argparse
import ast
import concurrent.futures
import contextlib
import copy
import dis
import io
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
import warnings

from tests import support
from tests.fuzz import gen
from tests.fuzz.rt import _ADDR, PROGRAM_FILE_PREFIX, canon, canon_exception

PREFIX = "@@coconut-fuzz@@ "
WARM_CALLS = 10
REPEAT = 2                 # calls per mix
REF_CALL_SECONDS = 1.0     # an interpreted call slower than this: program skipped
PROGRAM_TIMEOUT = float(os.environ.get("COCONUT_FUZZ_PROGRAM_TIMEOUT", "30"))
MODULE_NAME = "fuzzprog"
AS_LIMIT = int(os.environ.get("COCONUT_FUZZ_AS_LIMIT", str(3 << 30)))
KEYS = ("ret", "exc", "tb", "stdout", "log", "args_after", "state", "args_raised", "refs")


# ============================================================================ child side

class _Slow(BaseException):
    pass


def _on_alarm(signum, frame):
    raise _Slow()


def program_filename(prog):
    return "%s %s>" % (PROGRAM_FILE_PREFIX, prog.get("seed"))


def _state(ns):
    """Globals and class attributes of a program namespace (LOG is compared per call)."""
    out = []
    for name, v in ns.items():
        if name.startswith("__") or name == "LOG":
            continue
        if isinstance(v, type) and v.__module__ == MODULE_NAME:
            attrs = [[k, canon(x)] for k, x in vars(v).items() if not k.startswith("__")]
            out.append([name, "class", attrs])
        else:
            out.append([name, canon(v)])
    return out


def _refcounts(args):
    """Reference counts of the call's arguments that nothing else shares (lists,
    instances), right after the call (its result still alive): a difference between the
    two copies is a reference the compiled code leaked or released once too often (which
    would crash later). Not for ints and floats (the compiled code may unbox one and box
    an equal new object: their identity is not part of the language), nor for shared
    objects (bools, None, interned strings)."""
    return [sys.getrefcount(a) if type(a) not in (int, float, bool, str, type(None))
            else None for a in args]


def call_once(ns, func, argexprs, timed):
    """One call; everything observable about it, canonicalized."""
    try:
        args = [eval(e, ns) for e in argexprs]  # noqa: S307 - generated argument expressions
    except Exception as e:  # noqa: BLE001 - e.g. P(2) once P.v became a property
        return {"args_raised": canon_exception(e), "state": _state(ns)}
    log = ns["LOG"]
    log0 = len(log)
    buf = io.StringIO()
    out = {}
    if timed:
        signal.setitimer(signal.ITIMER_REAL, REF_CALL_SECONDS)
    try:
        with contextlib.redirect_stdout(buf):
            try:
                result = func(*args)
            except _Slow:
                raise
            except BaseException as e:  # noqa: BLE001
                out["refs"] = _refcounts(args)
                out["exc"] = canon_exception(e) + [
                    None if e.__context__ is None else canon_exception(e.__context__)]
                out["tb"] = [[fs.name, fs.lineno]
                             for fs in traceback.extract_tb(e.__traceback__)
                             if fs.filename.startswith(PROGRAM_FILE_PREFIX)]
            else:
                out["refs"] = _refcounts(args)
                out["ret"] = canon(result)
                del result
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    out["args_after"] = canon(args)
    del args
    out["stdout"] = _ADDR.sub("0x?", buf.getvalue()[:20000])
    out["log"] = canon(log[log0:])
    del log[log0:]  # keep LOG short; a long LOG would make canon() slow
    out["state"] = _state(ns)
    return out


def first_difference(a, b, path=""):
    if type(a) is list and type(b) is list:
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, "%s[%d]" % (path, i))
        if len(a) != len(b):
            return "%s (lengths %d vs %d)" % (path, len(a), len(b)), a[len(b):], b[len(a):]
    return path, a, b


def _short(obj, limit=400):
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def describe_mismatch(exp, act, label):
    lines = [label]
    key0 = None
    for key in KEYS:
        if exp.get(key) != act.get(key):
            key0 = key0 or key
            lines.append("    %-10s interpreted: %s" % (key, _short(exp.get(key, "<none>"))))
            lines.append("    %-10s compiled:    %s" % ("", _short(act.get(key, "<none>"))))
            if key in exp and key in act:
                where, x, y = first_difference(exp[key], act[key])
                if where:
                    lines.append("    %-10s first difference at %s: %s vs %s"
                                 % ("", where, _short(x, 200), _short(y, 200)))
    # a return on one side and an exception on the other is reported as "ret"
    return key0, "\n".join(lines)


_UNBOUND = re.compile(r"cannot access local variable '(\w+)'")
_SUPER_FIRST = {"LOAD_FAST", "STORE_FAST", "LOAD_CONST"}


def _superinstruction_quirk(code, exp, act):
    """True when exp and act differ only by CPython 3.11's line quirk: an
    UnboundLocalError raised by the second half of a superinstruction
    (LOAD_FAST__LOAD_FAST, STORE_FAST__LOAD_FAST, LOAD_CONST__LOAD_FAST) is reported at
    the line of its first half. Quickened code has the quirk, code that was not quickened
    does not, and the compiled code hands such a load to the interpreter: either line is
    CPython's own behaviour, so the two are not told apart."""
    if set(k for k in KEYS if exp.get(k) != act.get(k)) != {"tb"}:
        return False
    exc = exp.get("exc") or []
    if len(exc) < 3 or exc[1] != "UnboundLocalError":
        return False
    m = _UNBOUND.search(exc[2])
    tb_e, tb_a = exp["tb"], act["tb"]
    if not m or len(tb_e) != len(tb_a) or tb_e[:-1] != tb_a[:-1] or tb_e[-1][0] != tb_a[-1][0]:
        return False
    lines = {tb_e[-1][1], tb_a[-1][1]}
    ins = list(dis.get_instructions(code))
    for prev, cur in zip(ins, ins[1:]):
        if cur.opname == "LOAD_FAST" and cur.argval == m.group(1) \
                and prev.opname in _SUPER_FIRST and prev.positions and cur.positions \
                and {prev.positions.lineno, cur.positions.lineno} == lines:
            return True
    return False


def _program_functions(ns, fname, func):
    """For the "all" variant: func, the program's functions it names, and the methods
    (but __init__) of the program's classes, which run inside func as hooks."""
    out = [func]
    for name in func.__code__.co_names:
        v = ns.get(name)
        if isinstance(v, types.FunctionType) and v.__code__.co_filename == fname \
                and v not in out:
            out.append(v)
    for v in list(ns.values()):
        if isinstance(v, type) and v.__module__ == MODULE_NAME:
            for name, m in vars(v).items():
                if isinstance(m, types.FunctionType) and m.__code__.co_filename == fname \
                        and name != "__init__" and m not in out:
                    out.append(m)
    return out


def _compile(coconut, funcs):
    problems = []
    for fn in funcs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                coconut.compile(fn)
            except Exception as e:  # noqa: BLE001
                problems.append("coconut.compile(%s) raised %s: %s"
                                % (fn.__qualname__, type(e).__name__, e))
                continue
        for w in caught:
            problems.append("coconut.compile(%s) warned %s: %s"
                            % (fn.__qualname__, w.category.__name__, w.message))
        if not coconut.is_compiled(fn):
            problems.append("coconut.is_compiled(%s) is False after compile" % fn.__qualname__)
    return problems


def _compile_sig(problem):
    """A compile failure's kind, without the names and numbers of the program."""
    msg = problem.split("stays interpreted:", 1)[-1]
    if "LocalState(" in msg:
        return "LocalState"
    msg = re.sub(r"\b[st]\d+[a-z]?\b", "v", msg)
    msg = re.sub(r"\d+", "N", msg)
    return msg.strip()[:80]


def run_program(prog, coconut):
    """Run one program both ways; a result dict with "status" ok / skip / mismatch /
    compile (+ "problems", and "sig", the failure's signature, for the minimizer)."""
    fname = program_filename(prog)
    try:
        code_ref = compile(prog["source"], fname, "exec")
        code_jit = compile(prog["source"], fname, "exec")
    except SyntaxError as e:
        return {"status": "skip", "problems": ["syntax error: %s" % e]}
    ns_ref = {"__name__": MODULE_NAME}
    ns_jit = {"__name__": MODULE_NAME}
    try:
        exec(code_ref, ns_ref)  # noqa: S102
        exec(code_jit, ns_jit)  # noqa: S102
        f_ref = ns_ref[prog.get("func", "f")]
        f_jit = ns_jit[prog.get("func", "f")]
    except Exception:  # noqa: BLE001
        return {"status": "skip", "problems": ["module body failed:\n" + traceback.format_exc()]}
    variant = prog.get("variant", "warm")
    targets = _program_functions(ns_jit, fname, f_jit) if variant == "all" else [f_jit]

    compile_problems = []
    if variant == "cold":
        compile_problems = _compile(coconut, targets)

    calls = [("warm-up", prog["warm"])] * WARM_CALLS
    compiled_at = 0 if variant == "cold" else len(calls)
    if prog.get("storm") is not None:
        calls += [("storm", prog["storm"])] * gen.STORM
    for m, mix in enumerate(prog["mixes"]):
        calls += [("mix %d" % m, mix)] * REPEAT

    mismatches = []
    sig = None
    for n, (label, mix) in enumerate(calls):
        if n == compiled_at and variant != "cold":
            compile_problems = _compile(coconut, targets)
        try:
            exp = call_once(ns_ref, f_ref, mix, timed=True)
        except _Slow:
            exp = {"exc": ["too slow"]}
        if exp.get("exc", [None])[0] == "too slow" \
                or exp.get("exc", [None, None])[1] in ("MemoryError", "RecursionError"):
            # not comparable from here on: judge the calls made so far
            skipped = "interpreted call %d f(%s): %s" % (
                n + 1, ", ".join(mix), exp["exc"][1] if len(exp["exc"]) > 1 else "too slow")
            if n <= compiled_at:
                return {"status": "skip", "problems": [skipped]}
            break
        act = call_once(ns_jit, f_jit, mix, timed=False)
        if exp != act and not _superinstruction_quirk(f_ref.__code__, exp, act):
            key, text = describe_mismatch(
                exp, act, "call %d (%s, %s): f(%s)" % (n + 1, label,
                                                      "compiled" if n >= compiled_at
                                                      else "not yet compiled",
                                                      ", ".join(mix)))
            if n < compiled_at:
                return {"status": "skip", "problems": ["nondeterministic program:\n" + text]}
            mismatches.append(text)
            if sig is None:
                sig = ["mismatch", key]
                first_call = n
            if len(mismatches) >= 3:
                break
    if mismatches:
        return {"status": "mismatch", "sig": sig, "problems": compile_problems + mismatches,
                "call": first_call, "mix": calls[first_call][0]}
    if compile_problems:
        return {"status": "compile", "sig": ["compile", _compile_sig(compile_problems[0])],
                "problems": compile_problems}
    return {"status": "ok"}


def emit(**event):
    sys.__stdout__.write(PREFIX + json.dumps(event) + "\n")
    sys.__stdout__.flush()


def _install_hook(coconut):
    """Compile a trivial function first: the frame hook is then installed for every call
    of the run, so reference and compiled calls see the same frame protocol (with the hook,
    3.11 stops inlining Python-to-Python calls, which changes when __del__ runs)."""
    def _fuzz_hook_installer(x):
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coconut.compile(_fuzz_hook_installer)
    _fuzz_hook_installer(1)


def worker_main(argv):
    import faulthandler
    support.child_setup()
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="")
    p.add_argument("--size", default="normal")
    p.add_argument("--programs", default=None)
    a = p.parse_args(argv)
    if a.programs:
        with open(a.programs) as fh:
            programs = json.load(fh)
    else:
        programs = [gen.generate(int(s), a.size) for s in a.seeds.split(",") if s]
    if AS_LIMIT:
        import resource
        # huge sequence repetitions fail fast with MemoryError instead of swapping
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    coconut = support.get_coconut()
    _install_hook(coconut)
    signal.signal(signal.SIGALRM, _on_alarm)
    for i, prog in enumerate(programs):
        emit(event="start", index=i)
        faulthandler.dump_traceback_later(PROGRAM_TIMEOUT, exit=True)
        t0 = time.monotonic()
        try:
            res = run_program(prog, coconut)
        except Exception:  # noqa: BLE001
            res = {"status": "error", "problems": ["fuzz runner error:\n"
                                                   + traceback.format_exc()]}
        faulthandler.cancel_dump_traceback_later()
        res["seconds"] = round(time.monotonic() - t0, 3)
        emit(event="result", index=i, result=res)
    emit(event="done")


# ============================================================================ parent side

def _parse(stdout):
    started, results = [], {}
    for line in (stdout or "").splitlines():
        if line.startswith(PREFIX):
            ev = json.loads(line[len(PREFIX):])
            if ev["event"] == "start":
                started.append(ev["index"])
            elif ev["event"] == "result":
                results[ev["index"]] = ev["result"]
    return started, results


def _child_failure(res):
    hang = res.timed_out or "Timeout (" in (res.stderr or "")
    return {"status": "hang" if hang else "crash", "sig": ["hang" if hang else "crash"],
            "problems": ["child %s" % res.status(), _tail(res.stderr, 6000)]}


def _tail(text, n):
    text = text or ""
    return text if len(text) <= n else "...\n" + text[-n:]


def _run_child(programs, timeout, env):
    """Run explicit programs (list of dicts) in one child; returns ChildResult."""
    fd, path = tempfile.mkstemp(prefix="coconut-fuzz-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(programs, fh)
        return support.run_python(["-m", "tests.fuzz.run", "--worker", "--programs", path],
                                  timeout=timeout, env=env)
    finally:
        os.unlink(path)


def run_programs(programs, timeout=None, env=None, alone_check=True):
    """Run a list of programs in child processes (one after another, restarting after a
    crash); returns a list of result dicts in the same order."""
    if timeout is None:
        timeout = 60 + PROGRAM_TIMEOUT * len(programs)
    results = [None] * len(programs)
    remaining = list(range(len(programs)))
    while remaining:
        res = _run_child([programs[i] for i in remaining], timeout, env)
        started, got = _parse(res.stdout)
        for local, r in got.items():
            results[remaining[local]] = r
        if res.ok and all(results[i] is not None for i in remaining):
            break
        culprit = started[-1] if started and started[-1] not in got else None
        if culprit is None:
            for i in remaining:
                if results[i] is None:
                    results[i] = {"status": "error", "problems": [
                        "child died outside any program:\n" + res.describe()]}
            break
        failure = _child_failure(res)
        gidx = remaining[culprit]
        if alone_check and len(remaining) > 1:
            single = _run_child([programs[gidx]], 60 + PROGRAM_TIMEOUT, env)
            _, one = _parse(single.stdout)
            if single.ok and 0 in one:
                failure["problems"].append(
                    "(re-run alone, this program %s: the %s needs the programs run "
                    "before it in the same process)"
                    % ("passes" if one[0]["status"] == "ok" else "gives " + one[0]["status"],
                       failure["status"]))
                failure["alone"] = one[0]
        results[gidx] = failure
        remaining = remaining[culprit + 1:]
    return results


class Fuzzer:
    """Runs seeds in batches on a thread pool of child processes."""

    def __init__(self, jobs=2, batch=20, env=None, progress=None, size="normal"):
        self.size = size
        self.jobs = max(1, jobs)
        self.batch = max(1, batch)
        self.env = env
        self.progress = progress

    def run_seeds(self, seeds):
        """{seed: (program, result)} for every seed."""
        batches = [seeds[i:i + self.batch] for i in range(0, len(seeds), self.batch)]
        out = {}
        lock = threading.Lock()

        def one(batch):
            progs = [gen.generate(s, self.size) for s in batch]
            results = run_programs(progs, env=self.env)
            with lock:
                for s, p, r in zip(batch, progs, results):
                    out[s] = (p, r)
                if self.progress:
                    self.progress(out, batch)

        with concurrent.futures.ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(one, batches))
        return out


def is_failure(result):
    return result["status"] not in ("ok", "skip")


def format_failure(prog, result, minimized=None):
    lines = ["=" * 78,
             "program seed %s %s: %s" % (prog.get("seed"),
                                         {"crash": "crashed", "hang": "hung"}.get(
                                             result["status"], "failed"),
                                         result["status"]),
             "reproduce: python3 -m tests.fuzz.run --seeds %s --size %s --show"
             % (prog.get("seed"), prog.get("size", "normal")),
             "-" * 78]
    lines += [p.rstrip() for p in result.get("problems", [])]
    lines += ["-" * 78, gen.describe(prog).rstrip()]
    if minimized is not None:
        mprog, mres = minimized
        lines += ["-" * 78, "minimized (%s):" % " ".join(map(str, mres.get("sig") or [])),
                  gen.describe(mprog).rstrip(), "-" * 78]
        lines += [p.rstrip() for p in mres.get("problems", [])]
    return "\n".join(lines)


# ============================================================================ minimizer

def _stmt_lists(tree):
    """Every statement list of the module, in a fixed order: (owner node, field)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            lst = getattr(node, field, None)
            if isinstance(lst, list) and lst and isinstance(lst[0], ast.stmt):
                yield node, field
        if isinstance(node, ast.Try):
            for h in node.handlers:
                yield h, "body"


def _expr_spots(tree):
    """(node, field, index-or-None) of every replaceable expression inside f."""
    for top in tree.body:
        if not (isinstance(top, ast.FunctionDef) and top.name == "f"):
            continue
        for node in ast.walk(top):
            for field, value in ast.iter_fields(node):
                if field in ("ctx", "target", "targets", "func"):
                    continue
                if isinstance(value, ast.expr) and not isinstance(value, ast.Name):
                    yield node, field, None
                elif isinstance(value, list):
                    for i, v in enumerate(value):
                        if isinstance(v, ast.expr) and not isinstance(v, ast.Name):
                            yield node, field, i


def _replacements(e):
    """Simpler expressions that may stand for e."""
    out = []
    if isinstance(e, ast.BinOp):
        out += [e.left, e.right]
    elif isinstance(e, ast.UnaryOp):
        out += [e.operand]
    elif isinstance(e, ast.BoolOp):
        out += list(e.values)
    elif isinstance(e, ast.Compare):
        out += [e.left] + list(e.comparators)
        if len(e.comparators) > 1:
            out.append(ast.Compare(e.left, e.ops[:1], e.comparators[:1]))
    elif isinstance(e, ast.IfExp):
        out += [e.body, e.orelse]
    elif isinstance(e, ast.Call):
        out += list(e.args)
        if isinstance(e.func, ast.Name) and e.func.id in ("min", "max") and len(e.args) > 2:
            out.append(ast.Call(e.func, e.args[:2], []))
    elif isinstance(e, (ast.Tuple, ast.List)) and e.elts and isinstance(e.ctx, ast.Load):
        for i in range(len(e.elts)):
            out.append(type(e)(e.elts[:i] + e.elts[i + 1:], ast.Load()))
    elif isinstance(e, ast.Dict) and e.keys:
        for i in range(len(e.keys)):
            out.append(ast.Dict(e.keys[:i] + e.keys[i + 1:], e.values[:i] + e.values[i + 1:]))
    elif isinstance(e, ast.Constant) and type(e.value) is int and 1 < abs(e.value) < 100:
        out += [ast.Constant(e.value // 2), ast.Constant(1), ast.Constant(0)]
    if not isinstance(e, (ast.Constant, ast.Tuple, ast.List, ast.Dict)):
        out += [ast.Constant(0), ast.Constant(1)]
    return out


def source_edits(source):
    """Every simplification of source, as edit descriptors for apply_edit, biggest first:
    dropping runs of statements (halves, quarters, ... single ones), replacing a compound
    statement by one of its bodies, replacing an expression of f by a simpler one."""
    tree = ast.parse(source)
    edits = []
    lists = list(_stmt_lists(tree))
    for li, (node, field) in enumerate(lists):
        n = len(getattr(node, field))
        size = n
        while size >= 1:
            for start in range(0, n - size + 1, size):
                edits.append(("drop", li, start, size))
            size //= 2
    for li, (node, field) in enumerate(lists):
        for i, stmt in enumerate(getattr(node, field)):
            if isinstance(stmt, (ast.If, ast.For, ast.While, ast.Try)):
                edits.append(("lift", li, i, "body"))
                if getattr(stmt, "orelse", None):
                    edits.append(("lift", li, i, "orelse"))
                if isinstance(stmt, ast.Try):
                    edits.append(("lift", li, i, "handler"))
    for si, (node, field, i) in enumerate(_expr_spots(tree)):
        cur = getattr(node, field) if i is None else getattr(node, field)[i]
        for ri in range(len(_replacements(cur))):
            edits.append(("expr", si, ri))
    return edits


def apply_edit(source, edit):
    """The source with one edit applied, or None when it makes no sense / does not compile."""
    tree = ast.parse(source)
    kind = edit[0]
    if kind in ("drop", "lift"):
        node, field = list(_stmt_lists(tree))[edit[1]]
        lst = getattr(node, field)
        if kind == "drop":
            _, _, start, size = edit
            part = lst[start:start + size]
            if any(isinstance(st, (ast.Import, ast.ImportFrom)) or
                   (isinstance(st, ast.FunctionDef) and st.name == "f") for st in part):
                return None
            del lst[start:start + size]
        else:
            stmt = lst[edit[2]]
            repl = (stmt.handlers[0].body if edit[3] == "handler" else getattr(stmt, edit[3]))
            lst[edit[2]:edit[2] + 1] = repl
        if not lst:
            lst.append(ast.Pass())
    else:
        node, field, i = list(_expr_spots(tree))[edit[1]]
        cur = getattr(node, field) if i is None else getattr(node, field)[i]
        repl = _replacements(cur)[edit[2]]
        if i is None:
            setattr(node, field, repl)
        else:
            getattr(node, field)[i] = repl
    ast.fix_missing_locations(tree)
    try:
        text = ast.unparse(tree) + "\n"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<candidate>", "exec")
    except (SyntaxError, ValueError, TypeError, RecursionError):
        return None
    return text if text != source else None


class Minimizer:
    """Greedy reduction of a failing program that keeps the failure's signature."""

    def __init__(self, prog, result, env=None, budget_seconds=300, batch=4, jobs=2,
                 log=None):
        self.prog = copy.deepcopy(prog)
        self.sig = result.get("sig")
        self.result = result
        self.env = env
        self.deadline = time.monotonic() + budget_seconds
        self.batch = batch
        self.jobs = max(1, jobs)
        self.log = log or (lambda msg: None)
        self.tests = 0

    def _matches(self, res):
        return res is not None and res.get("sig") == self.sig

    def first_match(self, candidates):
        """(index, result) of the first candidate program that fails the same way, or
        (None, None). Candidates are run `batch` per child, `jobs` children at once."""
        step = self.batch * self.jobs
        for start in range(0, len(candidates), step):
            if time.monotonic() > self.deadline:
                return None, None
            group = candidates[start:start + step]
            chunks = [group[k:k + self.batch] for k in range(0, len(group), self.batch)]
            self.tests += len(group)
            with concurrent.futures.ThreadPoolExecutor(len(chunks)) as pool:
                results = sum(pool.map(lambda c: run_programs(c, env=self.env,
                                                               alone_check=False), chunks), [])
            for j, res in enumerate(results):
                if self._matches(res):
                    if self.sig[0] in ("crash", "hang"):
                        # a crash in a child that ran other candidates first: is it its own?
                        alone = run_programs([group[j]], env=self.env)[0]
                        if not self._matches(alone):
                            continue
                        res = alone
                    return start + j, res
        return None, None

    def _with(self, **kw):
        p = copy.deepcopy(self.prog)
        p.update(kw)
        return p

    def _reduce_mixes(self):
        mixes = self.prog["mixes"]
        cands = []
        if str(self.result.get("mix", "")).startswith("mix "):
            m = int(self.result["mix"].split()[1])
            cands.append(self._with(mixes=[mixes[m]]))
            cands.append(self._with(mixes=mixes[:m + 1]))
        cands += [self._with(mixes=[mx]) for mx in mixes]
        i, res = self.first_match(cands)
        if i is not None:
            self.prog, self.best = cands[i], res
        changed = True
        while changed and len(self.prog["mixes"]) > 1:
            changed = False
            cands = [self._with(mixes=self.prog["mixes"][:k] + self.prog["mixes"][k + 1:])
                     for k in range(len(self.prog["mixes"]))]
            i, res = self.first_match(cands)
            if i is not None:
                self.prog, self.best, changed = cands[i], res, True
        if self.prog.get("storm") is not None:
            cand = self._with(storm=None)
            i, res = self.first_match([cand])
            if i is not None:
                self.prog, self.best = cand, res
        if self.prog.get("variant") == "all":
            cand = self._with(variant="warm")
            i, res = self.first_match([cand])
            if i is not None:
                self.prog, self.best = cand, res

    def _reduce_source(self):
        pos, progress_in_pass = 0, False
        while time.monotonic() < self.deadline:
            source = self.prog["source"]
            edits = source_edits(source)
            if pos >= len(edits):
                if not progress_in_pass:
                    return
                pos, progress_in_pass = 0, False
                continue
            cands, where = [], []
            while pos < len(edits) and len(cands) < self.batch * self.jobs:
                text = apply_edit(source, edits[pos])
                if text is not None:
                    cands.append(self._with(source=text))
                    where.append(pos)
                pos += 1
            if not cands:
                continue
            i, res = self.first_match(cands)
            if i is not None:
                self.prog, self.best = cands[i], res
                pos = where[i]  # the edit list of the new source continues about here
                progress_in_pass = True
                self.log("  reduced to %d lines (%d test runs)"
                         % (self.prog["source"].count("\n"), self.tests))

    def minimize(self):
        """(smallest failing program found, its result)."""
        self.best = self.result
        self._reduce_mixes()
        self.log("  mixes reduced to %d (%d test runs)" % (len(self.prog["mixes"]), self.tests))
        self._reduce_source()
        return self.prog, self.best


# ============================================================================ CLI

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return worker_main(argv[1:])
    p = argparse.ArgumentParser(prog="python3 -m tests.fuzz.run",
                                description="Differential fuzzing of coconut's JIT.")
    p.add_argument("-n", type=int, default=200, help="number of programs (default 200)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--seeds", default=None, help="comma-separated seeds instead of -n/--seed")
    p.add_argument("--size", default="normal", choices=sorted(gen.SIZES),
                   help="size of the generated functions (default normal; the test: small)")
    p.add_argument("--program", default=None,
                   help="run the programs of a JSON file: one program (a dict as gen.py "
                   "makes), a list of them, or a --json report")
    p.add_argument("-j", "--jobs", type=int, default=2, help="child processes at once")
    p.add_argument("--batch", type=int, default=20, help="programs per child process")
    p.add_argument("--minimize", dest="minimize", action="store_true", default=True,
                   help="minimize every failing program (the default)")
    p.add_argument("--no-minimize", dest="minimize", action="store_false")
    p.add_argument("--minimize-seconds", type=float, default=300,
                   help="time budget of one minimization (default 300)")
    p.add_argument("--show", action="store_true", help="print every program run")
    p.add_argument("--stub", nargs="?", const="1", default=None, metavar="MODE",
                   help="use tests/_stub_coconut.py instead of coconut (MODE 1, the "
                   "default: identity compile, nothing may fail; broken, crash:f, hang:f: "
                   "failures the fuzzer must report)")
    p.add_argument("--json", default=None, help="write the failures to this JSON file")
    p.add_argument("--loose-nan", action="store_true",
                   help="do not compare the sign and payload of NaNs (to look for other "
                   "bugs while NaN-sign ones are open)")
    a = p.parse_args(argv)

    env = {"PYTHONHASHSEED": "0"}
    if a.stub:
        env["COCONUT_TEST_STUB"] = a.stub
    if a.loose_nan:
        env["COCONUT_FUZZ_LOOSE_NAN"] = "1"
    t0 = time.monotonic()
    if a.program:
        with open(a.program) as fh:
            data = json.load(fh)
        # one program, a list of them, or a --json report (entries holding "program")
        progs = [data] if isinstance(data, dict) else \
            [d.get("program", d) if "source" not in d else d for d in data]
        results = {}
        for k, (prog, res) in enumerate(zip(progs, run_programs(progs, env=env))):
            results[prog.get("seed", k)] = (prog, res)
    else:
        seeds = ([int(s) for s in a.seeds.split(",") if s] if a.seeds
                 else list(range(a.seed, a.seed + a.n)))

        def progress(out, batch):
            bad = [s for s in batch if is_failure(out[s][1])]
            print("[%6.1fs] %d/%d programs run%s" % (
                time.monotonic() - t0, len(out), len(seeds),
                "; failing: %s" % ", ".join(map(str, bad)) if bad else ""), flush=True)
            for s in bad:
                res = out[s][1]
                first = (res.get("problems") or ["?"])[0].strip().splitlines()
                print("    seed %s: %s: %s" % (s, res["status"], first[0][:160] if first else ""),
                      flush=True)

        results = Fuzzer(a.jobs, a.batch, env, progress, a.size).run_seeds(seeds)
    counts = {}
    for prog, res in results.values():
        counts[res["status"]] = counts.get(res["status"], 0) + 1
        if a.show:
            print(gen.describe(prog))
            print("# => %s" % res["status"])
            for prob in res.get("problems", []):
                print(prob)
    failures = [(prog, res) for prog, res in results.values() if is_failure(res)]
    report = []
    for prog, res in sorted(failures, key=lambda pr: pr[0].get("seed") or 0):
        minimized = None
        if a.minimize and res.get("sig"):
            print("minimizing seed %s (%s)..." % (prog.get("seed"), " ".join(res["sig"])),
                  flush=True)
            mz = Minimizer(prog, res, env=env, budget_seconds=a.minimize_seconds,
                           jobs=a.jobs, log=lambda msg: print(msg, flush=True))
            minimized = mz.minimize()
        print(format_failure(prog, res, minimized), flush=True)
        report.append({"seed": prog.get("seed"), "program": prog, "result": res,
                       "minimized": minimized and {"program": minimized[0],
                                                   "result": minimized[1]}})
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=1)
    print("%d programs in %.1fs: %s" % (len(results), time.monotonic() - t0,
                                        ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    if failures:
        print("failing seeds: %s" % ", ".join(str(p.get("seed")) for p, _ in failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
