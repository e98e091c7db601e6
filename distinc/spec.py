"""What a store trains: the model spec pinned by ``init``, and its training options."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from distinc.exceptions import ConfigurationError, LedgerFormatError

SPEC_FORMAT = 1

_POLICIES = {
    "on_modified": ("error", "skip", "retrain"),
    "on_missing": ("error", "warn"),
}


def _int_at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    def check(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    return check, f"an int >= {low}"


def _flag() -> tuple[Callable[[Any], bool], str]:
    return (lambda value: isinstance(value, bool)), "True or False"


# name -> (check, what the check requires); every option is validated here, once.
_OPTION_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "task_rows": _int_at_least(1),
    "prefetch": _int_at_least(1),
    "durable": _flag(),
}


@dataclass(frozen=True)
class TrainingOptions:
    """Settings that shape how updates run; stored in the spec, fixed for the store's life.

    Parameters
    ----------
    task_rows
        Consecutive small partitions are read and trained in one Dask task of about this many
        rows, so per-task scheduling cost stays small; each partition keeps its own ledger entry.
    prefetch
        How many tasks' worth of partitions the partial_fit stream reads ahead of the model.
    durable
        Durable mode: every write to the store is fsynced, files and folders, so a committed
        version survives a power cut (``distinc init --fsync``).
    """

    task_rows: int = 200_000
    prefetch: int = 2
    durable: bool = False

    def __post_init__(self) -> None:
        for name, (check, requirement) in _OPTION_RULES.items():
            value = getattr(self, name)
            if not check(value):
                raise ConfigurationError(
                    f"The {name!r} option must be {requirement}. Got {value!r} instead.",
                    option=name,
                )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown training option(s) {unknown}; known options are {sorted(known)}.",
                option=unknown[0],
            )
        return cls(**data)


@dataclass(frozen=True)
class ModelSpec:
    """The model a store trains, pinned at ``init`` and never rewritten.

    ``features`` and ``feature_types`` (Arrow type names) are pinned from the data at init, so
    every later partition is checked against them by column name. ``categorical`` names the
    features encoded as categories through vocabularies pinned version by version.
    """

    data: str
    model: str
    estimator: str
    strategy: str
    task: str
    target: str | None
    features: tuple[str, ...]
    feature_types: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    classes: tuple[Any, ...] | None = None
    categorical: tuple[str, ...] = ()
    storage_options: dict[str, Any] = field(default_factory=dict)
    options: TrainingOptions = field(default_factory=TrainingOptions)
    created_at: str = ""
    format: int = SPEC_FORMAT

    @property
    def is_supervised(self) -> bool:
        return self.target is not None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["features"] = list(self.features)
        data["feature_types"] = list(self.feature_types)
        data["classes"] = None if self.classes is None else list(self.classes)
        data["categorical"] = list(self.categorical)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        data = json.loads(text)
        if data.get("format", 0) > SPEC_FORMAT:
            raise LedgerFormatError(
                f"The store spec has format {data['format']}, newer than this distinc "
                f"understands ({SPEC_FORMAT}). Upgrade distinc; nothing was changed.",
                format=data["format"],
            )
        data["features"] = tuple(data["features"])
        data["feature_types"] = tuple(data["feature_types"])
        if data.get("classes") is not None:
            data["classes"] = tuple(data["classes"])
        data["categorical"] = tuple(data.get("categorical", ()))
        data["options"] = TrainingOptions.from_json(data.get("options", {}))
        return cls(**data)


def parse_policy(name: str, value: str) -> str:
    """Validate an update policy such as ``on_modified``."""
    allowed = _POLICIES[name]
    if value not in allowed:
        raise ConfigurationError(
            f"The {name!r} policy must be one of {list(allowed)}. Got {value!r} instead.",
            option=name,
        )
    return value
