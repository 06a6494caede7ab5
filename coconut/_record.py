"""record: the part of `dataclasses` the compiler uses, cheap to apply at import.

The compiler's data types (the IR's ~30 ops and values, the front end's instructions,
the type analysis' states) were dataclasses. `@dataclass` costs 0.6 ms per class
(1 ms frozen) on this project's machines: it writes and `exec`s the source of
`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and `__delattr__` one by
one, and importing `dataclasses` imports `inspect`, `ast` and `tokenize` (~9 ms).
Together that was ~35 ms of the first compile of every process, which whole-program
mode's compile budget charges to the program (runtime/jit.py: the first compile could
not start before ~0.7 s of the program had run). `@record` makes the same classes with
one small `exec` per class (`__init__`, so that its signature names the fields, as
hypothesis and readers expect); equality, hashing and repr are shared functions over
the fields, read with one `operator.attrgetter`.

What it keeps of dataclasses: fields from the class's annotations, in order; defaults
and `field(default_factory=...)`; `__eq__` between instances of the same class,
comparing the fields as a tuple (`eq=False`: identity; a class's own `__eq__` and
`__hash__` stay); `frozen=True`: hashable, assignment raises
`FrozenInstanceError` (an AttributeError); not frozen: unhashable (`__hash__` None,
as dataclasses does for eq without frozen); `__repr__`; `replace(obj, **changes)`;
`fields(obj_or_class)`. Not kept: ordering, `__match_args__`, `__post_init__`, slots,
inheritance of fields (no record here subclasses another).
"""
from __future__ import annotations

from operator import attrgetter

__all__ = ["record", "field", "replace", "fields", "FrozenInstanceError"]

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    """One field of a record: its name, its annotation (a string: every module using
    records has `from __future__ import annotations`), its default or default factory."""
    __slots__ = ("name", "type", "default", "default_factory")

    def __init__(self, name, type_, default=_MISSING, default_factory=_MISSING):
        self.name, self.type = name, type_
        self.default, self.default_factory = default, default_factory

    def __repr__(self):
        return f"Field({self.name!r}, {self.type!r})"


class _Spec:
    __slots__ = ("default", "default_factory")

    def __init__(self, default, default_factory):
        self.default, self.default_factory = default, default_factory


def field(*, default=_MISSING, default_factory=_MISSING):
    """A field's default (`default_factory`: called for each new instance)."""
    return _Spec(default, default_factory)


def fields(obj_or_cls) -> tuple:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return tuple(cls.__record_fields__.values())


def replace(obj, **changes):
    """A copy of `obj` with `changes` to its fields."""
    cls = type(obj)
    for name in cls.__record_fields__:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return cls(**changes)


def _eq(self, other):
    if other.__class__ is self.__class__:
        return self.__record_key__(self) == self.__record_key__(other)
    return NotImplemented


def _hash(self):
    return hash(self.__record_key__(self))


def _repr(self):
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
    return f"{type(self).__qualname__}({inner})"


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def record(cls=None, *, frozen: bool = False, eq: bool = True):
    """Make `cls` a record (see the module docstring): `@record`,
    `@record(frozen=True)`; `eq=False`: compared and hashed by identity."""
    if cls is None:
        return lambda c: _make(c, frozen, eq)
    return _make(cls, frozen, eq)


def _make(cls, frozen: bool, eq: bool):
    annotations = cls.__dict__.get("__annotations__", {})
    found = {}
    for name, type_ in annotations.items():
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Spec):
            f = Field(name, type_, value.default, value.default_factory)
            if value.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
        else:
            f = Field(name, type_, value)
        found[name] = f
    # __init__: `def __init__(self, a, b=_d_b, c=_MISSING): self.a = a ...`
    params, body, env = [], [], {"_MISSING": _MISSING, "_set": object.__setattr__}
    defaulted = False
    for name, f in found.items():
        if f.default_factory is not _MISSING or f.default is not _MISSING:
            defaulted = True
        elif defaulted:
            raise TypeError(f"{cls.__name__}: field {name} without a default "
                            f"follows one with a default")
        if f.default_factory is not _MISSING:
            env[f"_f_{name}"] = f.default_factory
            params.append(f"{name}=_MISSING")
            value = f"_f_{name}() if {name} is _MISSING else {name}"
        elif f.default is not _MISSING:
            env[f"_d_{name}"] = f.default
            params.append(f"{name}=_d_{name}")
            value = name
        else:
            params.append(name)
            value = name
        body.append(f"    _set(self, {name!r}, {value})" if frozen else
                    f"    self.{name} = {value}")
    source = (f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"]))
    exec(source, env)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    cls.__record_fields__ = found
    names = tuple(found)
    key = attrgetter(*names) if names else (lambda self: ())
    cls.__record_key__ = staticmethod(key)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    own = cls.__dict__
    if eq and "__eq__" not in own:           # (a class's own __eq__/__hash__ stay)
        cls.__eq__ = _eq
        if frozen:
            cls.__hash__ = _hash
        else:
            cls.__hash__ = None
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
    return cls
