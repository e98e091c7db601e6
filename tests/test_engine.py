"""The update path end to end through the Python API, on a real LocalCluster and real files."""

from __future__ import annotations

import gc
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import SGDClassifier

import distinc
from distinc.engine.heap import collections_paused
from distinc.exceptions import (
    CorruptPartitionError,
    DataError,
    InvalidValueError,
    PartitionChangedError,
    PartitionMissingError,
    SchemaError,
    UnseenLabelError,
)
from tests.conftest import FEATURES, make_frame, write_partition

PARAMS = {"loss": "log_loss", "random_state": 0}


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def new_model(tmp_path: Path, data: Path, **kwargs: object) -> distinc.IncrementalModel:
    options = {"target": "label", "model": "SGDClassifier", "params": PARAMS, **kwargs}
    return distinc.init(str(tmp_path / "store"), data=str(data), **options)  # type: ignore[arg-type]


def plain_loop(files: list[Path], classes: list[int]) -> SGDClassifier:
    model = SGDClassifier(**PARAMS)
    for path in files:
        frame = pq.read_table(path).to_pandas()
        model.partial_fit(frame[FEATURES], frame["label"], classes=classes)
    return model


def test_updates_learn_each_partition_once_and_equal_a_plain_loop(
    tmp_path: Path, data_dir: Path, client: object
) -> None:
    model = new_model(tmp_path, data_dir)
    first = model.update(client=client)
    assert first.version == 1 and first.entry is not None
    assert [p.key for p in first.entry.partitions] == [f"part-{i:02d}.parquet" for i in range(3)]
    for i in range(3, 8):
        write_partition(data_dir, f"part-{i:02d}.parquet", make_frame(300, seed=i))
    second = model.update(client=client)
    assert second.entry is not None
    assert [p.key for p in second.entry.partitions] == [
        f"part-{i:02d}.parquet" for i in range(3, 8)
    ]
    files = sorted(data_dir.glob("*.parquet"))
    expected = plain_loop(files, classes=[0, 1])
    np.testing.assert_array_equal(model.model().coef_, expected.coef_)
    np.testing.assert_array_equal(model.model().intercept_, expected.intercept_)
    assert model.verify() == []


def test_an_update_with_nothing_new_changes_no_byte(
    tmp_path: Path, data_dir: Path, client: object
) -> None:
    model = new_model(tmp_path, data_dir)
    model.update(client=client)
    before = snapshot(tmp_path / "store")
    result = model.update(client=client)
    assert result.noop and result.version == 1
    assert snapshot(tmp_path / "store") == before


def test_classes_are_inferred_then_pinned(tmp_path: Path, data_dir: Path, client: object) -> None:
    model = new_model(tmp_path, data_dir)
    assert model.update(client=client).entry.classes == (0, 1)  # type: ignore[union-attr]
    write_partition(data_dir, "part-new.parquet", make_frame(100, seed=9, classes=(0, 1, 2)))
    with pytest.raises(UnseenLabelError, match="'part-new.parquet' has label 2"):
        model.update(client=client)
    assert model.version == 1


def test_declared_string_classes(tmp_path: Path, client: object) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(200, seed=1, classes=("cat", "dog")))
    model = new_model(tmp_path, data, classes=["cat", "dog", "eel"])
    entry = model.update(client=client).entry
    assert entry is not None and entry.classes == ("cat", "dog", "eel")
    assert list(model.model().classes_) == ["cat", "dog", "eel"]


