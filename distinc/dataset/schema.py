"""The columns a model expects, and which Arrow types may stand in for the pinned ones."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from distinc.spec import ModelSpec


@dataclass(frozen=True)
class ColumnContract:
    """The columns every partition must provide, by name, with their pinned Arrow types.

    ``categorical`` features are read as codes in ``vocabularies`` (a version's pinned
    categories); values outside a vocabulary read as NaN.
    """

    features: tuple[str, ...]
    feature_types: tuple[str, ...]
    target: str | None = None
    task: str = "classification"
    allow_missing: bool = False
    categorical: tuple[str, ...] = ()
    vocabularies: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.features + ((self.target,) if self.target is not None else ())

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, vocabularies: Mapping[str, Sequence[Any]] | None = None
    ) -> ColumnContract:
        return cls(
            features=spec.features,
            feature_types=spec.feature_types,
            target=spec.target,
            task=spec.task,
            allow_missing=spec.strategy == "xgboost",
            categorical=spec.categorical,
            vocabularies={name: tuple(v) for name, v in (vocabularies or {}).items()},
        )


def type_kind(arrow_type: pa.DataType) -> str:
    """``bool``, ``int``, ``float``, ``string``, ``category`` or ``other``."""
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return "category"
    return "other"


def parse_type(name: str) -> pa.DataType | None:
    """The Arrow type behind a type name such as ``"int64"``, when it is a simple one."""
    try:
        return pa.type_for_alias(name)
    except ValueError:
        return None


def kind_of(name: str) -> str:
    """The kind of a type name; dictionary (categorical) types are ``category``.

    Examples
    --------
    >>> kind_of("double"), kind_of("large_string")
    ('float', 'string')
    >>> kind_of("dictionary<values=string, indices=int8, ordered=0>")
    'category'
    """
    if name.startswith("dictionary<"):
        return "category"
    parsed = parse_type(name)
    return "other" if parsed is None else type_kind(parsed)


def is_numeric(name: str) -> bool:
    return kind_of(name) in ("bool", "int", "float")


def accepts(pinned: str, observed: str) -> bool:
    """Whether a column pinned as ``pinned`` may arrive as ``observed``: safe widenings only.

    Examples
    --------
    >>> accepts("double", "int64")
    True
    >>> accepts("int64", "double")
    False
    >>> accepts("int64", "int32")
    True
    >>> accepts("int32", "int64")
    False
    >>> accepts("double", "string")
    False
    """
    if observed == pinned:
        return True
    target, found = parse_type(pinned), parse_type(observed)
    if target is None or found is None:
        return False
    want, got = type_kind(target), type_kind(found)
    if want == "float":
        if got == "float":
            return found.bit_width <= target.bit_width
        return got in ("int", "bool")
    if want == "int":
        if got == "bool":
            return True
        if got != "int":
            return False
        if pa.types.is_signed_integer(target) == pa.types.is_signed_integer(found):
            return found.bit_width <= target.bit_width
        return pa.types.is_signed_integer(target) and found.bit_width < target.bit_width
    if want in ("string", "category"):
        return kind_of(observed) in ("string", "category")
    return False


@functools.lru_cache(maxsize=64)
def schema_mismatches(
    schema: tuple[tuple[str, str], ...],
    features: tuple[str, ...],
    feature_types: tuple[str, ...],
    target: str | None,
    numeric_target: bool = False,
) -> tuple[tuple[str, str | None, str | None], ...]:
    """``(column, its type in the file or None, the pinned type or None for the target)`` for
    every contract column a partition of ``schema`` lacks or holds in a refused type; with
    ``numeric_target`` (a regression), a target that is not a number is refused as if pinned
    double. Cached: a dataset's partitions mostly share one schema.

    Examples
    --------
    >>> schema_mismatches((("a", "string"), ("b", "int32")), ("a", "b", "c"),
    ...                   ("double", "int64", "double"), "y")
    (('a', 'string', 'double'), ('c', None, 'double'), ('y', None, None))
    >>> schema_mismatches((("y", "string"),), (), (), "y", numeric_target=True)
    (('y', 'string', 'double'),)
    """
    found = dict(schema)
    mismatches: list[tuple[str, str | None, str | None]] = [
        (column, found.get(column), pinned)
        for column, pinned in zip(features, feature_types, strict=True)
        if column not in found or not accepts(pinned, found[column])
    ]
    if target is not None and target not in found:
        mismatches.append((target, None, None))
    elif target is not None and numeric_target and not is_numeric(found[target]):
        mismatches.append((target, found[target], "double"))
    return tuple(mismatches)


def refused_type(key: str, column: str, actual: str, pinned: str) -> str:
    """What to tell the user about a column of a type the model does not accept."""
    return (
        f"Column {column!r} of partition {key!r} is {actual}, but the model pinned {pinned}; a "
        "file may hold only the pinned type or one that converts to it without loss (int32 for "
        f"int64, integers for double), so cast the column to {pinned} when writing the file."
    )
