"""DeltaEnsembleClassifier / DeltaEnsembleRegressor as plain scikit-learn estimators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from distinc import DeltaEnsembleClassifier, DeltaEnsembleRegressor
from distinc.models.ensemble import Member
from distinc.store import codecs


def batch(rows: int, seed: int, *, classes: tuple[int, ...] = (0, 1, 2)) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 4))
    score = features @ np.array([1.0, -0.5, 0.25, 0.0])
    labels = np.asarray(classes)[np.digitize(score, [-0.5, 0.5]) % len(classes)]
    return features, labels


@parametrize_with_checks(
    [
        DeltaEnsembleClassifier(),
        DeltaEnsembleRegressor(),
        DeltaEnsembleClassifier(combiner="stacking", max_members=2, random_state=0),
        DeltaEnsembleRegressor(Ridge(), combiner="stacking", decay_half_life=1.0),
    ]
)
def test_scikit_learn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def by_hand_proba(members: list[object], weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The weighted soft vote over the union of the members' classes, spelled out."""
    classes = sorted({label for member in members for label in member.classes_})  # type: ignore[attr-defined]
    total = np.zeros((len(features), len(classes)))
    for member, weight in zip(members, weights, strict=True):
        proba = member.predict_proba(features)  # type: ignore[attr-defined]
        for j, label in enumerate(member.classes_):  # type: ignore[attr-defined]
            total[:, classes.index(label)] += weight * proba[:, j]
    return total


def test_the_window_keeps_the_newest_members_and_votes_by_rows_and_age() -> None:
    batches = [
        batch(120, 0),
        batch(200, 1, classes=(0, 1)),
        batch(80, 2),
        batch(160, 3, classes=(1, 2)),
    ]
    template = RandomForestClassifier(n_estimators=5, random_state=0)
    model = DeltaEnsembleClassifier(template, max_members=3, decay_half_life=2.0)
    model.fit(*batches[0])
    for features, labels in batches[1:]:
        model.partial_fit(features, labels)
    assert model.member_versions_.tolist() == [2, 3, 4]
    assert model.member_rows_.tolist() == [200, 80, 160]
    newest = [clone(template).fit(*pair) for pair in batches[1:]]
    weights = np.array([200, 80, 160]) * 0.5 ** (np.array([2, 1, 0]) / 2.0)
    weights /= weights.sum()
    probe = batch(50, 9)[0]
    expected = by_hand_proba(newest, weights, probe)
    np.testing.assert_allclose(model.predict_proba(probe), expected)
    np.testing.assert_array_equal(model.predict(probe), np.array([0, 1, 2])[expected.argmax(1)])


def test_new_labels_are_refused_unless_allowed() -> None:
    model = DeltaEnsembleClassifier(LogisticRegression()).fit(*batch(100, 0, classes=(0, 1)))
    with pytest.raises(ValueError, match=r"labels \[2\] are not among the classes \[0, 1\]"):
        model.partial_fit(*batch(100, 1))
    grown = clone(model).set_params(allow_new_classes=True)
    grown.fit(*batch(100, 0, classes=(0, 1))).partial_fit(*batch(100, 1))
    assert grown.classes_.tolist() == [0, 1, 2]
    proba = grown.predict_proba(batch(30, 2)[0])
    first = grown.estimators_[0].predict_proba(batch(30, 2)[0])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The first member never saw class 2: its share of that column is zero.
    second = grown.estimators_[1].predict_proba(batch(30, 2)[0])
    np.testing.assert_allclose(proba[:, 2], grown.weights_[1] * second[:, 2])
    np.testing.assert_allclose(
        proba[:, 0], grown.weights_[0] * first[:, 0] + grown.weights_[1] * second[:, 0]
    )


def test_members_without_predict_proba_vote_for_their_prediction() -> None:
    model = DeltaEnsembleClassifier(LinearSVC()).fit(*batch(100, 0))
    model.partial_fit(*batch(100, 1))
    probe = batch(20, 2)[0]
    votes = [member.predict(probe) for member in model.estimators_]
    expected = np.zeros((20, 3))
    for weight, vote in zip(model.weights_, votes, strict=True):
        expected[np.arange(20), vote] += weight
    np.testing.assert_allclose(model.predict_proba(probe), expected)


def test_stacking_learns_to_ignore_a_member_trained_on_noise() -> None:
    good = batch(400, 0)
    noise = (batch(400, 1)[0], np.random.default_rng(5).permutation(batch(400, 1)[1]))
    model = DeltaEnsembleClassifier(
        LogisticRegression(), combiner="stacking", stacking_fraction=0.3, random_state=0
    )
    model.fit(*good).partial_fit(*noise).partial_fit(*batch(400, 2))
    assert model.stacking_weights_ is not None
    assert model.weights_.sum() == pytest.approx(1.0) and (model.weights_ >= 0).all()
    assert model.weights_[1] < 0.1 < model.weights_[0] + model.weights_[2]
    # The newest member did not learn from the held-out slice.
    assert model.member_rows_[-1] < 400


def test_a_single_class_batch_becomes_a_constant_member() -> None:
    model = DeltaEnsembleClassifier(LogisticRegression()).fit(*batch(100, 0))
    features = batch(50, 1)[0]
    model.partial_fit(features, np.full(50, 2))
    np.testing.assert_allclose(model.estimators_[1].predict_proba(features), 1.0)


def test_regressor_weighted_mean() -> None:
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 3)) for n in (50, 150)]
    targets = [x @ [1.0, 2.0, 3.0] + shift for x, shift in zip(parts, (0.0, 10.0), strict=True)]
    model = DeltaEnsembleRegressor(Ridge()).fit(parts[0], targets[0])
    model.partial_fit(parts[1], targets[1])
    members = [Ridge().fit(x, y) for x, y in zip(parts, targets, strict=True)]
    probe = rng.normal(size=(10, 3))
    expected = 0.25 * members[0].predict(probe) + 0.75 * members[1].predict(probe)
    np.testing.assert_allclose(model.predict(probe), expected)


def test_add_members_fitted_elsewhere_and_the_store_round_trip() -> None:
    parts = [batch(100, seed) for seed in range(3)]
    fitted = [Member(LogisticRegression().fit(*pair), 100.0) for pair in parts]
    model = DeltaEnsembleClassifier(LogisticRegression(), max_members=2)
    model.add_members(fitted[:2], version=1, classes=[0, 1, 2, 3])
    model.add_members(fitted[2:], version=4)
    assert model.classes_.tolist() == [0, 1, 2, 3] and model.classes_.dtype.kind == "i"
    assert model.n_features_in_ == 4
    assert model.member_versions_.tolist() == [1, 4] and len(model.estimators_) == 2
    loaded = codecs.load(
        codecs.dump(model, "skops"), "skops", trusted_roots=codecs.TRUSTED_ROOTS, where="test"
    )
    probe = batch(20, 7)[0]
    np.testing.assert_array_equal(loaded.predict_proba(probe), model.predict_proba(probe))
    assert loaded.predict_proba(probe)[:, 3].max() == 0.0
