"""An estimator's refusal while training, told as one line naming the partitions.

scikit-learn checks some parameters and data only when it fits (``class_weight="balanced"``
or ``early_stopping`` with ``partial_fit``, negative counts for ``MultinomialNB``); its
``ValueError`` would otherwise reach the user as an internal error with a stack trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from distinc.exceptions import TrainingError, first_line, listed


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
