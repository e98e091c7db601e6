"""Native XGBoost parameters for a store, and the training sessions of one version.

Pure: nothing here touches data or a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distinc.estimators import build_estimator
from distinc.exceptions import ConfigurationError
from distinc.spec import ModelSpec

# XGBoost's own knobs that distinc drives through its options: the options to use instead.
_OWNED = {
    "n_estimators": ("rounds", "update_rounds"),
    "num_boost_round": ("rounds", "update_rounds"),
    "early_stopping_rounds": ("early_stopping_rounds", "validation"),
    "process_type": ("xgb_mode",),
    "updater": ("xgb_mode",),
    "num_class": ("classes",),
}
# Classifier objectives whose output is a class probability.
BINARY = "binary:logistic"
MULTI = "multi:softprob"
_REFRESH = {"process_type": "update", "updater": "refresh", "refresh_leaf": True}
# Characters XGBoost refuses in feature names.
_FORBIDDEN_IN_NAMES = ("[", "]", "<")


def check_params(params: Mapping[str, Any], task: str) -> None:
    """Refuse parameters distinc drives itself, and objectives that give no probabilities.

    Examples
    --------
    >>> check_params({"max_depth": 6, "objective": "binary:logistic"}, "classification")
    >>> check_params({"n_estimators": 200}, "classification")
    Traceback (most recent call last):
    ...
    distinc.exceptions.ConfigurationError: ... use the 'rounds' and 'update_rounds' options instead.
    """
    for name, options in _OWNED.items():
        if name in params:
            raise ConfigurationError(
                f"The {name!r} parameter is set by distinc for the xgboost strategy; use the "
                f"{' and '.join(map(repr, options))} option{'s' if len(options) > 1 else ''} "
                "instead.",
                parameter=name,
                options=options,
            )
    objective = params.get("objective")
    if task == "classification" and objective not in (None, BINARY, MULTI):
        raise ConfigurationError(
            f"The 'objective' parameter of an XGBoost classifier must be {BINARY!r} or "
            f"{MULTI!r} (distinc predicts class probabilities). Got {objective!r} instead.",
            parameter="objective",
        )
    if task == "regression" and str(objective).startswith(("binary:", "multi:")):
        raise ConfigurationError(
            f"The objective {objective!r} is a classifier's; use XGBClassifier (or 'xgboost') "
            "for class labels.",
            parameter="objective",
        )


def objective_params(
    task: str, classes: Sequence[Any] | None, declared: str | None
) -> dict[str, Any]:
    """The objective (and class count) for ``task`` with the pinned ``classes``.

    Examples
    --------
    >>> objective_params("classification", (0, 1), None)
    {'objective': 'binary:logistic'}
    >>> objective_params("classification", ("a", "b", "c"), None)
    {'objective': 'multi:softprob', 'num_class': 3}
    """
    if task != "classification":
        return {"objective": declared} if declared is not None else {}
    count = len(classes or ())
    if count < 2:
        raise ConfigurationError(
            f"An XGBoost classifier needs at least two classes; the data so far holds only "
            f"{list(classes or ())}. Declare every class at init with the 'classes' option.",
            options=("classes",),
        )
    if declared == BINARY and count > 2:
        raise ConfigurationError(
            f"The objective {BINARY!r} learns two classes, but the model's classes are "
            f"{list(classes or ())}; use {MULTI!r} or leave the objective out.",
            parameter="objective",
        )
    if count == 2 and declared != MULTI:
        return {"objective": BINARY}
    return {"objective": MULTI, "num_class": count}


def native_params(spec: ModelSpec, classes: Sequence[Any] | None) -> dict[str, Any]:
    """The parameters ``xgb.train`` takes for ``spec``, with every unset one left to XGBoost."""
    estimator = build_estimator(spec.estimator, spec.params)
    params = {
        name: value for name, value in estimator.get_xgb_params().items() if value is not None
    }
    params.update(objective_params(spec.task, classes, spec.params.get("objective")))
    return params


def xgboost_feature_names(features: Sequence[str]) -> list[str] | None:
    """``features`` when XGBoost accepts them as names, else ``None`` (positional names).

    Examples
    --------
    >>> xgboost_feature_names(["age", "city"])
    ['age', 'city']
    >>> xgboost_feature_names(["a[0]", "b"]) is None
    True
    """
    names = [str(name) for name in features]
    valid = len(set(names)) == len(names) and not any(
        mark in name for name in names for mark in _FORBIDDEN_IN_NAMES
    )
    return names if valid else None


def feature_types(features: Sequence[str], categorical: Sequence[str]) -> list[str]:
    """XGBoost feature types: ``c`` (native categorical) for category codes, else ``q``.

    Examples
    --------
    >>> feature_types(["age", "city"], ["city"])
    ['q', 'c']
    """
    chosen = set(categorical)
    return ["c" if name in chosen else "q" for name in features]


@dataclass(frozen=True)
class Session:
    """One call of ``xgb.train``: ``kind`` ``add`` grows new trees, ``refresh`` re-fits leaves."""

    kind: str
    rounds: int
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def stops_early(self) -> bool:
        return self.kind == "add"


def plan_sessions(
    mode: str, *, parent_rounds: int | None, rounds: int, update_rounds: int
) -> tuple[Session, ...]:
    """The sessions that turn the parent booster (``None`` at first) into the next one.

    Examples
    --------
    >>> [(s.kind, s.rounds) for s in plan_sessions("add", parent_rounds=None, rounds=200,
    ...                                             update_rounds=50)]
    [('add', 200)]
    >>> [(s.kind, s.rounds) for s in plan_sessions("add+refresh", parent_rounds=200, rounds=200,
    ...                                             update_rounds=50)]
    [('refresh', 200), ('add', 50)]
    """
    if parent_rounds is None or parent_rounds == 0:
        return (Session("add", rounds),)
    sessions = []
    if "refresh" in mode.split("+"):
        sessions.append(Session("refresh", parent_rounds, dict(_REFRESH)))
    if "add" in mode.split("+"):
        sessions.append(Session("add", update_rounds))
    return tuple(sessions)
