"""What a model says about a feature matrix, as named output columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from distinc.dataset.schema import ColumnContract
from distinc.exceptions import InvalidValueError


def check_finite(features: np.ndarray, contract: ColumnContract, key: str) -> None:
    """Refuse NaN (unless the model takes missing values) and infinity, naming the column."""
    bad = np.isinf(features) if contract.allow_missing else ~np.isfinite(features)
    if contract.categorical:
        # A category the version does not know reads as NaN; its encoding has a slot for it.
        coded = [contract.features.index(name) for name in contract.categorical]
        bad[:, coded] = np.isinf(features[:, coded])
    if bad.any():
        column = contract.features[int(np.argmax(bad.any(axis=0)))]
        raise InvalidValueError(
            f"The column {column!r} of partition {key!r} has NaN or infinite values; the model "
            "cannot score them. Clean the data first.",
            partition=key,
            column=column,
        )


def model_outputs(model: Any, features: np.ndarray) -> pd.DataFrame:
    """``prediction`` and ``proba_<class>`` columns, or ``component_<i>`` for transformers."""
    columns: dict[str, Any] = {}
    if hasattr(model, "predict"):
        columns["prediction"] = model.predict(features)
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(features)
            for i, label in enumerate(model.classes_):
                columns[f"proba_{label}"] = proba[:, i]
    elif hasattr(model, "transform"):
        transformed = np.asarray(model.transform(features))
        for i in range(transformed.shape[1]):
            columns[f"component_{i}"] = transformed[:, i]
    return pd.DataFrame(columns)
