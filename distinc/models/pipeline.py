"""A scikit-learn pipeline that can also learn with ``partial_fit``, step by step."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if


def _final_has_partial_fit(pipeline: Pipeline) -> bool:
    return hasattr(pipeline.steps[-1][1], "partial_fit")


class IncrementalPipeline(Pipeline):
    """A ``Pipeline`` whose ``partial_fit`` feeds one batch through every step in order.

    Each transformer learns from the batch with its own ``partial_fit`` (a ``StandardScaler``
    updates its running mean and variance), then transforms it for the next step; the final
    estimator's ``partial_fit`` receives the transformed batch and any further arguments
    (``classes=...``). Everything else is scikit-learn's ``Pipeline``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> model = IncrementalPipeline([("scale", StandardScaler()), ("model", SGDRegressor())])
    >>> model = model.partial_fit(X[:5], X[:5, 0]).partial_fit(X[5:], X[5:, 0])
    >>> int(model.named_steps["scale"].n_samples_seen_)
    10
    """

    @available_if(_final_has_partial_fit)
    def partial_fit(self, X: Any, y: Any = None, **params: Any) -> IncrementalPipeline:
        """Learn one batch: each transformer's ``partial_fit``, then the final estimator's."""
        transformed = X
        for _, step in self.steps[:-1]:
            if step is None or step == "passthrough":
                continue
            step.partial_fit(transformed)
            transformed = step.transform(transformed)
        final = self.steps[-1][1]
        if y is None:
            final.partial_fit(transformed, **params)
        else:
            final.partial_fit(transformed, y, **params)
        return self
