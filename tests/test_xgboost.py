"""XGBoost continuation through the engine: real XGBoost, real LocalCluster, real Parquet."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xgboost as xgb

import distinc
from distinc.exceptions import InvalidValueError, UnseenLabelError
from tests.conftest import FEATURES, make_frame, write_partition
from tests.inotify import OpenWatch
from tests.xgbdata import city_frame, noisy_frame

PARAMS = {"max_depth": 3, "eta": 0.3, "seed": 7, "subsample": 0.8}


def xgb_store(tmp_path: Path, data: Path, **options: Any) -> distinc.IncrementalModel:
    params = options.pop("params", PARAMS)
    model = options.pop("model", "xgboost")
    target = options.pop("target", "label")
    features = options.pop("features", None)
    return distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target=target,
        model=model,
        params=params,
        features=features,
        options=distinc.TrainingOptions(**{"rounds": 6, "update_rounds": 3, **options}),
    )


def booster(model: distinc.IncrementalModel, version: int | None = None) -> Any:
    return model.model(version).booster


def matrix(frame: pd.DataFrame, columns: list[str] = FEATURES) -> xgb.DMatrix:
    return xgb.DMatrix(frame[columns], label=frame["label"])


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_continuation_equals_raw_xgboost(tmp_path: Path, one_worker: Any, backend: str) -> None:
    data = tmp_path / "data"
    base = [make_frame(300, seed=i) for i in range(2)]
    for i, frame in enumerate(base):
        write_partition(data, f"a-{i}.parquet", frame)
    model = xgb_store(tmp_path, data, xgb_backend=backend)
    model.update(client=one_worker)
    version1 = booster(model, 1)
    delta = [make_frame(200, seed=10 + i) for i in range(2)]
    for i, frame in enumerate(delta):
        write_partition(data, f"b-{i}.parquet", frame)
    entry = model.update(client=one_worker).entry
    assert entry is not None and entry.notes["backend"] == backend

    params = {**PARAMS, "objective": "binary:logistic"}
    raw = xgb.train(params, matrix(pd.concat(delta)), num_boost_round=3, xgb_model=version1)
    everything = matrix(pd.concat(base + delta))
    np.testing.assert_allclose(
        booster(model).predict(everything), raw.predict(everything), rtol=1e-6, atol=1e-7
    )
    assert booster(model).num_boosted_rounds() == 9


@pytest.mark.parametrize(
    ("mode", "rounds", "sessions"),
    [("add", 9, ["add"]), ("refresh", 6, ["refresh"]), ("add+refresh", 9, ["refresh", "add"])],
)
def test_refresh_keeps_the_trees_and_add_adds_update_rounds(
    tmp_path: Path, data_dir: Path, client: Any, mode: str, rounds: int, sessions: list[str]
) -> None:
    model = xgb_store(tmp_path, data_dir, xgb_mode=mode)
    model.update(client=client)
    version1 = booster(model, 1)
    delta = make_frame(400, seed=99)
    write_partition(data_dir, "new.parquet", delta)
    entry = model.update(client=client).entry
    assert entry is not None and entry.notes["sessions"] == sessions
    version2 = booster(model)
    assert version2.num_boosted_rounds() == rounds == entry.notes["rounds"]
    assert len(version2.get_dump()) == rounds
    if mode == "refresh":
        refresh = {"process_type": "update", "updater": "refresh", "refresh_leaf": True}
        params = {**PARAMS, "objective": "binary:logistic", **refresh}
        with warnings.catch_warnings():
            # XGBoost says this once per process, which init's parameter check may have used.
            warnings.filterwarnings("ignore", message=".*manually specified the `updater`")
            raw = xgb.train(params, matrix(delta), num_boost_round=6, xgb_model=version1)
        old = matrix(make_frame(300, seed=1))
        np.testing.assert_allclose(version2.predict(old), raw.predict(old), rtol=1e-5)
        assert not np.allclose(version2.predict(old), version1.predict(old))


def test_a_category_new_in_version_3_does_not_shift_version_2(tmp_path: Path, client: Any) -> None:
    data = tmp_path / "data"
    old = {f"v1-{i}.parquet": city_frame(300, seed=i) for i in range(2)}
    old["v2.parquet"] = city_frame(300, seed=5)
    for key in ("v1-0.parquet", "v1-1.parquet"):
        write_partition(data, key, old[key])
    model = xgb_store(tmp_path, data)
    assert model.spec.categorical == ("city",)
    model.update(client=client)
    write_partition(data, "v2.parquet", old["v2.parquet"])
    model.update(client=client)
    write_partition(data, "v3.parquet", city_frame(300, seed=6, cities=("aachen", "oslo")))
    entry = model.update(client=client).entry
    assert entry is not None and entry.categories["city"] == ("amsterdam", "oslo", "aachen")

    rows = pd.concat(old.values(), ignore_index=True)
    version2 = model.model(2)

    def codes(vocabulary: tuple[str, ...]) -> np.ndarray:
        index = {name: float(code) for code, name in enumerate(vocabulary)}
        return np.column_stack([rows[FEATURES].to_numpy(), rows["city"].map(index).to_numpy()])

    before = version2.predict_proba(codes(model.entry(2).categories["city"]))
    after = version2.predict_proba(codes(entry.categories["city"]))
    np.testing.assert_array_equal(before, after)
    # Version 3's first trees are version 2's, reading the same codes the same way.
    first_trees = model.model(3).booster[: version2.rounds]
    np.testing.assert_array_equal(
        first_trees.predict(version2.dmatrix(codes(entry.categories["city"]))), before[:, 1]
    )
    # The test can fail: re-sorting the vocabulary would move old rows to other codes.
    shifted = version2.predict_proba(codes(("aachen", "amsterdam", "oslo")))
    assert not np.array_equal(before, shifted)
    written = tmp_path / "scored"
    model.predict(str(data), out=str(written), version=2, client=client)
    scored = pd.read_parquet(written / "v2.parquet")
    np.testing.assert_allclose(scored["proba_1"], before[600:, 1], rtol=1e-6)


def test_a_binary_model_stays_binary(tmp_path: Path, data_dir: Path, client: Any) -> None:
    model = xgb_store(tmp_path, data_dir)
    model.update(client=client)
    write_partition(data_dir, "three.parquet", make_frame(100, seed=5, classes=(0, 1, 2)))
    with pytest.raises(UnseenLabelError, match="'three.parquet' has label 2"):
        model.update(client=client)
    assert model.version == 1
    assert booster(model).attr("distinc") is not None
    assert list(model.model().classes_) == [0, 1]


def test_string_classes_become_a_multiclass_model(tmp_path: Path, client: Any) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(300, seed=1, classes=("ant", "bee", "cat")))
    model = xgb_store(tmp_path, data)
    model.update(client=client)
    fitted = model.model()
    assert list(fitted.classes_) == ["ant", "bee", "cat"]
    assert fitted.predict_proba(make_frame(5, seed=2)[FEATURES].to_numpy()).shape == (5, 3)
    metrics = model.evaluate(str(data), client=client)
    assert metrics["accuracy"] > 0.8


def regression_frame(rows: int, seed: int) -> pd.DataFrame:
    frame = make_frame(rows, seed=seed).drop(columns="label")
    return frame.assign(y=2 * frame["x0"] - frame["x1"])


def test_regression_targets_with_nan_are_rejected(tmp_path: Path, client: Any) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", regression_frame(300, seed=1))
    model = xgb_store(tmp_path, data, model="XGBRegressor", target="y", params={"max_depth": 3})
    frame = regression_frame(300, seed=2)
    frame.loc[::7, "x2"] = np.nan  # missing features are fine for XGBoost
    write_partition(data, "b.parquet", frame)
    assert model.update(client=client).version == 1
    bad = regression_frame(50, seed=3)
    bad.loc[3, "y"] = np.nan
    write_partition(data, "bad.parquet", bad)
    with pytest.raises(InvalidValueError, match="target column 'y' of partition 'bad.parquet'"):
        model.update(client=client)
    assert model.version == 1
    (data / "bad.parquet").unlink()
    assert model.evaluate(str(data), client=client)["r2"] > 0.8


def test_replay_never_opens_trained_partitions(tmp_path: Path, data_dir: Path, client: Any) -> None:
    model = xgb_store(
        tmp_path, data_dir, replay_fraction=0.5, reservoir_rows=400, decay_half_life=1.0
    )
    trained = {p.name for p in data_dir.glob("*.parquet")}
    first = model.update(client=client).entry
    assert first is not None and first.artifact("reservoir").format == "parquet"
    watch = OpenWatch(data_dir)
    try:
        new = {
            write_partition(data_dir, f"new-{i}.parquet", make_frame(150, seed=40 + i)).name
            for i in range(2)
        }
        watch.opened()
        entry = model.update(client=client).entry
        opened = watch.opened()
    finally:
        watch.close()
    assert set(opened) == new, f"the update opened {opened}; trained were {trained}"
    assert entry is not None and entry.notes["replayed_rows"] == 300
    reservoir = pq.read_table(model.store.files.path(entry.artifact("reservoir").path))
    versions = reservoir.column("__distinc_version__").to_numpy()
    assert reservoir.num_rows == 400 and set(versions) == {1, 2}
    assert model.verify() == []


def test_early_stopping_on_the_validation_set(tmp_path: Path, client: Any) -> None:
    data, holdout = tmp_path / "data", tmp_path / "holdout"
    for i in range(2):
        write_partition(data, f"a-{i}.parquet", noisy_frame(400, seed=i))
    write_partition(holdout, "h.parquet", noisy_frame(400, seed=100))
    model = xgb_store(
        tmp_path,
        data,
        params={"max_depth": 6, "eta": 1.0, "seed": 0},
        rounds=60,
        update_rounds=40,
        validation=str(holdout),
        early_stopping_rounds=3,
    )
    first = model.update(client=client).entry
    assert first is not None and first.notes["rounds"] < 60
    assert first.notes["best_round"] == first.notes["rounds"] - 1
    metrics = model.evaluate(str(holdout), client=client)
    assert metrics["log_loss"] == pytest.approx(first.notes["validation"]["logloss"], rel=1e-5)
    write_partition(data, "b.parquet", noisy_frame(400, seed=7))
    second = model.update(client=client).entry
    assert second is not None and 1 <= second.notes["rounds_added"] < 40
    assert second.notes["best_round"] == second.notes["rounds"] - 1


def test_nothing_new_to_learn_commits_nothing(tmp_path: Path, data_dir: Path, client: Any) -> None:
    model = xgb_store(tmp_path, data_dir)
    model.update(client=client)
    write_partition(data_dir, "empty.parquet", make_frame(0, seed=1))
    assert model.update(client=client).noop and model.version == 1


def test_the_artifact_is_a_plain_xgboost_model(tmp_path: Path, data_dir: Path, client: Any) -> None:
    model = xgb_store(tmp_path, data_dir)
    entry = model.update(client=client).entry
    assert entry is not None and entry.artifact("model").format == "ubj"
    plain = xgb.Booster(model_file=model.store.files.path(entry.artifact("model").path))
    rows = make_frame(50, seed=3)
    np.testing.assert_array_equal(
        plain.predict(matrix(rows)), model.model().predict_proba(rows[FEATURES].to_numpy())[:, 1]
    )


def test_compare_retrains_a_booster_and_updates_continue_from_a_committed_retrain(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = xgb_store(tmp_path, data_dir)
    model.update(client=client)
    write_partition(data_dir, "new.parquet", make_frame(300, seed=31))
    model.update(client=client)
    holdout = tmp_path / "holdout"
    write_partition(holdout, "h.parquet", make_frame(400, seed=1234))
    comparison = model.compare(str(holdout), commit=True, client=client)
    assert comparison.committed == 3 and comparison.retrain["roc_auc"] > 0.9
    retrained = model.entry(3)
    assert retrained.kind == "retrain" and model.model(3).rounds == 6
    write_partition(data_dir, "later.parquet", make_frame(300, seed=32))
    entry = model.update(client=client).entry
    assert entry is not None and entry.notes["rounds"] == 9 and entry.parent == 3
    assert model.verify() == []


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_a_bad_validation_file_is_named(
    tmp_path: Path, data_dir: Path, client: Any, backend: str
) -> None:
    holdout = tmp_path / "holdout"
    write_partition(holdout, "odd.parquet", make_frame(50, seed=4, classes=(0, 1, 2)))
    model = xgb_store(tmp_path, data_dir, validation=str(holdout), xgb_backend=backend)
    with pytest.raises(UnseenLabelError, match="'odd.parquet' has label 2"):
        model.update(client=client)
    assert model.version is None
