"""Exact merges of sufficient statistics: models fitted on disjoint rows, combined into one.

Naive Bayes and the scalers keep counts, sums, means and variances; two of them fitted on
different rows combine into the model of all the rows, to float tolerance, in any grouping.
So partitions can be fitted in parallel and merged, and the result equals sequential
``partial_fit`` over the same rows. Means and variances combine with Chan et al.'s pairwise
formula; derived attributes (log probabilities, priors, scales) are recomputed with
scikit-learn's own helpers.

``GaussianNB`` stores its variances plus a smoothing term, ``epsilon_``, recomputed from each
batch; ``partial_fit`` subtracts the *new* batch's term from the stored variances before
pooling them and adds it back after. The merge does exactly that with the later model's term,
so it reproduces sequential ``partial_fit`` including that drift.

IncrementalPCA is not here: it truncates to ``n_components`` after every batch, so its result
depends on how the rows were batched.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from distinc.models.encoding import CategoryEncoder
from distinc.models.pipeline import IncrementalPipeline

Merge = Callable[[Any, Any], Any]


def _pooled(
    count_a: Any, mean_a: Any, var_a: Any, count_b: Any, mean_b: Any, var_b: Any
) -> tuple[Any, Any, Any]:
    """Count, mean and variance of two groups pooled (Chan, Golub and LeVeque).

    Examples
    --------
    >>> a, b = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0])
    >>> n, mean, var = _pooled(3, a.mean(), a.var(), 2, b.mean(), b.var())
    >>> bool(np.isclose(mean, np.r_[a, b].mean()) and np.isclose(var, np.r_[a, b].var()))
    True
    """
    count = count_a + count_b
    safe = np.where(count > 0, count, 1)
    delta = mean_b - mean_a
    mean = mean_a + delta * count_b / safe
    squares = var_a * count_a + var_b * count_b + delta**2 * count_a * count_b / safe
    return count, mean, squares / safe


def _same_shape(a: Any, b: Any, attribute: str) -> None:
    if np.shape(getattr(a, attribute)) != np.shape(getattr(b, attribute)):
        raise ValueError(
            f"Cannot merge {type(a).__name__} models of different shapes ({attribute})."
        )


def _same_classes(a: Any, b: Any) -> None:
    if not np.array_equal(a.classes_, b.classes_):
        raise ValueError(
            f"Cannot merge {type(a).__name__} models with different classes "
            f"({a.classes_.tolist()} and {b.classes_.tolist()})."
        )


def _merge_gaussian_nb(a: Any, b: Any) -> Any:
    _same_classes(a, b)
    _same_shape(a, b, "theta_")
    merged = copy.deepcopy(a)
    count_a, count_b = a.class_count_[:, None], b.class_count_[:, None]
    count, theta, var = _pooled(
        count_a, a.theta_, a.var_ - b.epsilon_, count_b, b.theta_, b.var_ - b.epsilon_
    )
    merged.class_count_ = count[:, 0]
    merged.theta_ = theta
    merged.epsilon_ = b.epsilon_
    merged.var_ = var + b.epsilon_
    if a.priors is None:
        merged.class_prior_ = merged.class_count_ / merged.class_count_.sum()
    return merged


def _merge_discrete_nb(a: Any, b: Any) -> Any:
    _same_classes(a, b)
    _same_shape(a, b, "feature_count_")
    merged = copy.deepcopy(a)
    merged.class_count_ = a.class_count_ + b.class_count_
    merged.feature_count_ = a.feature_count_ + b.feature_count_
    if hasattr(a, "feature_all_"):
        merged.feature_all_ = merged.feature_count_.sum(axis=0)
    merged._update_feature_log_prob(merged._check_alpha())
    merged._update_class_log_prior(class_prior=merged.class_prior)
    return merged


def _samples(count: Any) -> Any:
    """``n_samples_seen_`` as scikit-learn keeps it: an int when equal for every feature."""
    count = np.asarray(count)
    return int(count.flat[0]) if count.size and count.min() == count.max() else count


def _merge_standard_scaler(a: Any, b: Any) -> Any:
    from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature

    _same_shape(a, b, "n_features_in_")
    merged = copy.deepcopy(a)
    count_a = np.asarray(a.n_samples_seen_, dtype=np.float64)
    count_b = np.asarray(b.n_samples_seen_, dtype=np.float64)
    if a.mean_ is None:
        merged.n_samples_seen_ = _samples(a.n_samples_seen_ + b.n_samples_seen_)
        return merged
    var_a = a.var_ if a.var_ is not None else 0.0
    var_b = b.var_ if b.var_ is not None else 0.0
    count, mean, var = _pooled(count_a, a.mean_, var_a, count_b, b.mean_, var_b)
    merged.mean_ = mean
    merged.n_samples_seen_ = _samples(np.asarray(count, dtype=np.int64))
    if a.var_ is not None:
        merged.var_ = var
        constant = _is_constant_feature(var, mean, merged.n_samples_seen_)
        merged.scale_ = _handle_zeros_in_scale(np.sqrt(var), copy=False, constant_mask=constant)
    return merged


def _merge_max_abs_scaler(a: Any, b: Any) -> Any:
    from sklearn.preprocessing._data import _handle_zeros_in_scale

    _same_shape(a, b, "max_abs_")
    merged = copy.deepcopy(a)
    merged.max_abs_ = np.maximum(a.max_abs_, b.max_abs_)
    merged.n_samples_seen_ = a.n_samples_seen_ + b.n_samples_seen_
    merged.scale_ = _handle_zeros_in_scale(merged.max_abs_, copy=True)
    return merged


def _merge_min_max_scaler(a: Any, b: Any) -> Any:
    from sklearn.preprocessing._data import _handle_zeros_in_scale

    _same_shape(a, b, "data_min_")
    merged = copy.deepcopy(a)
    low, high = a.feature_range
    merged.data_min_ = np.minimum(a.data_min_, b.data_min_)
    merged.data_max_ = np.maximum(a.data_max_, b.data_max_)
    merged.data_range_ = merged.data_max_ - merged.data_min_
    merged.scale_ = (high - low) / _handle_zeros_in_scale(merged.data_range_, copy=True)
    merged.min_ = low - merged.data_min_ * merged.scale_
    merged.n_samples_seen_ = a.n_samples_seen_ + b.n_samples_seen_
    return merged


@functools.cache
def _merges() -> dict[type, Merge]:
    from sklearn.naive_bayes import BernoulliNB, ComplementNB, GaussianNB, MultinomialNB
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    return {
        GaussianNB: _merge_gaussian_nb,
        MultinomialNB: _merge_discrete_nb,
        ComplementNB: _merge_discrete_nb,
        BernoulliNB: _merge_discrete_nb,
        StandardScaler: _merge_standard_scaler,
        MaxAbsScaler: _merge_max_abs_scaler,
        MinMaxScaler: _merge_min_max_scaler,
    }


def can_merge(estimator: Any) -> bool:
    """Whether ``estimator`` (exactly one of the known types) merges exactly.

    A pipeline merges when its last step does and every step before it is a stateless
    ``CategoryEncoder``: a scaler in front would have fed each part differently scaled rows.

    Examples
    --------
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.linear_model import SGDClassifier
    >>> can_merge(GaussianNB()), can_merge(SGDClassifier())
    (True, False)
    """
    if isinstance(estimator, IncrementalPipeline):
        front = [step for _, step in estimator.steps[:-1]]
        return all(isinstance(step, CategoryEncoder) for step in front) and can_merge(
            estimator.steps[-1][1]
        )
    return type(estimator) in _merges()


def merge(earlier: Any, later: Any) -> Any:
    """The model of the rows of ``earlier`` followed by those of ``later``; inputs untouched."""
    if isinstance(earlier, IncrementalPipeline):
        merged = copy.deepcopy(later)
        merged.steps[-1] = (later.steps[-1][0], merge(earlier.steps[-1][1], later.steps[-1][1]))
        return merged
    step = _merges().get(type(earlier))
    if step is None or type(later) is not type(earlier):
        raise TypeError(
            f"Cannot merge {type(earlier).__name__} with {type(later).__name__}; mergeable "
            f"types: {sorted(cls.__name__ for cls in _merges())}."
        )
    return step(earlier, later)


def merge_all(models: Sequence[Any]) -> Any:
    """``models`` (fitted on consecutive rows, in order) merged into one."""
    if not models:
        raise ValueError("Nothing to merge.")
    return functools.reduce(merge, models)
