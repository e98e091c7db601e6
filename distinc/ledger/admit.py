"""Admission: judge the profiles of the selected partitions before anything is committed.

Pure. ``problems_of`` judges one profile on its own (schema, values, labels), so the engine can
fail fast on whichever profile arrives first. ``Admitter`` takes profiles in training order and
also decides what to skip (empty files, duplicates). Every problem in every partition is
collected, so one failed update names them all instead of hiding the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distinc.dataset.categories import extend_vocabularies
from distinc.dataset.partition import Partition
from distinc.dataset.profile import PartitionProfile
from distinc.dataset.schema import ColumnContract, refused_type, schema_mismatches
from distinc.exceptions import (
    ConfigurationError,
    CorruptPartitionError,
    DataError,
    InvalidValueError,
    SchemaError,
    TooFewClassesError,
    UnseenLabelError,
    counted,
    listed,
)
from distinc.ledger.entry import SkippedPartition, TrainedPartition
from distinc.ledger.lineage import Lineage

# Most fundamental first: the error raised is of the first kind found.
_SEVERITY: tuple[type[DataError], ...] = (
    CorruptPartitionError,
    SchemaError,
    InvalidValueError,
    UnseenLabelError,
)


@dataclass(frozen=True)
class Problem:
    """One reason a partition cannot be learned."""

    kind: type[DataError]
    message: str
    partition: str
    column: str | None = None
    label: Any = None
    options: tuple[str, ...] = ()  # the options its message names, for the CLI to spell as flags

    def details(self) -> dict[str, Any]:
        found = {"partition": self.partition, "column": self.column, "label": self.label}
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class Admission:
    """What the update learns, in order, and what it set aside and why."""

    train: tuple[TrainedPartition, ...]
    skipped: tuple[SkippedPartition, ...] = ()
    classes: tuple[Any, ...] | None = None
    warnings: tuple[str, ...] = ()
    categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(part.rows for part in self.train)


def raise_problems(problems: Iterable[Problem]) -> None:
    """Raise one error for all ``problems``: the most fundamental first, the rest listed."""
    ordered = sorted(problems, key=lambda p: (_SEVERITY.index(p.kind), p.partition))
    if not ordered:
        return
    first = ordered[0]
    message = first.message
    if len(ordered) > 1:
        others = "; ".join(problem.message for problem in ordered[1:4])
        more = f" (+{len(ordered) - 4} more)" if len(ordered) > 4 else ""
        message = f"{message} Also: {others.removesuffix('.')}{more}."
    options = tuple(dict.fromkeys(name for problem in ordered[:4] for name in problem.options))
    raise first.kind(message, **first.details(), **({"options": options} if options else {}))


@functools.lru_cache(maxsize=64)
def _extra_columns(
    schema: tuple[tuple[str, str], ...], columns: tuple[str, ...]
) -> tuple[str, ...]:
    """The columns of ``schema`` that the contract ignores, sorted; cached like the above."""
    return tuple(sorted({name for name, _ in schema} - set(columns)))


def _schema_problems(profile: PartitionProfile, contract: ColumnContract) -> list[Problem]:
    key = profile.key
    problems = []
    for column, actual, pinned in schema_mismatches(
        profile.schema,
        contract.features,
        contract.feature_types,
        contract.target,
        numeric_target=contract.task == "regression",
    ):
        if pinned is None:
            message = f"Partition {key!r} has no target column {column!r}."
        elif actual is None:
            message = (
                f"Partition {key!r} has no column {column!r}, a feature of this model (columns "
                "are matched by name); add the column or move the file out of the dataset."
            )
        else:
            message = refused_type(key, column, actual, pinned)
        problems.append(Problem(SchemaError, message, key, column))
    return problems


def _value_problems(profile: PartitionProfile, contract: ColumnContract) -> list[Problem]:
    problems = []
    for health in profile.unhealthy:
        is_target = health.column == contract.target
        missing = health.missing if (is_target or not contract.allow_missing) else 0
        if not (missing or health.infinite):
            continue
        what = "target column" if is_target else "column"
        problems.append(
            Problem(
                InvalidValueError,
                f"The {what} {health.column!r} of partition {profile.key!r} has {missing} "
                f"missing/NaN and {health.infinite} infinite value(s); clean them before training.",
                profile.key,
                health.column,
            )
        )
    return problems


def _label_problems(profile: PartitionProfile, classes: tuple[Any, ...]) -> list[Problem]:
    known = set(classes)
    return [
        Problem(
            UnseenLabelError,
            f"Partition {profile.key!r} has label {label!r} ({counted(count, 'row')}), which is "
            f"not among the model's classes {listed(classes)}; declare every class at init "
            "(the 'classes' option) or remove those rows.",
            profile.key,
            label=label,
            options=("classes",),
        )
        for label, count in profile.labels
        if label not in known
    ]


def problems_of(
    profile: PartitionProfile, contract: ColumnContract, classes: tuple[Any, ...] | None
) -> list[Problem]:
    """Everything wrong with one partition on its own; ``classes=None`` skips label checks."""
    if profile.problem is not None:
        message = (
            f"Partition {profile.key!r}: {profile.problem}. Replace or remove the file; it was "
            "not trained."
        )
        return [Problem(CorruptPartitionError, message, profile.key)]
    if profile.rows == 0:
        return []
    problems = _schema_problems(profile, contract) + _value_problems(profile, contract)
    if classes is not None and contract.task == "classification":
        problems += _label_problems(profile, classes)
    return problems


def sorted_labels(labels: Iterable[Any]) -> tuple[Any, ...]:
    found = set(labels)
    try:
        return tuple(sorted(found))
    except TypeError as exc:
        raise ConfigurationError(
            f"The labels {sorted(map(repr, found))} mix types and cannot be ordered; make the "
            "target column one type.",
        ) from exc


def _refuse_continuous(classes: tuple[Any, ...], target: str | None) -> None:
    """Refuse inferred classes that are fractional numbers: a classifier given a continuous
    target would learn every distinct value as a class, and silently."""
    fractional = [label for label in classes if isinstance(label, float) and not label.is_integer()]
    if fractional:
        raise ConfigurationError(
            f"The target column {target!r} holds {len(classes):,} distinct values, "
            f"{len(fractional):,} of them fractional (such as {fractional[0]!r}), but the model "
            "is a classifier and would learn every value as a class. For a continuous target, "
            "init a store with a regressor (such as XGBRegressor or SGDRegressor).",
            column=target,
        )


def _ignored(extra: tuple[tuple[str, ...], list[str]]) -> str:
    """The warning for partitions with columns the model does not use.

    Examples
    --------
    >>> _ignored((("c",), ["a.parquet"]))
    "partition 'a.parquet': extra column(s) ['c'] ignored"
    >>> _ignored((("c", "d"), ["a.parquet", "b.parquet"]))
    "2 partitions ('a.parquet', ...): extra column(s) ['c', 'd'] ignored"
    """
    columns, keys = extra
    where = (
        f"partition {keys[0]!r}"
        if len(keys) == 1
        else f"{len(keys):,} partitions ({keys[0]!r}, ...)"
    )
    return f"{where}: extra column(s) {list(columns)} ignored"


class Admitter:
    """Judges profiles one by one in training order; pure, no I/O.

    ``classes`` are the classes already pinned (by the lineage or at init); ``None`` means they
    are inferred from every admitted label at the end, and labels are not checked.
    """

    def __init__(
        self,
        *,
        contract: ColumnContract,
        lineage: Lineage,
        classes: tuple[Any, ...] | None,
        allow_new_classes: bool = False,
        skip_corrupt: bool = False,
    ) -> None:
        self.contract = contract
        self.skip_corrupt = skip_corrupt
        self.pinned = classes if contract.task == "classification" else None
        self.allow_new_classes = allow_new_classes
        self.digests = dict(lineage.digests)
        self.pinned_categories = lineage.categories
        self.seen_categories: dict[str, set[Any]] = {}
        self.train: list[TrainedPartition] = []
        self.skipped: list[SkippedPartition] = []
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.labels: set[Any] = set()
        # extra columns -> the partitions that have them, warned about once per set of columns
        self.extra_columns: dict[tuple[str, ...], list[str]] = {}

    def judge(
        self,
        part: Partition,
        profile: PartitionProfile,
        problems: list[Problem] | None = None,
    ) -> TrainedPartition | None:
        """Record the verdict on ``part``; the record to learn it under, or ``None``.

        ``problems`` are ``problems_of`` this profile when the caller already has them.
        """
        fp = part.fingerprint
        if problems is None:
            checked = None if self.allow_new_classes else self.pinned
            problems = problems_of(profile, self.contract, checked)
        if self.quarantines(problems):
            reason = f"corrupt: {profile.problem}"
            self.skipped.append(SkippedPartition(part.key, fp.size, fp.token, reason))
            self.warnings.append(
                f"partition {part.key!r} is {profile.problem} and was skipped by policy; it is "
                "tried again once the file changes"
            )
            return None
        if problems:
            self.problems += problems
            return None
        if profile.rows == 0:
            self.skipped.append(SkippedPartition(part.key, fp.size, fp.token, "empty"))
            self.warnings.append(f"partition {part.key!r} is empty and was skipped")
            return None
        twin = self.digests.get(profile.digest)
        if twin is not None and twin != part.key:
            self.skipped.append(
                SkippedPartition(part.key, fp.size, fp.token, f"duplicate of {twin}")
            )
            self.warnings.append(f"partition {part.key!r} duplicates {twin!r} and was skipped")
            return None
        self.digests[profile.digest] = part.key
        extra = _extra_columns(profile.schema, self.contract.columns)
        if extra:
            self.extra_columns.setdefault(extra, []).append(part.key)
        self.labels.update(label for label, _ in profile.labels)
        for column, values in profile.categories:
            self.seen_categories.setdefault(column, set()).update(values)
        learned = TrainedPartition(part.key, fp.size, fp.token, profile.rows, profile.digest)
        self.train.append(learned)
        return learned

    def quarantines(self, problems: Sequence[Problem]) -> bool:
        """Whether ``problems`` only say the file is not readable Parquet, which the policy
        skips (recorded with its fingerprint, so a rewritten file is planned again)."""
        return (
            self.skip_corrupt
            and bool(problems)
            and all(problem.kind is CorruptPartitionError for problem in problems)
        )

    def classes(self) -> tuple[Any, ...] | None:
        if self.contract.task != "classification":
            return None
        if self.pinned is None:
            return sorted_labels(self.labels) if self.labels else None
        new = self.labels - set(self.pinned)
        return tuple(self.pinned) + sorted_labels(new) if new else tuple(self.pinned)

    def result(self) -> Admission:
        """The admission, or the error naming every problem seen."""
        raise_problems(self.problems)
        classes = self.classes()
        if self.pinned is None and classes is not None:  # inferred: check what was found
            _refuse_continuous(classes, self.contract.target)
            if len(classes) < 2:
                keys = [part.key for part in self.train]
                raise TooFewClassesError(
                    f"The classes of this classifier are inferred from its first update, but its "
                    f"{len(keys)} partition(s) ({', '.join(map(repr, keys[:3]))}"
                    f"{', ...' if len(keys) > 3 else ''}) hold only the label {classes[0]!r}. "
                    "Declare every class at init (the 'classes' option) or add data with the "
                    "others.",
                    partition=keys[0],
                    label=classes[0],
                    options=("classes",),
                )
        categories = extend_vocabularies(self.pinned_categories, self.seen_categories)
        warnings = (*self.warnings, *map(_ignored, self.extra_columns.items()))
        return Admission(tuple(self.train), tuple(self.skipped), classes, warnings, categories)


def admit(
    selected: Sequence[Partition],
    profiles: Mapping[str, PartitionProfile],
    *,
    contract: ColumnContract,
    lineage: Lineage,
    declared_classes: tuple[Any, ...] | None = None,
    allow_new_classes: bool = False,
) -> Admission:
    """Decide which selected partitions to learn, or raise naming every bad one."""
    admitter = Admitter(
        contract=contract,
        lineage=lineage,
        classes=lineage.classes or declared_classes,
        allow_new_classes=allow_new_classes,
    )
    for part in selected:
        admitter.judge(part, profiles[part.key])
    return admitter.result()
