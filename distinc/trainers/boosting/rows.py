"""Partitions read as XGBoost rows: float32 features (category codes for categoricals), labels
encoded as XGBoost wants them, and optional weights."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from distinc.dataset.listing import list_partitions
from distinc.dataset.partition import DataSource
from distinc.dataset.reading import label_vector, read_xy
from distinc.dataset.schema import ColumnContract
from distinc.exceptions import DataError, InvalidValueError, UnseenLabelError, listed
from distinc.predict.outputs import scoring_input
from distinc.trainers.boosting.refusals import label_range_problem


@dataclass(frozen=True)
class LabelCoding:
    """How labels become XGBoost labels: a class's index in the pinned classes, or the value."""

    task: str
    classes: tuple[Any, ...] | None = None
    objective: str | None = None

    def encode(self, labels: np.ndarray, *, partition: str, target: str) -> np.ndarray:
        """``labels`` as float32; an unknown class, a NaN target or one outside the objective's
        range names ``partition``.

        Examples
        --------
        >>> LabelCoding("classification", ("no", "yes")).encode(
        ...     np.array(["yes", "no"], dtype=object), partition="p", target="y")
        array([1., 0.], dtype=float32)
        >>> LabelCoding("classification", (0, 1)).encode(np.array([0, 2]), partition="p",
        ...                                              target="y")
        Traceback (most recent call last):
        ...
        distinc.exceptions.UnseenLabelError: Partition 'p' has label 2, which is not among ...
        """
        if self.task != "classification":
            values = np.asarray(labels, dtype=np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                raise InvalidValueError(
                    f"The target column {target!r} of partition {partition!r} has "
                    f"{int(bad.sum())} missing/NaN or infinite value(s); clean them first.",
                    partition=partition,
                    column=target,
                )
            problem = label_range_problem(values, self.objective)
            if problem is not None:
                raise InvalidValueError(
                    f"The target column {target!r} of partition {partition!r} has {problem}; "
                    "remove those rows or choose another objective.",
                    partition=partition,
                    column=target,
                )
            return values.astype(np.float32)
        classes = tuple(self.classes or ())
        index = pd.Index(classes).get_indexer(pd.Index(np.asarray(labels, dtype=object)))
        if (index < 0).any():
            label = np.asarray(labels, dtype=object)[int(np.argmax(index < 0))]
            raise UnseenLabelError(
                f"Partition {partition!r} has label {label!r}, which is not among the model's "
                f"classes {listed(classes)}; declare every class at init (the 'classes' option) "
                "or remove those rows.",
                partition=partition,
                label=label,
                options=("classes",),
            )
        return index.astype(np.float32)

    def decode(self, index: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[index]


@dataclass(frozen=True)
class Rows:
    """Training or evaluation rows; ``weights`` ``None`` means every row weighs 1."""

    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Rows:
        weights = None if self.weights is None else self.weights[index]
        return Rows(self.features[index], self.labels[index], weights)

    @classmethod
    def empty(cls, features: int) -> Rows:
        return cls(np.empty((0, features), np.float32), np.empty(0, np.float32))

    @classmethod
    def concat(cls, parts: Sequence[Rows]) -> Rows:
        """All ``parts`` in order; weights are kept when any part has them (others weigh 1)."""
        if len(parts) == 1:
            return parts[0]
        features = np.concatenate([part.features for part in parts], dtype=np.float32)
        labels = np.concatenate([part.labels for part in parts], dtype=np.float32)
        weights = None
        if any(part.weights is not None for part in parts):
            weights = np.concatenate(
                [
                    np.ones(len(part), np.float32) if part.weights is None else part.weights
                    for part in parts
                ],
                dtype=np.float32,
            )
        return cls(features, labels, weights)


def read_rows(source: DataSource, key: str, contract: ColumnContract, coding: LabelCoding) -> Rows:
    """One partition as XGBoost rows."""
    features, labels = read_xy(source, key, contract)
    if contract.target is None or labels is None:
        raise DataError(f"The xgboost strategy needs a target column; {key!r} has none.")
    if np.isinf(features).any():
        column = contract.features[int(np.argmax(np.isinf(features).any(axis=0)))]
        raise InvalidValueError(
            f"The column {column!r} of partition {key!r} has infinite values; clean them first.",
            partition=key,
            column=column,
        )
    encoded = coding.encode(labels, partition=key, target=contract.target)
    return Rows(features.astype(np.float32), encoded)


def read_many(
    source: DataSource,
    keys: Sequence[str],
    contract: ColumnContract,
    coding: LabelCoding,
    *,
    threads: int,
) -> list[Rows]:
    """Several partitions, read concurrently (Arrow decodes without holding the GIL)."""
    if threads <= 1 or len(keys) <= 1:
        return [read_rows(source, key, contract, coding) for key in keys]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda key: read_rows(source, key, contract, coding), keys))


def validation_keys(url: str, storage_options: dict[str, Any]) -> tuple[DataSource, list[str]]:
    """The validation dataset's source and partition keys; an empty one is an error."""
    source = DataSource(url, dict(storage_options))
    keys = [part.key for part in list_partitions(source, option="validation")]
    if not keys:
        raise DataError(
            f"The validation dataset {url!r} has no Parquet files; point the 'validation' "
            "option at a folder of Parquet files with the model's columns.",
            url=url,
            options=("validation",),
        )
    return source, keys


def read_validation(
    source: DataSource, key: str, contract: ColumnContract, coding: LabelCoding
) -> Rows:
    """One file of the validation dataset as XGBoost rows, refused as holdout data is (a
    feature missing or of another type, infinity, a label outside the classes or the
    objective's range), in a message that says it is the validation set."""
    try:
        table, features = scoring_input(source, key, contract, contract.columns, "training")
        labels = label_vector(table, str(contract.target))
        encoded = coding.encode(labels, partition=key, target=str(contract.target))
    except DataError as exc:
        options = (*exc.details.get("options", ()), "validation")
        raise type(exc)(
            f"The validation dataset {source.url!r} (the 'validation' option): {exc.message}",
            **{**exc.details, "url": source.url, "options": options},
        ) from exc
    return Rows(features.astype(np.float32), encoded)


def read_validation_set(
    validation: tuple[DataSource, Sequence[str]],
    contract: ColumnContract,
    coding: LabelCoding,
    *,
    threads: int,
) -> Rows:
    """Every file of the validation dataset, read concurrently."""
    source, keys = validation
    with ThreadPoolExecutor(max(1, min(threads, len(keys)))) as pool:
        parts = list(pool.map(lambda key: read_validation(source, key, contract, coding), keys))
    return Rows.concat(parts)
