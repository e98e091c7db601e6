"""Exact parallel merge: fit the delta's groups side by side, then merge their statistics.

For sufficient-statistic models (naive Bayes, scalers) the order of rows does not matter: each
admitted group is fitted from scratch in its own task, on whichever worker holds its batch,
as soon as admission clears it; the driver then merges the parent and the group models in
training order. The result equals sequential ``partial_fit`` over the same rows to float
tolerance (see ``distinc.models.merge``), at the cost of the slowest group rather than the
sum of all of them.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from distinc.exceptions import ClusterError
from distinc.models.merge import merge_all
from distinc.trainers.base import Trainer, TrainingJob, TrainingResult
from distinc.trainers.recipe import fresh_model, with_vocabularies
from distinc.trainers.stream import MAX_RESUMES, _cluster_lost_work, fit_group

logger = logging.getLogger("distinc")


class MergeTrainer(Trainer):
    strategy = "merge"
    uses_batches = True
    supports_categorical = True

    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        job = with_vocabularies(job)
        for attempt in range(MAX_RESUMES + 1):
            try:
                parts = self._fit_groups(job, client)
                break
            except Exception as exc:
                if not _cluster_lost_work(exc):
                    raise
                if attempt == MAX_RESUMES:
                    raise ClusterError(
                        f"The Dask cluster kept losing work ({exc}); nothing was committed. "
                        "Check the workers and rerun the update.",
                    ) from exc
                logger.warning("the cluster lost work (%s); fitting again", type(exc).__name__)
                forget = getattr(job.delta, "forget_batches", None)
                if forget is not None:
                    forget()
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
