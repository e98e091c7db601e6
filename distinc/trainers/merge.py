"""Exact parallel merge: fit the delta's groups side by side, then merge their statistics.

For sufficient-statistic models (naive Bayes, scalers) the order of rows does not matter: each
admitted group is fitted from scratch in its own task, on whichever worker holds its batch,
as soon as admission clears it; the driver then merges the parent and the group models in
training order. The result equals sequential ``partial_fit`` over the same rows to float
tolerance (see ``distinc.models.merge``), at the cost of the slowest group rather than the
sum of all of them.
"""

from __future__ import annotations

import uuid
from typing import Any

from distinc.models.merge import merge_all
from distinc.spec import ModelSpec
from distinc.trainers.base import Trainer, TrainingJob, TrainingResult
from distinc.trainers.recipe import fresh_model, with_vocabularies
from distinc.trainers.refusals import refuse_partial_fit_params
from distinc.trainers.resume import resuming
from distinc.trainers.stream import fit_group


class MergeTrainer(Trainer):
    strategy = "merge"
    uses_batches = True
    supports_categorical = True

    def check_spec(self, spec: ModelSpec) -> None:
        refuse_partial_fit_params(spec)

    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        job = with_vocabularies(job)
        parts = resuming(job, client, lambda: self._fit_groups(job, client), what="fitting again")
        if not parts:
            return TrainingResult(model=job.model)
        if job.progress is not None:
            job.progress(1 + max(group.index for group in job.delta.groups()))
        models = parts if job.model is None else [job.model, *parts]
        return TrainingResult(model=merge_all(models), notes={"tasks": len(parts)})

    def _fit_groups(self, job: TrainingJob, client: Any) -> list[Any]:
        """Every admitted group fitted from scratch, in training order."""
        classes = job.delta.classes()
        fresh = fresh_model(job.spec)
        attempt = uuid.uuid4().hex[:8]
        futures = [
            client.submit(
                fit_group,
                fresh,
                group.batches,
                group.keys,
                job.source,
                job.contract,
                job.spec.estimator,
                job.spec.params,
                classes,
                key=f"distinc-merge-{job.run_id}-{attempt}-{group.index}",
                retries=2,
            )
            for group in job.delta.groups()
        ]
        return list(client.gather(futures))
