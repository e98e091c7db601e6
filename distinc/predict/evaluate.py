"""Holdout metrics of a model, computed from per-partition scores gathered from the cluster."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from distinc.dataset.partition import DataSource
from distinc.dataset.reading import contract_features, label_vector, read_table
from distinc.dataset.schema import ColumnContract
from distinc.predict.fanout import per_partition
from distinc.predict.outputs import check_finite, model_outputs


def score_partition(
    key: str, source: DataSource, model: Any, contract: ColumnContract
) -> tuple[pd.DataFrame, np.ndarray | None, float | None]:
    """Model outputs, true labels and the model's own ``score`` for one partition."""
    table = read_table(source, key, contract.columns)
    features = contract_features(table, contract)
    check_finite(features, contract, key)
    labels = label_vector(table, contract.target) if contract.target is not None else None
    own_score = None
    if labels is None and hasattr(model, "score"):
        own_score = float(model.score(features))
    return model_outputs(model, features), labels, own_score


def classification_metrics(
    labels: np.ndarray, outputs: pd.DataFrame, classes: np.ndarray
) -> dict[str, float]:
    from sklearn import metrics

    result = {"accuracy": float(metrics.accuracy_score(labels, outputs["prediction"]))}
    proba_columns = [f"proba_{label}" for label in classes]
    if all(name in outputs for name in proba_columns):
        proba = outputs[proba_columns].to_numpy()
        result["log_loss"] = float(metrics.log_loss(labels, proba, labels=classes))
        if len(np.unique(labels)) > 1:
            if len(classes) == 2:
                result["roc_auc"] = float(metrics.roc_auc_score(labels == classes[1], proba[:, 1]))
            else:
                result["roc_auc"] = float(
                    metrics.roc_auc_score(labels, proba, multi_class="ovr", labels=classes)
                )
    return result


def regression_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(labels, predictions))),
        "mae": float(metrics.mean_absolute_error(labels, predictions)),
        "r2": float(metrics.r2_score(labels, predictions)),
    }


def evaluate_model(
    client: Any, model: Any, contract: ColumnContract, source: DataSource
) -> dict[str, float]:
    """Metrics of ``model`` on every partition of ``source`` (a holdout set)."""
    results = per_partition(client, score_partition, source, model, name="score", contract=contract)
    rows = sum(len(outputs) for outputs, _, _ in results)
    summary: dict[str, float] = {"rows": float(rows)}
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
        summary.update(classification_metrics(labels, outputs, np.asarray(model.classes_)))
    else:
        summary.update(regression_metrics(labels, outputs["prediction"].to_numpy()))
    return summary
