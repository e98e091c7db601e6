"""``compare``: a full retrain on the cluster through the store's own strategy, next to the head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn import metrics
from sklearn.linear_model import LogisticRegression, SGDClassifier

import distinc
from distinc.estimators import build_estimator
from distinc.exceptions import PartitionChangedError, PartitionMissingError
from distinc.trainers import _TRAINERS
from distinc.trainers.base import Trainer, TrainingJob, TrainingResult
from distinc.trainers.stream import read_group
from tests.conftest import FEATURES, learned_regressor, make_frame, run_cli, write_partition

PARAMS = {"loss": "log_loss", "random_state": 0}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))}


def two_versions(tmp_path: Path, data: Path, client: Any, **kwargs: Any) -> Any:
    options = {"target": "label", "model": "SGDClassifier", "params": PARAMS, **kwargs}
    model = distinc.init(str(tmp_path / "store"), data=str(data), **options)
    model.update(client=client)
    for i in range(3, 6):
        write_partition(data, f"part-{i:02d}.parquet", make_frame(300, seed=i))
    model.update(client=client)
    return model


@pytest.fixture
def holdout(tmp_path: Path) -> Path:
    root = tmp_path / "holdout"
    write_partition(root, "h.parquet", make_frame(600, seed=4321))
    return root


def test_compare_retrains_on_the_cluster_without_committing(
    tmp_path: Path, data_dir: Path, holdout: Path, client: Any
) -> None:
    model = two_versions(tmp_path, data_dir, client)
    ledger = snapshot(tmp_path / "store" / "ledger")
    found = model.compare(str(holdout), client=client)
    assert model.version == 2 and snapshot(tmp_path / "store" / "ledger") == ledger
    assert found.version == 2 and found.committed is None and found.updates == 2
    assert found.rows == found.retrain_rows == 3 * 500 + 3 * 300
    history = model.history()
    assert found.incremental_seconds == pytest.approx(sum(e.seconds for e in history))
    assert found.last_update_seconds == history[-1].seconds and found.retrain_seconds > 0
    # partial_fit in key order is what both the history and the retrain did, so they agree.
    assert set(found.incremental) == {"rows", "accuracy", "log_loss", "roc_auc"}
    assert found.retrain == pytest.approx(found.incremental)
    assert found.difference["accuracy"] == pytest.approx(0.0)
    assert found.difference["seconds"] == pytest.approx(
        found.incremental_seconds - found.retrain_seconds
    )
    stored = list((tmp_path / "store" / "comparisons").glob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text())["version"] == 2


def test_a_committed_retrain_is_a_fresh_lineage_that_updates_go_on_from(
    tmp_path: Path, data_dir: Path, holdout: Path, client: Any
) -> None:
    model = two_versions(tmp_path, data_dir, client)
    found = model.compare(str(holdout), client=client, commit=True)
    assert found.committed == 3 and model.version == 3
    entry = model.history()[-1]
    assert entry.kind == "retrain" and entry.parent is None and entry.notes["retrain_of"] == 2
    assert sorted(p.key for p in entry.partitions) == sorted(
        p.name for p in data_dir.glob("*.parquet")
    )
    expected = SGDClassifier(**PARAMS)
    for path in sorted(data_dir.glob("*.parquet")):
        frame = pq.read_table(path).to_pandas()
        expected.partial_fit(frame[FEATURES], frame["label"], classes=[0, 1])
    np.testing.assert_array_equal(model.model().coef_, expected.coef_)
    assert model.verify() == []
    write_partition(data_dir, "part-09.parquet", make_frame(100, seed=9))
    after = model.update(client=client).entry
    assert after is not None and [p.key for p in after.partitions] == ["part-09.parquet"]
    assert model.verify() == []


def test_compare_refuses_when_learned_data_changed_or_vanished(
    tmp_path: Path, data_dir: Path, holdout: Path, client: Any
) -> None:
    model = two_versions(tmp_path, data_dir, client)
    write_partition(data_dir, "part-04.parquet", make_frame(10, seed=99))
    with pytest.raises(PartitionChangedError, match="'part-04.parquet'"):
        model.compare(str(holdout), client=client)
    (data_dir / "part-04.parquet").unlink()
    with pytest.raises(PartitionMissingError, match="'part-04.parquet'"):
        model.compare(str(holdout), client=client)
    assert model.version == 2


def test_compare_for_a_regressor_reports_regression_metrics(
    tmp_path: Path, data_dir: Path, holdout: Path, client: Any
) -> None:
    model = learned_regressor(tmp_path, data_dir, client)
    found = model.compare(str(holdout), client=client)
    assert set(found.retrain) == {"rows", "rmse", "mae", "r2"}
    assert found.retrain == pytest.approx(found.incremental)


class FitTrainer(Trainer):
    """A strategy with no ``partial_fit``: each version refits on its delta alone."""

    strategy = "fit-each-delta"

    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        keys = [key for group in job.delta.groups() for key in group.keys]
        batches = client.submit(read_group, job.source, keys, job.contract).result()
        features = np.vstack([batches[key][0] for key in keys])
        labels = np.concatenate([batches[key][1] for key in keys])
        model = build_estimator(job.spec.estimator, job.spec.params).fit(features, labels)
        return TrainingResult(model=model)


def test_compare_works_through_any_registered_strategy(
    tmp_path: Path,
    data_dir: Path,
    holdout: Path,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(_TRAINERS, FitTrainer.strategy, "tests.test_compare:FitTrainer")
    model = two_versions(
        tmp_path, data_dir, client, model="LogisticRegression", params={}, strategy="fit-each-delta"
    )
    found = model.compare(str(holdout), client=client)
    frames = [pq.read_table(p).to_pandas() for p in sorted(data_dir.glob("*.parquet"))]
    everything = pd.concat(frames)
    reference = LogisticRegression().fit(everything[FEATURES].to_numpy(), everything["label"])
    test = pq.read_table(holdout / "h.parquet").to_pandas()
    proba = reference.predict_proba(test[FEATURES].to_numpy())[:, 1]
    assert found.retrain["roc_auc"] == pytest.approx(metrics.roc_auc_score(test["label"], proba))
    assert found.retrain_rows == len(everything)


def test_compare_command_prints_side_by_side_and_json(
    tmp_path: Path, data_dir: Path, holdout: Path, client: Any, scheduler_address: str
) -> None:
    two_versions(tmp_path, data_dir, client)
    store = str(tmp_path / "store")
    on = ["--scheduler", scheduler_address]
    text = run_cli("compare", store, "--holdout", str(holdout), *on).stdout
    assert "incremental" in text and "full retrain" in text and "difference" in text
    assert "roc_auc" in text and "training seconds" in text and "--commit" in text
    data = json.loads(
        run_cli("compare", store, "--holdout", str(holdout), "--json", "--commit", *on).stdout
    )
    assert data["version"] == 2 and data["retrain"]["committed_version"] == 3
    assert set(data["difference"]) == {"accuracy", "log_loss", "roc_auc", "seconds"}
    assert set(data["incremental"]) >= {"metrics", "rows", "updates", "seconds"}
    assert distinc.open(store).version == 3
