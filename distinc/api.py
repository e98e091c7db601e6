"""The Python API: ``distinc.init`` and ``distinc.open`` return an ``IncrementalModel``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from distinc.config import StorageOptions, setting
from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.engine.cluster import dask_client, scheduler_losses_named
from distinc.engine.compare import compare
from distinc.engine.drift import DriftCheck, check_drift
from distinc.engine.evaluation import Holdout, evaluate_versions
from distinc.engine.progress import ProgressCallback
from distinc.engine.rollback import rollback
from distinc.engine.setup import initialise
from distinc.engine.update import UpdateResult, plan_update, update
from distinc.exceptions import VersionNotFoundError
from distinc.ledger.drift import PSI_THRESHOLD
from distinc.ledger.entry import LedgerEntry
from distinc.ledger.plan import Plan
from distinc.predict.batch import PredictionSummary, predict_dataset
from distinc.predict.destination import prepare_output
from distinc.report.data import collect
from distinc.report.page import ReportFiles, write_report
from distinc.spec import ModelSpec, TrainingOptions
from distinc.store.check import check_store
from distinc.store.records import Comparison, Evaluation
from distinc.store.store import ModelStore


@dataclass(frozen=True)
class Status:
    """Where a store stands: its head version and how the dataset compares with it."""

    version: int | None
    spec: ModelSpec
    trained: tuple[str, ...]
    plan: Plan


class IncrementalModel:
    """A versioned model that keeps learning from new partitions of its dataset.

    Open one with ``distinc.open("./store")`` or create one with ``distinc.init``; then
    ``model.update()`` learns what is new, ``model.model()`` returns the fitted estimator and
    ``model.predict(data, out=...)`` scores a dataset on the cluster.

    ``storage`` holds the fsspec options of this session for the store, the data and prediction
    outputs; the data options are laid over those pinned in the spec at ``init``.
    """

    def __init__(self, store: ModelStore, storage: StorageOptions | None = None) -> None:
        self.store = store
        self.storage = storage or StorageOptions()
        if self.storage.data:
            # Every stage reaches the data through the spec's options; these hold only for this
            # session and are never written back (the spec file is written once, by init).
            store.spec = dataclasses.replace(
                store.spec, storage_options=self.storage.for_data(store.spec.storage_options)
            )

    def __repr__(self) -> str:
        return f"IncrementalModel({self.store.url!r}, version={self.version})"

    @property
    def spec(self) -> ModelSpec:
        return self.store.spec

    @property
    def version(self) -> int | None:
        head = self.store.head()
        return None if head is None else head.version

    def update(
        self,
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
        """Train on every partition not yet learned and commit a version (or do nothing).

        ``progress`` is called with a ``Progress`` as partitions are trained.
        ``single_writer=True`` promises that no other updater runs on this store; it is needed
        only on a backend whose create-if-absent cannot be proven. ``listing="since-newest"``
        lists only the folder of the newest learned partition and the folders sorting after it
        (an append-only tree); a file added to an older folder waits for a ``full`` listing.
        ``on_corrupt="skip"`` quarantines a new file that is not readable Parquet: the version
        records it as skipped, with the reason, and it is planned again once the file changes.
        """
        return update(
            self.store,
            client=client,
            scheduler=scheduler,
            on_modified=on_modified,
            on_missing=on_missing,
            dry_run=dry_run,
            progress=progress,
            single_writer=single_writer,
            listing=listing,
            on_corrupt=on_corrupt,
        )

    def status(self) -> Status:
        lineage, plan, _ = plan_update(self.store, on_modified="retrain", on_missing="warn")
        return Status(lineage.version, self.spec, tuple(sorted(lineage.trained)), plan)

    def history(self) -> tuple[LedgerEntry, ...]:
        return self.store.entries()

    def entry(self, version: int | None = None) -> LedgerEntry:
        """The ledger entry of ``version`` (default: the head)."""
        entry = self.store.head() if version is None else self.store.entry(version)
        if entry is None:
            raise VersionNotFoundError("The store has no versions yet; run an update first.")
        return entry

    def model(self, version: int | None = None) -> Any:
        """The fitted estimator of ``version`` (default: the head), verified against its hash."""
        return self.store.load_model(self.entry(version))

    def _scoring(self, version: int | None) -> tuple[Any, ColumnContract]:
        """A version's model and the columns (with its vocabularies) it reads."""
        entry = self.entry(version)
        return self.store.load_model(entry), ColumnContract.from_spec(self.spec, entry.categories)

    def predict(
        self,
        data: str,
        *,
        out: str,
        version: int | None = None,
        keep: Sequence[str] = (),
        storage_options: dict[str, Any] | None = None,
        output_options: dict[str, Any] | None = None,
        client: Any = None,
        scheduler: str | None = None,
    ) -> PredictionSummary:
        """Score every partition under ``data``, writing one Parquet file per input to ``out``.

        ``storage_options`` reach both ``data`` and ``out`` (default: this model's data and
        output options); ``output_options`` are laid over them for ``out`` only. ``out`` is a
        folder of its own: neither ``data``, inside or around it, nor inside the training data,
        whose next update would learn the predictions. Files a run wrote there before are
        overwritten.
        """
        model, contract = self._scoring(version)
        source = DataSource(data, dict(storage_options or self.spec.storage_options))
        shared = self.storage.output if storage_options is None else storage_options
        out_options = {**shared, **(output_options or {})}
        training = DataSource(self.spec.data, self.spec.storage_options)
        prepare_output(out, out_options, scoring=source, training=training)
        with (
            dask_client(scheduler, client=client) as dask,
            scheduler_losses_named(dask, "prediction"),
        ):
            return predict_dataset(
                dask,
                model,
                contract,
                source,
                out,
                keep=keep,
                out_options=out_options,
            )

    def evaluate(
        self,
        data: str,
        *,
        version: int | None = None,
        storage_options: dict[str, Any] | None = None,
        client: Any = None,
        scheduler: str | None = None,
    ) -> dict[str, float]:
        """Holdout metrics of ``version`` (default: the head) on the partitions under ``data``.

        The result is stored, so asking again on the same holdout reads it back.
        """
        if version is None:
            version = self.version
            if version is None:
                raise VersionNotFoundError("The store has no versions yet; run an update first.")
        (found,) = self.evaluations(
            data,
            versions=[version],
            storage_options=storage_options,
            client=client,
            scheduler=scheduler,
        )
        return dict(found.metrics)

    def evaluations(
        self,
        data: str,
        *,
        versions: Sequence[int] | None = None,
        storage_options: dict[str, Any] | None = None,
        client: Any = None,
        scheduler: str | None = None,
    ) -> tuple[Evaluation, ...]:
        """Holdout metrics of ``versions`` (default: all), computed once and kept in the store."""
        return evaluate_versions(
            self.store,
            data,
            versions=versions,
            storage_options=storage_options,
            client=client,
            scheduler=scheduler,
        )

    def compare(
        self,
        holdout: str,
        *,
        commit: bool = False,
        storage_options: dict[str, Any] | None = None,
        client: Any = None,
        scheduler: str | None = None,
        progress: ProgressCallback | None = None,
        single_writer: bool = False,
    ) -> Comparison:
        """The head next to a full retrain on the same partitions: metrics and seconds.

        The retrain runs on the cluster with the store's strategy and becomes the next version
        only with ``commit=True``; ``single_writer`` is then as for ``update``.
        """
        return compare(
            self.store,
            holdout,
            commit=commit,
            storage_options=storage_options,
            client=client,
            scheduler=scheduler,
            progress=progress,
            single_writer=single_writer,
        )

    def drift(
        self, *, client: Any = None, scheduler: str | None = None, threshold: float = PSI_THRESHOLD
    ) -> DriftCheck:
        """Compare the pending partitions with what the head learned: ``update`` or ``retrain``."""
        return check_drift(self.store, client=client, scheduler=scheduler, threshold=threshold)

    def report(
        self,
        out: str,
        *,
        holdout: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> ReportFiles:
        """Write an HTML report with PNG plots to ``out`` from what the store holds.

        Metrics come from stored evaluations, of ``holdout`` when given (else of the holdout
        evaluated on the most versions); nothing is trained or scored.
        """
        digest = None
        if holdout is not None:
            options = storage_options or self.spec.storage_options
            digest = Holdout.at(holdout, options, option="holdout").digest
        return write_report(collect(self.store, holdout_digest=digest), out)

    def rollback(self, to: int, *, single_writer: bool = False) -> LedgerEntry:
        """Commit a new version whose model is version ``to``'s; the head, committing nothing,
        when it already holds that model."""
        return rollback(self.store, to, single_writer=single_writer)

    def verify(self) -> list[str]:
        """Broken store invariants, as sentences; empty when the store is consistent."""
        return check_store(self.store)


def open(
    store: str,
    *,
    storage_options: dict[str, Any] | None = None,
    store_options: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    output_options: dict[str, Any] | None = None,
    durable: bool | None = None,
) -> IncrementalModel:
    """Open the store at ``store`` (a path or fsspec URL).

    ``storage_options`` are fsspec options for every location (the store, the data, prediction
    outputs); ``store_options``, ``data_options`` and ``output_options`` are laid over them for
    one location. All of them go over the ``distinc.*-options`` settings. ``durable`` (fsync
    every write, so a committed version survives a power cut) defaults to the
    ``distinc.durable`` setting; a store created with ``TrainingOptions(durable=True)`` is
    always durable.
    """
    storage = StorageOptions.resolve(
        shared=storage_options, store=store_options, data=data_options, output=output_options
    )
    opened = ModelStore.open(
        store,
        storage_options=storage.store,
        durable=setting("durable") if durable is None else durable,
    )
    return IncrementalModel(opened, storage)


def init(
    store: str,
    *,
    data: str,
    model: str,
    target: str | None = None,
    params: dict[str, Any] | None = None,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    classes: Sequence[Any] | None = None,
    strategy: str | None = None,
    options: TrainingOptions | None = None,
    storage_options: dict[str, Any] | None = None,
    store_options: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
) -> IncrementalModel:
    """Create a store that trains ``model`` on the Parquet partitions under ``data``.

    ``model`` is a scikit-learn class name or dotted path, or ``"xgboost"``; ``params`` are
    its constructor arguments, validated here. Feature names and types are pinned from the
    first partition's footer unless ``features`` names them. Storage options work as in
    ``open``; the data options, less any credential, are pinned in the spec.
    """
    storage = StorageOptions.resolve(shared=storage_options, store=store_options, data=data_options)
    return IncrementalModel(
        initialise(
            store,
            data=data,
            model=model,
            target=target,
            params=params,
            features=features,
            categorical=categorical,
            classes=classes,
            strategy=strategy,
            options=options,
            storage=storage,
        ),
        storage,
    )
