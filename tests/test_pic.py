"""Polymorphic attribute and method caches (runtime/pic.py, lowering/caches.py
attr_pic / method_pic): where the sites get one, and the polymorphic corpus
(tests/corpus/polymorphic.py) also without inlining, which otherwise takes some of
those sites' calls (a guard on the inlined callee leaves native code instead)."""
import json

from tests import support
from tests._worker import PREFIX


def _ir(source: str, name: str, warm: str) -> str:
    res = support.run_python(["-c", f"""
import io, contextlib, coconut
{source}
{warm}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    coconut.dump({name}, 'ir')
print(out.getvalue())
"""])
    assert res.returncode == 0, res.stderr
    return res.stdout


SOURCE = """
import os
class Obj:
    def __init__(self):
        self.x = 1
    def m(self):
        return self.x
class Other(Obj):
    pass
def f(o):
    return o.x + o.m() + len(os.sep)
"""


def test_sites_without_feedback_get_polymorphic_caches():
    ir = _ir(SOURCE, "f", warm="")
    assert "coconut_attr_pic(" in ir and "coconut_method_pic(" in ir
    assert ir.count("coconut_attr_pic(") == 2          # o.x and os.sep


def test_one_type_gets_none():
    # the interpreter's forms, which never missed: LOAD_ATTR_INSTANCE_VALUE,
    # LOAD_METHOD_WITH_VALUES, LOAD_ATTR_MODULE
    ir = _ir(SOURCE, "f", warm="for _ in range(20): f(Obj())")
    assert "_pic(" not in ir


def test_forms_that_missed_get_one_too():
    ir = _ir(SOURCE, "f", warm="for i in range(40): f(Obj() if i % 2 else Other())")
    assert ir.count("coconut_attr_pic(") == 1 and ir.count("coconut_method_pic(") == 1
    assert "LOAD_ATTR_MODULE" not in ir or "<'sep'>" in ir


def test_switched_off():
    res = support.run_python(["-c", SOURCE + """
import io, contextlib, coconut
out = io.StringIO()
with contextlib.redirect_stdout(out):
    coconut.dump(f, 'ir')
print("pic" in out.getvalue())
"""], env={"COCONUT_PIC": "0"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-1] == "False"


def test_polymorphic_corpus_without_inlining():
    res = support.run_python(["-m", "tests._worker", "polymorphic"], timeout=400,
                             env={"COCONUT_INLINE": "0"})
    results = {}
    for line in res.stdout.splitlines():
        if line.startswith(PREFIX):
            ev = json.loads(line[len(PREFIX):])
            if ev["event"] == "result":
                results[ev["func"]] = ev["problems"]
    assert len(results) >= 16, (res.stdout[-2000:], res.stderr[-2000:])
    assert {k: v for k, v in results.items() if v} == {}
