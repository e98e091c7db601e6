"""partial_fit streaming: the model travels through the new partitions in order.

Each admitted group becomes one fit task. Its data is the batches the scan kept in worker
memory, or, for deltas too large to keep, a read task submitted at most ``prefetch`` groups
ahead of the model, so reading overlaps with fitting. Reads are submitted ahead only while
those in flight hold less than a small share of a worker's memory limit: a group too large for
that share is read by its fit task itself, one partition ahead of ``partial_fit``, so a delta
many times the workers' memory streams through a bounded amount of it. A fit task deep-copies
the model it receives before ``partial_fit``, so a task that Dask runs twice (retry, lost
worker) yields the same model. The driver keeps the model of the last finished task as a
checkpoint; if the cluster loses work, the stream resumes from it, reading the files again.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import sklearn

from distinc.dataset.partition import DataSource
from distinc.dataset.profile import Batch
from distinc.dataset.reading import read_xy
from distinc.dataset.schema import ColumnContract
from distinc.estimators import build_estimator
from distinc.spec import ModelSpec
from distinc.trainers import task_faults
from distinc.trainers.base import AdmittedGroup, Trainer, TrainingJob, TrainingResult
from distinc.trainers.batching import joined
from distinc.trainers.epochs import EpochDelta
from distinc.trainers.recipe import fresh_model, with_vocabularies
from distinc.trainers.refusals import refusals_named, refuse_partial_fit_params
from distinc.trainers.resume import resuming
from distinc.trainers.workers import cluster_workers

# Reads are submitted ahead of the model while those pending hold less than this share of the
# smallest worker's memory limit (decoded bytes); a group larger than it is never read ahead.
READ_AHEAD_SHARE = 0.1


def read_group(
    source: DataSource, keys: Sequence[str], contract: ColumnContract
) -> dict[str, Batch]:
    """Read the partitions of one task, each as its own (X, y) batch."""
    return {key: read_xy(source, key, contract) for key in keys}


def fit_group(
    model: Any,
    batches: Mapping[str, Batch | None] | None,
    keys: Sequence[str],
    source: DataSource,
    contract: ColumnContract,
    estimator: str,
    params: dict[str, Any],
    classes: tuple[Any, ...] | None,
    *,
    fits: Sequence[Sequence[str]] | None = None,
) -> Any:
    """``partial_fit`` a copy of ``model`` on each partition in order; the input is untouched.

    A partition whose batch was not kept is read here. With ``fits`` (the keys of each fit
    batch, in order), each batch is learned by one ``partial_fit`` call on its rows in order.
    """
    if fits is not None and [key for fit in fits for key in fit] != list(keys):
        raise ValueError(f"fit batches {fits} do not split the partitions {list(keys)} in order")
    model = build_estimator(estimator, params) if model is None else copy.deepcopy(model)
    fit_params = {"classes": np.asarray(classes)} if classes is not None else {}

    def each() -> Iterator[Batch]:
        for key, batch in _in_order(keys, batches, source, contract):
            task_faults.reach(key)
            yield batch

    def calls() -> Iterator[tuple[Sequence[str], Batch]]:
        loaded = each()
        # one fit batch at a time: its pieces are dropped once joined
        for fit in fits if fits is not None else [[key] for key in keys]:
            yield fit, joined([next(loaded) for _ in fit])

    # The scan already proved every value finite (a changed file fails the final fingerprint
    # check) and the parameters were validated when the estimator was built, so scikit-learn
    # need not check again on the critical path: it costs milliseconds per call, which many
    # small partitions multiply.
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        for fitted, (features, labels) in calls():
            with refusals_named(model, fitted):
                if labels is None:
                    model.partial_fit(features)
                else:
                    model.partial_fit(features, labels, **fit_params)
            del features, labels  # not held while the next fit batch is joined
    return model


def _in_order(
    keys: Sequence[str],
    batches: Mapping[str, Batch | None] | None,
    source: DataSource,
    contract: ColumnContract,
) -> Iterator[tuple[str, Batch]]:
    """Each partition's batch in order; one not kept is read in a thread while the partition
    before it is fitted (Arrow and scikit-learn's fitting loops release the GIL)."""

    def load(key: str) -> Batch:
        batch = batches.get(key) if batches is not None else None
        return batch if batch is not None else read_xy(source, key, contract)

    if not keys:
        return
    found = [batches.get(key) for key in keys] if batches is not None else []
    kept = [batch for batch in found if batch is not None]
    if len(kept) == len(keys):  # nothing to read, so no reading thread
        yield from zip(keys, kept, strict=True)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="distinc-read") as pool:
        ahead = pool.submit(load, keys[0])
        for i, key in enumerate(keys):
            batch = ahead.result()
            if i + 1 < len(keys):
                ahead = pool.submit(load, keys[i + 1])
            yield key, batch


