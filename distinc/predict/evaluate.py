"""Holdout metrics of a model, computed from per-partition scores gathered from the cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from distinc.dataset.partition import DataSource
from distinc.dataset.reading import contract_features, label_vector
from distinc.dataset.schema import ColumnContract
from distinc.exceptions import UnseenLabelError, counted, listed
from distinc.predict.fanout import per_partition
from distinc.predict.outputs import check_finite, model_outputs, scoring_input
from distinc.trainers import task_faults

Scorer = tuple[Any, ColumnContract]
Scores = tuple[pd.DataFrame, np.ndarray | None, float | None]


def score_models(key: str, source: DataSource, model: Sequence[Scorer]) -> list[Scores]:
    """Each model's outputs, the true labels and the model's own ``score`` for one partition.

    ``model`` holds (model, contract) pairs; the partition is read once however many there
    are, and each distinct contract (vocabulary) builds its feature matrix once.
    """
    task_faults.reach(key)
    pairs = list(model)
    first = pairs[0][1]
    table, first_features = scoring_input(source, key, first, first.columns)
    labels = label_vector(table, first.target) if first.target is not None else None
    matrices: list[tuple[ColumnContract, np.ndarray]] = [(first, first_features)]
    scored = []
    for position, (estimator, contract) in enumerate(pairs):
        features = next((built for known, built in matrices if known == contract), None)
        if features is None:
            features = contract_features(table, contract)
            check_finite(features, contract, key)
            matrices.append((contract, features))
        if labels is not None and contract.task == "classification":
            try:
                check_labels(labels, estimator, key)
            except UnseenLabelError as exc:
                exc.details["model"] = position  # which model: the caller names its versions
                raise
        own_score = None
        if labels is None and len(features) and hasattr(estimator, "score"):
            own_score = float(estimator.score(features))
        scored.append((model_outputs(estimator, features), labels, own_score))
    return scored


def check_labels(labels: np.ndarray, model: Any, key: str) -> None:
    """Refuse labels the classifier never learned: its log loss and ROC AUC are undefined."""
    if getattr(model, "classes_", None) is None:
        return
    classes = np.asarray(model.classes_).tolist()
    found, counts = np.unique(labels, return_counts=True)
    unseen = [
        (label, rows)
        for label, rows in zip(found.tolist(), counts.tolist(), strict=True)
        if label not in classes
    ]
    if unseen:
        label, rows = unseen[0]
        raise UnseenLabelError(
            f"Partition {key!r} has label {label!r} ({counted(rows, 'row')}), which the model "
            f"never learned (its classes: {listed(classes)}); its metrics are undefined there. "
            "Remove those rows from the holdout, or evaluate a version that learned the class.",
            partition=key,
            label=label,
        )


def score_partition(key: str, source: DataSource, model: Any, contract: ColumnContract) -> Scores:
    """Model outputs, true labels and the model's own ``score`` for one partition."""
    return score_models(key, source, [(model, contract)])[0]


def classification_metrics(
    labels: np.ndarray, outputs: pd.DataFrame, classes: np.ndarray
) -> dict[str, float]:
    from sklearn import metrics

    result = {"accuracy": float(metrics.accuracy_score(labels, outputs["prediction"]))}
    proba_columns = [f"proba_{label}" for label in classes]
    if all(name in outputs for name in proba_columns):
        proba = outputs[proba_columns].to_numpy()
        result["log_loss"] = float(metrics.log_loss(labels, proba, labels=classes))
        auc = roc_auc(labels, proba, classes)
        if auc is not None:
            result["roc_auc"] = auc
    return result


def roc_auc(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float | None:
    """ROC AUC over the classes the holdout holds; ``None`` (left out of the metrics) when it
    holds fewer than two, as no class then has both positives and negatives.

    Two classes: the AUC of the second class's probability. More: the one-vs-rest AUC of each
    class present in ``labels``, macro-averaged. A declared class absent from the holdout has
    no positives, so its AUC is undefined and it is left out of the average rather than making
    it NaN; with every class present this is scikit-learn's ``multi_class="ovr"`` macro AUC.
    """
    from sklearn import metrics

    present = [i for i, label in enumerate(classes) if np.any(labels == label)]
    if len(present) < 2:
        return None
    if len(classes) == 2:
        return float(metrics.roc_auc_score(labels == classes[1], proba[:, 1]))
    return float(
        np.mean([metrics.roc_auc_score(labels == classes[i], proba[:, i]) for i in present])
    )


def regression_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(labels, predictions))),
        "mae": float(metrics.mean_absolute_error(labels, predictions)),
        "r2": float(metrics.r2_score(labels, predictions)),
    }


def summarise(results: Sequence[Scores], contract: ColumnContract, model: Any) -> dict[str, float]:
    """Metrics of ``model`` from its per-partition scores."""
    rows = sum(len(outputs) for outputs, _, _ in results)
    summary: dict[str, float] = {"rows": rows}
    if not rows:
        return summary
    if contract.target is None:
        scores = [(score, len(outputs)) for outputs, _, score in results if score is not None]
        if scores:
            summary["score"] = float(sum(s * n for s, n in scores) / sum(n for _, n in scores))
        return summary
    outputs = pd.concat([frame for frame, _, _ in results], ignore_index=True)
    labels = np.concatenate([labels for _, labels, _ in results if labels is not None])
    if contract.task == "classification":
        found = classification_metrics(labels, outputs, np.asarray(model.classes_))
    else:
        found = regression_metrics(labels, outputs["prediction"].to_numpy())
    # An undefined metric (r2 of a single row) is left out, as NaN is not JSON.
    summary.update({name: value for name, value in found.items() if np.isfinite(value)})
    return summary


def evaluate_models(
    client: Any, scorers: Sequence[Scorer], source: DataSource
) -> list[dict[str, float]]:
    """Metrics of each (model, contract) pair on the partitions of ``source``, each read once."""
    results = per_partition(client, score_models, source, list(scorers), name="score")
    return [
        summarise([scored[i] for scored in results], contract, model)
        for i, (model, contract) in enumerate(scorers)
    ]


def evaluate_model(
    client: Any, model: Any, contract: ColumnContract, source: DataSource
) -> dict[str, float]:
    """Metrics of ``model`` on every partition of ``source`` (a holdout set)."""
    return evaluate_models(client, [(model, contract)], source)[0]