def test_bad_partitions_fail_before_training_and_commit_nothing(
    tmp_path: Path, data_dir: Path, client: object
) -> None:
    model = new_model(tmp_path, data_dir)
    model.update(client=client)
    cases = {
        "nan.parquet": (make_frame(50, seed=1).assign(x1=np.nan), InvalidValueError, "'x1'"),
        "inf.parquet": (make_frame(50, seed=1).assign(x2=np.inf), InvalidValueError, "'x2'"),
        "nolabel.parquet": (make_frame(50, seed=1).drop(columns="label"), SchemaError, "'label'"),
        "string.parquet": (make_frame(50, seed=1).assign(x0="a"), SchemaError, "'x0'"),
    }
    for name, (frame, error, column) in cases.items():
        path = write_partition(data_dir, name, frame)
        with pytest.raises(error, match=f"{column}.*'{name}'|'{name}'.*{column}"):
            model.update(client=client)
        path.unlink()
    (data_dir / "garbage.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(CorruptPartitionError, match="'garbage.parquet'"):
        model.update(client=client)
    assert model.version == 1 and model.verify() == []


def test_empty_and_duplicate_partitions_are_recorded_as_skipped(
    tmp_path: Path, data_dir: Path, client: object
) -> None:
    model = new_model(tmp_path, data_dir)
    model.update(client=client)
    write_partition(data_dir, "empty.parquet", make_frame(0, seed=1))
    assert model.update(client=client).noop
    shutil.copy(data_dir / "part-00.parquet", data_dir / "copy.parquet")
    write_partition(data_dir, "fresh.parquet", make_frame(100, seed=77))
    entry = model.update(client=client).entry
    assert entry is not None and [p.key for p in entry.partitions] == ["fresh.parquet"]
    assert {s.key: s.reason for s in entry.skipped} == {
        "copy.parquet": "duplicate of part-00.parquet",
        "empty.parquet": "empty",
    }
    assert model.update(client=client).noop


def test_modified_and_missing_partitions(tmp_path: Path, data_dir: Path, client: object) -> None:
    model = new_model(tmp_path, data_dir)
    model.update(client=client)
    write_partition(data_dir, "part-01.parquet", make_frame(123, seed=42))
    with pytest.raises(PartitionChangedError, match="'part-01.parquet'"):
        model.update(client=client)
    assert model.update(client=client, on_modified="skip").noop
    retrained = model.update(client=client, on_modified="retrain").entry
    assert retrained is not None and [p.key for p in retrained.partitions] == ["part-01.parquet"]
    (data_dir / "part-02.parquet").unlink()
    with pytest.raises(PartitionMissingError, match="'part-02.parquet'"):
        model.update(client=client)
    assert model.update(client=client, on_missing="warn").noop
    assert model.verify() == []


def test_dry_run_plans_without_training(tmp_path: Path, data_dir: Path, client: object) -> None:
    model = new_model(tmp_path, data_dir)
    result = model.update(client=client, dry_run=True)
    assert result.dry_run and len(result.plan.new) == 3 and model.version is None


def test_predict_writes_one_file_per_input_in_order(
    tmp_path: Path, data_dir: Path, client: object
) -> None:
    model = new_model(tmp_path, data_dir)
    model.update(client=client)
    scoring = tmp_path / "scoring"
    frames = {f"day={d}/part.parquet": make_frame(50 + d, seed=100 + d) for d in range(2)}
    for key, frame in frames.items():
        write_partition(scoring, key, frame)
    summary = model.predict(str(scoring), out=str(tmp_path / "out"), keep=["label"], client=client)
    assert summary.files == 2 and summary.rows == 101
    fitted = model.model()
    for key, frame in frames.items():
        written = pd.read_parquet(tmp_path / "out" / key)
        np.testing.assert_array_equal(
            written["prediction"], fitted.predict(frame[FEATURES].to_numpy())
        )
        assert list(written.columns) == ["prediction", "proba_0", "proba_1", "label"]


def test_evaluate_reports_holdout_metrics(tmp_path: Path, data_dir: Path, client: object) -> None:
    model = new_model(tmp_path, data_dir)
    model.update(client=client)
    holdout = tmp_path / "holdout"
    write_partition(holdout, "h.parquet", make_frame(400, seed=1234))
    metrics = model.evaluate(str(holdout), client=client)
    assert metrics["rows"] == 400 and metrics["accuracy"] > 0.8 and 0.5 < metrics["roc_auc"] <= 1


@pytest.mark.parametrize(
    ("name", "target", "attribute"),
    [
        ("SGDRegressor", "x3", "coef_"),
        ("MiniBatchKMeans", None, "cluster_centers_"),
        ("IncrementalPCA", None, "components_"),
        ("GaussianNB", "label", "theta_"),
    ],
)
def test_other_partial_fit_families_stream(
    tmp_path: Path, data_dir: Path, client: object, name: str, target: str | None, attribute: str
) -> None:
    params = {"n_components": 2} if name == "IncrementalPCA" else {}
    if name == "MiniBatchKMeans":
        params = {"n_clusters": 3, "random_state": 0, "n_init": 1}
    features = [f for f in FEATURES if f != target]
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data_dir),
        target=target,
        model=name,
        params=params,
        features=features,
    )
    model.update(client=client)
    assert getattr(model.model(), attribute) is not None
    metrics = model.evaluate(str(data_dir), client=client)
    assert metrics["rows"] == 1500


