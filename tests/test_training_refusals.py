"""A parameter value that partial_fit never takes is refused at init, naming it; rows the
estimator refuses while training are a one-line error naming the partitions, and nothing is
committed (it was an internal error with a stack trace)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import distinc
from distinc.estimators import build_estimator, resolve_path
from distinc.exceptions import ConfigurationError
from distinc.trainers.refusals import PARTIAL_FIT_REFUSES
from tests.conftest import cli_init, run_cli

REFUSED = [
    ("SGDClassifier", "class_weight", "balanced"),
    ("Perceptron", "class_weight", "balanced"),
    ("SGDClassifier", "early_stopping", True),
    ("SGDRegressor", "early_stopping", True),
    ("MLPClassifier", "early_stopping", True),
]


@pytest.mark.parametrize(("model", "name", "value"), REFUSED)
def test_a_parameter_partial_fit_refuses_is_refused_at_init(
    tmp_path: Path, data_dir: Path, model: str, name: str, value: Any
) -> None:
    store = tmp_path / "store"
    with pytest.raises(ConfigurationError) as refused:
        distinc.init(
            str(store), data=str(data_dir), target="label", model=model, params={name: value}
        )
    assert str(refused.value).startswith(
        f"{model}'s partial_fit refuses {name}={value!r}, and the 'stream' strategy learns with "
        "partial_fit."
    )
    assert "'ensemble' strategy" in str(refused.value)
    assert refused.value.details == {"parameter": name, "strategy": "stream"}
    assert not store.exists()


@pytest.mark.parametrize(("model", "name", "value"), REFUSED)
def test_each_refusal_is_scikit_learns_own(model: str, name: str, value: Any) -> None:
    """The table of refused values holds what scikit-learn refuses, and only that: the same
    estimator with the parameter at its default learns the rows."""
    rows = np.random.default_rng(0).normal(size=(40, 3))
    labels = np.arange(40) % 2
    fit = {"classes": [0, 1]} if "Classifier" in model or model == "Perceptron" else {}
    assert (name, value) in PARTIAL_FIT_REFUSES
    with pytest.raises(ValueError):
        build_estimator(resolve_path(model), {name: value}).partial_fit(rows, labels, **fit)
    build_estimator(resolve_path(model), {}).partial_fit(rows, labels, **fit)


def test_a_mapping_of_class_weights_streams_and_the_ensemble_takes_balanced(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    weighted = distinc.init(
        str(tmp_path / "weights"),
        data=str(data_dir),
        target="label",
        model="SGDClassifier",
        params={"class_weight": {0: 1.0, 1: 3.0}},
    )
    balanced = distinc.init(
        str(tmp_path / "balanced"),
        data=str(data_dir),
        target="label",
        model="SGDClassifier",
        params={"class_weight": "balanced"},
        strategy="ensemble",
    )
    for model in (weighted, balanced):
        assert model.update(client=client).version == 1


def test_the_cli_refuses_the_parameter_in_one_line(tmp_path: Path, data_dir: Path) -> None:
    store = tmp_path / "store"
    result = cli_init(str(store), data_dir, "--param", "early_stopping=true", check=False)
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("distinc: error: SGDClassifier's partial_fit refuses early_stopping=True")
    )
    assert not store.exists()


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
