"""Stable encodings: a category first seen later never changes what earlier features meant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import distinc
from distinc.dataset.partition import DataSource
from distinc.dataset.reading import contract_features, read_table
from distinc.dataset.schema import ColumnContract
from distinc.models.encoding import CategoryEncoder, slots
from distinc.models.pipeline import IncrementalPipeline
from tests.conftest import make_frame, write_partition


def with_city(rows: int, seed: int, cities: tuple[str, ...]) -> pd.DataFrame:
    frame = make_frame(rows, seed=seed)
    city = np.asarray(cities)[np.arange(rows) % len(cities)]
    # The label leans on the city, so the encoding matters to the model.
    frame["label"] = np.where(city == cities[0], 1, frame["label"]).astype("int64")
    return frame.assign(city=city)


def test_vocabulary_slots_are_pinned_in_order_of_first_sight() -> None:
    codes = np.array([0.0, 1.0, 2.0, 3.0, np.nan])
    assert slots(codes, encoding="vocabulary", width=3).tolist() == [0, 1, 2, 3, 3]
    hashed = slots(codes, encoding="hash", width=4)
    assert hashed[-1] == 4 and (hashed[:-1] < 4).all()
    assert slots(codes[:2], encoding="hash", width=4).tolist() == hashed[:2].tolist()


def test_the_encoder_has_a_fixed_width() -> None:
    encoder = CategoryEncoder(3, categorical=(0, 2), width=4).fit(np.zeros((1, 3)))
    out = encoder.transform(np.array([[0.0, 7.0, 1.0], [9.0, 8.0, np.nan]]))
    assert out.shape == (2, 1 + 2 * 5) == (2, encoder.n_output_features)
    assert out[:, 0].tolist() == [7.0, 8.0]
    assert out[0, 1:6].tolist() == [1, 0, 0, 0, 0] and out[1, 1:6].tolist() == [0, 0, 0, 0, 1]
    assert out[1, 6:].tolist() == [0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="Expected 3 columns"):
        CategoryEncoder(3, categorical=(0,)).fit(np.zeros((1, 2)))


def old_rows(model: distinc.IncrementalModel, version: int, root: Path) -> np.ndarray:
    """The feature matrix of the first two files, read with ``version``'s vocabularies."""
    contract = ColumnContract.from_spec(model.spec, model.entry(version).categories)
    source = DataSource(str(root))
    tables = [read_table(source, key, contract.columns) for key in ("v1.parquet", "v2.parquet")]
    return np.vstack([contract_features(table, contract) for table in tables])


@pytest.mark.parametrize(
    ("name", "params", "options"),
    [
        ("SGDClassifier", {"loss": "log_loss", "random_state": 0}, {}),
        ("SGDClassifier", {"loss": "log_loss", "random_state": 0}, {"encoding": "hash"}),
        ("MLPClassifier", {"hidden_layer_sizes": [8], "random_state": 0}, {"scale": "standard"}),
        ("RandomForestClassifier", {"n_estimators": 5, "random_state": 0}, {}),
        ("GaussianNB", {}, {"encoding": "hash", "encoding_width": 8}),
    ],
)
def test_a_category_first_seen_in_version_3_leaves_version_2_unchanged(
    tmp_path: Path, client: object, name: str, params: dict[str, object], options: dict[str, object]
) -> None:
    data = tmp_path / "data"
    write_partition(data, "v1.parquet", with_city(300, 1, ("rome", "oslo")))
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model=name,
        params=params,
        options=distinc.TrainingOptions(**options),  # type: ignore[arg-type]
    )
    assert model.spec.categorical == ("city",)
    model.update(client=client)
    write_partition(data, "v2.parquet", with_city(300, 2, ("oslo", "rome")))
    model.update(client=client)
    scoring = tmp_path / "scoring"
    for key in ("v1.parquet", "v2.parquet"):
        write_partition(scoring, key, pd.read_parquet(data / key))
    model.predict(str(scoring), out=str(tmp_path / "before"), version=2, client=client)

    write_partition(data, "v3.parquet", with_city(300, 3, ("amsterdam", "oslo", "rome")))
    entry = model.update(client=client).entry
    assert entry is not None and entry.categories["city"] == ("oslo", "rome", "amsterdam")
    model.predict(str(scoring), out=str(tmp_path / "after"), version=2, client=client)
    for key in ("v1.parquet", "v2.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "before" / key), pd.read_parquet(tmp_path / "after" / key)
        )
    # Version 3's vocabulary reads the old rows exactly as version 2's did, so version 2's
    # model scores them identically through either, and the model's input width is unchanged.
    version2, version3 = model.model(2), model.model(3)
    np.testing.assert_array_equal(old_rows(model, 3, data), old_rows(model, 2, data))
    np.testing.assert_array_equal(
        version2.predict_proba(old_rows(model, 3, data)),
        version2.predict_proba(old_rows(model, 2, data)),
    )
    assert isinstance(version3, IncrementalPipeline)
    assert version3[-1].n_features_in_ == version2[-1].n_features_in_
    # Version 2 meets amsterdam as an unseen value, and still scores it.
    write_partition(scoring, "new.parquet", with_city(20, 4, ("amsterdam",)))
    model.predict(str(scoring), out=str(tmp_path / "new"), version=2, client=client)
    assert len(pd.read_parquet(tmp_path / "new" / "new.parquet")) == 20
