"""`python3 -m coconut`: run a whole program with the JIT on.

    python3 -m coconut [--threshold N] [--stats] [--stats-json FILE] [--perf-map] SCRIPT [ARGS...]
    python3 -m coconut [options] -m MODULE [ARGS...]
    python3 -m coconut [options] -c COMMAND [ARGS...]

The program runs as under `python3 SCRIPT` / `python3 -m MODULE`: the same sys.argv,
sys.path[0], `__main__` module, exit code, output and uncaught-exception traceback
(the runner's own frames are cut from it). Every code object is compiled on its
first entry after N entries. The options are also put in the environment
(COCONUT_JIT, COCONUT_THRESHOLD), so Python subprocesses of the program run with the
JIT too (see coconut/startup.py). With --perf-map, perf names compiled code
(COCONUT_PERF_MAP=1, also for subprocesses: see coconut/runtime/perfmap.py).
"""
from __future__ import annotations

import atexit
import os
import sys

from . import startup

_THIS_FILE = __file__


def _parser():
    import argparse                   # (only for what _quick_parse leaves: ~5 ms at start-up)
    p = argparse.ArgumentParser(
        prog="python3 -m coconut",
        description="Run a Python program with every hot function compiled by coconut.",
        usage="%(prog)s [--threshold N] [--sync] [--stats] [--stats-json FILE] [--perf-map] "
              "(SCRIPT | -m MODULE | -c COMMAND) [ARGS...]")
    p.add_argument("--threshold", type=int, default=None, metavar="N",
                   help=f"compile a code object on its first entry after N entries "
                        f"(0: on its first call; default {startup.DEFAULT_THRESHOLD})")
    p.add_argument("--stats", action="store_true",
                   help="print statistics to stderr at exit (counting executed "
                        "instructions slows the interpreted part down)")
    p.add_argument("--stats-json", metavar="FILE",
                   help="write the statistics as JSON to FILE at exit")
    p.add_argument("--sync", action="store_true",
                   help="compile on the program's thread: the entry that reaches the "
                        "threshold waits for gcc and runs compiled (default: gcc runs "
                        "on a compile thread while the program goes on interpreted)")
    p.add_argument("--native-count-only", action="store_true",
                   help="with --stats/--stats-json: count only the instructions run "
                        "natively, without the trace function that counts the "
                        "interpreter's (it makes CPython create a frame object for "
                        "every frame, which a program can notice)")
    p.add_argument("--perf-map", action="store_true",
                   help="write /tmp/perf-<pid>.map naming each compiled function for "
                        "perf (also in subprocesses: COCONUT_PERF_MAP=1)")
    p.add_argument("--no-subprocesses", action="store_true",
                   help="do not turn the JIT on in Python subprocesses")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("-m", dest="module", metavar="MODULE", help="run library module as a script")
    what.add_argument("-c", dest="command", metavar="COMMAND", help="run a program passed as a string")
    what.add_argument("script", nargs="?", metavar="SCRIPT", help="the program file")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    return p


