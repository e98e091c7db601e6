"""Scanning the delta on the cluster and clearing it partition by partition.

Every selected partition is scanned once, in parallel across the workers. Profiles come back to
the driver, where admission judges them in training order; a strategy receives each group as
soon as it is cleared, so training overlaps with the scan of later partitions. The first bad
profile, wherever it is, stops everything: the remaining scans finish, every problem is named
in one error, and nothing is committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from dask.sizeof import sizeof
from distributed import get_worker

from distinc.dataset.partition import DataSource, Partition
from distinc.dataset.profile import Batch, PartitionProfile
from distinc.dataset.runs import scan_partitions
from distinc.dataset.samples import merged_stats
from distinc.dataset.schema import ColumnContract
from distinc.dataset.stats import DeltaStats, sample_step
from distinc.dataset.tasks import coalesce, tapered
from distinc.engine.background import in_background
from distinc.engine.heap import collections_paused
from distinc.ledger.admit import Admission, Admitter, Problem, problems_of
from distinc.ledger.entry import TrainedPartition
from distinc.ledger.lineage import Lineage
from distinc.trainers.base import AdmittedGroup
from distinc.trainers.batching import PackedRun, packed, unpacked
from distinc.trainers.workers import cluster_workers, require_reachable_data

# A scan task reads about this many bytes, fewer when that leaves workers idle.
SCAN_TASK_BYTES = 64 * 2**20
# Each task costs the driver (scheduler and client share it) a few ms of CPU, which on a small
# machine it takes from the workers: from 8 tasks per worker to 4, an exact merge of 24 files
# on two workers spent 27 % less driver CPU and took 7 % less time (median of 20 interleaved),
# and its 1 -> 2 worker speed-up went from 1.51-1.57 to 1.66-1.73 (paired medians).
TASKS_PER_WORKER = 4
# A chain of fits pays a scheduler round trip (6-9 ms on two cores) per task, so a stream,
# whose scans run behind its fits anyway, gets fewer, larger tasks.
CHAIN_TASKS_PER_WORKER = 3
# A chain of fit batches (many small files) waits on its scans, and nothing overlaps the fits of
# the data the workers scan last: the last task of each worker (of TAIL_WIDTH at most) is
# halved, and the last halves again, this many times, so the chain ends on eighths of a task. A
# fit per file keeps whole tasks: its chain, not its scans, is the long pole, and more tasks
# only add hand-offs. So do many workers: their scans outpace the one chain, whose backlog is
# then the tail, and eight pieces of each worker's last task would add a hand-off apiece.
TAIL_HALVINGS = 3
TAIL_WIDTH = 2
# Batches stay in worker memory when the delta, decoded, needs at most this share of it.
KEEP_SHARE = 0.25
DECODED_PER_FILE_BYTE = 4


@dataclass(frozen=True)
class ScanProfiles:
    """A scan task's profiles as one object. Dask sends a task's tuple or list result item by
    item, which would copy the drift sample that the profiles of a run share once per
    profile; one object is pickled once, the sample with it."""

    profiles: tuple[PartitionProfile, ...]
    worker: str | None = None  # the address of the worker that keeps the scan's batches


@dataclass(frozen=True, eq=False)
class ScanResult(Mapping[str, Batch | None]):
    """What a scan task leaves on its worker: its profiles, and its batches by partition key.

    Fit tasks take it whole, as the mapping of batches, so a kept batch can be fitted the
    moment its scan ends: a task that split the batches out would first wait for the scan the
    worker starts next.
    """

    profiles: tuple[PartitionProfile, ...]
    batches: dict[str, Batch | None]

    def __getitem__(self, key: str) -> Batch | None:
        return self.batches[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __reduce__(self) -> tuple[Any, ...]:
        # When a fit runs on another worker, a run's batches travel as the run's arrays.
        return _unpacked_scan, (self.profiles, packed(self.batches))


def _unpacked_scan(profiles: tuple[PartitionProfile, ...], runs: list[PackedRun]) -> ScanResult:
    return ScanResult(profiles, unpacked(runs))


@sizeof.register(ScanResult)
def _scan_result_bytes(result: ScanResult) -> int:
    # The scheduler places a fit where its largest input lives; unregistered, a ScanResult would
    # count as a few bytes and the fit could go anywhere, moving every batch to it.
    return int(sizeof(result.batches)) + int(sizeof(result.profiles))


def scan_task(
    source: DataSource,
    keys: Sequence[str],
    contract: ColumnContract,
    keep: bool,
    sample_every: int,
    background: bool = False,
    order: int = 0,
) -> ScanResult:
    """Scan ``keys``; with ``background``, on the worker's low-priority threads (see
    ``distinc.engine.background``), so that the fits of a chain never wait for a scan, which
    take the scans waiting there by ``order`` (the task's place in the delta)."""
    scan = (source, keys, contract, keep, sample_every)
    with collections_paused():
        if background:
            scanned = in_background(scan_partitions, *scan, order=order)
        else:
            scanned = scan_partitions(*scan)
    return ScanResult(
        tuple(profile for profile, _ in scanned),
        {profile.key: batch for profile, batch in scanned},
    )


def profiles_of(scanned: ScanResult) -> ScanProfiles:
    # A dependent task runs where its input is (the scan's batches), so this is their worker.
    return ScanProfiles(scanned.profiles, worker=get_worker().address)


def _file_bytes(part: Partition) -> int:
    return part.fingerprint.size


def _learned_fits(
    batches: Sequence[Sequence[Partition]], admitted: Sequence[TrainedPartition]
) -> tuple[tuple[str, ...], ...]:
    """The keys of each fit batch that admission let through; emptied batches are dropped."""
    learned = {part.key for part in admitted}
    keys = (tuple(part.key for part in batch if part.key in learned) for batch in batches)
    return tuple(batch for batch in keys if batch)


def cluster_memory(client: Any) -> int:
    workers = cluster_workers(client).values()
    return int(sum(worker.get("memory_limit") or 0 for worker in workers))


def worth_keeping(client: Any, partitions: Sequence[Partition]) -> bool:
    """Whether the decoded delta fits comfortably in the cluster's memory."""
    decoded = DECODED_PER_FILE_BYTE * sum(part.fingerprint.size for part in partitions)
    return decoded <= KEEP_SHARE * cluster_memory(client)


class DeltaScan:
    """The ``Delta`` of an update: scans submitted at construction, verdicts on demand.

    Each scan task takes consecutive partitions of about ``SCAN_TASK_BYTES`` of files, fewer
    when that would leave workers idle. With ``batch_bytes``, partitions first form fit batches
    of that many bytes of files, and a task takes whole batches: the batches depend on the file
    sizes alone, so the model does not depend on the cluster, while tasks stay as large as
    without them (a task per small batch would make the stream wait on many more hand-offs).
    With ``yield_to_fits`` the scans run in the background, behind the fits of a chain, and the
    last task of fit batches is split up so that the chain ends on a short fit.
    """

    def __init__(
        self,
        client: Any,
        source: DataSource,
        selected: Sequence[Partition],
        *,
        contract: ColumnContract,
        lineage: Lineage,
        declared_classes: tuple[Any, ...] | None,
        allow_new_classes: bool = False,
        keep: bool,
        batch_bytes: int | None = None,
        skip_corrupt: bool = False,
        yield_to_fits: bool = False,
    ) -> None:
        from distributed import as_completed

        require_reachable_data(client, source.url)
        self.contract = contract
        total = sum(part.fingerprint.size for part in selected)
        workers = max(1, len(cluster_workers(client)))
        per_worker = CHAIN_TASKS_PER_WORKER if yield_to_fits else TASKS_PER_WORKER
        budget = max(1, min(SCAN_TASK_BYTES, total // (per_worker * workers)))
        # Per task, its fit batches; None: a partial_fit call per partition.
        self.fit_batches: list[list[list[Partition]]] | None = None
        if batch_bytes is None:
            self.parts = coalesce(list(selected), _file_bytes, budget)
        else:
            batches = coalesce(list(selected), _file_bytes, max(1, batch_bytes))
            tasks = coalesce(batches, lambda batch: sum(map(_file_bytes, batch)), budget)
            halvings = TAIL_HALVINGS if yield_to_fits else 0
            self.fit_batches = tapered(tasks, halvings, min(workers, TAIL_WIDTH))
            self.parts = [[part for batch in task for part in batch] for task in self.fit_batches]
        self.sample_every = sample_step(total, len(contract.columns))
        pinned = lineage.classes or declared_classes
        self.admitter = Admitter(
            contract=contract,
            lineage=lineage,
            classes=pinned,
            allow_new_classes=allow_new_classes,
            skip_corrupt=skip_corrupt,
        )
        self.checked_classes = None if allow_new_classes else pinned
        self.settled = pinned is not None and not allow_new_classes
        token = uuid.uuid4().hex[:8]
        count = len(self.parts)
        # One call per kind, so the scheduler sees every scan at once. Splitting the profiles
        # off is instant and goes ahead of queued scans, though not of one a worker has started.
        scans = client.map(
            scan_task,
            [source] * count,
            [[part.key for part in group] for group in self.parts],
            [contract] * count,
            [keep] * count,
            [self.sample_every] * count,
            [yield_to_fits] * count,
            list(range(count)),
            key=[f"distinc-scan-{token}-{i}" for i in range(count)],
            retries=1,
        )
        self.profile_futures = client.map(
            profiles_of,
            scans,
            key=[f"distinc-profiles-{token}-{i}" for i in range(count)],
            priority=2,
        )
        # Kept batches are the scans themselves (a ScanResult maps keys to batches).
        self.batch_futures: list[Any | None] = list(scans) if keep else [None] * count
        self._index = {future.key: i for i, future in enumerate(self.profile_futures)}
        # as_completed otherwise runs on the process's default client's loop, which drives
        # this client's connections from a foreign thread when a second client exists.
        self._arrivals = as_completed(self.profile_futures, loop=client.loop, with_results=True)
        self._profiles: dict[int, Sequence[PartitionProfile]] = {}
        self._holders: dict[int, str | None] = {}
        self._problems: dict[str, list[Problem]] = {}
        self._judged: list[AdmittedGroup] = []
        self._statistics: Future[DeltaStats | None] | None = None

    def _receive_one(self) -> None:
        future, scanned = next(self._arrivals)
        i = self._index[future.key]
        profiles = self._profiles[i] = scanned.profiles
        self._holders[i] = scanned.worker
        verdicts = [
            problems_of(profile, self.contract, self.checked_classes) for profile in profiles
        ]
        self._problems.update(zip((profile.key for profile in profiles), verdicts, strict=True))
        if any(problems and not self.admitter.quarantines(problems) for problems in verdicts):
            self._fail()

    def _fail(self) -> None:
        for future, found in self._arrivals:
            self._profiles[self._index[future.key]] = found.profiles
        self.release()
        for i in range(len(self._judged), len(self.parts)):
            self._judge(i)
        self.admitter.result()

    def _judge(self, i: int) -> AdmittedGroup:
        by_key = {profile.key: profile for profile in self._profiles[i]}
        verdicts = [
            self.admitter.judge(part, by_key[part.key], self._problems.pop(part.key, None))
            for part in self.parts[i]
        ]
        admitted = tuple(learned for learned in verdicts if learned is not None)
        fits = None if self.fit_batches is None else _learned_fits(self.fit_batches[i], admitted)
        group = AdmittedGroup(i, admitted, self.batch_futures[i], fits, self._holders.get(i))
        self._judged.append(group)
        return group

    def _clear_through(self, i: int) -> None:
        while len(self._judged) <= i:
            while len(self._judged) not in self._profiles:
                self._receive_one()
            self._judge(len(self._judged))

    def classes(self) -> tuple[Any, ...] | None:
        """The classes the model trains with; inferring them waits for every scan."""
        if self.settled or self.contract.task != "classification":
            return self.admitter.classes()
        return self.admission().classes

    def groups(self, start: int = 0) -> Iterator[AdmittedGroup]:
        for i in range(start, len(self.parts)):
            self._clear_through(i)
            if self._judged[i].partitions:
                yield self._judged[i]
        self.admission()

    def admission(self) -> Admission:
        if self.parts:
            self._clear_through(len(self.parts) - 1)
        admission = self.admitter.result()
        if self._statistics is None:
            # They need only the admission: merged on a thread of their own, they are ready by
            # the time the last fits are (a stream's chain of fits ends after its last scan).
            pool = ThreadPoolExecutor(1, thread_name_prefix="distinc-statistics")
            self._statistics = pool.submit(self._merged_statistics)
            pool.shutdown(wait=False)
        return admission

    def statistics(self) -> DeltaStats | None:
        """The drift statistics of the admitted partitions."""
        self.admission()
        assert self._statistics is not None
        return self._statistics.result()

    def _merged_statistics(self) -> DeltaStats | None:
        admitted = {part.key for part in self.admitter.train}
        return merged_stats(
            profile.stats
            for profiles in self._profiles.values()
            for profile in profiles
            if profile.key in admitted
        )

    def forget_batches(self) -> None:
        """Read partitions again from here on (kept batches may be lost with a worker)."""
        self.batch_futures = [None] * len(self.batch_futures)
        self._judged = [replace(group, batches=None, holder=None) for group in self._judged]

    def release(self) -> None:
        for future in [*self.profile_futures, *self.batch_futures]:
            if future is not None:
                future.release()
        self.batch_futures = [None] * len(self.batch_futures)
