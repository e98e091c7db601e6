"""Stage 3: training strategies behind one ``Trainer`` interface."""

from __future__ import annotations

import importlib

from distinc.exceptions import ConfigurationError
from distinc.trainers.base import Trainer

_TRAINERS = {
    "stream": "distinc.trainers.stream:StreamTrainer",
    "xgboost": "distinc.trainers.boosting.trainer:XGBoostTrainer",
    "merge": "distinc.trainers.merge:MergeTrainer",
    "ensemble": "distinc.trainers.ensemble:EnsembleTrainer",
}


def trainer_for(strategy: str) -> Trainer:
    """The trainer implementing ``strategy``."""
    target = _TRAINERS.get(strategy)
    if target is None:
        raise ConfigurationError(
            f"The {strategy!r} strategy is not available; available: {sorted(_TRAINERS)}.",
            strategy=strategy,
        )
    module, _, name = target.partition(":")
    trainer: Trainer = getattr(importlib.import_module(module), name)()
    return trainer


def available_strategies() -> list[str]:
    return sorted(_TRAINERS)
