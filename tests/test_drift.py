"""Drift: statistics stored at each update, pending partitions compared without trained reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import distinc
from distinc.dataset.stats import NumericSummary
from distinc.store.records import STATS_ROLE, stats_of
from tests.conftest import learned_regressor, make_frame, run_cli, write_partition
from tests.inotify import OpenWatch


def learned(tmp_path: Path, data: Path, client: Any, **options: Any) -> Any:
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params={"random_state": 0},
        options=distinc.TrainingOptions(**options),
    )
    model.update(client=client)
    return model


def test_each_update_stores_the_statistics_of_what_it_learned(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = learned(tmp_path, data_dir, client)
    write_partition(data_dir, "part-03.parquet", make_frame(700, seed=3))
    model.update(client=client)
    for entry in model.history():
        stats = stats_of(model.store, entry)
        assert stats is not None and stats.rows == entry.rows
        assert sorted(stats.columns) == ["x0", "x1", "x2", "x3"]
        assert sum(n for _, n in stats.labels) == entry.rows
        summary = stats.columns["x0"]
        assert isinstance(summary, NumericSummary) and summary.count == entry.rows
    assert [r.role for r in model.history()[-1].artifacts] == ["model", STATS_ROLE]
    assert model.verify() == []


def test_statistics_of_small_files_scanned_together_leave_out_a_skipped_copy(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    """Small files share one drift sample per run; a copy of a learned file inside that run is
    skipped, and its rows must not count in the version's statistics. Fit batches make the
    files of the delta one scan task, hence one run."""
    model = learned(tmp_path, data_dir, client, fit_batch_mb=1)
    frames = {f"new-{i}.parquet": make_frame(300, seed=10 + i) for i in range(4)}
    for key, frame in frames.items():
        write_partition(data_dir, key, frame)
    (data_dir / "new-2-copy.parquet").write_bytes((data_dir / "part-01.parquet").read_bytes())
    result = model.update(client=client)
    assert result.entry is not None
    assert [part.key for part in result.entry.skipped] == ["new-2-copy.parquet"]
    stats = stats_of(model.store, result.entry)
    assert stats is not None and stats.rows == result.entry.rows == 1200
    counts: dict[Any, int] = {}
    for frame in frames.values():
        for label, n in frame["label"].value_counts().items():
            counts[label] = counts.get(label, 0) + int(n)
    assert dict(stats.labels) == counts
    summary = stats.columns["x0"]
    assert isinstance(summary, NumericSummary) and summary.count == 1200


def test_drift_names_a_shifted_feature_without_opening_trained_partitions(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = learned(tmp_path, data_dir, client)
    assert model.drift(client=client).recommendation == "none"
    shifted = make_frame(2000, seed=10)
    shifted["x1"] += 2.0
    write_partition(data_dir, "part-10.parquet", shifted)
    write_partition(data_dir, "part-11.parquet", make_frame(0, seed=11))
    write_partition(data_dir, "part-12.parquet", make_frame(50, seed=12).drop(columns="x2"))
    watch = OpenWatch(data_dir)
    try:
        check = model.drift(client=client)
        opened = watch.opened()
    finally:
        watch.close()
    assert not {f"part-0{i}.parquet" for i in range(3)} & set(opened)
    assert opened["part-10.parquet"] >= 1
    assert check.recommendation == "retrain" and "feature 'x1'" in check.reason
    assert check.shift is not None and check.shift.columns[0].column == "x1"
    assert check.pending == ("part-10.parquet", "part-11.parquet", "part-12.parquet")
    assert check.set_aside[0] == "part-11.parquet: empty"
    assert check.set_aside[1].startswith("part-12.parquet:") and "'x2'" in check.set_aside[1]
    assert model.version == 1


def test_drift_on_similar_data_recommends_update(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = learned(tmp_path, data_dir, client)
    write_partition(data_dir, "part-20.parquet", make_frame(1500, seed=20))
    check = model.drift(client=client)
    assert check.recommendation == "update", check.reason
    assert check.shift is not None and max(c.psi for c in check.shift.columns) < 0.1


def test_drift_and_dry_run_commands(
    tmp_path: Path, data_dir: Path, client: Any, scheduler_address: str
) -> None:
    learned(tmp_path, data_dir, client)
    shifted = make_frame(2000, seed=30)
    shifted["label"] = 1
    write_partition(data_dir, "part-30.parquet", shifted)
    store = str(tmp_path / "store")
    on = ["--scheduler", scheduler_address]
    text = run_cli("drift", store, *on).stdout
    assert text.startswith("drift: retrain (the label distribution (PSI")
    assert "\n    label (label) " in text
    plan = json.loads(run_cli("update", store, "--dry-run", "--json", *on).stdout)
    assert plan["dry_run"] and plan["new"] == ["part-30.parquet"]
    assert plan["drift"]["recommendation"] == "retrain"
    assert plan["drift"]["label"]["psi"] >= 0.25
    assert distinc.open(store).version == 1


def test_drift_names_a_regression_targets_shift_after_its_column(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = learned_regressor(tmp_path, data_dir, client)
    shifted = make_frame(2000, seed=20)
    shifted["x3"] += 3.0
    write_partition(data_dir, "part-20.parquet", shifted)
    check = model.drift(client=client)
    assert check.recommendation == "retrain", check.reason
    assert check.shift is not None and check.shift.label is not None
    assert (check.shift.label.column, check.shift.label.kind) == ("x3", "label")
    assert max(column.psi for column in check.shift.columns) < 0.1