def _split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """Our options end at the program: SCRIPT, or the argument of -m / -c."""
    takes_value = {"--threshold", "--stats-json", "-m", "-c"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-m", "-c"):
            return argv[:i + 2], argv[i + 2:]
        if a in takes_value:
            i += 2
        elif a.startswith("-") and a != "-":
            i += 1
        else:
            return argv[:i + 1], argv[i + 1:]
    return argv, []


_FLAGS = {"--stats": "stats", "--sync": "sync", "--native-count-only": "native_count_only",
          "--perf-map": "perf_map", "--no-subprocesses": "no_subprocesses"}


class _Options:
    """What _parser() gives, for the command lines _quick_parse reads itself."""

    def __init__(self):
        self.threshold = self.stats_json = self.module = self.command = self.script = None
        for name in _FLAGS.values():
            setattr(self, name, False)


def _quick_parse(ours: list[str]) -> _Options | None:
    """The usual command lines (SCRIPT, -m MODULE or -c COMMAND after the plain options
    of _parser) without argparse; None for anything else (help, an error, an option
    written `--threshold=N`), which argparse then reads and reports on."""
    opts, i = _Options(), 0
    while i < len(ours):
        a = ours[i]
        if a in _FLAGS:
            setattr(opts, _FLAGS[a], True)
            i += 1
        elif a in ("--threshold", "--stats-json") and i + 1 < len(ours):
            value = ours[i + 1]
            if a == "--stats-json":
                opts.stats_json = value
            elif value.isdigit():
                opts.threshold = int(value)
            else:
                return None
            i += 2
        elif a in ("-m", "-c") and i + 2 == len(ours):
            if a == "-m":
                opts.module = ours[i + 1]
            else:
                opts.command = ours[i + 1]
            return opts
        elif not a.startswith("-") and i + 1 == len(ours):
            opts.script = a
            return opts
        else:
            return None
    return None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ours, program_args = _split_argv(argv)
    opts = _quick_parse(ours) or _parser().parse_args(ours)
    if opts.threshold is not None and opts.threshold < 0:
        _parser().error("--threshold must be >= 0")
    threshold = startup.DEFAULT_THRESHOLD if opts.threshold is None else opts.threshold
    atexit.register(_exit_by_sigint)      # first registered: runs after every other
    if opts.perf_map:                     # before the runtime is loaded
        from .runtime import perfmap
        os.environ[perfmap.ENV] = "1"
        perfmap.enable()
    # The default mode waits for hot code to put the hook in; a threshold given
    # counts every entry from the start (startup.py, COCONUT_LAZY_HOOK).
    lazy_hook = os.environ.get(startup.ENV_LAZY_HOOK, "1" if opts.threshold is None else "0")
    startup.start(threshold, stats=opts.stats, stats_json=opts.stats_json,
                  subprocesses=not opts.no_subprocesses, background=not opts.sync,
                  count_interpreted=not opts.native_count_only,
                  lazy_hook=lazy_hook not in ("", "0"))
    if opts.module is not None:
        _run_module(opts.module, program_args)
    elif opts.command is not None:
        _run_command(opts.command, program_args)
    else:
        _run_script(opts.script, program_args)


def _fresh_main_module(file: str | None):
    """A new `__main__`, as pymain makes one: the runner's own module is replaced."""
    import types
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__ if isinstance(__builtins__, dict) else \
        __builtins__.__dict__
    if file is not None:
        import importlib.machinery
        main.__file__ = file
        main.__cached__ = None
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", file)
    else:
        import importlib.machinery
        main.__loader__ = importlib.machinery.BuiltinImporter
    sys.modules["__main__"] = main
    return main


def _run_code(code, main) -> None:
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        _report_uncaught(exc)


def _run_script(path: str, args: list[str]) -> None:
    sys.argv[:] = [path] + args
    if os.path.isdir(path) or _is_zipfile(path):
        # A directory or zip file with __main__.py, as pymain runs it.
        sys.path[0] = path
        import runpy
        _fresh_main_module(None)
        _run_guarded(lambda: runpy._run_module_as_main("__main__", False))
        return
    sys.path[0] = os.path.dirname(os.path.abspath(path)) if not sys.flags.safe_path else sys.path[0]
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        print(f"{sys.executable}: can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}",
              file=sys.stderr)
        sys.exit(2)
    path = os.path.abspath(path)            # as pymain does since 3.9: __file__ is absolute
    main = _fresh_main_module(path)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        _report_uncaught(exc)
    _run_code(code, main)


def _run_command(command: str, args: list[str]) -> None:
    sys.argv[:] = ["-c"] + args
    sys.path[0] = "" if not sys.flags.safe_path else sys.path[0]
    main = _fresh_main_module(None)
    try:
        code = compile(command, "<string>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        _report_uncaught(exc)
    _run_code(code, main)


def _run_module(name: str, args: list[str]) -> None:
    import runpy
    sys.argv[:] = ["-m"] + args     # runpy puts the module's file in argv[0]
    _fresh_main_module(None)        # runpy runs the module in __main__'s namespace
    _run_guarded(lambda: runpy._run_module_as_main(name, True))


def _run_guarded(run) -> None:
    try:
        run()
    except SystemExit:
        raise
    except BaseException as exc:
        _report_uncaught(exc)


def _is_zipfile(path: str) -> bool:
    if path.endswith(".py"):
        return False
    import zipfile
    try:
        return os.path.isfile(path) and zipfile.is_zipfile(path)
    except OSError:
        return False


def _report_uncaught(exc: BaseException) -> None:
    """What the interpreter does with an uncaught exception, minus our frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _THIS_FILE:
        tb = tb.tb_next
    exc.__traceback__ = tb
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
    sys.excepthook(type(exc), exc, tb)
    if isinstance(exc, KeyboardInterrupt):
        # The interpreter runs the atexit handlers, then kills itself with SIGINT
        # (exit status 130 in a shell): our handler, registered first, runs last.
        _state["sigint"] = True
    sys.exit(1)


_state = {"sigint": False}


def _exit_by_sigint() -> None:
    if _state["sigint"]:
        import signal
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


if __name__ == "__main__":
    main()
