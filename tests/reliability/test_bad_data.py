"""P10 to P15, P20, P3: every bad-input case of the catalogue, each with its exact behaviour.

Refusals run ``distinc update`` as its own process and check the one line it prints, its exit
code and that not a byte of the store changed; accepted cases check what was learned.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import distinc
from distinc.engine.faults import PAUSE_VARIABLE
from distinc.exceptions import ConfigurationError, InvalidValueError
from distinc.trainers import available_strategies
from tests.conftest import FEATURES, make_frame, write_partition
from tests.reliability import backends, procs
from tests.reliability.harness import (
    CLASSES,
    STREAM,
    TRAINED_FIRST,
    add_partitions,
    assert_consistent,
    assert_equals_clean_run,
    assert_learned_once,
    new_store,
    refused,
    snapshot,
)
from tests.reliability.tally import tally

FIRST = list(TRAINED_FIRST)


def frames(data: Path, keys: list[str]) -> list[pd.DataFrame]:
    return [pq.read_table(data / key).to_pandas() for key in keys]


def accepted(store: Path, env: dict[str, str | None], *args: str) -> procs.Finished:
    finished = procs.run("update", str(store), *args, env=env)
    assert finished.returncode == 0, finished.describe()
    return finished


# P10: a trained partition that was rewritten.


def test_a_rewritten_trained_partition_fails_the_update_naming_it(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    add_partitions(data, ["p1.parquet"], rows=77)
    refused(
        store,
        "Trained partition(s) 'p1.parquet' changed since they were learned.",
        "or run with the --on-modified option 'skip' (ignore the change) or 'retrain' (learn "
        "the new content too).",
        env=cli_env,
    )


def test_on_modified_skip_acknowledges_the_change_without_learning_it(
    trained: tuple[Path, Path], client: Any
) -> None:
    data, store = trained
    learned = frames(data, FIRST)
    add_partitions(data, ["p1.parquet"], rows=77)
    model = distinc.open(str(store))
    before = snapshot(store)
    assert model.update(client=client, on_modified="skip").noop
    assert snapshot(store) == before
    add_partitions(data, ["new.parquet"])
    entry = model.update(client=client, on_modified="skip").entry
    assert entry is not None and [part.key for part in entry.partitions] == ["new.parquet"]
    assert [(s.key, s.reason) for s in entry.skipped] == [("p1.parquet", "modified; skipped")]
    assert model.update(client=client).noop  # acknowledged: the default policy is satisfied
    assert_learned_once(store, [*FIRST, "new.parquet"])
    expected = STREAM.clean_model([[*learned, *frames(data, ["new.parquet"])]], CLASSES)
    STREAM.assert_same(model.model(), expected)


def test_on_modified_retrain_learns_the_new_content_on_top(
    trained: tuple[Path, Path], client: Any
) -> None:
    data, store = trained
    learned = frames(data, FIRST)
    add_partitions(data, ["p1.parquet"], rows=77)
    model = distinc.open(str(store))
    entry = model.update(client=client, on_modified="retrain").entry
    assert entry is not None and [part.key for part in entry.partitions] == ["p1.parquet"]
    assert model.update(client=client).noop
    assert_consistent(store)
    expected = STREAM.clean_model([[*learned, *frames(data, ["p1.parquet"])]], CLASSES)
    STREAM.assert_same(model.model(), expected)


# P11: a trained partition that disappeared, before or during an update.


def test_a_deleted_trained_partition_fails_the_update_naming_it(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    (data / "p2.parquet").unlink()
    add_partitions(data, ["new.parquet"])
    refused(
        store,
        "Trained partition(s) 'p2.parquet' are no longer in the dataset.",
        "Restore them, or run with the --on-missing option 'warn' to update anyway",
        env=cli_env,
    )


def test_on_missing_warn_reports_the_partition_and_keeps_what_was_learned(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    learned = frames(data, FIRST)
    (data / "p2.parquet").unlink()
    add_partitions(data, ["new.parquet"])
    finished = accepted(store, cli_env, "--on-missing", "warn")
    assert "trained partition(s) 'p2.parquet' are missing from the dataset" in finished.stderr
    opened = assert_consistent(store)
    assert "p2.parquet" in opened.lineage().trained
    expected = STREAM.clean_model([[*learned, *frames(data, ["new.parquet"])]], CLASSES)
    STREAM.assert_same(distinc.open(str(store)).model(), expected)


@pytest.mark.parametrize(
    ("moment", "change", "message"),
    [
        (
            "after-plan",
            "delete",
            "Partition 'new-1.parquet' vanished while it was being read; it was",
        ),
        ("after-train", "delete", "Partition 'new-1.parquet' changed or vanished while the upd"),
        ("after-train", "rewrite", "Partition 'new-1.parquet' changed or vanished while the upd"),
    ],
)
def test_a_partition_that_changes_mid_update_is_never_recorded_as_trained(
    tmp_path: Path,
    trained: tuple[Path, Path],
    client: Any,
    cli_env: dict[str, str | None],
    moment: str,
    change: str,
    message: str,
) -> None:
    data, store = trained
    add_partitions(data, ["new-0.parquet", "new-1.parquet"])
    before = snapshot(store)
    gate = tmp_path / "gate"
    running = procs.start("update", str(store), env={**cli_env, PAUSE_VARIABLE: f"{moment}:{gate}"})
    while not list(tmp_path.glob("gate.*.waiting")):
        assert running.poll() is None, running.wait().describe()
    if change == "delete":
        (data / "new-1.parquet").unlink()
    else:
        add_partitions(data, ["new-1.parquet"], rows=33)
    gate.touch()
    finished = running.wait()
    assert finished.returncode == 1 and len(finished.errors) == 1, finished.describe()
    assert message in finished.errors[0] and "Rerun the update" in finished.errors[0]
    assert snapshot(store) == before
    tally("bad inputs refused")
    entry = distinc.open(str(store)).update(client=client).entry
    assert entry is not None
    expected = ["new-0.parquet"] if change == "delete" else ["new-0.parquet", "new-1.parquet"]
    assert [part.key for part in entry.partitions] == expected
    assert_learned_once(store, FIRST + expected)
    assert_equals_clean_run(store, data)


# P20: the same content under a new name.


def test_a_copy_of_a_trained_partition_is_skipped_with_a_warning(
    trained: tuple[Path, Path], client: Any, cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    shutil.copyfile(data / "p0.parquet", data / "p0-copy.parquet")
    add_partitions(data, ["new.parquet"])
    finished = accepted(store, cli_env)
    assert "partition 'p0-copy.parquet' duplicates 'p0.parquet' and was skipped" in finished.stderr
    entry = assert_consistent(store).entry(2)
    assert [part.key for part in entry.partitions] == ["new.parquet"]
    assert [(s.key, s.reason) for s in entry.skipped] == [
        ("p0-copy.parquet", "duplicate of p0.parquet")
    ]
    assert distinc.open(str(store)).update(client=client).noop
    assert_learned_once(store, [*FIRST, "new.parquet"])
    assert_equals_clean_run(store, data)
    tally("bad inputs handled by policy")


def test_two_new_copies_of_one_content_are_learned_once(
    trained: tuple[Path, Path], client: Any
) -> None:
    data, store = trained
    add_partitions(data, ["x.parquet"])
    shutil.copyfile(data / "x.parquet", data / "y.parquet")
    entry = distinc.open(str(store)).update(client=client).entry
    assert entry is not None and [part.key for part in entry.partitions] == ["x.parquet"]
    assert [(s.key, s.reason) for s in entry.skipped] == [("y.parquet", "duplicate of x.parquet")]
    assert_equals_clean_run(store, data)
    tally("bad inputs handled by policy")


# P12: schemas, matched by name, safe widenings only.


def test_a_new_column_is_ignored_with_a_warning(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    write_partition(data, "wide.parquet", make_frame(90, seed=5).assign(extra="text"))
    finished = accepted(store, cli_env)
    assert "partition 'wide.parquet': extra column(s) ['extra'] ignored" in finished.stderr
    assert_equals_clean_run(store, data)
    tally("bad inputs handled by policy")


@pytest.mark.parametrize(
    ("change", "name"), [("drop", "narrow.parquet"), ("rename", "renamed.parquet")]
)
def test_a_missing_or_renamed_column_fails_the_update_naming_partition_and_column(
    trained: tuple[Path, Path], cli_env: dict[str, str | None], change: str, name: str
) -> None:
    data, store = trained
    frame = make_frame(90, seed=6)
    if change == "drop":
        frame = frame.drop(columns="x2")
    else:
        frame = frame.rename(columns={"x2": "x2_renamed"})
    write_partition(data, name, frame)
    refused(
        store,
        f"Partition {name!r} has no column 'x2', a feature of this model (columns are matched "
        "by name)",
        env=cli_env,
    )


def test_reordered_columns_are_matched_by_name(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    frame = make_frame(90, seed=7)
    write_partition(data, "reordered.parquet", frame[list(reversed(frame.columns))])
    accepted(store, cli_env)
    assert_equals_clean_run(store, data)  # the clean run selects the columns by name
    tally("bad inputs handled by policy")


@pytest.fixture
def typed(tmp_path: Path, client: Any) -> tuple[Path, Path]:
    """A store whose features are pinned as ``n: int64`` and ``x: double``."""
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"n": rng.integers(0, 5, 200), "x": rng.normal(size=200)})
    frame["label"] = (frame["x"] > 0).astype("int64")
    write_partition(data, "typed.parquet", frame)
    model = new_store(tmp_path, data)
    assert model.spec.feature_types == ("int64", "double")
    model.update(client=client)
    return data, tmp_path / "store"


def test_an_int_column_where_a_float_was_pinned_is_widened_and_learned(
    typed: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = typed
    frame = pd.DataFrame({"n": np.arange(50) % 5, "x": np.arange(50) % 7 - 3})
    frame["label"] = (frame["x"] > 0).astype("int64")
    assert str(frame["x"].dtype) == "int64"
    write_partition(data, "int-x.parquet", frame)
    accepted(store, cli_env)
    order = frames(data, ["typed.parquet", "int-x.parquet"])
    model = distinc.open(str(store)).model()
    expected = STREAM.clean_model([], CLASSES)
    for part in order:
        expected.partial_fit(part[["n", "x"]].to_numpy(np.float64), part["label"], classes=CLASSES)
    STREAM.assert_same(model, expected)
    tally("bad inputs handled by policy")


@pytest.mark.parametrize(("values", "kind"), [([0.5, 1.5], "double"), (["a", "b"], "string")])
def test_a_float_or_string_column_where_an_int_was_pinned_is_refused(
    typed: tuple[Path, Path], cli_env: dict[str, str | None], values: list[Any], kind: str
) -> None:
    data, store = typed
    frame = pd.DataFrame({"n": values * 10, "x": np.linspace(-1, 1, 20), "label": [0, 1] * 10})
    path = write_partition(data, f"{kind}-n.parquet", frame)
    written = pq.read_schema(path).field("n").type  # pandas may write large_string
    assert kind in str(written)
    refused(
        store,
        f"Column 'n' of partition '{kind}-n.parquet' is {written}, but the model pinned int64; "
        "a file may hold only the pinned type or one that converts to it without loss (int32 "
        "for int64, integers for double), so cast the column to int64",
        env=cli_env,
    )


# P13: labels the model has never seen, for every estimator family.


def nonnegative(frame: pd.DataFrame) -> pd.DataFrame:
    """Features multinomial naive Bayes accepts (counts are never negative)."""
    return frame.assign(**{name: frame[name].abs() for name in FEATURES})


FAMILIES = ["SGDClassifier", "GaussianNB", "MultinomialNB", "BernoulliNB"]
FAMILIES += ["xgboost"] if "xgboost" in available_strategies() else []


@pytest.mark.parametrize("model", FAMILIES)
def test_a_label_the_model_never_saw_is_refused_before_training(
    tmp_path: Path, client: Any, cli_env: dict[str, str | None], model: str
) -> None:
    data = tmp_path / "data"
    write_partition(data, "two.parquet", nonnegative(make_frame(200, seed=1)))
    store = tmp_path / "store"
    first = distinc.init(str(store), data=str(data), target="label", model=model)
    entry = first.update(client=client).entry
    assert entry is not None and entry.classes == (0, 1)  # inferred from the first update, pinned
    write_partition(data, "three.parquet", nonnegative(make_frame(200, seed=2, classes=(0, 1, 2))))
    line = refused(
        store,
        "Partition 'three.parquet' has label 2 (",
        "not among the model's classes [0, 1]",
        env=cli_env,
    )
    assert "declare every class at init (the --classes option) or remove those rows." in line


def test_a_first_update_with_one_label_and_no_declared_classes_is_refused(
    tmp_path: Path, client: Any, cli_env: dict[str, str | None]
) -> None:
    data, store = tmp_path / "data", tmp_path / "store"
    for i in range(2):
        write_partition(data, f"zeros-{i}.parquet", make_frame(60, seed=i).assign(label=0))
    distinc.init(str(store), data=str(data), target="label", model="SGDClassifier")
    refused(
        store,
        "its 2 partition(s) ('zeros-0.parquet', 'zeros-1.parquet') hold only the label 0",
        "Declare every class at init (the --classes option) or add data with the others.",
        env=cli_env,
    )
    write_partition(data, "ones.parquet", make_frame(60, seed=9).assign(label=1))
    entry = distinc.open(str(store)).update(client=client).entry
    assert entry is not None and entry.classes == (0, 1)


# P14 and P3: values an estimator cannot take, and partitions with nothing in them.


@pytest.mark.parametrize(
    ("name", "column", "value", "expected"),
    [
        ("nan.parquet", "x1", np.nan, "The column 'x1' of partition 'nan.parquet' has 3 missing"),
        ("inf.parquet", "x2", np.inf, "The column 'x2' of partition 'inf.parquet' has 0 missing"),
        ("nolabel.parquet", "label", np.nan, "The target column 'label' of partition 'nolabel."),
    ],
)
def test_nan_and_inf_fail_the_update_naming_partition_and_column(
    trained: tuple[Path, Path],
    cli_env: dict[str, str | None],
    name: str,
    column: str,
    value: float,
    expected: str,
) -> None:
    data, store = trained
    frame = make_frame(90, seed=8)
    if column == "label":
        frame["label"] = frame["label"].astype("float64")
    frame.loc[[3, 40, 77], column] = value
    write_partition(data, name, frame)
    refused(store, expected, "clean them before training", env=cli_env)


def test_an_empty_partition_alone_changes_nothing_and_beside_others_is_recorded_as_skipped(
    trained: tuple[Path, Path], client: Any
) -> None:
    data, store = trained
    write_partition(data, "empty.parquet", make_frame(0, seed=1))
    write_partition(data, "empty-too.parquet", make_frame(0, seed=2))
    before = snapshot(store)
    model = distinc.open(str(store))
    assert model.update(client=client).noop  # an all-empty delta: no version, no byte changed
    assert snapshot(store) == before
    add_partitions(data, ["new.parquet"])
    entry = model.update(client=client).entry
    assert entry is not None and [part.key for part in entry.partitions] == ["new.parquet"]
    assert sorted((s.key, s.reason) for s in entry.skipped) == [
        ("empty-too.parquet", "empty"),
        ("empty.parquet", "empty"),
    ]
    assert_learned_once(store, [*FIRST, "new.parquet"])
    tally("bad inputs handled by policy", 2)


# P15: files that are not Parquet, or cannot be read at all.


@pytest.mark.parametrize("kind", ["truncated", "zero-byte", "garbage"])
def test_a_corrupt_partition_fails_the_update_with_its_path(
    trained: tuple[Path, Path], client: Any, cli_env: dict[str, str | None], kind: str
) -> None:
    data, store = trained
    good = (data / "p0.parquet").read_bytes()
    content = {"truncated": good[: len(good) // 2], "zero-byte": b"", "garbage": b"PAR1 nope"}
    (data / f"{kind}.parquet").write_bytes(content[kind])
    refused(
        store,
        f"Partition '{kind}.parquet': not readable Parquet (",
        "Replace or remove the file; it was not trained.",
        env=cli_env,
    )
    (data / f"{kind}.parquet").unlink()
    assert distinc.open(str(store)).update(client=client).noop


def test_by_opt_in_a_corrupt_partition_is_quarantined_until_the_file_changes(
    trained: tuple[Path, Path], client: Any, cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    good = (data / "p0.parquet").read_bytes()
    (data / "bad.parquet").write_bytes(good[: len(good) // 2])
    add_partitions(data, ["new.parquet"])
    finished = accepted(store, cli_env, "--on-corrupt", "skip")
    assert "partition 'bad.parquet' is not readable Parquet (" in finished.stderr
    entry = assert_consistent(store).entry(2)
    assert [part.key for part in entry.partitions] == ["new.parquet"]
    assert [s.key for s in entry.skipped] == ["bad.parquet"]
    assert entry.skipped[0].reason.startswith("corrupt: not readable Parquet (")
    model = distinc.open(str(store))
    assert model.update(client=client).noop  # recorded: not tried again, whatever the policy
    add_partitions(data, ["bad.parquet"])  # the file is written again, readable this time
    entry = model.update(client=client).entry
    assert entry is not None and [part.key for part in entry.partitions] == ["bad.parquet"]
    assert_learned_once(store, [*FIRST, "new.parquet", "bad.parquet"])
    tally("bad inputs handled by policy")


def test_the_quarantine_takes_only_unreadable_files(
    trained: tuple[Path, Path], client: Any
) -> None:
    data, store = trained
    (data / "bad.parquet").write_bytes(b"PAR1 nope")
    frame = make_frame(90, seed=8)
    frame.loc[[3, 40], "x1"] = np.nan
    write_partition(data, "nan.parquet", frame)
    before = snapshot(store)
    model = distinc.open(str(store))
    with pytest.raises(InvalidValueError, match="'nan.parquet'") as caught:
        model.update(client=client, on_corrupt="skip")
    assert "bad.parquet" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="'on_corrupt' policy must be one of"):
        model.update(client=client, on_corrupt="ignore")
    assert snapshot(store) == before
    tally("bad inputs refused", 2)


def test_an_io_error_while_reading_a_partition_fails_the_update_naming_it(
    tmp_path: Path, client: Any, cli_env: dict[str, str | None]
) -> None:
    backends.register_on_workers(client)
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, FIRST)
    model = distinc.init(
        str(store),
        data=backends.url(data),
        target="label",
        model="SGDClassifier",
        storage_options={"unreadable": ["p1.parquet"]},
    )
    refused(
        store,
        "Partition 'p1.parquet' could not be read ([Errno 5] Input/output error",
        "it was not trained",
        env=cli_env,
    )
    assert model.version is None