def test_string_features_are_encoded_unless_left_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(20, seed=1).assign(city="oslo"))
    encoded = distinc.init(
        str(tmp_path / "encoded"), data=str(data), target="label", model="SGDClassifier"
    )
    assert encoded.spec.categorical == ("city",)
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        features=FEATURES,
    )
    assert model.spec.categorical == ()


def test_an_update_leaves_older_objects_out_of_collections_only_while_it_runs(
    tmp_path: Path, data_dir: Path, client: object
) -> None:
    frozen_while_training: list[int] = []
    model = new_model(tmp_path, data_dir)
    model.update(
        client=client, progress=lambda *_: frozen_while_training.append(gc.get_freeze_count())
    )
    assert frozen_while_training and min(frozen_while_training) > 0
    assert gc.get_freeze_count() == 0
    lacking = make_frame(300, seed=9).drop(columns=[FEATURES[0]])
    write_partition(data_dir, "part-09.parquet", lacking)
    with pytest.raises(SchemaError):
        model.update(client=client)
    assert gc.get_freeze_count() == 0


def test_planning_pauses_collections_and_resumes_them(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distinc.engine.update as update_module

    listing = update_module.list_files
    collecting_while_listing: list[bool] = []

    def listed(*args: Any, **kwargs: Any) -> Any:
        collecting_while_listing.append(gc.isenabled())
        return listing(*args, **kwargs)

    monkeypatch.setattr(update_module, "list_files", listed)
    assert gc.isenabled()
    model = new_model(tmp_path, data_dir)
    assert model.update(dry_run=True).plan.new
    assert collecting_while_listing == [False] and gc.isenabled()
    shutil.rmtree(data_dir)
    with pytest.raises(DataError, match="No data at"):
        model.update(dry_run=True)
    assert collecting_while_listing == [False, False] and gc.isenabled()


def test_collections_pause_until_the_last_paused_block_of_any_thread_ends() -> None:
    entered, release = threading.Barrier(2), threading.Event()

    def scan() -> None:
        with collections_paused():
            entered.wait()
            release.wait()

    other = threading.Thread(target=scan)
    other.start()
    with collections_paused():
        entered.wait()
    assert not gc.isenabled()  # the other thread is still in its block
    release.set()
    other.join()
    assert gc.isenabled()
    gc.disable()
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


def test_workers_collect_again_once_an_update_has_scanned(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    new_model(tmp_path, data_dir).update(client=client)
    assert all(client.run(gc.isenabled).values())
    write_partition(data_dir, "part-09.parquet", make_frame(300, seed=9).drop(columns=["label"]))
    with pytest.raises(SchemaError):
        new_model(tmp_path / "again", data_dir).update(client=client)
    assert all(client.run(gc.isenabled).values())
