"""Per-delta ensemble: each update trains new members on the delta only, in parallel.

The admitted partitions are split, in order, into members of about ``member_rows`` rows
each (one member for a usual delta; several for a first fit or a large catch-up). Every
member is one Dask task that reads its partitions, encodes them, and fits a clone of the
member template; tasks have no dependencies, so the scheduler spreads them over the workers,
largest first, so that workers finish together.
The driver then adds the members to a copy of the parent's ensemble, stamped with this
version (the window retires the oldest; weights follow rows and age). With the stacking
combiner each member task holds out a reproducible slice of its rows, on which the member
weights are learned.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from distinc.dataset.partition import DataSource
from distinc.dataset.profile import Batch
from distinc.dataset.reading import read_xy
from distinc.dataset.schema import ColumnContract
from distinc.dataset.tasks import split_even
from distinc.models.combine import holdout_mask
from distinc.models.ensemble import Member, fit_member
from distinc.trainers import task_faults
from distinc.trainers.base import Trainer, TrainingJob, TrainingResult
from distinc.trainers.recipe import fresh_model, with_vocabularies
from distinc.trainers.refusals import refusals_named

# Held-out rows a member task sends back for learning stacking weights, at most.
STACKING_ROWS = 50_000


@dataclass(frozen=True)
class TrainedMember:
    """A member fitted on the workers, its held-out slice, and the wall and CPU seconds spent."""

    member: Member
    holdout: Batch | None
    seconds: float
    cpu_seconds: float


def partition_seed(key: str) -> int:
    """A seed that depends on the partition only, so a rerun holds out the same rows.

    Examples
    --------
    >>> partition_seed("day=1/part.parquet") == partition_seed("day=1/part.parquet")
    True
    """
    return zlib.crc32(key.encode())


def train_member(
    source: DataSource,
    keys: Sequence[str],
    contract: ColumnContract,
    prefix: Any,
    template: Any,
    holdout_fraction: float,
) -> TrainedMember:
    """Read ``keys``, encode them with ``prefix``, and fit a clone of ``template``."""
    started, cpu = time.perf_counter(), time.process_time()
    batches = []
    for key in keys:
        batches.append(read_xy(source, key, contract))
        task_faults.reach(key)
    features = np.concatenate([batch[0] for batch in batches])
    target = np.concatenate([np.asarray(batch[1]) for batch in batches])
    if prefix is not None:
        features = prefix.transform(features)
    held = np.concatenate(
        [
            holdout_mask(len(batch[0]), holdout_fraction, partition_seed(key))
            for key, batch in zip(keys, batches, strict=True)
        ]
    )
    if held.all():
        held[:] = False
    with sklearn.config_context(assume_finite=True), refusals_named(template, keys):
        estimator = fit_member(template, features[~held], target[~held])
    holdout = None
    if held.any():
        chosen = np.flatnonzero(held)[:STACKING_ROWS]
        holdout = (features[chosen], target[chosen])
    member = Member(estimator, float((~held).sum()))
    spent = time.perf_counter() - started
    return TrainedMember(member, holdout, spent, time.process_time() - cpu)


def split_model(model: Any) -> tuple[Any, Any]:
    """``(encoding prefix or None, ensemble)`` of a model the ensemble strategy trains."""
    if isinstance(model, Pipeline):
        return model[:-1], model.steps[-1][1]
    return None, model


def assemble(model: Any, trained: Sequence[TrainedMember], *, version: int, classes: Any) -> Any:
    """A copy of ``model`` whose ensemble gained ``trained`` as version ``version``."""
    model = copy.deepcopy(model)
    _, ensemble = split_model(model)
    holdouts = [item.holdout for item in trained if item.holdout is not None]
    holdout = None
    if holdouts:
        holdout = (
            np.concatenate([features for features, _ in holdouts]),
            np.concatenate([target for _, target in holdouts]),
        )
    ensemble.add_members(
        [item.member for item in trained], version=version, classes=classes, holdout=holdout
    )
    return model


class EnsembleTrainer(Trainer):
    strategy = "ensemble"
    supports_categorical = True

    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        from distributed import wait

        job = with_vocabularies(job)
        admission = job.delta.admission()
        if not admission.train:
            return TrainingResult(model=job.model)
        options = job.spec.options
        model = job.model if job.model is not None else fresh_model(job.spec)
        prefix, ensemble = split_model(model)
        members = math.ceil(admission.rows / options.member_rows)
        groups = split_even(admission.train, lambda part: part.rows, members)
        fraction = options.stacking_fraction if options.combiner == "stacking" else 0.0
        token = uuid.uuid4().hex[:8]
        started = time.perf_counter()
        futures = [
            client.submit(
                train_member,
                job.source,
                [part.key for part in group],
                job.contract,
                prefix,
                ensemble.estimator,
                fraction,
                key=f"distinc-member-{job.run_id}-{token}-{i}",
                retries=2,
                priority=sum(part.rows for part in group),
            )
            for i, group in enumerate(groups)
        ]
        wait(futures)
        trained: list[TrainedMember] = client.gather(futures)
        wall = time.perf_counter() - started
        if job.progress is not None:
            job.progress(1 + max(group.index for group in job.delta.groups()))
        grown = assemble(model, trained, version=job.version, classes=admission.classes)
        notes = {
            "members": len(trained),
            "member_rows": [int(item.member.rows) for item in trained],
            "member_seconds": round(wall, 3),
            "member_task_seconds": round(sum(item.seconds for item in trained), 3),
            "member_cpu_seconds": round(sum(item.cpu_seconds for item in trained), 3),
        }
        return TrainingResult(model=grown, notes=notes)
