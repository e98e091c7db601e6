"""Combining ensemble members: weights by rows and recency, soft votes, stacking weights.

Pure functions on arrays; the ensemble estimators and the engine's ensemble trainer share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def member_weights(
    rows: Sequence[float] | np.ndarray,
    versions: Sequence[int] | np.ndarray,
    *,
    latest: int,
    half_life: float | None = None,
    by_rows: bool = True,
) -> np.ndarray:
    """Normalised vote weights: ``rows * 0.5 ** ((latest - version) / half_life)``.

    A member's weight halves every ``half_life`` versions of age; ``half_life=None`` means no
    decay. Without ``by_rows`` every member starts from the same weight.

    Examples
    --------
    >>> member_weights([100, 100, 200], [1, 2, 3], latest=3)
    array([0.25, 0.25, 0.5 ])
    >>> member_weights([100, 100, 200], [1, 2, 3], latest=3, half_life=1.0)
    array([0.09090909, 0.18181818, 0.72727273])
    >>> member_weights([100, 300], [1, 1], latest=1, by_rows=False)
    array([0.5, 0.5])
    """
    size = np.asarray(rows, dtype=np.float64) if by_rows else np.ones(len(rows))
    age = latest - np.asarray(versions, dtype=np.float64)
    decay = np.ones_like(age) if half_life is None else 0.5 ** (age / half_life)
    raw = size * decay
    total = raw.sum()
    return raw / total if total > 0 else np.full(len(raw), 1.0 / max(len(raw), 1))


def aligned_proba(member: Any, features: Any, classes: np.ndarray) -> np.ndarray:
    """``member``'s class probabilities as columns of ``classes`` (a sorted superset).

    Classes the member never saw get probability 0; a member without ``predict_proba``
    votes with probability 1 for its prediction.
    """
    rows = features.shape[0]
    out = np.zeros((rows, len(classes)), dtype=np.float64)
    if hasattr(member, "predict_proba"):
        out[:, np.searchsorted(classes, member.classes_)] = member.predict_proba(features)
    else:
        out[np.arange(rows), np.searchsorted(classes, member.predict(features))] = 1.0
    return out


def one_hot(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Indicator columns of ``labels`` over sorted ``classes``.

    Examples
    --------
    >>> one_hot(np.array(["b", "a"]), np.array(["a", "b", "c"]))
    array([[0., 1., 0.],
           [1., 0., 0.]])
    """
    out = np.zeros((len(labels), len(classes)), dtype=np.float64)
    out[np.arange(len(labels)), np.searchsorted(classes, labels)] = 1.0
    return out


def stacking_weights(outputs: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray:
    """Non-negative weights, summing to 1, whose blend of ``outputs`` best fits ``target``.

    ``outputs`` holds one array per member, of the shape of ``target`` (class probabilities
    against one-hot labels, or predictions against values); the fit is least squares with
    non-negative weights. When no blend beats zero, every member gets the same weight.

    Examples
    --------
    >>> truth = np.array([1.0, 2.0, 3.0, 4.0])
    >>> stacking_weights([truth, np.array([4.0, 1.0, 3.0, 2.0])], truth).round(6)
    array([1., 0.])
    """
    from scipy.optimize import nnls

    design = np.column_stack([np.asarray(out, dtype=np.float64).ravel() for out in outputs])
    weights, _ = nnls(design, np.asarray(target, dtype=np.float64).ravel())
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return np.full(len(outputs), 1.0 / len(outputs))
    return np.asarray(weights / total)


def holdout_mask(rows: int, fraction: float, seed: int) -> np.ndarray:
    """A reproducible random choice of about ``fraction`` of ``rows`` rows (``True`` = held out).

    Examples
    --------
    >>> mask = holdout_mask(1000, 0.2, seed=7)
    >>> bool((mask == holdout_mask(1000, 0.2, seed=7)).all()), 150 < int(mask.sum()) < 250
    (True, True)
    """
    if fraction <= 0:
        return np.zeros(rows, dtype=bool)
    return np.random.default_rng(seed).random(rows) < fraction
