"""Full retrain: a fresh model on every partition the head version learned, by the same trainer.

The reference an update is measured against. It runs through the store's own strategy
(``trainer_for(spec.strategy)``) with no parent model, on the cluster, with the same scan and
admission as an update, and is committed as a version only when asked. The partitions must be
as the head learned them: a file rewritten or removed since makes the retrain learn other data,
so it is refused, naming the file.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from distinc.dataset.listing import list_partitions
from distinc.dataset.partition import DataSource, Partition
from distinc.dataset.schema import ColumnContract
from distinc.dataset.stats import DeltaStats
from distinc.engine.cluster import dask_client, scheduler_losses_named, warm_workers
from distinc.engine.heap import older_objects_frozen
from distinc.engine.progress import ProgressCallback, Tracker
from distinc.engine.scanning import DeltaScan, worth_keeping
from distinc.engine.update import _write_artifacts, collect_leftovers, worker_modules
from distinc.exceptions import PartitionChangedError, PartitionMissingError, VersionNotFoundError
from distinc.ledger.admit import Admission
from distinc.ledger.entry import LedgerEntry, SkippedPartition
from distinc.ledger.lineage import Lineage
from distinc.store.records import put_stats
from distinc.store.store import ModelStore
from distinc.store.versions import library_versions
from distinc.trainers import trainer_for
from distinc.trainers.base import TrainingJob, TrainingResult
from distinc.trainers.batching import fit_batch_bytes


@dataclass(frozen=True)
class Retrain:
    """A retrained model that is not (yet) a version: what it learned and what it cost."""

    base: LedgerEntry
    result: TrainingResult
    admission: Admission
    stats: DeltaStats | None
    seconds: float
    run_id: str

    @property
    def model(self) -> Any:
        return self.result.model


def learned_partitions(source: DataSource, lineage: Lineage) -> list[Partition]:
    """The head's partitions as listed now, in key order; refused if any changed or vanished."""
    listed = {part.key: part for part in list_partitions(source)}
    version = lineage.version
    gone = sorted(key for key in lineage.trained if key not in listed)
    if gone:
        raise PartitionMissingError(
            f"Partition(s) {gone[:5]} learned by version {version} are no longer in the dataset, "
            "so a retrain cannot learn the same data. Restore them to compare.",
            partitions=gone,
        )
    changed = sorted(
        key for key, part in lineage.trained.items() if listed[key].fingerprint != part.fingerprint
    )
    if changed:
        raise PartitionChangedError(
            f"Partition(s) {changed[:5]} changed since version {version} learned them, so a "
            "retrain would learn other data. Update first with the 'on_modified' option "
            "'retrain', then compare.",
            partitions=changed,
            options=("on_modified",),
        )
    return [listed[key] for key in sorted(lineage.trained)]


def _confirm_same_content(lineage: Lineage, admission: Admission) -> None:
    for part in admission.train:
        learned = lineage.trained[part.key]
        if learned.digest != part.digest:
            raise PartitionChangedError(
                f"Partition {part.key!r} has other content than version {lineage.version} "
                "learned (same size and time stamp, different bytes); the retrain was not kept.",
                partition=part.key,
            )


@older_objects_frozen()
def retrain(
    store: ModelStore,
    *,
    client: Any = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> Retrain:
    """Train a fresh model on every partition the head learned; nothing is committed."""
    lineage = store.lineage()
    head = lineage.head
    if head is None:
        raise VersionNotFoundError("The store has no versions yet; run an update first.")
    started = time.perf_counter()
    spec = store.spec
    source = DataSource(spec.data, spec.storage_options)
    partitions = learned_partitions(source, lineage)
    contract = ColumnContract.from_spec(spec)
    trainer = trainer_for(spec.strategy)
    run_id = uuid.uuid4().hex
    tracker = Tracker(progress, task="retrain", version=None, total=len(partitions))
    connecting = time.perf_counter()
    with dask_client(scheduler, client=client) as dask, scheduler_losses_named(dask, "retrain"):
        warm_workers(dask, worker_modules(spec.estimator, trainer))
        started += time.perf_counter() - connecting
        delta = DeltaScan(
            dask,
            source,
            partitions,
            contract=contract,
            lineage=Lineage(),
            declared_classes=lineage.classes or spec.classes,
            keep=trainer.uses_batches and worth_keeping(dask, partitions),
            batch_bytes=fit_batch_bytes(spec.options, strategy=spec.strategy),
            yield_to_fits=trainer.chained,
        )
        tracker.start(delta)
        try:
            job = TrainingJob(
                spec=spec,
                source=source,
                contract=contract,
                delta=delta,
                model=None,
                version=head.version + 1,
                run_id=run_id,
                progress=tracker.groups_finished,
            )
            result = trainer.train(job, dask)
            admission = delta.admission()
        finally:
            delta.release()
    _confirm_same_content(lineage, admission)
    tracker.finish(admission.rows, len(admission.train))
    seconds = round(time.perf_counter() - started, 3)
    return Retrain(head, result, admission, delta.statistics(), seconds, run_id)


def _acknowledged(lineage: Lineage) -> tuple[SkippedPartition, ...]:
    """The head's skipped partitions, so a committed retrain does not look at them again."""
    found: dict[str, SkippedPartition] = {}
    for entry in lineage.chain:
        for part in entry.skipped:
            if lineage.skipped.get(part.key) == part.fingerprint:
                found[part.key] = part
    return tuple(found[key] for key in sorted(found))


def commit_retrain(store: ModelStore, done: Retrain) -> LedgerEntry:
    """Commit ``done`` as the next version: a fresh lineage (no parent) learning the same data.

    Fails with "concurrent update" if a version was committed since the retrain started.
    """
    version = done.base.version + 1
    artifacts = _write_artifacts(store, done.result, version=version, run_id=done.run_id)
    if done.stats is not None:
        artifacts += (put_stats(store, done.stats, version=version, run_id=done.run_id),)
    entry = LedgerEntry(
        version=version,
        parent=None,
        kind="retrain",
        run_id=done.run_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        strategy=store.spec.strategy,
        artifacts=artifacts,
        partitions=done.admission.train,
        skipped=_acknowledged(store.lineage()) + done.admission.skipped,
        rows=done.admission.rows,
        seconds=done.seconds,
        classes=done.admission.classes,
        categories=done.admission.categories,
        libraries=library_versions(),
        notes={"retrain_of": done.base.version, **done.result.notes},
    )
    entry = store.commit(entry)
    collect_leftovers(store)
    return entry
