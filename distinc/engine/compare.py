"""Compare: the head version next to a full retrain on the same partitions, on a holdout.

The retrain runs on the cluster through the store's own strategy; the head's metrics come from
the store when this holdout was evaluated before. The comparison is recorded in the store; the
retrain becomes a version only with ``commit=True``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from distinc.dataset.schema import ColumnContract
from distinc.engine.cluster import dask_client, scheduler_losses_named
from distinc.engine.evaluation import Holdout
from distinc.engine.progress import ProgressCallback
from distinc.engine.retrain import commit_retrain, retrain
from distinc.exceptions import VersionNotFoundError
from distinc.predict.evaluate import evaluate_models
from distinc.store.records import Comparison, store_comparison, store_evaluation, stored_evaluation
from distinc.store.store import ModelStore

# Entry kinds whose seconds were spent training (a rollback trains nothing).
TRAINING_KINDS = ("update", "retrain")


def compare(
    store: ModelStore,
    holdout: str,
    *,
    commit: bool = False,
    storage_options: dict[str, Any] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    single_writer: bool = False,
) -> Comparison:
    """Retrain from scratch on what the head learned; compare metrics and seconds on ``holdout``.

    ``single_writer`` is as for updates: with ``commit``, it lets the retrain be committed to a
    backend whose create-if-absent cannot be proven.
    """
    lineage = store.lineage()
    head = lineage.head
    if head is None:
        raise VersionNotFoundError("The store has no versions yet; run an update first.")
    if commit:  # before the retrain, so that a refusal costs nothing
        store.require_exclusive_create(single_writer=single_writer)
    place = Holdout.at(holdout, storage_options or store.spec.storage_options, option="holdout")
    known = stored_evaluation(store, place.digest, head.version)
    spec = store.spec
    with dask_client(scheduler, client=client) as dask:
        done = retrain(store, client=dask, progress=progress)
        scorers = [(done.model, ColumnContract.from_spec(spec, done.admission.categories))]
        if known is None:
            scorers.append(
                (store.load_model(head), ColumnContract.from_spec(spec, head.categories))
            )
        with scheduler_losses_named(dask, "comparison"):
            scored = evaluate_models(dask, scorers, place.source)
    place.confirm_unchanged()
    if known is None:
        known = store_evaluation(store, place.record(head.version, scored[1]))
    committed = None
    if commit:
        committed = commit_retrain(store, done).version
        store_evaluation(store, place.record(committed, scored[0]))
    history = [entry for entry in lineage.chain if entry.kind in TRAINING_KINDS]
    comparison = Comparison(
        version=head.version,
        strategy=store.spec.strategy,
        holdout=holdout,
        holdout_digest=place.digest,
        incremental=known.metrics,
        retrain=scored[0],
        rows=sum(part.rows for part in lineage.trained.values()),
        retrain_rows=done.admission.rows,
        updates=len(history),
        incremental_seconds=round(sum(entry.seconds for entry in history), 3),
        last_update_seconds=history[-1].seconds if history else 0.0,
        retrain_seconds=done.seconds,
        run_id=done.run_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        committed=committed,
    )
    return store_comparison(store, comparison)
