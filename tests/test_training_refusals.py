"""An estimator that refuses its parameters or rows while training is a one-line error naming
the partitions, and nothing is committed; it was an internal error with a stack trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import distinc
from distinc.exceptions import TrainingError
from tests.conftest import cli_init, run_cli


def test_a_parameter_partial_fit_refuses_names_the_partition(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data_dir),
        target="label",
        model="SGDClassifier",
        params={"class_weight": "balanced"},
    )
    with pytest.raises(TrainingError, match="SGDClassifier refused .*'part-00.parquet'.*bala"):
        model.update(client=client)
    assert model.store.lineage().version is None


@pytest.mark.parametrize("strategy", ["stream", "ensemble"])
def test_rows_the_estimator_refuses_are_one_line_naming_the_partition(
    tmp_path: Path, data_dir: Path, strategy: str
) -> None:
    """MultinomialNB takes counts; the data's features are normal draws, some negative."""
    store = str(tmp_path / "store")
    cli_init(store, data_dir, "--strategy", strategy, model="MultinomialNB")
    result = run_cli("update", store, check=False)
    assert result.returncode == 1, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("distinc: error: MultinomialNB refused the rows of partition(s)")
    assert "'part-00.parquet'" in error and "Negative values" in error
    assert distinc.open(store).store.lineage().version is None
