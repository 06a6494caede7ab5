"""LOAD_GLOBAL's own site caches (runtime/namespaces.py, lowering/caches.py global_cached).

Each compiled LOAD_GLOBAL remembers the value it found and the version tags the globals
and builtins dicts had then, and checks the tags inline; only a miss calls coconut_load_global
(counted: Runtime.global_lookups). The tests change the namespaces in every way that
moves, hides or removes the entry (a new value, new keys and resizes, deletion and
re-insertion at another index, a non-str key that makes the table general, an equal
but not identical key string, a global that shadows a builtin, a changed builtin) and
check both the answers and that hits do not look the name up."""
from tests.support import get_coconut, in_subprocess

SOURCE = '''
BEFORE = "an entry before G_ONE's"
G_ONE = "one"

def read_one():
    return G_ONE

def use_len(s):
    return len(s)

def loop(n):
    total = 0
    for i in range(n):
        total += len(G_LIST) + i
    return total

G_LIST = [1, 2, 3]
'''


def _namespace():
    namespace = {"__builtins__": __import__("builtins").__dict__}
    exec(compile(SOURCE, "<global cache>", "exec"), namespace)
    co = get_coconut()
    for name in ("read_one", "use_len", "loop"):
        co.compile(namespace[name])
        assert co.is_compiled(namespace[name]), name
    return namespace


def _lookups():
    from coconut.runtime import jit
    return jit.runtime().global_lookups()


@in_subprocess()
def test_hits_do_not_look_up():
    g = _namespace()
    assert g["read_one"]() == "one"
    assert g["use_len"]("abcd") == 4
    before = _lookups()
    for _ in range(50):
        assert g["read_one"]() == "one"
        assert g["use_len"]("ab") == 2
    assert g["loop"](1000) == 3 * 1000 + 999 * 1000 // 2
    after_first = _lookups()
    assert after_first - before == 3, after_first - before      # loop: range, len, G_LIST once
    assert g["loop"](1000) == 3 * 1000 + 999 * 1000 // 2
    assert _lookups() == after_first


@in_subprocess()
def test_module_entry_moves():
    g = _namespace()
    assert g["read_one"]() == "one"
    g["G_ONE"] = "uno"                            # a new value in the same entry
    assert g["read_one"]() == "uno"
    del g["BEFORE"]                               # the resize below moves G_ONE down
    for i in range(200):                          # new keys, several resizes
        g["filler_%d" % i] = i
    assert g["read_one"]() == "uno"
    base = _lookups()
    assert g["read_one"]() == "uno"
    assert _lookups() == base                     # learned again after the resize
    del g["G_ONE"]
    try:
        g["read_one"]()
    except NameError as e:
        assert "G_ONE" in str(e)
    else:
        raise AssertionError("a deleted global was found")
    g["G_ONE"] = "again"                          # back, in another entry
    assert g["read_one"]() == "again"
    del g["G_ONE"]
    g["".join(["G_", "ONE"])] = "equal key"       # an equal key that is another object
    assert g["read_one"]() == "equal key"
    assert g["read_one"]() == "equal key"
    g[1] = "not a str key"                        # the table becomes a general one
    assert g["read_one"]() == "equal key"
    g["G_ONE"] = "general"
    assert g["read_one"]() == "general"


@in_subprocess()
def test_builtins_shadowed_and_changed():
    import builtins
    g = _namespace()
    assert g["use_len"]("abc") == 3
    g["len"] = lambda s: "shadowed"               # a new global hides the builtin
    assert g["use_len"]("abc") == "shadowed"
    del g["len"]
    assert g["use_len"]("abc") == 3
    original = builtins.len
    builtins.len = lambda s: "patched builtin"
    try:
        assert g["use_len"]("abc") == "patched builtin"
    finally:
        builtins.len = original
    assert g["use_len"]("abc") == 3
    for i in range(100):                          # the globals' keys change often
        g["more_%d" % i] = i
        assert g["use_len"]("ab") == 2
    g["len"] = lambda s: "late shadow"
    assert g["use_len"]("abc") == "late shadow"
    del g["len"]
    builtins.coconut_test_name = 1                # the builtins' keys change
    try:
        assert g["use_len"]("abcd") == 4
    finally:
        del builtins.coconut_test_name
    assert g["use_len"]("abcd") == 4
