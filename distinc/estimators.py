"""Turning a model name into an estimator, and an estimator into a training strategy."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

from distinc.exceptions import ConfigurationError

XGBOOST_NAMES = {
    "xgboost": "xgboost.XGBClassifier",
    "XGBClassifier": "xgboost.XGBClassifier",
    "XGBRegressor": "xgboost.XGBRegressor",
}

STRATEGIES = ("stream", "merge", "xgboost", "ensemble")


@functools.cache
def _sklearn_index() -> dict[str, str]:
    """Class name -> public dotted path for every scikit-learn estimator."""
    from sklearn.utils import all_estimators

    index = {}
    for name, cls in all_estimators():
        parts = cls.__module__.split(".")
        public = ".".join(parts[:2]) if len(parts) > 1 else cls.__module__
        module = importlib.import_module(public)
        index[name] = (
            f"{public}.{name}"
            if getattr(module, name, None) is cls
            else (f"{cls.__module__}.{name}")
        )
    return index


def resolve_path(model: str) -> str:
    """The importable dotted path of ``model`` (a class name, dotted path or ``xgboost``).

    Examples
    --------
    >>> resolve_path("SGDClassifier")
    'sklearn.linear_model.SGDClassifier'
    >>> resolve_path("xgboost")
    'xgboost.XGBClassifier'
    """
    if model in XGBOOST_NAMES:
        return XGBOOST_NAMES[model]
    if "." in model:
        load_class(model)
        return model
    index = _sklearn_index()
    if model not in index:
        close = sorted(name for name in index if name.lower().startswith(model.lower()[:3]))
        hint = f" Did you mean one of {close[:5]}?" if close else ""
        raise ConfigurationError(
            f"Unknown model {model!r}: not a scikit-learn estimator name, 'xgboost', or a "
            f"dotted path like 'mypackage.module.MyEstimator'.{hint}",
            model=model,
        )
    return index[model]


def load_class(path: str) -> type:
    """Import the class at dotted ``path``."""
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot import model class {path!r}: {exc}. The module must be importable on the "
            "machine running distinc and on every Dask worker.",
            model=path,
        ) from exc
    if not isinstance(cls, type):
        raise ConfigurationError(f"{path!r} is not a class.", model=path)
    return cls


def build_estimator(path: str, params: Mapping[str, Any]) -> Any:
    """A fresh, unfitted estimator with ``params``; parameters are validated here, once."""
    cls = load_class(path)
    try:
        estimator = cls(**dict(params))
    except TypeError as exc:
        raise ConfigurationError(
            f"The parameters {sorted(params)} do not fit {cls.__name__}: {exc}. "
            f"See {cls.__name__}().get_params() for the accepted names.",
            model=path,
        ) from exc
    validate = getattr(estimator, "_validate_params", None)
    # Only estimators that declare a constraint table can validate; XGBoost and a user's own
    # class built on BaseEstimator inherit the method but usually declare none.
    if callable(validate) and hasattr(estimator, "_parameter_constraints"):
        try:
            validate()
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(str(exc).strip(), model=path) from exc
    return estimator


def task_of(estimator: Any) -> str:
    """``classification``, ``regression`` or ``unsupervised``."""
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    return "unsupervised"


def default_strategy(path: str, estimator: Any) -> str:
    """The strategy that continues ``estimator`` best without seeing old data again.

    Examples
    --------
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> [default_strategy("sklearn", e()) for e in (GaussianNB, SGDClassifier,
    ...                                              RandomForestClassifier)]
    ['merge', 'stream', 'ensemble']
    """
    if path.startswith("xgboost."):
        return "xgboost"
    if hasattr(estimator, "partial_fit"):
        from distinc.models.merge import can_merge

        return "merge" if can_merge(estimator) else "stream"
    return "ensemble"
