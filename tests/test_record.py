"""coconut/_record.py: what the compiler relies on of dataclasses, kept."""
from __future__ import annotations

import pytest

from coconut._record import FrozenInstanceError, field, fields, record, replace


@record(frozen=True)
class Point:
    x: int
    y: int = 0


@record
class Box:
    name: str
    items: list = field(default_factory=list)
    note: str = ""


@record(frozen=True, eq=False)
class Handle:
    obj: object


def test_fields_defaults_and_factories():
    assert Point(1) == Point(1, 0) and Point(1, 2) != Point(2, 1)
    a, b = Box("a"), Box("b")
    assert a.items == [] and a.items is not b.items and a.note == ""
    assert [f.name for f in fields(Box)] == ["name", "items", "note"]
    assert [f.type for f in fields(Point(1))] == ["int", "int"]
    assert Box(name="n", note="x").note == "x"
    with pytest.raises(TypeError):
        Point()


def test_equality_hashing_and_frozen():
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and {Point(1, 2): 1}[Point(1, 2)] == 1
    assert Point(1, 2) != (1, 2)
    with pytest.raises(FrozenInstanceError):
        Point(1).x = 3
    with pytest.raises(AttributeError):
        del Point(1).y
    with pytest.raises(TypeError):           # not frozen: unhashable, as with dataclasses
        hash(Box("a"))
    box = Box("a")
    box.name = "b"
    assert box == Box("b")
    h = Handle(1)
    assert h != Handle(1) and h == h and hash(h) == object.__hash__(h)


def test_replace_and_repr():
    p = replace(Point(1, 2), y=5)
    assert p == Point(1, 5)
    b = Box("a", [1])
    c = replace(b, note="n")
    assert c == Box("a", [1], "n") and c.items is b.items
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    assert Point.__init__.__code__.co_varnames[:3] == ("self", "x", "y")


def test_a_class_keeps_its_own_equality():
    @record(frozen=True)
    class Loose:
        v: float

        def __eq__(self, other):
            return isinstance(other, Loose) and str(self.v) == str(other.v)

        def __hash__(self):
            return hash(str(self.v))

    assert Loose(0.0) != Loose(-0.0) and Loose(1.0) == Loose(1.0)
    assert hash(Loose(1.0)) == hash("1.0")
