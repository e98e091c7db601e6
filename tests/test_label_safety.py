"""A label the model has never seen is caught before training, for every estimator family.

scikit-learn alone would not always say so: MultinomialNB.partial_fit, for one, silently
counts rows of an unknown label as another class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import distinc
from distinc.exceptions import UnseenLabelError
from distinc.trainers import available_strategies
from tests.conftest import make_frame, write_partition

FAMILIES = [
    ("SGDClassifier", {"random_state": 0}, "stream"),
    ("Perceptron", {}, "stream"),
    ("MLPClassifier", {"hidden_layer_sizes": [4], "random_state": 0}, "stream"),
    ("MultinomialNB", {}, "stream"),
    ("GaussianNB", {}, "merge"),
    ("MultinomialNB", {}, "merge"),
    ("ComplementNB", {}, "merge"),
    ("BernoulliNB", {}, "merge"),
    ("RandomForestClassifier", {"n_estimators": 3, "random_state": 0}, "ensemble"),
    ("HistGradientBoostingClassifier", {"max_iter": 5}, "ensemble"),
    ("LogisticRegression", {}, "ensemble"),
    ("KNeighborsClassifier", {}, "ensemble"),
    ("SVC", {}, "ensemble"),
    ("xgboost", {"max_depth": 2}, "xgboost"),
]


def counts(rows: int, seed: int, classes: tuple[int, ...]) -> object:
    """Non-negative features, so the count-based naive Bayes families accept them."""
    frame = make_frame(rows, seed=seed, classes=classes)
    features = [name for name in frame.columns if name != "label"]
    frame[features] = np.abs(frame[features])
    return frame


@pytest.mark.parametrize(
    ("name", "params", "strategy"), FAMILIES, ids=[f"{n}-{s}" for n, _, s in FAMILIES]
)
def test_a_new_label_is_caught_before_training(
    tmp_path: Path, client: object, name: str, params: dict[str, object], strategy: str
) -> None:
    if strategy not in available_strategies():
        pytest.skip(f"the {strategy!r} strategy is not in this build")
    data = tmp_path / "data"
    write_partition(data, "a.parquet", counts(120, 1, (0, 1)))
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model=name,
        params=params,
        strategy=strategy,
    )
    model.update(client=client)
    before = sorted((tmp_path / "store" / "ledger").iterdir())
    write_partition(data, "b.parquet", counts(120, 2, (0, 1)))
    write_partition(data, "c.parquet", counts(120, 3, (0, 1, 2)))
    with pytest.raises(UnseenLabelError, match=r"'c.parquet' has label 2 \(\d+ rows\)") as info:
        model.update(client=client)
    assert info.value.details == {"partition": "c.parquet", "label": 2, "options": ("classes",)}
    assert model.version == 1 and before == sorted((tmp_path / "store" / "ledger").iterdir())
    assert list(model.model().classes_) == [0, 1]