def decoded_bytes(group: AdmittedGroup, contract: ColumnContract) -> int:
    """The bytes of a group's batches: float64 features and a label per row."""
    return sum(part.rows for part in group.partitions) * (len(contract.features) + 1) * 8


def read_ahead_budget(client: Any) -> float:
    """Decoded bytes that reads in flight may hold: a share of the smallest worker's limit."""
    workers = cluster_workers(client).values()
    limits = [int(worker.get("memory_limit") or 0) for worker in workers]
    known = [limit for limit in limits if limit > 0]
    return READ_AHEAD_SHARE * min(known) if known else math.inf


class StreamTrainer(Trainer):
    strategy = "stream"
    uses_batches = True
    chained = True
    supports_categorical = True

    def check_spec(self, spec: ModelSpec) -> None:
        refuse_partial_fit_params(spec)

    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        job = with_vocabularies(job)
        if job.spec.options.epochs > 1:
            job = EpochDelta.over(job, job.spec.options.epochs)
        classes = job.delta.classes()
        budget = read_ahead_budget(client)
        first = job.model if job.model is not None else fresh_model(job.spec)
        checkpoint: tuple[int, Any] = (0, first)
        tasks = 0

        def run_from_checkpoint() -> None:
            nonlocal checkpoint, tasks
            for reached in self._stream(job, client, classes, budget, *checkpoint):
                checkpoint = reached
                tasks += 1
                if job.progress is not None:
                    job.progress(checkpoint[0])

        resuming(job, client, run_from_checkpoint, what="resuming after the last finished task")
        model = checkpoint[1] if tasks else job.model
        return TrainingResult(model=model, notes={"tasks": tasks})

    def _stream(
        self,
        job: TrainingJob,
        client: Any,
        classes: tuple[Any, ...] | None,
        budget: float,
        start: int,
        model: Any,
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(next group index, model after the groups before it)`` as fits finish."""
        attempt = uuid.uuid4().hex[:8]
        spec = job.spec
        model_future = client.scatter(model) if model is not None else None
        groups = job.delta.groups(start)
        # (group, its batches or their read, decoded bytes that read holds in flight)
        pending: deque[tuple[AdmittedGroup, Any, int]] = deque()

        def pull() -> bool:
            """Take the next cleared group, submitting its read when the scan kept no batches
            and the read fits the budget (otherwise its fit task reads it)."""
            group = next(groups, None)
            if group is None:
                return False
            batches, cost = group.batches, 0
            if batches is None and decoded_bytes(group, job.contract) <= budget:
                cost = decoded_bytes(group, job.contract)
                batches = client.submit(
                    read_group,
                    job.source,
                    group.keys,
                    job.contract,
                    key=f"distinc-read-{job.run_id}-{attempt}-{group.index}",
                    retries=2,
                )
            pending.append((group, batches, cost))
            return True

        def in_flight() -> int:
            return sum(cost for *_, cost in pending)

        pull()
        previous: tuple[int, Any] | None = None
        while pending:
            group, batches, _ = pending.popleft()
            # The fit goes where its batches are, even when that worker is busy: Dask would
            # otherwise move them to an idle worker, which then fits instead of scanning.
            holder = group.holder if group.batches is not None else None
            where = {} if holder is None else {"workers": [holder], "allow_other_workers": True}
            fitted = client.submit(
                fit_group,
                model_future,
                batches,
                group.keys,
                job.source,
                job.contract,
                spec.estimator,
                spec.params,
                classes,
                fits=group.fits,
                key=f"distinc-fit-{job.run_id}-{attempt}-{group.index}",
                retries=2,
                priority=1,  # the model's path is the critical path: ahead of queued scans
                **where,
            )
            # Kept batches need only the next group ready; reads run `prefetch` groups ahead.
            ahead = 1 if group.batches is not None else spec.options.prefetch
            # The next group is always taken; more only while reads in flight fit the budget.
            while len(pending) < ahead and (not pending or in_flight() < budget) and pull():
                pass
            if previous is not None:
                yield previous[0], previous[1].result()
            model_future = fitted
            previous = (group.index + 1, fitted)
        if previous is not None:
            yield previous[0], previous[1].result()
