"""Drift check: the pending partitions next to what the head version learned.

The learned side is the statistics stored with each version of the head's lineage, so no trained
partition is opened. The pending side (new and rewritten partitions) is scanned on the cluster
the way an update scans it; partitions an update would skip or refuse are set aside and named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from distinc.dataset.partition import DataSource, Partition
from distinc.dataset.profile import PartitionProfile
from distinc.dataset.samples import PartitionStats, merged_stats
from distinc.dataset.schema import ColumnContract
from distinc.dataset.stats import sample_step
from distinc.dataset.tasks import coalesce
from distinc.engine.cluster import dask_client, scheduler_losses_named
from distinc.engine.scanning import (
    SCAN_TASK_BYTES,
    TASKS_PER_WORKER,
    ScanResult,
    profiles_of,
    scan_task,
)
from distinc.engine.update import plan_update
from distinc.ledger.admit import problems_of
from distinc.ledger.drift import PSI_THRESHOLD, Shift, shift_between
from distinc.ledger.lineage import Lineage
from distinc.store.records import learned_stats
from distinc.store.store import ModelStore
from distinc.trainers import task_faults
from distinc.trainers.workers import cluster_workers, require_reachable_data


@dataclass(frozen=True)
class DriftCheck:
    """The verdict on the pending partitions: ``update``, ``retrain`` or ``none`` (nothing new).

    ``set_aside`` names pending partitions left out of the comparison and why; ``shift`` holds
    the per-column figures when a comparison was possible.
    """

    version: int | None
    recommendation: str
    reason: str
    pending: tuple[str, ...] = ()
    set_aside: tuple[str, ...] = ()
    shift: Shift | None = None
    learned_rows: int = 0
    described_rows: int = 0


def drift_scan(
    source: DataSource, keys: list[str], contract: ColumnContract, sample_every: int
) -> ScanResult:
    """A scan task of the drift check: profiles with statistics, no batches kept."""
    for key in keys:
        task_faults.reach(key)
    return scan_task(source, keys, contract, False, sample_every)


def scan_pending(
    client: Any, source: DataSource, pending: tuple[Partition, ...], contract: ColumnContract
) -> list[PartitionProfile]:
    """Profiles (with statistics) of the pending partitions, scanned on the workers."""
    require_reachable_data(client, source.url)
    workers = max(1, len(cluster_workers(client)))
    total = sum(part.fingerprint.size for part in pending)
    budget = max(1, min(SCAN_TASK_BYTES, total // (TASKS_PER_WORKER * workers)))
    groups = coalesce(list(pending), lambda part: part.fingerprint.size, budget)
    step = sample_step(total, len(contract.columns))
    token = uuid.uuid4().hex[:8]
    scans = client.map(
        drift_scan,
        [source] * len(groups),
        [[part.key for part in group] for group in groups],
        [contract] * len(groups),
        [step] * len(groups),
        key=[f"distinc-drift-scan-{token}-{i}" for i in range(len(groups))],
        retries=1,
    )
    profiles = client.map(
        profiles_of, scans, key=[f"distinc-drift-profiles-{token}-{i}" for i in range(len(groups))]
    )
    return [profile for found in client.gather(profiles) for profile in found.profiles]


def usable(
    profiles: list[PartitionProfile], contract: ColumnContract, lineage: Lineage
) -> tuple[list[PartitionStats], list[str]]:
    """The statistics of profiles an update would learn, and why the others are set aside."""
    kept: list[PartitionStats] = []
    set_aside: list[str] = []
    for profile in profiles:
        problems = problems_of(profile, contract, lineage.classes)
        twin = lineage.digests.get(profile.digest)
        if problems:
            set_aside.append(f"{profile.key}: {problems[0].message}")
        elif profile.rows == 0:
            set_aside.append(f"{profile.key}: empty")
        elif twin is not None and twin != profile.key:
            set_aside.append(f"{profile.key}: duplicate of {twin}")
        elif profile.stats is not None:
            kept.append(profile.stats)
    return kept, set_aside


def check_drift(
    store: ModelStore,
    *,
    client: Any = None,
    scheduler: str | None = None,
    threshold: float = PSI_THRESHOLD,
) -> DriftCheck:
    """Compare the pending partitions with what the head learned and recommend what to run."""
    lineage, _, selection = plan_update(store, on_modified="retrain", on_missing="warn")
    version = lineage.version
    pending = selection.train
    keys = tuple(part.key for part in pending)
    if version is None:
        return DriftCheck(None, "update", "no version yet: the first update learns everything")
    if not pending:
        return DriftCheck(version, "none", f"nothing pending: version {version} is up to date")
    learned = learned_stats(store, lineage.chain)
    trained_rows = sum(part.rows for part in lineage.trained.values())
    if not learned:
        return DriftCheck(
            version,
            "update",
            f"version {version} has no stored statistics (made before distinc kept them), so "
            "drift cannot be judged; a retrain records them",
            keys,
            learned_rows=trained_rows,
        )
    spec = store.spec
    contract = ColumnContract.from_spec(spec, lineage.categories)
    source = DataSource(spec.data, spec.storage_options)
    with dask_client(scheduler, client=client) as dask, scheduler_losses_named(dask, "drift check"):
        profiles = scan_pending(dask, source, pending, contract)
    kept, set_aside = usable(profiles, contract, lineage)
    described = sum(stats.rows for stats in learned)
    # Pending partitions share one sampling step, so their statistics merge exactly.
    merged = merged_stats(kept)
    if merged is None:
        return DriftCheck(
            version,
            "update",
            "no pending partition has rows an update would learn",
            keys,
            tuple(set_aside),
            learned_rows=trained_rows,
            described_rows=described,
        )
    shift = shift_between(learned, merged, threshold=threshold, target=contract.target or "label")
    return DriftCheck(
        version,
        shift.recommendation,
        shift.reason,
        keys,
        tuple(set_aside),
        shift,
        trained_rows,
        described,
    )
