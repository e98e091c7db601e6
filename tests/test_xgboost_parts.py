"""The pure parts of the XGBoost strategy: options, parameters, the reservoir, the codec."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
import xgboost as xgb

from distinc.exceptions import ConfigurationError, IntegrityError
from distinc.spec import TrainingOptions
from distinc.store import codecs
from distinc.trainers.boosting import reservoir as pool
from distinc.trainers.boosting.model import boosted_model
from distinc.trainers.boosting.params import check_params, objective_params, plan_sessions
from distinc.trainers.boosting.rows import Rows


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"replay_fraction": 1.0}, r"'replay_fraction' option must be a number in \[0.0, 1.0\)"),
        ({"xgb_mode": "grow"}, r"'xgb_mode' option must be one of \['add', 'refresh'"),
        ({"rounds": 0}, "'rounds' option must be an int >= 1"),
        ({"decay_half_life": 0}, "'decay_half_life' option must be None or a number > 0"),
        ({"early_stopping_rounds": 5}, "needs a 'validation' dataset to stop on; set the 'valid"),
    ],
)
def test_options_are_validated_once(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TrainingOptions(**options)  # type: ignore[arg-type]


def test_options_survive_the_spec_round_trip() -> None:
    options = TrainingOptions(
        rounds=200,
        update_rounds=50,
        xgb_mode="add+refresh",
        replay_fraction=0.25,
        decay_half_life=2.5,
        validation="/v",
        early_stopping_rounds=10,
    )
    import dataclasses

    assert TrainingOptions.from_json(dataclasses.asdict(options)) == options


def test_parameters_distinc_drives_are_refused() -> None:
    # in the Python API's terms; the CLI spells the options as its flags
    with pytest.raises(ConfigurationError, match="'n_estimators'.*use the 'rounds' and 'update_r"):
        check_params({"n_estimators": 10}, "classification")
    with pytest.raises(ConfigurationError, match="must be 'binary:logistic' or 'multi:softprob'"):
        check_params({"objective": "multi:softmax"}, "classification")
    with pytest.raises(ConfigurationError, match="needs at least two classes"):
        objective_params("classification", (1,), None)
    with pytest.raises(ConfigurationError, match="learns two classes"):
        objective_params("classification", (0, 1, 2), "binary:logistic")


def test_refresh_is_planned_only_once_there_are_trees() -> None:
    first = plan_sessions("refresh", parent_rounds=None, rounds=10, update_rounds=3)
    assert [(s.kind, s.rounds) for s in first] == [("add", 10)]
    later = plan_sessions("refresh", parent_rounds=10, rounds=10, update_rounds=3)
    assert [(s.kind, s.rounds, s.overrides["updater"]) for s in later] == [
        ("refresh", 10, "refresh")
    ]


def test_the_reservoir_stays_uniform_over_every_version() -> None:
    """Ten versions of 1,000 rows into a reservoir of 500: each version keeps about 50 rows."""
    reservoir = pool.Reservoir.empty(1)
    for version in range(1, 11):
        rows = Rows(np.full((1000, 1), version, np.float32), np.zeros(1000, np.float32))
        counts = pool.delta_allocation(
            [600, 400], seen=reservoir.seen, capacity=500, rng=pool.rng_for(0, version, 0)
        )
        drawn = Rows.concat(
            [
                pool.sample(part, count, pool.rng_for(0, version, 2, i))
                for i, (part, count) in enumerate(
                    zip(
                        [rows.take(np.arange(600)), rows.take(np.arange(600, 1000))],
                        counts,
                        strict=True,
                    )
                )
            ]
        )
        reservoir = pool.merge(
            reservoir,
            drawn,
            added=1000,
            version=version,
            capacity=500,
            rng=pool.rng_for(0, version, 3),
        )
        assert len(reservoir) == min(500, 1000 * version) and reservoir.seen == 1000 * version
    by_version = Counter(reservoir.versions.tolist())
    assert sorted(by_version) == list(range(1, 11))
    # Binomial(500, 0.1): mean 50, sd 6.7; keeping only the newest rows would give 0 or 500.
    assert all(25 <= count <= 75 for count in by_version.values()), by_version
    np.testing.assert_array_equal(reservoir.rows.features[:, 0], reservoir.versions)


def test_the_reservoir_round_trips_through_parquet() -> None:
    rows = Rows(np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0, 1, 1], np.float32))
    kept = pool.Reservoir(rows, np.array([1, 1, 2]), seen=40)
    back = pool.Reservoir.from_parquet(kept.to_parquet(["a", "b"]), ["a", "b"], where="r")
    assert back.seen == 40
    np.testing.assert_array_equal(back.rows.features, rows.features)
    np.testing.assert_array_equal(back.versions, [1, 1, 2])
    with pytest.raises(IntegrityError, match="reservoir r cannot be read"):
        pool.Reservoir.from_parquet(b"garbage", ["a", "b"], where="r")


def fitted_model() -> object:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 2))
    booster = xgb.train(
        {"max_depth": 2, "objective": "binary:logistic"},
        xgb.DMatrix(features, features[:, 0] > 0),
        num_boost_round=3,
    )
    return boosted_model(booster, task="classification", features=("a", "b"), classes=("n", "y"))


def test_the_ubj_codec_round_trips_and_refuses_anything_else() -> None:
    model = fitted_model()
    data = codecs.dump(model, "ubj")
    loaded = codecs.load(data, "ubj", trusted_roots=(), where="m.ubj")
    rows = np.random.default_rng(1).normal(size=(20, 2))
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))  # type: ignore[attr-defined]
    assert list(loaded.predict(rows[:2])) == list(model.predict(rows[:2]))  # type: ignore[attr-defined]
    assert loaded.features == ("a", "b") and list(loaded.classes_) == ["n", "y"]
    with pytest.raises(IntegrityError, match="never loads pickles"):
        codecs.load(pickle.dumps(model), "ubj", trusted_roots=(), where="m.ubj")
    plain = bytes(xgb.Booster(model_file=bytearray(data)).save_raw("ubj"))
    stripped = xgb.Booster(model_file=bytearray(plain))
    stripped.set_attr(distinc=None)
    with pytest.raises(IntegrityError, match="without a distinc header"):
        codecs.load(bytes(stripped.save_raw("ubj")), "ubj", trusted_roots=(), where="m.ubj")
    with pytest.raises(IntegrityError, match="not a readable XGBoost model"):
        codecs.load(b"{" + b"\x00" * 20, "ubj", trusted_roots=(), where="m.ubj")
