"""Fit batches (``fit_batch_mb``): one ``partial_fit`` call per group of consecutive files.

The groups follow from the files' sizes alone, so the model equals a plain loop that calls
``partial_fit`` once per group on the group's rows joined in order, whichever way the batches
reach the fit tasks and however many workers there are; every file keeps its ledger record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import SGDClassifier

import distinc
from distinc.engine import scanning
from distinc.exceptions import ConfigurationError
from distinc.spec import ModelSpec, TrainingOptions
from distinc.trainers import stream
from distinc.trainers.batching import MEGABYTE, fit_batch_bytes
from tests.conftest import FEATURES, make_frame, run_cli, write_partition

PARAMS = {"loss": "log_loss", "random_state": 0}
ROWS = 300
# Files in training order; with a budget of two and a half small files, the groups close after
# three small files, after the big one alone, and after three small ones around the empty one
# (its few bytes of metadata do not close a group; it is skipped, not learned).
FILES = {
    "a0": ROWS, "a1": ROWS, "a2": ROWS, "a3-big": 20 * ROWS,
    "a4": ROWS, "a5-empty": 0, "a6": ROWS, "a7": ROWS, "a8": ROWS,
}  # fmt: skip
GROUPS = [["a0", "a1", "a2"], ["a3-big"], ["a4", "a6", "a7"], ["a8"]]


def write_files(data: Path, rows: dict[str, int], *, seed: int = 0) -> dict[str, Path]:
    return {
        name: write_partition(data, f"{name}.parquet", make_frame(count, seed=seed + i))
        for i, (name, count) in enumerate(rows.items())
    }


def budget_mb(paths: Sequence[Path], per_group: float) -> float:
    """``per_group`` files' worth of megabytes; checks that the files are about equal in size."""
    sizes = [path.stat().st_size for path in paths]
    budget = per_group * sum(sizes) / len(sizes)
    assert (np.ceil(per_group) - 1) * max(sizes) < budget <= np.ceil(per_group) * min(sizes)
    return budget / MEGABYTE


def xy(paths: Sequence[Path]) -> tuple[np.ndarray, np.ndarray]:
    frames = [pq.read_table(path).to_pandas() for path in paths]
    features = np.concatenate([frame[FEATURES].to_numpy(np.float64) for frame in frames])
    return features, np.concatenate([frame["label"].to_numpy() for frame in frames])


def loop(batches: Sequence[Sequence[Path]], *, epochs: int = 1) -> SGDClassifier:
    """A plain loop: one ``partial_fit`` call per batch of files, their rows joined in order."""
    model = SGDClassifier(**PARAMS)
    for _ in range(epochs):
        for batch in batches:
            model.partial_fit(*xy(batch), classes=[0, 1])
    return model


def same(got: Any, expected: SGDClassifier) -> bool:
    return bool(
        np.array_equal(got.coef_, expected.coef_)
        and np.array_equal(got.intercept_, expected.intercept_)
    )


