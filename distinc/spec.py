"""What a store trains: the model spec pinned by ``init``, and its training options."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from distinc.exceptions import ConfigurationError, LedgerFormatError

SPEC_FORMAT = 1

_POLICIES = {
    "on_modified": ("error", "skip", "retrain"),
    "on_missing": ("error", "warn"),
    "on_corrupt": ("error", "skip"),
}


def _int_at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    def check(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    return check, f"an int >= {low}"


def _flag() -> tuple[Callable[[Any], bool], str]:
    return (lambda value: isinstance(value, bool)), "True or False"


def _optional(rule: tuple[Callable[[Any], bool], str]) -> tuple[Callable[[Any], bool], str]:
    check, requirement = rule
    return (lambda value: value is None or check(value)), f"None or {requirement}"


def _one_of(*allowed: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: value in allowed), f"one of {list(allowed)}"


def _number_in(low: float, high: float, *, high_open: bool) -> tuple[Callable[[Any], bool], str]:
    def check(value: Any) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return low <= value < high if high_open else low <= value <= high

    return check, f"a number in [{low}, {high}{')' if high_open else ']'}"


def _finite_at_least(low: float) -> tuple[Callable[[Any], bool], str]:
    def check(value: Any) -> bool:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and math.isfinite(value) and value >= low

    return check, f"a finite number >= {low}"


def _number_between(low: float, high: float | None) -> tuple[Callable[[Any], bool], str]:
    def check(value: Any) -> bool:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and low < value and (high is None or value < high)

    return check, f"a number > {low}" + ("" if high is None else f" and < {high}")


# name -> (check, what the check requires); every option is validated here, once.
_OPTION_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "task_rows": _int_at_least(1),
    "prefetch": _int_at_least(1),
    "durable": _flag(),
    # XGBoost continuation
    "rounds": _int_at_least(1),
    "update_rounds": _int_at_least(1),
    "xgb_mode": _one_of("add", "refresh", "add+refresh"),
    "replay_fraction": _number_in(0.0, 1.0, high_open=True),
    "reservoir_rows": _int_at_least(1),
    "decay_half_life": _optional(_number_between(0, None)),
    "validation": _optional((lambda value: isinstance(value, str) and bool(value), "a URL")),
    "early_stopping_rounds": _optional(_int_at_least(1)),
    "xgb_backend": _one_of("auto", "local", "dask"),
    "xgb_collective_timeout": _int_at_least(1),
    # per-delta ensemble
    "max_members": _optional(_int_at_least(1)),
    "member_rows": _int_at_least(1),
    "combiner": _one_of("vote", "stacking"),
    "stacking_fraction": _number_between(0, 1),
    "allow_new_classes": _flag(),
    # partial_fit stream
    "epochs": _int_at_least(1),
    "fit_batch_mb": _finite_at_least(0),
    # encodings for models without native categorical support
    "encoding": _one_of("vocabulary", "hash"),
    "encoding_width": _int_at_least(1),
    "scale": _one_of("none", "standard", "maxabs"),
}

# Options only some strategies honour; any other strategy refuses a non-default value.
OPTION_STRATEGIES: dict[str, tuple[str, ...]] = {
    "max_members": ("ensemble",),
    "member_rows": ("ensemble",),
    "combiner": ("ensemble",),
    "stacking_fraction": ("ensemble",),
    "allow_new_classes": ("ensemble",),
    "decay_half_life": ("ensemble", "xgboost"),
    "epochs": ("stream",),
    "fit_batch_mb": ("stream",),
    "rounds": ("xgboost",),
    "update_rounds": ("xgboost",),
    "xgb_mode": ("xgboost",),
    "replay_fraction": ("xgboost",),
    "reservoir_rows": ("xgboost",),
    "validation": ("xgboost",),
    "early_stopping_rounds": ("xgboost",),
    "xgb_backend": ("xgboost",),
    "xgb_collective_timeout": ("xgboost",),
    "encoding": ("stream", "merge", "ensemble"),
    "encoding_width": ("stream", "merge", "ensemble"),
    "scale": ("stream", "ensemble"),
}


@dataclass(frozen=True)
class TrainingOptions:
    """Settings that shape how updates run; stored in the spec, fixed for the store's life.

    Parameters
    ----------
    task_rows
        Ignored; kept so that specs stored by earlier versions open. (The scan sizes its tasks
        from the files' sizes; ``fit_batch_mb`` batches ``partial_fit`` calls.)
    prefetch
        How many tasks' worth of partitions the partial_fit stream reads ahead of the model.
    durable
        Durable mode: every write to the store is fsynced, files and folders, so a committed
        version survives a power cut (``distinc init --fsync``).
    rounds, update_rounds
        XGBoost: boosting rounds of the first version, and rounds each update adds.
    xgb_mode
        XGBoost update mode: ``add`` new rounds fitted on the delta, ``refresh`` the leaf values
        of the existing trees on the delta (no new trees), or ``add+refresh`` (refresh, then add).
    replay_fraction, reservoir_rows
        XGBoost replay: the share of an update's training rows drawn from a uniform reservoir of
        earlier rows, kept in the store and capped at ``reservoir_rows`` (0 keeps none).
    validation, early_stopping_rounds
        XGBoost: a Parquet dataset every fit and update is evaluated on, and the rounds without
        improvement on it after which adding stops (the best round is kept).
    xgb_backend
        ``local`` trains in one task with all of a host's threads, ``dask`` with
        ``xgboost.dask`` across workers; ``auto`` picks ``local`` when every worker is on one
        host.
    xgb_collective_timeout
        Seconds an ``xgboost.dask`` worker waits on the others in one collective operation
        before the update fails; a lost worker otherwise stalls the survivors forever.
    max_members
        Per-delta ensemble: keep at most this many members, retiring the oldest.
    member_rows
        Per-delta ensemble: a delta of more rows trains several members (each on about this
        many rows of consecutive partitions), in parallel across the workers.
    combiner
        Per-delta ensemble: ``"vote"`` (weighted soft vote or mean) or ``"stacking"`` (member
        weights learned on a held-out slice of the newest delta).
    stacking_fraction
        The share of the newest delta held out for the stacking combiner.
    allow_new_classes
        Per-delta ensemble: a label outside the pinned classes extends them instead of failing.
    decay_half_life
        Weight by age in versions: an ensemble member, or an XGBoost replayed row, trained ``k``
        versions ago weighs ``0.5 ** (k / half_life)`` (delta rows weigh 1); ``None``: no decay.
    epochs
        partial_fit stream: passes over the delta per update (for neural nets and SGD).
    fit_batch_mb
        partial_fit stream: ``0`` (the default) calls ``partial_fit`` once per partition, so the
        model equals a plain loop over the files. Above 0, consecutive partitions are grouped,
        in training order, until their Parquet files reach this many megabytes (2**20 bytes),
        and each group is learned by one ``partial_fit`` call on its rows concatenated: fewer
        calls for many small files, and a model that equals a loop over those groups. The
        groups follow from the file sizes alone, never from the cluster.
    encoding
        How categorical features reach models without native categorical support:
        ``"vocabulary"`` (a slot per category in order of first sight, then a shared unseen
        slot) or ``"hash"`` (hash buckets of the stable category codes).
    encoding_width
        Slots (or buckets) per categorical feature, besides the unseen slot.
    scale
        Numeric scaling learned with the model: ``"none"``, ``"standard"`` or ``"maxabs"``
        (a ``partial_fit`` scaler ahead of a streamed model; a scaler per ensemble member).
    """

    task_rows: int = 200_000
    prefetch: int = 2
    durable: bool = False
    # XGBoost continuation
    rounds: int = 100
    update_rounds: int = 25
    xgb_mode: str = "add"
    replay_fraction: float = 0.0
    reservoir_rows: int = 100_000
    decay_half_life: float | None = None
    validation: str | None = None
    early_stopping_rounds: int | None = None
    xgb_backend: str = "auto"
    xgb_collective_timeout: int = 600
    # per-delta ensemble, stream and encodings
    max_members: int | None = None
    member_rows: int = 500_000
    combiner: str = "vote"
    stacking_fraction: float = 0.2
    allow_new_classes: bool = False
    epochs: int = 1
    fit_batch_mb: float = 0.0
    encoding: str = "vocabulary"
    encoding_width: int = 32
    scale: str = "none"

    def __post_init__(self) -> None:
        for name, (check, requirement) in _OPTION_RULES.items():
            value = getattr(self, name)
            if not check(value):
                raise ConfigurationError(
                    f"The {name!r} option must be {requirement}. Got {value!r} instead.",
                    option=name,
                )
        if self.early_stopping_rounds is not None and self.validation is None:
            raise ConfigurationError(
                "The 'early_stopping_rounds' option needs a 'validation' dataset to stop on; "
                "set the 'validation' option too.",
                option="early_stopping_rounds",
                options=("validation",),
            )

    def check_strategy(self, strategy: str, *, model: str) -> None:
        """Refuse options set away from their default that ``strategy`` does not honour."""
        defaults = type(self)()
        for name, strategies in OPTION_STRATEGIES.items():
            if strategy not in strategies and getattr(self, name) != getattr(defaults, name):
                raise ConfigurationError(
                    f"The {name!r} option applies to the {' or '.join(map(repr, strategies))} "
                    f"strateg{'y' if len(strategies) == 1 else 'ies'}; {model} uses the "
                    f"{strategy!r} strategy.",
                    option=name,
                    strategy=strategy,
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
