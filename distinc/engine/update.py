"""The update: list, plan, profile, admit, train, write, commit — in that order.

Nothing becomes visible before the final ``commit``: artifacts go under never-reused names and
the ledger entry that references them is created last, with create-if-absent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fsspec.implementations.local import LocalFileSystem

from distinc.dataset.listing import file_state, list_files, newest_folder, parse_listing
from distinc.dataset.partition import DataSource, under
from distinc.dataset.schema import ColumnContract
from distinc.engine import faults
from distinc.engine.cluster import dask_client, scheduler_losses_named, warm_workers
from distinc.engine.heap import collections_paused, older_objects_frozen
from distinc.engine.progress import ProgressCallback, Tracker
from distinc.engine.scanning import DeltaScan, worth_keeping
from distinc.exceptions import PartitionChangedError, StoreError
from distinc.ledger.admit import Admission
from distinc.ledger.entry import ArtifactRef, LedgerEntry, SkippedPartition
from distinc.ledger.lineage import Lineage
from distinc.ledger.plan import Plan, Selection, plan_files, select
from distinc.spec import parse_policy
from distinc.store import codecs
from distinc.store.records import put_stats
from distinc.store.store import ModelStore
from distinc.store.versions import library_versions
from distinc.trainers import trainer_for
from distinc.trainers.base import TrainingJob, TrainingResult
from distinc.trainers.batching import fit_batch_bytes

logger = logging.getLogger("distinc")

# A commit whose answer was lost is retried; the run id makes the retry recognise its own entry.
COMMIT_ATTEMPTS = 3
# Files whose fingerprints are confirmed at once on a remote store before the commit.
CONFIRM_THREADS = 32


@dataclass(frozen=True)
class UpdateResult:
    """What an update did: the committed entry, or why there was nothing to commit."""

    plan: Plan
    entry: LedgerEntry | None = None
    version: int | None = None
    dry_run: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def noop(self) -> bool:
        return self.entry is None and not self.dry_run


def plan_update(
    store: ModelStore,
    *,
    on_modified: str = "error",
    on_missing: str = "error",
    listing: str = "full",
) -> tuple[Lineage, Plan, Selection]:
    """List the data and compare it with the ledger; raises on modified/missing by policy.

    ``listing="since-newest"`` lists only the folder of the newest learned partition and the
    folders that sort after it (see ``files_since``); ``full`` lists everything.
    """
    spec = store.spec
    # The ledger's records and the listing are a few objects per file, none in a cycle: on
    # 100,000 files, collections would walk them again and again (about 0.2 s of a 1.4 s plan).
    with collections_paused():
        lineage = store.lineage()
        since = newest_folder(lineage.trained) if parse_listing(listing) == "since-newest" else None
        listed = list_files(DataSource(spec.data, spec.storage_options), since=since)
        plan = plan_files(lineage, listed, since=since)
    selection = select(
        plan,
        on_modified=parse_policy("on_modified", on_modified),
        on_missing=parse_policy("on_missing", on_missing),
    )
    return lineage, plan, selection


@older_objects_frozen()
def update(
    store: ModelStore,
    *,
    client: Any = None,
    scheduler: str | None = None,
    on_modified: str = "error",
    on_missing: str = "error",
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    single_writer: bool = False,
    listing: str = "full",
    on_corrupt: str = "error",
) -> UpdateResult:
    """Train the head model on every partition it has not learned, and commit a new version.

    ``progress`` receives the partitions and rows trained as training goes. The seconds
    recorded leave out what a retrain does not do (starting a local cluster, loading the
    parent model, writing the new version), so the two compare.
    ``single_writer`` promises that no other updater runs on this store, which lets an update
    commit to a backend whose create-if-absent cannot be proven (see ``store.probe``).
    ``listing="since-newest"`` lists only the newest folders of an append-only tree.
    ``on_corrupt="skip"`` records a new file that is not readable Parquet as skipped instead
    of failing the update.
    """
    skip_corrupt = parse_policy("on_corrupt", on_corrupt) == "skip"
    started = time.perf_counter()
    lineage, plan, selection = plan_update(
        store, on_modified=on_modified, on_missing=on_missing, listing=listing
    )
    for warning in selection.warnings:
        logger.warning(warning)
    faults.reach("after-plan")
    if dry_run or not selection.train:
        return UpdateResult(
            plan, version=lineage.version, dry_run=dry_run, warnings=selection.warnings
        )
    store.require_exclusive_create(single_writer=single_writer)
    spec = store.spec
    source = DataSource(spec.data, spec.storage_options)
    contract = ColumnContract.from_spec(spec, lineage.categories)
    trainer = trainer_for(spec.strategy)
    loading = time.perf_counter()
    parent = store.load_model(lineage.head) if lineage.head is not None else None
    started += time.perf_counter() - loading
    # The version after the head this run planned against: if another run commits first, this
    # commit finds the entry taken and fails as a concurrent update instead of skipping ahead.
    version = (lineage.version or 0) + 1
    run_id = uuid.uuid4().hex
    tracker = Tracker(progress, task="update", version=version, total=len(selection.train))
    connecting = time.perf_counter()
    with dask_client(scheduler, client=client) as dask, scheduler_losses_named(dask, "update"):
        warm_workers(dask, worker_modules(spec.estimator, trainer))
        started += time.perf_counter() - connecting
        keep = trainer.uses_batches and worth_keeping(dask, selection.train)
        delta = DeltaScan(
            dask,
            source,
            selection.train,
            contract=contract,
            lineage=lineage,
            declared_classes=spec.classes,
            allow_new_classes=spec.options.allow_new_classes,
            keep=keep,
            batch_bytes=fit_batch_bytes(spec.options, strategy=spec.strategy),
            skip_corrupt=skip_corrupt,
            yield_to_fits=trainer.chained,
        )
        tracker.start(delta)
        logger.info(
            "checking and learning %d new partition(s) for version %d",
            len(selection.train),
            version,
        )
        try:
            job = TrainingJob(
                spec=spec,
                source=source,
                contract=contract,
                delta=delta,
                model=parent,
                version=version,
                run_id=run_id,
                lineage=lineage,
                progress=tracker.groups_finished,
                read_artifact=store.read_artifact,
            )
            result = trainer.train(job, dask)
            admission = delta.admission()
        finally:
            if dask.status == "running":  # a lost scheduler has forgotten the futures already
                delta.release()
    warnings = selection.warnings + admission.warnings
    for warning in admission.warnings:
        logger.warning(warning)
    if not admission.train:
        logger.info("nothing to learn: every new partition was skipped")
        return UpdateResult(plan, version=lineage.version, warnings=warnings)
    tracker.finish(admission.rows, len(admission.train))
    faults.reach("after-train")
    _confirm_unchanged(source, admission)
    seconds = round(time.perf_counter() - started, 3)
    artifacts = _write_artifacts(store, result, version=version, run_id=run_id)
    stats = delta.statistics()
    if stats is not None:
        artifacts += (put_stats(store, stats, version=version, run_id=run_id),)
    faults.reach("after-artifact-write")
    skipped = admission.skipped + tuple(
        SkippedPartition(p.key, p.fingerprint.size, p.fingerprint.token, "modified; skipped")
        for p in selection.skip_modified
    )
    entry = LedgerEntry(
        version=version,
        parent=lineage.version,
        kind="update",
        run_id=run_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        strategy=spec.strategy,
        artifacts=artifacts,
        partitions=admission.train,
        skipped=skipped,
        rows=admission.rows,
        seconds=seconds,
        classes=admission.classes,
        categories=admission.categories,
        libraries=library_versions(),
        notes={"warnings": list(warnings), **result.notes},
    )
    faults.reach("before-commit")
    entry = _commit(store, entry)
    faults.reach("after-commit")
    collect_leftovers(store)
    return UpdateResult(plan, entry=entry, version=entry.version, warnings=warnings)


def collect_leftovers(store: ModelStore) -> None:
    """Collect crashed runs' leftovers once a version is committed; a failure here does not
    undo the commit, so it is a warning (the next run collects them)."""
    try:
        store.collect_garbage()
    except OSError as exc:
        logger.warning("Leftovers of crashed runs were not collected this time: %s", exc)


def worker_modules(estimator: str, trainer: Any) -> tuple[str, ...]:
    """The modules an update's tasks import on the workers."""
    return ("distinc.dataset.profile", type(trainer).__module__, estimator.rpartition(".")[0])