def batched_store(root: Path, data: Path, mb: float, **options: Any) -> distinc.IncrementalModel:
    return distinc.init(
        str(root),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=PARAMS,
        classes=[0, 1],
        options=TrainingOptions(fit_batch_mb=mb, **options),
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return write_files(tmp_path / "data", FILES)


def small(files: dict[str, Path]) -> list[Path]:
    return [path for name, path in files.items() if FILES[name] == ROWS]


@pytest.mark.parametrize(
    ("per_worker", "halvings", "width", "tasks"),
    [
        (64, 0, 2, len(GROUPS)),
        (1, 0, 2, 2),
        (1, scanning.TAIL_HALVINGS, 2, 4),
        (1, scanning.TAIL_HALVINGS, 1, 3),
    ],
    ids=[
        "a task per group",
        "tasks of groups",
        "tasks of groups, each worker's last split",
        "tasks of groups, the last split",
    ],
)
@pytest.mark.parametrize("arrival", ["kept", "read ahead", "read by the fit task"])
def test_each_group_is_one_partial_fit_call_and_every_file_keeps_its_record(
    tmp_path: Path,
    files: dict[str, Path],
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    arrival: str,
    per_worker: int,
    halvings: int,
    width: int,
    tasks: int,
) -> None:
    # a task per group, or half the delta's bytes per task (the first two groups, then the
    # rest); split for the chain's tail, each of the two workers' tasks becomes a task per group,
    # or the last one only when the split spans one worker
    monkeypatch.setattr(scanning, "CHAIN_TASKS_PER_WORKER", per_worker)
    monkeypatch.setattr(scanning, "TAIL_HALVINGS", halvings)
    monkeypatch.setattr(scanning, "TAIL_WIDTH", width)
    if arrival != "kept":
        monkeypatch.setattr(scanning, "KEEP_SHARE", 0.0)
    if arrival == "read by the fit task":
        monkeypatch.setattr(stream, "READ_AHEAD_SHARE", 0.0)
    model = batched_store(tmp_path / "store", tmp_path / "data", budget_mb(small(files), 2.5))
    entry = model.update(client=client).entry
    assert entry is not None
    assert [part.key for part in entry.partitions] == [
        f"{name}.parquet" for name in FILES if FILES[name]
    ]
    assert [(part.key, part.rows) for part in entry.partitions][3] == ("a3-big.parquet", 6000)
    assert [part.key for part in entry.skipped] == ["a5-empty.parquet"]
    assert entry.notes["tasks"] == tasks
    batches = [[files[name] for name in group] for group in GROUPS]
    assert same(model.model(), loop(batches))
    assert not same(model.model(), loop([[path] for batch in batches for path in batch]))
    assert not same(model.model(), loop([batches[0] + batches[1], batches[2] + batches[3]]))
    assert model.verify() == []


def test_groups_do_not_depend_on_the_workers_and_later_updates_group_their_own_delta(
    tmp_path: Path, files: dict[str, Path], client: Any, one_worker: Any
) -> None:
    mb = budget_mb(small(files), 2.5)
    models = {
        workers: batched_store(tmp_path / f"store-{workers}", tmp_path / "data", mb)
        for workers in (1, 2)
    }
    for workers, dask in ((1, one_worker), (2, client)):
        assert len(dask.scheduler_info(n_workers=-1)["workers"]) == workers
        assert models[workers].update(client=dask).version == 1
    delta = write_files(tmp_path / "data", {"b0": ROWS, "b1": ROWS, "b2": ROWS}, seed=50)
    for workers, dask in ((1, one_worker), (2, client)):
        assert models[workers].update(client=dask).version == 2
    batches = [[files[name] for name in group] for group in GROUPS]
    expected = loop([*batches, [delta["b0"], delta["b1"], delta["b2"]]])
    assert same(models[1].model(), expected)
    assert same(models[2].model(), expected)


def test_epochs_pass_over_the_same_groups(
    tmp_path: Path, files: dict[str, Path], client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanning, "CHAIN_TASKS_PER_WORKER", 64)  # a task per group
    model = batched_store(
        tmp_path / "store", tmp_path / "data", budget_mb(small(files), 2.5), epochs=2
    )
    entry = model.update(client=client).entry
    assert entry is not None and entry.notes["tasks"] == 2 * len(GROUPS)
    batches = [[files[name] for name in group] for group in GROUPS]
    assert same(model.model(), loop(batches, epochs=2))


@pytest.mark.parametrize(
    "value",
    [-1, -0.5, "8", True, None, float("nan"), float("inf")],
    ids=["negative", "negative-float", "text", "bool", "none", "nan", "inf"],
)
def test_invalid_values_are_refused_with_the_rule(value: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        TrainingOptions(fit_batch_mb=value)
    assert str(raised.value) == (
        f"The 'fit_batch_mb' option must be a finite number >= 0. Got {value!r} instead."
    )


def test_off_by_default_and_only_for_the_stream() -> None:
    assert TrainingOptions().fit_batch_mb == 0
    assert fit_batch_bytes(TrainingOptions(), strategy="stream") is None
    assert fit_batch_bytes(TrainingOptions(fit_batch_mb=2), strategy="stream") == 2 * MEGABYTE
    assert fit_batch_bytes(TrainingOptions(fit_batch_mb=2), strategy="merge") is None
    with pytest.raises(ConfigurationError, match="'fit_batch_mb' option applies to the 'stream'"):
        TrainingOptions(fit_batch_mb=2).check_strategy("merge", model="GaussianNB")


def test_the_cli_stores_the_option_and_refuses_bad_values(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    data = str(tmp_path / "data")
    init = ("init", "--data", data, "--target", "label")
    done = run_cli(init[0], str(tmp_path / "s1"), *init[1:], "--model", "SGDClassifier",
                   "--fit-batch-mb", "8")  # fmt: skip
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "s1" / "spec.json").read_text())
    assert spec["options"]["fit_batch_mb"] == 8.0
    assert distinc.open(str(tmp_path / "s1")).spec.options.fit_batch_mb == 8.0
    refusals = {
        ("SGDClassifier", "-1"): "distinc: error: The --fit-batch-mb option must be a finite "
        "number >= 0. Got -1.0 instead.",
        ("GaussianNB", "8"): "distinc: error: The --fit-batch-mb option applies to the 'stream' "
        "strategy; GaussianNB uses the 'merge' strategy.",
    }
    for i, ((estimator, value), message) in enumerate(refusals.items()):
        store = tmp_path / f"refused-{i}"
        failed = run_cli(init[0], str(store), *init[1:], "--model", estimator,
                         "--fit-batch-mb", value, check=False)  # fmt: skip
        assert (failed.returncode, failed.stderr.strip()) == (1, message)
        assert not store.exists()
    text = run_cli(init[0], str(tmp_path / "s2"), *init[1:], "--model", "SGDClassifier",
                   "--fit-batch-mb", "lots", check=False)  # fmt: skip
    assert text.returncode == 2 and "--fit-batch-mb: invalid float value: 'lots'" in text.stderr


def test_specs_written_before_the_option_open_and_task_rows_is_still_accepted(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    model = distinc.init(
        str(tmp_path / "store"), data=str(tmp_path / "data"), target="label", model="SGDClassifier"
    )
    stored = json.loads(model.spec.to_json())
    del stored["options"]["fit_batch_mb"]
    stored["options"]["task_rows"] = 5_000
    spec = ModelSpec.from_json(json.dumps(stored))
    assert spec.options.fit_batch_mb == 0 and spec.options.task_rows == 5_000
    help_text = run_cli("init", "--help").stdout
    assert "--fit-batch-mb" in help_text and "--task-rows" not in help_text
