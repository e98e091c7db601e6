"""A fixed-width encoding of category codes, so a model's feature space never changes.

distinc reads a categorical column as stable codes: its vocabulary is only ever appended to, so
code ``c`` means the same category for the life of a store, and a value outside a version's
vocabulary reads as NaN. ``CategoryEncoder`` turns each code column into a one-hot block of
fixed width, so a category first seen in a later partition never shifts existing features
and a ``partial_fit`` model keeps its input width:

* ``"vocabulary"``: the first ``width`` categories (in order of first sight) get a slot each,
  pinned forever; later ones share the last, "unseen" slot with values the version does not
  know.
* ``"hash"``: every category lands in one of ``width`` buckets by a fixed hash of its code
  (collisions, but no category is lumped in with the unseen ones); unknown values take the
  unseen slot.

Numeric columns pass through unchanged, ahead of the blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def hash_codes(codes: np.ndarray, buckets: int) -> np.ndarray:
    """Bucket of each (non-negative integer) code: a fixed splitmix64 mix, modulo ``buckets``.

    Examples
    --------
    >>> hash_codes(np.array([0, 1, 2, 3]), 8).tolist()
    [7, 1, 6, 5]
    """
    mixed = codes.astype(np.uint64) + np.uint64(_MIX[0])
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(_MIX[1])
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(_MIX[2])
    mixed = mixed ^ (mixed >> np.uint64(31))
    return np.asarray(mixed % np.uint64(buckets), dtype=np.int64)


def slots(codes: np.ndarray, *, encoding: str, width: int) -> np.ndarray:
    """The one-hot slot of each code; NaN (a value the version does not know) is ``width``.

    Examples
    --------
    >>> slots(np.array([0.0, 2.0, 5.0, np.nan]), encoding="vocabulary", width=3).tolist()
    [0, 2, 3, 3]
    """
    known = np.isfinite(codes) & (codes >= 0)
    whole = np.where(known, codes, 0).astype(np.int64)
    if encoding == "hash":
        return np.where(known, hash_codes(whole, width), width)
    return np.where(known & (whole < width), whole, width)


class CategoryEncoder(TransformerMixin, BaseEstimator):
    """One-hot blocks of fixed width for the category-code columns of a feature matrix.

    Parameters
    ----------
    n_features
        Columns of the input matrix.
    categorical
        Indices of the columns holding category codes (NaN for unknown values).
    encoding
        ``"vocabulary"`` or ``"hash"`` (see the module docstring).
    width
        Slots per categorical column besides the unseen slot.

    Examples
    --------
    >>> X = np.array([[0.5, 0.0], [1.5, 1.0], [2.5, np.nan]])
    >>> CategoryEncoder(2, categorical=(1,), width=2).fit_transform(X)
    array([[0.5, 1. , 0. , 0. ],
           [1.5, 0. , 1. , 0. ],
           [2.5, 0. , 0. , 1. ]])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "categorical": ["array-like"],
        "encoding": [StrOptions({"vocabulary", "hash"})],
        "width": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_features: int = 1,
        *,
        categorical: Sequence[int] = (),
        encoding: str = "vocabulary",
        width: int = 32,
    ) -> None:
        self.n_features = n_features
        self.categorical = categorical
        self.encoding = encoding
        self.width = width

    def fit(self, X: Any, y: Any = None) -> CategoryEncoder:
        """Check the input's width; the encoding itself needs nothing from the data."""
        self._validate_params()
        validate_data(self, X, ensure_all_finite="allow-nan", reset=True)
        if self.n_features_in_ != self.n_features:
            raise ValueError(f"Expected {self.n_features} columns, got {self.n_features_in_}.")
        self.categorical_ = np.asarray(self.categorical, dtype=np.int64)
        if self.categorical_.size and not (
            0 <= self.categorical_.min() <= self.categorical_.max() < self.n_features
        ):
            raise ValueError(f"Categorical column indices {self.categorical} are out of range.")
        return self

    def partial_fit(self, X: Any, y: Any = None) -> CategoryEncoder:
        """Like ``fit``: the encoding does not change with the data it sees."""
        if not hasattr(self, "categorical_"):
            return self.fit(X)
        validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        return self

    @property
    def n_output_features(self) -> int:
        categorical = len(self.categorical)
        return self.n_features - categorical + categorical * (self.width + 1)

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False, dtype=np.float64)
        numeric = np.setdiff1d(np.arange(self.n_features), self.categorical_)
        blocks = [X[:, numeric]]
        rows = np.arange(X.shape[0])
        for column in self.categorical_:
            block = np.zeros((X.shape[0], self.width + 1), dtype=np.float64)
            block[rows, slots(X[:, column], encoding=self.encoding, width=self.width)] = 1.0
            blocks.append(block)
        return np.hstack(blocks)