def _commit(store: ModelStore, entry: LedgerEntry) -> LedgerEntry:
    """Commit ``entry``, retrying when the store's answer is lost (the run id makes it safe)."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            committed = store.commit(entry)
            faults.lose_acknowledgement(entry.run_id)
            return committed
        except OSError as exc:
            if attempt == COMMIT_ATTEMPTS:
                raise StoreError(
                    f"Committing version {entry.version} to {store.url!r} failed "
                    f"{COMMIT_ATTEMPTS} times ({exc}). Either it landed or nothing was "
                    "published; rerun the update, which starts from whatever is committed.",
                    version=entry.version,
                ) from exc
            logger.warning(
                "committing version %d failed (%s); retrying with the same run id",
                entry.version,
                exc,
            )
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _confirm_unchanged(source: DataSource, admission: Admission) -> None:
    """Refuse to record a partition whose file changed while it was being trained."""
    fs, root = source.filesystem()  # once: parsing the URL per partition adds up at 10,000
    now = partial(file_state, fs)
    paths = [under(root, part.key) for part in admission.train]
    with ThreadPoolExecutor(CONFIRM_THREADS, thread_name_prefix="distinc-confirm") as pool:
        # A remote store answers each question in a round trip: thousands in turn take minutes.
        states = list(map(now, paths) if isinstance(fs, LocalFileSystem) else pool.map(now, paths))
    for part, state in zip(admission.train, states, strict=True):
        if state != (part.size, part.token):
            raise PartitionChangedError(
                f"Partition {part.key!r} changed or vanished while the update was training; "
                "nothing was committed. Rerun the update once the data settles.",
                partition=part.key,
            )


def _write_artifacts(
    store: ModelStore, result: TrainingResult, *, version: int, run_id: str
) -> tuple[ArtifactRef, ...]:
    model_bytes = codecs.dump(result.model, result.artifact_format)
    if faults.armed("mid-artifact-write"):
        name = store.artifact_name(
            role="model", version=version, run_id=run_id, fmt=result.artifact_format
        )
        store.files.write(name, model_bytes[: len(model_bytes) // 2])
        faults.reach("mid-artifact-write")
    refs = [
        store.put_artifact(
            model_bytes, role="model", version=version, run_id=run_id, fmt=result.artifact_format
        )
    ]
    for extra in result.extras:
        refs.append(
            store.put_artifact(
                extra.data, role=extra.role, version=version, run_id=run_id, fmt=extra.format
            )
        )
    return tuple(refs)
