"""Golden IR dumps (tests/golden/*.ir) and the pass example of docs/architecture.md,
compared whole with what the compiler produces now. After an intended change:

    PYTHONPATH=. python3 -m tests.golden --update
"""
import difflib

import pytest

from tests import golden


def _diff(have: str, want: str, what: str) -> str:
    lines = difflib.unified_diff(have.splitlines(), want.splitlines(), f"{what} (stored)",
                                 f"{what} (now)", lineterm="", n=2)
    return "\n".join(lines) + f"\n\nIf the change is intended: {golden.UPDATE}"


@pytest.mark.parametrize("name", sorted(golden.GOLDEN))
def test_golden_ir(name):
    with open(golden.path(name)) as f:
        have = f.read()
    want = golden.render(name)
    if have != want:
        pytest.fail(_diff(have, want, f"tests/golden/{name}.ir"), pytrace=False)


def test_architecture_doc_shows_the_passes_as_they_are():
    with open(golden.DOC) as f:
        section = golden.doc_section(f.read())
    assert section is not None, "docs/architecture.md lost the markers of its pass example"
    want = golden.render_doc()
    if section != want:
        pytest.fail(_diff(section, want, "docs/architecture.md"), pytrace=False)


def test_every_golden_file_is_listed():
    import glob
    import os
    stored = {os.path.splitext(os.path.basename(p))[0]
              for p in glob.glob(os.path.join(golden.HERE, "*.ir"))}
    assert stored == set(golden.GOLDEN), "tests/golden/*.ir and golden.GOLDEN disagree"
