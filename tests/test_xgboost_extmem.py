"""XGBoost's external memory for deltas larger than the worker's memory (real XGBoost, real
Parquet): the same continuation as the in-memory path, within the sketch's tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.trainers.boosting import local
from distinc.trainers.boosting.extmem import needs_external_memory
from distinc.trainers.boosting.fitting import BoostingOutcome, BoostingTask
from distinc.trainers.boosting.params import Session
from distinc.trainers.boosting.rows import LabelCoding, Rows
from tests.conftest import FEATURES, make_frame, write_partition

PARAMS = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 0}


def delta_task(
    root: Path, *, replay: Rows | None = None, draws: tuple[int, ...] = ()
) -> BoostingTask:
    keys = []
    for i in range(4):
        write_partition(root, f"p{i}.parquet", make_frame(2_000, seed=10 + i))
        keys.append(f"p{i}.parquet")
    return BoostingTask(
        source=DataSource(str(root)),
        keys=tuple(keys),
        rows=(2_000,) * 4,
        contract=ColumnContract(tuple(FEATURES), ("double",) * 4, "label", "classification"),
        coding=LabelCoding("classification", (0, 1)),
        params=PARAMS,
        sessions=(Session("add", 8),),
        feature_names=list(FEATURES),
        feature_types=["q"] * 4,
        seed=0,
        version=2,
        draws=draws,
        replay=replay,
    )


def parent_booster() -> xgb.Booster:
    frame = make_frame(3_000, seed=99)
    data = xgb.DMatrix(frame[FEATURES].to_numpy(np.float32), frame["label"], feature_names=FEATURES)
    return xgb.train(PARAMS, data, num_boost_round=4)


def both_paths(task: BoostingTask, monkeypatch: pytest.MonkeyPatch) -> tuple[BoostingOutcome, ...]:
    parent = parent_booster()
    in_memory = local.train_local(task, parent, 2)  # no worker here: no limit, in memory
    monkeypatch.setattr(local, "worker_memory_limit", lambda: 1_000.0)
    assert needs_external_memory(task, 1_000.0)
    external = local.train_local(task, parent, 2)
    return in_memory, external


def test_external_memory_continues_the_parent_like_the_in_memory_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay = Rows(
        np.random.default_rng(0).normal(size=(500, 4)).astype(np.float32),
        np.ones(500, np.float32),
        np.full(500, 0.5, np.float32),
    )
    in_memory, external = both_paths(
        delta_task(tmp_path, replay=replay, draws=(10, 0, 5, 20)), monkeypatch
    )
    assert external.booster.num_boosted_rounds() == in_memory.booster.num_boosted_rounds() == 12
    # The reservoir gets exactly the same rows, drawn while XGBoost reads the delta.
    assert external.drawn is not None and in_memory.drawn is not None
    np.testing.assert_array_equal(external.drawn.features, in_memory.drawn.features)
    holdout = make_frame(2_000, seed=7)
    matrix = xgb.DMatrix(holdout[FEATURES].to_numpy(np.float32), feature_names=FEATURES)
    gap = np.abs(external.booster.predict(matrix) - in_memory.booster.predict(matrix))
    assert gap.mean() < 0.02  # the same trees up to quantile-sketch differences


def test_refreshing_leaves_stays_in_memory(tmp_path: Path) -> None:
    task = delta_task(tmp_path)
    refresh = BoostingTask(**{**task.__dict__, "sessions": (Session("refresh", 4),)})
    assert needs_external_memory(task, 1_000.0)
    assert not needs_external_memory(refresh, 1_000.0)
    exact = BoostingTask(**{**task.__dict__, "params": {**PARAMS, "tree_method": "exact"}})
    assert not needs_external_memory(exact, 1_000.0)
