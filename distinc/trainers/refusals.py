"""An estimator's refusals: the parameters ``partial_fit`` never takes, refused at ``init``, and
what it refuses while training, told as one line naming the partitions.

scikit-learn checks some parameters and data only when it fits. The parameter values its
``partial_fit`` never takes (``class_weight="balanced"``, ``early_stopping=True``) are known
in advance, so a store that would fail every update is not created. What it refuses of the rows
(negative counts for ``MultinomialNB``) is known only while training; its ``ValueError`` would
otherwise reach the user as an internal error with a stack trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from distinc.estimators import build_estimator
from distinc.exceptions import ConfigurationError, TrainingError, first_line, listed
from distinc.spec import ModelSpec

INSTEAD = "or use the 'ensemble' strategy, which fits each delta from scratch"
# Parameter values that scikit-learn's partial_fit refuses whatever the rows, and what to set
# instead (tests/test_training_refusals.py checks each against scikit-learn itself).
PARTIAL_FIT_REFUSES: dict[tuple[str, Any], str] = {
    ("class_weight", "balanced"): (
        "Give class_weight as a mapping of class to weight (sklearn.utils.class_weight."
        f"compute_class_weight computes balanced weights from a sample of the labels), {INSTEAD}"
    ),
    ("early_stopping", True): f"Leave early_stopping at False, {INSTEAD}",
}


def refuse_partial_fit_params(spec: ModelSpec) -> None:
    """Refuse at ``init`` a parameter value that ``partial_fit`` would refuse at every update."""
    estimator = build_estimator(spec.estimator, spec.params)
    params = estimator.get_params(deep=False)
    for (name, value), instead in PARTIAL_FIT_REFUSES.items():
        if name in params and type(params[name]) is type(value) and params[name] == value:
            raise ConfigurationError(
                f"{type(estimator).__name__}'s partial_fit refuses {name}={value!r}, and the "
                f"{spec.strategy!r} strategy learns with partial_fit. {instead}.",
                parameter=name,
                strategy=spec.strategy,
            )


@contextlib.contextmanager
def refusals_named(model: Any, keys: Sequence[str]) -> Iterator[None]:
    """Turn a ``ValueError`` raised while ``model`` learns ``keys`` into an ``TrainingError``."""
    try:
        yield
    except ValueError as exc:
        raise TrainingError(
            f"{type(model).__name__} refused the rows of partition(s) {listed(keys, limit=3)}: "
            f"{first_line(exc)}. Nothing was committed; fix the data, or the parameters in a "
            "new store (distinc init).",
            partition=keys[0],
        ) from exc
