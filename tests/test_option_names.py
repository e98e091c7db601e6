"""Refusals name options as the Python API spells them ('target', 'on_missing'), and the CLI
prints the same refusals with its flags (--target, --on-missing)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import distinc
from distinc.cli.main import main
from distinc.exceptions import (
    ConfigurationError,
    PartitionChangedError,
    PartitionMissingError,
    UnseenLabelError,
)
from tests.conftest import learned_store, make_frame, write_partition


def cli_error(capfd: pytest.CaptureFixture[str], *args: str) -> str:
    """The error line of ``distinc ARGS``, run in this process (logging restored after)."""
    logger = logging.getLogger("distinc")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    capfd.readouterr()
    try:
        assert main(["--quiet", *args]) == 1
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    prefix = "distinc: error: "
    (line,) = [line for line in capfd.readouterr().err.splitlines() if line.startswith(prefix)]
    return line.removeprefix(prefix)


@pytest.mark.parametrize(
    ("choices", "flags", "python", "cli"),
    [
        (
            {"model": "SGDClassifier"},
            ["--model", "SGDClassifier"],
            "SGDClassifier is a classification model: name its label column with the 'target' "
            "option.",
            "SGDClassifier is a classification model: name its label column with the --target "
            "option.",
        ),
        (
            {"model": "SGDRegressor", "target": "label", "classes": [0, 1]},
            ["--model", "SGDRegressor", "--target", "label", "--classes", "0,1"],
            "The 'classes' option applies to classifiers; SGDRegressor is a regression model.",
            "The --classes option applies to classifiers; SGDRegressor is a regression model.",
        ),
        (
            {"model": "MiniBatchKMeans", "classes": [0, 1]},
            ["--model", "MiniBatchKMeans", "--classes", "0,1"],
            "The 'classes' option applies to classifiers; MiniBatchKMeans is an unsupervised "
            "model.",
            "The --classes option applies to classifiers; MiniBatchKMeans is an unsupervised "
            "model.",
        ),
        (
            {"model": "SGDClassifier", "target": "label", "features": ["x0", "label"]},
            ["--model", "SGDClassifier", "--target", "label", "--features", "x0,label"],
            "The target column 'label' is listed as a feature; a model must not see its own "
            "label. Leave it out of 'features'.",
            "The target column 'label' is listed as a feature; a model must not see its own "
            "label. Leave it out of --features.",
        ),
    ],
    ids=["no-target", "classes-of-a-regressor", "classes-of-a-clusterer", "target-as-feature"],
)
def test_init_refusals(
    tmp_path: Path,
    data_dir: Path,
    capfd: pytest.CaptureFixture[str],
    choices: dict[str, Any],
    flags: list[str],
    python: str,
    cli: str,
) -> None:
    store = str(tmp_path / "store")
    with pytest.raises(ConfigurationError) as refused:
        distinc.init(store, data=str(data_dir), **choices)
    assert str(refused.value) == python
    assert cli_error(capfd, "init", store, "--data", str(data_dir), *flags) == cli
    assert not (tmp_path / "store").exists()


def test_the_planner_names_its_policies(
    tmp_path: Path,
    data_dir: Path,
    client: Any,
    scheduler_address: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    model = learned_store(tmp_path, data_dir, client)
    store = str(tmp_path / "store")
    write_partition(data_dir, "part-01.parquet", make_frame(77, seed=1))
    with pytest.raises(PartitionChangedError) as changed:
        model.update(client=client)
    assert str(changed.value) == (
        "Trained partition(s) 'part-01.parquet' changed since they were learned. Write new data "
        "to new files; or run with the 'on_modified' option 'skip' (ignore the change) or "
        "'retrain' (learn the new content too)."
    )
    assert changed.value.details["options"] == ("on_modified",)
    assert cli_error(capfd, "update", store).endswith(
        "or run with the --on-modified option 'skip' (ignore the change) or 'retrain' (learn the "
        "new content too)."
    )
    # compare, which has no such flag, still names update's
    with pytest.raises(PartitionChangedError, match="Update first with the 'on_modified' option"):
        model.compare(str(data_dir), client=client)
    assert cli_error(
        capfd, "compare", store, "--holdout", str(data_dir), "--scheduler", scheduler_address
    ).endswith(
        "would learn other data. Update first with the --on-modified option 'retrain', then "
        "compare."
    )

    (data_dir / "part-02.parquet").unlink()
    with pytest.raises(PartitionMissingError) as missing:
        model.update(client=client, on_modified="skip")
    assert str(missing.value) == (
        "Trained partition(s) 'part-02.parquet' are no longer in the dataset. Restore them, or "
        "run with the 'on_missing' option 'warn' to update anyway (the model keeps what it "
        "learned from them)."
    )
    assert cli_error(capfd, "update", store, "--on-modified", "skip").endswith(
        "Restore them, or run with the --on-missing option 'warn' to update anyway (the model "
        "keeps what it learned from them)."
    )
    assert model.version == 1


def test_a_class_not_declared_names_the_classes_option(
    tmp_path: Path,
    data_dir: Path,
    client: Any,
    scheduler_address: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    model = learned_store(tmp_path, data_dir, client)
    write_partition(data_dir, "part-03.parquet", make_frame(200, seed=3, classes=(0, 1, 2)))
    with pytest.raises(UnseenLabelError) as unseen:
        model.update(client=client)
    message = str(unseen.value)
    assert message.startswith("Partition 'part-03.parquet' has label 2 (")
    assert message.endswith(
        "which is not among the model's classes [0, 1]; declare every class at init (the "
        "'classes' option) or remove those rows."
    )
    assert unseen.value.details["options"] == ("classes",)
    printed = cli_error(capfd, "update", str(tmp_path / "store"), "--scheduler", scheduler_address)
    assert printed.startswith("Partition 'part-03.parquet' has label 2 (")
    assert printed.endswith(
        "declare every class at init (the --classes option) or remove those rows."
    )
    assert model.version == 1


def test_a_missing_holdout_names_the_option_that_gave_it(
    tmp_path: Path,
    data_dir: Path,
    client: Any,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = learned_store(tmp_path, data_dir, client)
    monkeypatch.chdir(tmp_path)
    # shown absolute: the relative path 'holdout' would read as the option's name, then its flag
    absent = repr(str(tmp_path / "holdout"))
    with pytest.raises(distinc.DataError) as refused:
        model.compare("holdout", client=client)
    assert str(refused.value) == (
        f"No data at {absent}: the path does not exist. Check 'holdout' and any "
        "'storage_options' needed to reach it."
    )
    assert cli_error(capfd, "compare", "store", "--holdout", "holdout") == (
        f"No data at {absent}: the path does not exist. Check --holdout and any "
        "--storage-option needed to reach it."
    )
