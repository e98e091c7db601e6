"""The ``xgboost`` strategy: the first version boosts on every partition, each later version
continues the parent booster on the new partitions only (plus replayed rows, if asked)."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from typing import Any

from distinc.exceptions import (
    ClusterError,
    ConfigurationError,
    IntegrityError,
    TrainingError,
    first_line,
)
from distinc.ledger.admit import Admission
from distinc.spec import ModelSpec
from distinc.trainers.base import ExtraArtifact, Trainer, TrainingJob, TrainingResult
from distinc.trainers.boosting import reservoir as pool
from distinc.trainers.boosting.fitting import BoostingOutcome, BoostingTask
from distinc.trainers.boosting.model import FORMAT, BoostedModel, boosted_model
from distinc.trainers.boosting.params import (
    check_params,
    feature_types,
    native_params,
    plan_sessions,
    xgboost_feature_names,
)
from distinc.trainers.boosting.placement import Placement, available_workers, place
from distinc.trainers.boosting.refusals import check_with_xgboost
from distinc.trainers.boosting.rows import LabelCoding, Rows, validation_keys
from distinc.trainers.resume import cluster_lost_work, resuming
from distinc.trainers.workers import cluster_workers

logger = logging.getLogger("distinc")

RESERVOIR = "reservoir"


def _is_xgboost_error(exc: BaseException) -> bool:
    import xgboost

    return isinstance(exc, xgboost.core.XGBoostError)


def _seed(params: dict[str, Any]) -> int:
    value = params.get("seed", params.get("random_state"))
    return int(value) if value is not None else 0


class XGBoostTrainer(Trainer):
    strategy = "xgboost"
    supports_categorical = True

    def check_spec(self, spec: ModelSpec) -> None:
        if spec.task not in ("classification", "regression"):
            raise ConfigurationError(
                f"The xgboost strategy trains classifiers and regressors; "
                f"{spec.model} is {spec.task}."
            )
        check_params(spec.params, spec.task)
        check_with_xgboost(spec)

    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        admission = job.delta.admission()
        if not admission.train:
            return TrainingResult(model=job.model, artifact_format=FORMAT)
        parent = job.model
        if parent is not None and not isinstance(parent, BoostedModel):
            raise IntegrityError(
                f"The parent of version {job.version} is a {type(parent).__name__}, not an "
                "XGBoost model; the xgboost strategy continues only its own boosters.",
                version=job.version,
            )
        spec, options = job.spec, job.spec.options
        params = native_params(spec, admission.classes)
        seed = _seed(params)
        old = self._reservoir(job) if options.replay_fraction > 0 else None
        task = self._task(job, admission, params, seed, old)
        known = available_workers(client)
        placement = place(known, options.xgb_backend)
        logger.info(
            "boosting %s on %d row(s) of %d partition(s) (%s backend)",
            " then ".join(f"{s.kind} {s.rounds} round(s)" for s in task.sessions),
            admission.rows + (len(task.replay) if task.replay is not None else 0),
            len(task.keys),
            placement.backend,
        )
        started = time.perf_counter()
        try:
            outcome = self._run(client, job, task, parent, placement)
        except ClusterError:
            raise  # the rerun loop gave up and said so
        except Exception as exc:
            if cluster_lost_work(exc) or set(known) - set(cluster_workers(client)):
                raise ClusterError(
                    f"The Dask cluster lost a worker while training XGBoost ({first_line(exc)}); "
                    "nothing was committed. Check the workers and rerun the update.",
                ) from exc
            if _is_xgboost_error(exc):
                raise TrainingError(
                    f"XGBoost could not train version {job.version} ({first_line(exc)}); "
                    "nothing was committed. Fix the data or the parameters and rerun the update.",
                    version=job.version,
                ) from exc
            raise
        model = boosted_model(
            outcome.booster, task=spec.task, features=spec.features, classes=admission.classes
        )
        extras: tuple[ExtraArtifact, ...] = ()
        if old is not None:
            kept = pool.merge(
                old,
                outcome.drawn or Rows.empty(len(spec.features)),
                added=admission.rows,
                version=job.version,
                capacity=options.reservoir_rows,
                rng=pool.rng_for(seed, job.version, 3),
            )
            extras = (ExtraArtifact(RESERVOIR, "parquet", kept.to_parquet(spec.features)),)
        return TrainingResult(
            model=model,
            artifact_format=FORMAT,
            extras=extras,
            notes={
                **self._notes(parent, model, task, outcome, placement),
                "training_seconds": round(time.perf_counter() - started, 3),
            },
        )

    @staticmethod
    def _reservoir(job: TrainingJob) -> pool.Reservoir:
        """The parent's reservoir, or an empty one for the first version."""
        width = len(job.spec.features)
        head = job.lineage.head
        refs = [ref for ref in (head.artifacts if head else ()) if ref.role == RESERVOIR]
        if not refs:
            return pool.Reservoir.empty(width)
        if job.read_artifact is None:
            raise IntegrityError("The replay reservoir cannot be read: no store was given.")
        data = job.read_artifact(refs[0])
        return pool.Reservoir.from_parquet(data, job.spec.features, where=refs[0].path)

    @staticmethod
    def _task(
        job: TrainingJob,
        admission: Admission,
        params: dict[str, Any],
        seed: int,
        old: pool.Reservoir | None,
    ) -> BoostingTask:
        spec, options = job.spec, job.spec.options
        parent_rounds = job.model.rounds if isinstance(job.model, BoostedModel) else None
        rows = tuple(part.rows for part in admission.train)
        draws: tuple[int, ...] = ()
        replay = None
        if old is not None:
            rng = pool.rng_for(seed, job.version, 0)
            draws = tuple(
                pool.delta_allocation(rows, seen=old.seen, capacity=options.reservoir_rows, rng=rng)
            )
            count = pool.replay_count(
                admission.rows, fraction=options.replay_fraction, available=len(old)
            )
            replay = pool.replayed(
                old, count, version=job.version, half_life=options.decay_half_life, seed=seed
            )
        validation = None
        if options.validation is not None:
            source, keys = validation_keys(options.validation, spec.storage_options)
            validation = (source, tuple(keys))
        return BoostingTask(
            source=job.source,
            keys=tuple(part.key for part in admission.train),
            rows=rows,
            contract=dataclasses.replace(job.contract, vocabularies=dict(admission.categories)),
            coding=LabelCoding(spec.task, admission.classes, params.get("objective")),
            params=params,
            sessions=plan_sessions(
                options.xgb_mode,
                parent_rounds=parent_rounds,
                rounds=options.rounds,
                update_rounds=options.update_rounds,
            ),
            feature_names=xgboost_feature_names(spec.features),
            feature_types=feature_types(spec.features, spec.categorical),
            seed=seed,
            version=job.version,
            draws=draws,
            replay=replay if replay is not None and len(replay) else None,
            validation=validation,
            early_stopping_rounds=options.early_stopping_rounds,
            collective_timeout=options.xgb_collective_timeout,
        )

    @staticmethod
    def _run(
        client: Any, job: TrainingJob, task: BoostingTask, parent: Any, placement: Placement
    ) -> BoostingOutcome:
        booster = parent.booster if isinstance(parent, BoostedModel) else None
        if placement.backend == "dask":
            from distinc.trainers.boosting.dask_backend import train_dask

            return train_dask(client, task, booster)
        from distinc.trainers.boosting.local import train_local

        def attempt() -> BoostingOutcome:
            # Scattered rather than embedded in the graph: replay rows and boosters can be
            # megabytes. Dask's Active Memory Manager drops extra copies within seconds, so the
            # inputs usually live on the training worker alone; if it dies they die with it,
            # and the task is shipped again, under a new key, to the workers still up.
            shipped = client.scatter(task, hash=False, broadcast=True)
            shipped_booster = (
                None if booster is None else client.scatter(booster, hash=False, broadcast=True)
            )
            future = client.submit(
                train_local,
                shipped,
                shipped_booster,
                placement.threads,
                key=f"distinc-xgboost-{job.run_id}-{uuid.uuid4().hex[:8]}",
                workers=list(placement.workers) or None,
                allow_other_workers=bool(placement.workers),
            )
            outcome: BoostingOutcome = future.result()
            return outcome

        return resuming(job, client, attempt, what="training XGBoost again from the same start")

    @staticmethod
    def _notes(
        parent: Any,
        model: BoostedModel,
        task: BoostingTask,
        outcome: BoostingOutcome,
        placement: Placement,
    ) -> dict[str, Any]:
        before = parent.rounds if isinstance(parent, BoostedModel) else 0
        notes: dict[str, Any] = {
            "backend": placement.backend,
            "rounds": model.rounds,
            "rounds_added": model.rounds - before,
            "sessions": [session.kind for session in task.sessions],
            "replayed_rows": 0 if task.replay is None else len(task.replay),
        }
        if outcome.validation:
            notes["validation"] = outcome.validation
        if outcome.best_round is not None:
            notes["best_round"] = outcome.best_round
        return notes
