"""What a model says about a feature matrix, as named output columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from distinc.dataset.partition import DataSource
from distinc.dataset.reading import contract_features, read_table
from distinc.dataset.schema import ColumnContract, refused_type, schema_mismatches
from distinc.exceptions import InvalidValueError, SchemaError


def scoring_input(
    source: DataSource,
    key: str,
    contract: ColumnContract,
    columns: Sequence[str],
    purpose: str = "scoring",
) -> tuple[pa.Table, np.ndarray]:
    """Columns ``columns`` of partition ``key`` and its feature matrix, refused as training
    refuses them: a feature missing or of a type the model does not take, NaN or infinity
    (``purpose`` as for ``read_table``)."""
    table = read_table(source, key, columns, purpose=purpose)
    schema = tuple((field.name, str(field.type)) for field in table.schema)
    refused = schema_mismatches(schema, contract.features, contract.feature_types, None)
    if refused:
        column, actual, pinned = refused[0]
        raise SchemaError(
            refused_type(key, column, str(actual), str(pinned)), partition=key, column=column
        )
    features = contract_features(table, contract)
    check_finite(features, contract, key)
    return table, features


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
    if len(features) == 0:
        # Estimators refuse an empty matrix; a row of zeros gives the columns and their types.
        return model_outputs(model, np.zeros((1, features.shape[1]))).iloc[:0]
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
