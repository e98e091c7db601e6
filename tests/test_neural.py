"""Neural networks continue from their weights; --epochs passes over each delta E times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.neural_network import MLPClassifier

import distinc
from distinc.exceptions import ConfigurationError
from tests.conftest import FEATURES, make_frame, write_partition

MLP = {"hidden_layer_sizes": [16], "learning_rate_init": 0.01, "random_state": 0}


def xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = pq.read_table(path).to_pandas()
    return frame[FEATURES].to_numpy(), frame["label"].to_numpy()


def test_an_mlp_update_continues_from_the_previous_weights(tmp_path: Path, client: object) -> None:
    data = tmp_path / "data"
    for i in range(4):
        write_partition(data, f"a{i}.parquet", make_frame(400, seed=i))
    model = distinc.init(
        str(tmp_path / "store"), data=str(data), target="label", model="MLPClassifier", params=MLP
    )
    assert model.spec.strategy == "stream"
    model.update(client=client)
    before = list(model.model().loss_curve_)
    delta = write_partition(data, "b0.parquet", make_frame(400, seed=50))
    model.update(client=client)
    after = model.model().loss_curve_
    assert after[: len(before)] == before and len(after) == len(before) + 1
    fresh = MLPClassifier(**MLP).partial_fit(*xy(delta), classes=[0, 1])
    assert after[len(before)] < fresh.loss_curve_[0]


def test_epochs_pass_over_each_delta_in_order_like_a_plain_loop(
    tmp_path: Path, client: object
) -> None:
    data = tmp_path / "data"
    files = [write_partition(data, f"a{i}.parquet", make_frame(300, seed=i)) for i in range(3)]
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="MLPClassifier",
        params=MLP,
        options=distinc.TrainingOptions(epochs=3),
    )
    first = model.update(client=client).entry
    assert first is not None and first.notes["tasks"] == 9
    delta = [write_partition(data, f"b{i}.parquet", make_frame(300, seed=10 + i)) for i in range(2)]
    model.update(client=client)
    loop = MLPClassifier(**MLP)
    for batch in (files, delta):
        for _ in range(3):
            for path in batch:
                loop.partial_fit(*xy(path), classes=[0, 1])
    fitted = model.model()
    assert len(fitted.loss_curve_) == 9 + 6
    for ours, theirs in zip(fitted.coefs_, loop.coefs_, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_epochs_are_refused_for_models_that_count_rows(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="The 'epochs' option applies to .* counts rows"):
        distinc.init(
            str(tmp_path / "store"),
            data=str(data_dir),
            target="label",
            model="GaussianNB",
            strategy="stream",
            options=distinc.TrainingOptions(epochs=2),
        )
