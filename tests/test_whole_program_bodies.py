"""Whole programs under `python3 -m coconut --threshold 0` (every code object compiled,
module and class bodies included) print and raise exactly what plain python3 does:
module-level imports and from-imports (failing ones too), star imports, class bodies
with annotations and __prepare__ namespaces, `global`, del of names / globals /
attributes, with-statements, star calls with mappings, extended unpacking."""
import os
import subprocess
import sys
import textwrap

import pytest

from tests import support

ROOT = os.path.dirname(support.TESTS_DIR)

PROGRAM = textwrap.dedent('import os, sys\nimport os.path as osp\nfrom collections import OrderedDict, namedtuple\nfrom json import dumps as _dumps\nprint(osp.basename("/a/b"), OrderedDict(a=1), _dumps([1]))\ntry:\n    from os import does_not_exist\nexcept ImportError as e:\n    print("ImportError:", e, e.name)\ntry:\n    import no_such_module_xyz\nexcept ImportError as e:\n    print("ImportError:", e, e.name)\nfrom math import *\nprint(floor(2.5))\nX = 1\ndef g():\n    global X, Y\n    X = X + 1\n    Y = 5\n    del Y\n    try:\n        del Y\n    except NameError as e:\n        print("NameError:", e)\ng(); print(X)\nclass Meta(type):\n    @classmethod\n    def __prepare__(mcs, name, bases):\n        class NS(dict):\n            def __setitem__(self, k, v):\n                print("set", k); super().__setitem__(k, v)\n        return NS()\nclass A(metaclass=Meta):\n    x: int = 3\n    y = x + 1\n    def m(self): return self.y\nprint(A().m(), A.__annotations__)\nclass B:\n    a: int\n    b: str = "s"\n    z = 1\n    del z\n    try:\n        del z\n    except NameError as e:\n        print("NameError:", e)\n    try:\n        print(undefined_name)\n    except NameError as e:\n        print("NameError:", e)\nprint(B.__annotations__)\ndef outer():\n    v = 10\n    class C:\n        w = v\n        def f(self): return v\n    return C.w, C().f()\nprint(outer())\nclass CM:\n    def __enter__(self): print("enter"); return self\n    def __exit__(self, *a): print("exit", a[0]); return False\nwith CM() as c:\n    print("body")\ntry:\n    with object():\n        pass\nexcept TypeError as e:\n    print("TypeError:", e)\nclass NoExit:\n    def __enter__(self): return 1\ntry:\n    with NoExit():\n        pass\nexcept TypeError as e:\n    print("TypeError:", e)\ndef f(*args, **kwargs): return args, kwargs\nclass D(dict): pass\nprint(f(*[1, 2], **D(a=1)), f(*(3,), x=1, **{"y": 2}), f(*range(3)))\nclass M:\n    def keys(self): return ["k"]\n    def __getitem__(self, k): return 42\nprint(f(**M()), {**M()}, {**{"a": 1}, **{"b": 2}})\nfor bad in (lambda: f(**1), lambda: f(x=1, **{"x": 2}), lambda: f(*1), lambda: {**1}, lambda: [*1], lambda: f(**{"a":1}, **{"a":2})):\n    try:\n        bad()\n    except TypeError as e:\n        print("TypeError:", e)\na, *b, c = [1, 2, 3, 4]\nd, *e = (5, 6)\n*h, i = "xyz"\nprint(a, b, c, d, e, h, i)\ntry:\n    a, *b, c = [1]\nexcept ValueError as e2:\n    print("ValueError:", e2)\nprint([*range(3), *"ab"], (*[1], 2), {*[1, 2], 3})\nclass P:\n    q = 1\np = P(); p.r = 2; del p.r\ntry:\n    del p.r\nexcept AttributeError as e:\n    print("AttributeError:", e)\ndef cells():\n    z = 1\n    def h(): return z\n    del z\n    try:\n        h()\n    except NameError as e:\n        print("NameError:", e)\ncells()\nprint(__name__, X)\n')

UNCAUGHT = {
    "import_error": "import os\nx = 1\nfrom os import not_there_at_all\n",
    "module_not_found": "import sys\nimport no_such_module_for_coconut\n",
    "name_error": "a = 1\ndel a\nprint(a)\n",
    "with_error": "class A:\n    def __enter__(self): return self\nwith A():\n    pass\n",
    "kwargs_error": "def f(**k): pass\nf(**{'a': 1}, **{'a': 2})\n",
    "class_body_error": "class C:\n    x: int = 1\n    y = undefined_in_class\n",
}


def _run(path, jit):
    cmd = [sys.executable] + (["-m", "coconut", "--threshold", "0", "--sync"] if jit else []) + [path]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                          cwd=os.path.dirname(path))
    return proc.returncode, proc.stdout, proc.stderr


def _compare(tmp_path, name, source):
    path = tmp_path / (name + ".py")
    path.write_text(source)
    (tmp_path / "star_source.py").write_text(
        "__all__ = ['visible', 'VALUE']\nvisible = lambda: 'v'\nVALUE = 3\nhidden = 4\n")
    assert _run(str(path), jit=True) == _run(str(path), jit=False)


def test_program_output_matches(tmp_path):
    _compare(tmp_path, "prog", PROGRAM + "from star_source import *\nprint(visible(), VALUE)\n")


@pytest.mark.parametrize("name", sorted(UNCAUGHT))
def test_uncaught_error_matches(tmp_path, name):
    _compare(tmp_path, name, UNCAUGHT[name])
