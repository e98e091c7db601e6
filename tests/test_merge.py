"""Exact merges: models fitted on parts, merged, equal sequential partial_fit over all rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from distributed import get_task_stream
from sklearn.base import clone, is_classifier
from sklearn.naive_bayes import BernoulliNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

import distinc
from distinc.exceptions import ConfigurationError
from distinc.models.merge import can_merge, merge, merge_all
from tests.conftest import FEATURES, write_partition

FAMILIES = [
    GaussianNB(),
    MultinomialNB(),
    ComplementNB(),
    BernoulliNB(binarize=1.0),
    StandardScaler(),
    StandardScaler(with_mean=False),
    StandardScaler(with_std=False),
    MaxAbsScaler(),
    MinMaxScaler(feature_range=(-1, 2)),
]


def parts_of(sizes: tuple[int, ...], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Non-negative features on very different scales, and three classes."""
    rng = np.random.default_rng(seed)
    scales = np.array([1.0, 10.0, 1000.0, 0.01])
    return [
        (np.abs(rng.normal(loc=1.0, size=(n, 4))) * scales, rng.integers(0, 3, size=n))
        for n in sizes
    ]


def learn(model: Any, part: tuple[np.ndarray, np.ndarray]) -> None:
    if is_classifier(model):
        model.partial_fit(*part, classes=[0, 1, 2])
    else:
        model.partial_fit(part[0])


def fitted_state(model: Any) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(model).items()
        if name.endswith("_") and not name.startswith("_") and value is not None
    }


def assert_same_model(merged: Any, sequential: Any) -> None:
    expected = fitted_state(sequential)
    assert set(fitted_state(merged)) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(
            np.asarray(getattr(merged, name), dtype=float),
            np.asarray(value, dtype=float),
            rtol=1e-9,
            err_msg=name,
        )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda est: repr(est))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merging_parts_equals_sequential_partial_fit(family: Any, seed: int) -> None:
    parts = parts_of((40, 7, 90, 1, 55), seed)
    sequential = clone(family)
    for part in parts:
        learn(sequential, part)
    cuts = sorted(np.random.default_rng(seed).choice(range(1, len(parts)), 2, replace=False))
    groups = [parts[: cuts[0]], parts[cuts[0] : cuts[1]], parts[cuts[1] :]]
    fitted = []
    for group in groups:
        model = clone(family)
        for part in group:
            learn(model, part)
        fitted.append(model)
    before = [fitted_state(model) for model in fitted]
    merged = merge_all(fitted)
    assert_same_model(merged, sequential)
    # Merging is associative and leaves its inputs untouched.
    assert_same_model(merge(fitted[0], merge(fitted[1], fitted[2])), sequential)
    for model, state in zip(fitted, before, strict=True):
        for name, value in state.items():
            np.testing.assert_array_equal(getattr(model, name), value)
    probe = parts_of((10,), seed + 100)[0][0]
    if is_classifier(family):
        np.testing.assert_allclose(merged.predict_proba(probe), sequential.predict_proba(probe))
    else:
        np.testing.assert_allclose(merged.transform(probe), sequential.transform(probe))


def test_only_exact_families_merge() -> None:
    from sklearn.decomposition import IncrementalPCA
    from sklearn.linear_model import SGDClassifier

    assert all(can_merge(family) for family in FAMILIES)
    assert not can_merge(SGDClassifier()) and not can_merge(IncrementalPCA())
    with pytest.raises(ValueError, match="different classes"):
        merge(
            GaussianNB().fit([[0.0], [1.0]], [0, 1]),
            GaussianNB().fit([[0.0], [1.0]], [0, 2]),
        )


def write_counts(root: Path, count: int, *, seed: int) -> list[Path]:
    paths = []
    for i, (features, labels) in enumerate(parts_of((150,) * count, seed)):
        frame = pd.DataFrame(features, columns=FEATURES).assign(label=labels)
        paths.append(write_partition(root, f"part-{seed}-{i}.parquet", frame))
    return paths


@pytest.mark.parametrize("name", ["GaussianNB", "MultinomialNB", "BernoulliNB", "StandardScaler"])
def test_the_engine_merges_partitions_fitted_in_parallel_exactly(
    tmp_path: Path, client: object, name: str
) -> None:
    data = tmp_path / "data"
    files = write_counts(data, 4, seed=1)
    supervised = name != "StandardScaler"
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        model=name,
        target="label" if supervised else None,
        features=FEATURES,
    )
    assert model.spec.strategy == "merge"
    with get_task_stream(client) as stream:  # type: ignore[arg-type]
        first = model.update(client=client).entry
    assert first is not None and first.notes["tasks"] > 1
    workers = {task["worker"] for task in stream.data if "distinc-merge-" in str(task["key"])}
    assert len(workers) == 2
    files += write_counts(data, 3, seed=2)
    assert model.update(client=client).version == 2
    sequential = clone(model.model())
    for path in files:
        frame = pq.read_table(path).to_pandas()
        learn(sequential, (frame[FEATURES].to_numpy(), frame["label"].to_numpy()))
    assert_same_model(model.model(), sequential)
    assert model.verify() == []


def test_merge_is_refused_for_models_that_do_not_merge(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not merge exactly"):
        distinc.init(
            str(tmp_path / "store"),
            data=str(data_dir),
            target="label",
            model="SGDClassifier",
            strategy="merge",
        )


def test_scaling_in_front_of_naive_bayes_streams_instead(tmp_path: Path, data_dir: Path) -> None:
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data_dir),
        target="label",
        model="GaussianNB",
        options=distinc.TrainingOptions(scale="standard"),
    )
    assert model.spec.strategy == "stream"
