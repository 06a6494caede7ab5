"""Child side of ``support.in_subprocess``: python -m tests._runner MODULE QUALNAME KWARGS_JSON.

Exit 0 when the test body returns; on an exception print the traceback, with the local
variables of the innermost test-suite frames (plain asserts are not rewritten here), and
exit 1.
"""
import importlib
import json
import os
import sys
import traceback

from tests import support


def main():
    support.child_setup()
    modname, qualname, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    mod = importlib.import_module(modname)
    obj = mod
    for part in qualname.split("."):
        obj = getattr(obj, part)
    body = getattr(obj, "__wrapped__", obj)
    try:
        body(**kwargs)
    except BaseException as exc:  # noqa: BLE001 - report everything
        sys.stdout.flush()
        traceback.print_exc()
        print("\n----- locals of test-suite frames -----", file=sys.stderr)
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename.startswith(support.TESTS_DIR + os.sep) \
                    and not code.co_filename.endswith("_runner.py"):
                print("%s (%s:%d):" % (code.co_name, os.path.basename(code.co_filename),
                                       tb.tb_lineno), file=sys.stderr)
                for name, value in tb.tb_frame.f_locals.items():
                    try:
                        text = repr(value)
                    except Exception as e:  # noqa: BLE001
                        text = "<repr failed: %r>" % e
                    if len(text) > 2000:
                        text = text[:2000] + "..."
                    print("    %s = %s" % (name, text), file=sys.stderr)
            tb = tb.tb_next
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    main()
