"""Running a version's sessions with any ``xgb.train``-like function, and what they learned."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.trainers.boosting.params import Session
from distinc.trainers.boosting.reservoir import rng_for, sample
from distinc.trainers.boosting.rows import LabelCoding, Rows

VALIDATION = "validation"
# (params, rounds, model to continue, callbacks) -> (booster, evaluation history)
Fit = Callable[[dict[str, Any], int, Any, list[Any]], tuple[Any, Mapping[str, Any]]]


@dataclass(frozen=True)
class BoostingTask:
    """One version's training, as shipped to wherever it runs.

    ``draws[i]`` is how many rows partition ``keys[i]`` gives the replay reservoir; ``replay``
    are reservoir rows trained on alongside the delta.
    """

    source: DataSource
    keys: tuple[str, ...]
    rows: tuple[int, ...]
    contract: ColumnContract
    coding: LabelCoding
    params: dict[str, Any]
    sessions: tuple[Session, ...]
    feature_names: list[str] | None
    feature_types: list[str]
    seed: int
    version: int
    draws: tuple[int, ...] = ()
    replay: Rows | None = None
    validation: tuple[DataSource, tuple[str, ...]] | None = None
    early_stopping_rounds: int | None = None
    collective_timeout: int = 600

    @property
    def categorical(self) -> bool:
        return "c" in self.feature_types


@dataclass(frozen=True)
class BoostingOutcome:
    """The trained booster, the delta rows drawn for the reservoir, and evaluation results."""

    booster: Any
    drawn: Rows | None = None
    validation: dict[str, float] = field(default_factory=dict)
    best_round: int | None = None


def final_scores(history: Mapping[str, Any], index: int) -> dict[str, float]:
    """Each validation metric at round ``index`` of a session (early stopping keeps fewer
    rounds than it ran).

    Examples
    --------
    >>> final_scores({"validation": {"logloss": [0.5, 0.4, 0.45]}}, 1)
    {'logloss': 0.4}
    """
    metrics = history.get(VALIDATION, {})
    return {name: float(values[index]) for name, values in metrics.items() if values}


def run_sessions(
    fit: Fit,
    task: BoostingTask,
    parent: Any,
    *,
    params: Mapping[str, Any],
    evaluated: bool,
) -> tuple[Any, dict[str, float], int | None]:
    """Run ``task.sessions`` in order from ``parent`` with ``params``; the booster, the final
    validation scores and the best round when early stopping chose one."""
    import xgboost

    booster = parent
    scores: dict[str, float] = {}
    best: int | None = None
    for session in task.sessions:
        before = 0 if booster is None else int(booster.num_boosted_rounds())
        callbacks = []
        stopping = evaluated and session.stops_early and task.early_stopping_rounds
        if stopping:
            callbacks.append(
                xgboost.callback.EarlyStopping(
                    rounds=int(task.early_stopping_rounds or 0),
                    save_best=True,
                    data_name=VALIDATION,
                )
            )
        # Choosing the refresh updater by hand is exactly what a refresh session means, and
        # XGBoost warns of it from the thread that trains, where Python's warning filters do
        # not reach (its log callback is per thread): its own verbosity, which xgboost.dask
        # also sets on the workers, silences it.
        quiet: AbstractContextManager[Any] = nullcontext()
        if session.kind == "refresh":
            quiet = xgboost.config_context(verbosity=0)
        with quiet:
            booster, history = fit(
                {**params, **session.overrides}, session.rounds, booster, callbacks
            )
        kept = int(booster.num_boosted_rounds()) - before
        if stopping and booster.attr("best_iteration") is not None:
            best = int(booster.attr("best_iteration"))
        if evaluated:
            scores = final_scores(history, kept - 1 if session.kind == "add" else -1)
    if booster is not None:
        booster.set_attr(best_iteration=None, best_score=None)
    return booster, scores, best


def draw(rows: Rows, task: BoostingTask, index: int) -> Rows:
    """The rows partition ``index`` of the delta gives the reservoir."""
    count = task.draws[index] if task.draws else 0
    return sample(rows, count, rng_for(task.seed, task.version, 2, index))
