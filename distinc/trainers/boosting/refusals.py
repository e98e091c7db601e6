"""What XGBoost would refuse, found before it trains: the parameters at ``init`` (one round on a
tiny matrix) and the label ranges its objectives need; and XGBoost's errors told in one line."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from distinc.exceptions import ConfigurationError, first_line
from distinc.spec import ModelSpec
from distinc.trainers.boosting.params import (
    MULTI,
    Session,
    feature_types,
    native_params,
    plan_sessions,
    xgboost_feature_names,
)

# The lowest label each objective takes (and whether the bound itself is allowed), and the
# highest: XGBoost checks these only once it trains.
LABEL_RANGES: dict[str, tuple[float, bool, float | None]] = {
    "reg:logistic": (0.0, True, 1.0),
    "count:poisson": (0.0, True, None),
    "reg:tweedie": (0.0, True, None),
    "reg:gamma": (0.0, False, None),
    "reg:squaredlogerror": (-1.0, False, None),
}
# How XGBoost's warning names the parameters it did not use.
_UNUSED = re.compile(r"Parameters: \{(.*)\} are not used")
_ROWS = 8


def label_range_problem(labels: np.ndarray, objective: str | None) -> str | None:
    """What is wrong with regression ``labels`` for ``objective``, or ``None``.

    Examples
    --------
    >>> label_range_problem(np.array([0.0, 2.0]), "count:poisson") is None
    True
    >>> label_range_problem(np.array([-1.5, 2.0, -3.0]), "count:poisson")
    "2 value(s) below 0.0 (the lowest: -3.0); the objective 'count:poisson' needs labels >= 0.0"
    >>> label_range_problem(np.array([0.5, 2.0]), "reg:logistic").split("; ")[1]
    "the objective 'reg:logistic' needs labels in [0.0, 1.0]"
    """
    if objective not in LABEL_RANGES or not len(labels):
        return None
    low, inclusive, high = LABEL_RANGES[objective]
    below = labels < low if inclusive else labels <= low
    above = labels > high if high is not None else np.zeros(len(labels), bool)
    if not (below.any() or above.any()):
        return None
    needed = f"in [{low}, {high}]" if high is not None else f"{'>=' if inclusive else '>'} {low}"
    if below.any():
        where = "below" if inclusive else "at or below"
        found = f"{int(below.sum())} value(s) {where} {low} (the lowest: {float(labels.min())})"
    else:
        found = f"{int(above.sum())} value(s) above {high} (the highest: {float(labels.max())})"
    return f"{found}; the objective {objective!r} needs labels {needed}"


def check_with_xgboost(spec: ModelSpec) -> None:
    """Train one round (and each session ``xgb_mode`` adds) on a tiny matrix shaped like the
    model's data; refuse what XGBoost refuses, parameters it ignores, and several outputs per
    row (distinc keeps one prediction per row)."""
    failure, unused, shape = _probe(spec, spec.params)
    if failure is not None:
        raise _refusal(spec, *failure)
    ignored = [name for name in spec.params if name in unused]
    if ignored:
        raise ConfigurationError(
            f"XGBoost does not use the parameter {ignored[0]!r} with these settings (a "
            "misspelt or removed name, or one for another objective or booster); remove it.",
            parameter=ignored[0],
        )
    expected = (_ROWS, len(_probe_classes(spec))) if _is_multiclass(spec) else (_ROWS,)
    if shape != expected:
        name = "quantile_alpha" if "quantile_alpha" in spec.params else "objective"
        raise ConfigurationError(
            f"With these parameters XGBoost predicts {shape[-1]} values per row ({name} "
            f"{spec.params.get(name)!r}); distinc keeps one prediction per row, so give one "
            "quantile (or one target) per store.",
            parameter=name,
        )


def _refusal(spec: ModelSpec, session: Session, exc: Exception) -> ConfigurationError:
    """The error naming the parameter without which XGBoost accepts the rest, when one is."""
    culprit = next(
        (
            name
            for name in spec.params
            if _probe(spec, {k: v for k, v in spec.params.items() if k != name})[0] is None
        ),
        None,
    )
    what = (
        f"the parameter {culprit!r} ({spec.params[culprit]!r})"
        if culprit is not None
        else f"the parameters {dict(spec.params)}"
    )
    refresh = session.kind == "refresh"
    mode = f" with the 'xgb_mode' option {spec.options.xgb_mode!r}" if refresh else ""
    return ConfigurationError(
        f"XGBoost refuses {what}{mode}: {first_line(exc).removeprefix('XGBoostError: ')}",
        parameter=culprit,
        options=("xgb_mode",) if refresh else (),
    )


def _is_multiclass(spec: ModelSpec) -> bool:
    return spec.task == "classification" and len(_probe_classes(spec)) > 2


def _probe_classes(spec: ModelSpec) -> tuple[Any, ...]:
    if spec.task != "classification":
        return ()
    if spec.classes is not None:
        return tuple(spec.classes)
    return (0, 1, 2) if spec.params.get("objective") == MULTI else (0, 1)


def _probe(
    spec: ModelSpec, params: Mapping[str, Any]
) -> tuple[tuple[Session, Exception] | None, set[str], tuple[int, ...]]:
    """(the session that failed and its error, or None; parameter names XGBoost reported
    unused in every session; the shape of the predictions)."""
    import xgboost

    from distinc.trainers.boosting.local import THREAD_PARAMS

    probed = dataclasses.replace(spec, params=dict(params))
    native = native_params(probed, _probe_classes(spec) or None)
    if not any(name in native for name in THREAD_PARAMS):
        native["nthread"] = 1
    matrix = _tiny_matrix(spec, xgboost)
    sessions = (
        Session("add", 1),
        *plan_sessions(spec.options.xgb_mode, parent_rounds=1, rounds=1, update_rounds=1),
    )
    booster = None
    unused: set[str] | None = None
    for session in sessions:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                booster = xgboost.train(
                    {**native, **session.overrides},
                    matrix,
                    num_boost_round=session.rounds,
                    evals=[(matrix, "validation")],
                    xgb_model=booster,
                    verbose_eval=False,
                )
            except xgboost.core.XGBoostError as exc:
                return (session, exc), set(), ()
        reported = {
            name
            for warning in caught
            for match in _UNUSED.finditer(str(warning.message))
            for name in re.findall(r'"([^"]+)"', match.group(1))
        }
        unused = reported if unused is None else unused & reported
    assert booster is not None
    return None, unused or set(), tuple(booster.predict(matrix).shape)


def _tiny_matrix(spec: ModelSpec, xgboost: Any) -> Any:
    """A few rows shaped like the model's data: every feature 0 or 1 (a category code for
    categorical ones), labels every class in turn, or 1 for a regressor (in every objective's
    range)."""
    width = len(spec.features)
    features = (np.arange(_ROWS * width).reshape(_ROWS, width) // (width or 1) % 2).astype(
        np.float32
    )
    classes = _probe_classes(spec)
    labels = np.arange(_ROWS) % len(classes) if classes else np.ones(_ROWS)
    types = feature_types(spec.features, spec.categorical)
    return xgboost.DMatrix(
        features,
        labels.astype(np.float32),
        feature_names=xgboost_feature_names(spec.features),
        feature_types=types,
        enable_categorical="c" in types,
    )
