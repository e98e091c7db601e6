"""Holdout metrics per version, computed once and kept in the store.

A result is keyed by the version and the digest of the holdout's listing (names, sizes, time
stamps), so it is reused until the holdout changes. Versions still missing are scored together:
each holdout partition is read once for all of their models, and versions sharing a model (a
rollback and its target) are scored once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from distinc.dataset.listing import list_partitions, listing_digest
from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.engine.cluster import dask_client, scheduler_losses_named
from distinc.exceptions import DataError, UnseenLabelError, VersionNotFoundError
from distinc.ledger.entry import LedgerEntry
from distinc.predict.evaluate import evaluate_models
from distinc.store.records import Evaluation, store_evaluation, stored_evaluation
from distinc.store.store import ModelStore

logger = logging.getLogger("distinc")


@dataclass(frozen=True)
class Holdout:
    """A holdout dataset and the digest of its listing when it was looked at."""

    url: str
    source: DataSource
    digest: str
    partitions: int

    @classmethod
    def at(cls, url: str, storage_options: dict[str, Any], *, option: str = "data") -> Holdout:
        """The holdout at ``url``, named by ``option`` (``holdout`` for compare and report)."""
        source = DataSource(url, dict(storage_options))
        listed = list_partitions(source, option=option)
        if not listed:
            raise DataError(f"No Parquet files under the holdout {url!r}.", url=url)
        return cls(url, source, listing_digest(listed), len(listed))

    def confirm_unchanged(self) -> None:
        """Refuse to record metrics if the holdout changed while it was being scored."""
        if listing_digest(list_partitions(self.source)) != self.digest:
            raise DataError(
                f"The holdout {self.url!r} changed while it was being evaluated; nothing was "
                "recorded. Evaluate again once it settles.",
                url=self.url,
            )

    def record(self, version: int, metrics: dict[str, float]) -> Evaluation:
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return Evaluation(version, self.url, self.digest, metrics, created)


def score_entries(
    store: ModelStore, entries: Sequence[LedgerEntry], holdout: Holdout, dask: Any
) -> dict[int, dict[str, float]]:
    """Metrics of each entry's model on the holdout, scoring each distinct model once."""
    groups: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.artifact("model").sha256, []).append(entry)
    scorers = [
        (store.load_model(group[0]), ColumnContract.from_spec(store.spec, group[0].categories))
        for group in groups.values()
    ]
    try:
        scored = evaluate_models(dask, scorers, holdout.source)
    except UnseenLabelError as exc:
        position = exc.details.pop("model", None)
        if position is None:
            raise
        versions = [entry.version for entry in list(groups.values())[position]]
        raise UnseenLabelError(
            f"{exc.message} It is version {', '.join(map(str, versions))} that did not learn "
            "it; the 'version' option evaluates one version only.",
            version=versions[0],
            **{**exc.details, "options": (*exc.details.get("options", ()), "version")},
        ) from exc
    return {
        entry.version: metrics
        for group, metrics in zip(groups.values(), scored, strict=True)
        for entry in group
    }


def evaluate_versions(
    store: ModelStore,
    data: str,
    *,
    versions: Sequence[int] | None = None,
    storage_options: dict[str, Any] | None = None,
    client: Any = None,
    scheduler: str | None = None,
) -> tuple[Evaluation, ...]:
    """Metrics of ``versions`` (default: every version) on the holdout at ``data``.

    Stored results are returned as they are; the others are computed on the cluster, stored,
    and returned. No cluster is started when everything is stored.
    """
    wanted = list(store.versions() if versions is None else versions)
    if not wanted:
        raise VersionNotFoundError("The store has no versions yet; run an update first.")
    entries = [store.entry(version) for version in wanted]
    holdout = Holdout.at(data, storage_options or store.spec.storage_options)
    found = {version: stored_evaluation(store, holdout.digest, version) for version in wanted}
    missing = [entry for entry in entries if found[entry.version] is None]
    logger.info(
        "evaluating %d version(s) on %s (%d stored already)",
        len(missing),
        data,
        len(wanted) - len(missing),
    )
    if missing:
        with (
            dask_client(scheduler, client=client) as dask,
            scheduler_losses_named(dask, "evaluation"),
        ):
            scored = score_entries(store, missing, holdout, dask)
        holdout.confirm_unchanged()
        for version, metrics in scored.items():
            found[version] = store_evaluation(store, holdout.record(version, metrics))
    return tuple(evaluation for version in wanted if (evaluation := found[version]) is not None)
