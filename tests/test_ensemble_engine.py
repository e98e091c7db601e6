"""The per-delta ensemble strategy through the engine: real LocalCluster, real Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import distinc
from distinc.exceptions import ConfigurationError
from tests.conftest import FEATURES, make_frame, write_partition
from tests.own_estimator import NearestMean

FOREST = {"n_estimators": 5, "random_state": 0}


def forest_store(tmp_path: Path, data: Path, **options: object) -> distinc.IncrementalModel:
    return distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="RandomForestClassifier",
        params=FOREST,
        options=distinc.TrainingOptions(**options),  # type: ignore[arg-type]
    )


def test_four_updates_keep_the_newest_three_members_and_vote_as_computed_by_hand(
    tmp_path: Path, client: object
) -> None:
    data = tmp_path / "data"
    sizes = (90, 150, 60, 120)
    frames = [make_frame(rows, seed=10 + v, classes=(0, 1, 2)) for v, rows in enumerate(sizes)]
    write_partition(data, "v1.parquet", frames[0])
    model = forest_store(tmp_path, data, max_members=3, decay_half_life=1.5)
    assert model.spec.strategy == "ensemble"
    for version, frame in enumerate(frames, start=1):
        write_partition(data, f"v{version}.parquet", frame)
        assert model.update(client=client).version == version
    ensemble = model.model()
    assert isinstance(ensemble, distinc.DeltaEnsembleClassifier)
    assert ensemble.member_versions_.tolist() == [2, 3, 4]
    assert ensemble.member_rows_.tolist() == [150, 60, 120]
    members = [
        RandomForestClassifier(**FOREST).fit(frame[FEATURES].to_numpy(), frame["label"])
        for frame in frames[1:]
    ]
    weights = np.array([150, 60, 120]) * 0.5 ** (np.array([2, 1, 0]) / 1.5)
    weights /= weights.sum()
    probe = make_frame(40, seed=99, classes=(0, 1, 2))[FEATURES].to_numpy()
    expected = sum(w * m.predict_proba(probe) for w, m in zip(weights, members, strict=True))
    np.testing.assert_allclose(ensemble.predict_proba(probe), expected)
    np.testing.assert_array_equal(ensemble.predict(probe), expected.argmax(axis=1))
    assert model.verify() == []


def test_a_large_delta_trains_several_members_in_parallel_across_workers(
    tmp_path: Path, client: object
) -> None:
    data = tmp_path / "data"
    for i in range(4):
        write_partition(data, f"p{i}.parquet", make_frame(400, seed=i))
    model = forest_store(tmp_path, data, member_rows=400)
    with get_task_stream(client) as stream:  # type: ignore[arg-type]
        entry = model.update(client=client).entry
    assert entry is not None and entry.notes["members"] == 4
    assert entry.notes["member_rows"] == [400, 400, 400, 400]
    workers = {task["worker"] for task in stream.data if "distinc-member-" in str(task["key"])}
    assert len(workers) == 2
    ensemble = model.model()
    assert len(ensemble.estimators_) == 4 and set(ensemble.member_versions_) == {1}
    holdout = tmp_path / "holdout"
    write_partition(holdout, "h.parquet", make_frame(300, seed=77))
    assert model.evaluate(str(holdout), client=client)["accuracy"] > 0.85


def test_stacking_learns_weights_on_a_slice_of_the_newest_delta(
    tmp_path: Path, client: object
) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(300, seed=1))
    model = forest_store(tmp_path, data, combiner="stacking", stacking_fraction=0.25)
    model.update(client=client)
    write_partition(data, "b.parquet", make_frame(300, seed=2))
    model.update(client=client)
    ensemble = model.model()
    assert ensemble.stacking_weights_ is not None
    np.testing.assert_allclose(ensemble.weights_, ensemble.stacking_weights_)
    assert ensemble.weights_.sum() == pytest.approx(1.0) and (ensemble.weights_ >= 0).all()
    assert all(rows < 300 for rows in ensemble.member_rows_)


def test_regressors_average_members(tmp_path: Path, client: object) -> None:
    data = tmp_path / "data"
    frames = [make_frame(200, seed=s) for s in (1, 2)]
    write_partition(data, "a.parquet", frames[0])
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="x3",
        model="sklearn.ensemble.RandomForestRegressor",
        params=FOREST,
        features=FEATURES[:3],
    )
    model.update(client=client)
    write_partition(data, "b.parquet", frames[1])
    model.update(client=client)
    members = [
        RandomForestRegressor(**FOREST).fit(f[FEATURES[:3]].to_numpy(), f["x3"]) for f in frames
    ]
    probe = make_frame(30, seed=5)[FEATURES[:3]].to_numpy()
    expected = (members[0].predict(probe) + members[1].predict(probe)) / 2
    np.testing.assert_allclose(model.model().predict(probe), expected)


def test_new_classes_extend_the_ensemble_only_when_allowed(tmp_path: Path, client: object) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(200, seed=1))
    model = forest_store(tmp_path, data, allow_new_classes=True)
    assert model.update(client=client).entry.classes == (0, 1)  # type: ignore[union-attr]
    write_partition(data, "b.parquet", make_frame(200, seed=2, classes=(0, 1, 2)))
    entry = model.update(client=client).entry
    assert entry is not None and entry.classes == (0, 1, 2)
    assert model.model().classes_.tolist() == [0, 1, 2]
    out = tmp_path / "out"
    model.predict(str(data), out=str(out), client=client)
    written = pd.read_parquet(out / "a.parquet")
    assert list(written.columns) == ["prediction", "proba_0", "proba_1", "proba_2"]
    np.testing.assert_allclose(written[["proba_0", "proba_1", "proba_2"]].sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("SGDClassifier", {"allow_new_classes": True}, "'allow_new_classes' option applies to"),
        ("GaussianNB", {"max_members": 3}, "'max_members' option applies to the 'ensemble'"),
        ("RandomForestClassifier", {"epochs": 3}, "'epochs' option applies to the 'stream'"),
        ("KMeans", {}, "unsupervised and has no partial_fit"),
    ],
)
def test_options_a_strategy_cannot_honour_are_refused_at_init(
    tmp_path: Path, data_dir: Path, model: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        distinc.init(
            str(tmp_path / "store"),
            data=str(data_dir),
            target=None if model == "KMeans" else "label",
            model=model,
            features=FEATURES,
            options=distinc.TrainingOptions(**options),  # type: ignore[arg-type]
        )
    assert not (tmp_path / "store").exists()


def test_a_users_own_estimator_by_dotted_path(tmp_path: Path, client: object) -> None:
    data = tmp_path / "data"
    frames = [make_frame(200, seed=s) for s in (1, 2)]
    write_partition(data, "a.parquet", frames[0])
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="tests.own_estimator.NearestMean",
        params={"shrink": 0.1},
    )
    assert model.spec.strategy == "ensemble"
    model.update(client=client)
    write_partition(data, "b.parquet", frames[1])
    model.update(client=client)
    ensemble = model.model()
    assert [type(m).__name__ for m in ensemble.estimators_] == ["NearestMean", "NearestMean"]
    assert all(m.shrink == 0.1 for m in ensemble.estimators_)
    probe = make_frame(50, seed=3)[FEATURES].to_numpy()
    votes = np.zeros((50, 2))
    for frame in frames:
        member = NearestMean(shrink=0.1).fit(frame[FEATURES].to_numpy(), frame["label"])
        votes[np.arange(50), member.predict(probe)] += 0.5
    np.testing.assert_allclose(ensemble.predict_proba(probe), votes)
