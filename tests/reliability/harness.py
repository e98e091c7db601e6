"""Data, stores and the checks every reliability test ends with.

``StrategyCase`` describes a training strategy the way these tests drive it: how to create a
store for it and what a clean, uninterrupted run learns from the same partitions grouped into
the same versions (XGBoost continues its booster once per version, an ensemble trains one
member per version, so the grouping matters, not only the order). The fault tests are
parametrised over ``strategy_params()``, so a strategy joins them by adding its case here;
cases other than the stream one run in the default test run only where a test asks for them,
and everywhere under ``-m slow``.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import distinc
from distinc.store.check import check_store
from distinc.store.store import ModelStore
from distinc.trainers import available_strategies
from distinc.trainers.ensemble import split_model
from tests.conftest import FEATURES, make_frame, write_partition

CLASSES = (0, 1)
# Versions: the frames of the partitions each version learned, versions in lineage order.
Versions = Sequence[Sequence[pd.DataFrame]]


def partial_fit_loop(
    model: str, params: dict[str, Any], frames: Sequence[pd.DataFrame], classes: Sequence[Any]
) -> Any:
    """What a plain ``partial_fit`` loop learns from ``frames`` in order."""
    from distinc.estimators import build_estimator, resolve_path

    estimator = build_estimator(resolve_path(model), params)
    for frame in frames:
        estimator.partial_fit(
            frame[FEATURES].to_numpy(np.float64), frame["label"].to_numpy(), classes=classes
        )
    return estimator


def same_linear_model(got: Any, expected: Any) -> None:
    np.testing.assert_array_equal(got.coef_, expected.coef_)
    np.testing.assert_array_equal(got.intercept_, expected.intercept_)


def features_of(frames: Sequence[pd.DataFrame], dtype: Any = np.float64) -> np.ndarray:
    return np.concatenate([frame[FEATURES].to_numpy(dtype) for frame in frames])


def labels_of(frames: Sequence[pd.DataFrame]) -> np.ndarray:
    return np.concatenate([frame["label"].to_numpy() for frame in frames])


def probe() -> np.ndarray:
    """Rows no partition holds, to compare what two models predict."""
    return make_frame(500, seed=987_654)[FEATURES].to_numpy(np.float64)


@dataclass(frozen=True)
class StrategyCase:
    """A strategy under test: its model, and what a clean run over given versions learns.

    ``reference(versions, classes)`` is the clean run; ``assert_same(got, expected)`` compares
    the head model with it. ``options`` are ``TrainingOptions``; ``task_key`` is the start of
    the Dask keys of the strategy's training tasks.
    """

    strategy: str
    model: str
    params: dict[str, Any]
    reference: Callable[[Versions, Sequence[Any]], Any]
    assert_same: Callable[[Any, Any], None]
    options: dict[str, Any] = field(default_factory=dict)
    task_key: str = "distinc-fit"

    def clean_model(self, versions: Versions, classes: Sequence[Any]) -> Any:
        return self.reference(versions, classes)


SGD_PARAMS = {"loss": "log_loss", "random_state": 0}
# The partitions the ``trained`` fixture's store learned as version 1.
TRAINED_FIRST = ("p0.parquet", "p1.parquet", "p2.parquet")

STREAM = StrategyCase(
    "stream",
    "SGDClassifier",
    SGD_PARAMS,
    reference=lambda versions, classes: partial_fit_loop(
        "SGDClassifier", SGD_PARAMS, [frame for version in versions for frame in version], classes
    ),
    assert_same=same_linear_model,
)

# A subsample, so the booster also depends on the seed being used the same way in every run.
# Threads are left to distinc (the host's cores): XGBoost's hist method builds the same trees
# with any thread count, so a rerun on another worker must give the same booster.
XGB_PARAMS = {"max_depth": 2, "eta": 0.3, "seed": 7, "subsample": 0.8}
XGB_OPTIONS = {"rounds": 4, "update_rounds": 2}


def xgboost_continuation(versions: Versions, classes: Sequence[Any]) -> Any:
    """``xgb.train`` once per version on that version's rows, continuing the previous
    version's booster as saved."""
    import xgboost

    params = {**XGB_PARAMS, "objective": "binary:logistic"}
    booster = None
    for frames in versions:
        coded = pd.Index(list(classes)).get_indexer(labels_of(frames)).astype(np.float32)
        matrix = xgboost.DMatrix(
            features_of(frames, np.float32), label=coded, feature_names=list(FEATURES)
        )
        rounds = XGB_OPTIONS["rounds"] if booster is None else XGB_OPTIONS["update_rounds"]
        booster = xgboost.train(params, matrix, num_boost_round=rounds, xgb_model=booster)
        # Each update starts from the stored parent, whose random stream restarts at the seed.
        booster = xgboost.Booster(model_file=bytearray(booster.save_raw("ubj")))
    return booster


def same_booster(got: Any, expected: Any) -> None:
    import xgboost

    booster = got.booster
    assert booster.num_boosted_rounds() == expected.num_boosted_rounds()
    assert booster.get_dump() == expected.get_dump()
    rows = xgboost.DMatrix(probe(), feature_names=list(FEATURES))
    np.testing.assert_array_equal(booster.predict(rows), expected.predict(rows))


XGBOOST = StrategyCase(
    "xgboost",
    "xgboost",
    XGB_PARAMS,
    reference=xgboost_continuation,
    assert_same=same_booster,
    options=XGB_OPTIONS,
    task_key="distinc-xgboost-",
)

FOREST_PARAMS = {"n_estimators": 4, "max_depth": 3, "random_state": 0}


def forest_per_version(versions: Versions, classes: Sequence[Any]) -> list[tuple[Any, int]]:
    """One forest fitted on each version's rows, and its rows: the members of a clean run."""
    from sklearn.ensemble import RandomForestClassifier

    return [
        (
            RandomForestClassifier(**FOREST_PARAMS).fit(features_of(frames), labels_of(frames)),
            len(labels_of(frames)),
        )
        for frames in versions
    ]


def same_members(got: Any, expected: list[tuple[Any, int]]) -> None:
    """Members, their rows and weights are a clean run's; so is the vote, to float tolerance."""
    _, ensemble = split_model(got)
    rows = probe()
    sizes = np.array([size for _, size in expected], dtype=np.float64)
    assert len(ensemble.estimators_) == len(expected)
    np.testing.assert_array_equal(ensemble.member_rows_, sizes)
    np.testing.assert_allclose(ensemble.weights_, sizes / sizes.sum())
    for member, (clean, _) in zip(ensemble.estimators_, expected, strict=True):
        np.testing.assert_array_equal(member.predict_proba(rows), clean.predict_proba(rows))
    vote = sum(
        weight * clean.predict_proba(rows)
        for weight, (clean, _) in zip(sizes / sizes.sum(), expected, strict=True)
    )
    np.testing.assert_allclose(got.predict_proba(rows), vote, rtol=1e-12, atol=1e-12)


ENSEMBLE = StrategyCase(
    "ensemble",
    "RandomForestClassifier",
    FOREST_PARAMS,
    reference=forest_per_version,
    assert_same=same_members,
    task_key="distinc-member-",
)
CASES = (STREAM, XGBOOST, ENSEMBLE)
EVERY_STRATEGY = tuple(case.strategy for case in CASES)


def strategy_cases() -> list[StrategyCase]:
    """The cases whose strategy this build of distinc provides."""
    available = set(available_strategies())
    return [case for case in CASES if case.strategy in available]


def strategy_params(default: Sequence[str] = ("stream",)) -> list[Any]:
    """``strategy_cases()`` as pytest parameters; those not in ``default`` are marked slow."""
    return [
        pytest.param(
            case,
            id=case.strategy,
            marks=() if case.strategy in default else pytest.mark.slow,
        )
        for case in strategy_cases()
    ]


def new_store(
    root: Path, data: Path, case: StrategyCase = STREAM, **kwargs: Any
) -> distinc.IncrementalModel:
    """A store at ``root / "store"`` for ``case``'s model on ``data``, classes declared."""
    options: dict[str, Any] = {
        "target": "label",
        "model": case.model,
        "params": case.params,
        "classes": list(CLASSES),
        "strategy": case.strategy,
        **kwargs,
    }
    if case.options and "options" not in options:
        options["options"] = distinc.TrainingOptions(**case.options)
    return distinc.init(str(root / "store"), data=str(data), **options)


def add_partitions(data: Path, names: Sequence[str], *, rows: int = 120) -> list[Path]:
    """Write one partition per name, each with its own content (seeded by its name)."""
    seeds = [zlib.crc32(name.encode()) for name in names]
    return [
        write_partition(data, name, make_frame(rows, seed=seed))
        for name, seed in zip(names, seeds, strict=True)
    ]


def learned_order(store: ModelStore) -> list[str]:
    """The partitions the head model learned, in the order it learned them."""
    return [part.key for entry in store.lineage().chain for part in entry.partitions]


def _open(store: str | Path | ModelStore) -> ModelStore:
    return ModelStore.open(store.url if isinstance(store, ModelStore) else str(store))


def assert_consistent(store: str | Path | ModelStore) -> ModelStore:
    """``check_store`` finds nothing wrong; returns the store, reopened."""
    opened = _open(store)
    problems = check_store(opened)
    assert problems == [], problems
    return opened


def assert_learned_once(store: str | Path | ModelStore, expected: Sequence[str]) -> list[str]:
    """The head learned exactly ``expected``, each once; returns the order it learned them in."""
    opened = assert_consistent(store)
    order = learned_order(opened)
    twice = {key: n for key, n in Counter(order).items() if n > 1}
    assert not twice, f"learned more than once: {twice}"
    assert sorted(order) == sorted(expected), (sorted(order), sorted(expected))
    return order


def assert_equals_clean_run(
    store: str | Path | ModelStore, data: Path, case: StrategyCase = STREAM
) -> None:
    """The head model equals a clean run over the partitions, grouped into versions and
    ordered as the head learned them."""
    opened = assert_consistent(store)
    versions = [
        [pq.read_table(data / part.key).to_pandas() for part in entry.partitions]
        for entry in opened.lineage().chain
        if entry.partitions
    ]
    head = opened.head()
    assert head is not None
    case.assert_same(opened.load_model(head), case.clean_model(versions, CLASSES))


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` with its modification time and bytes."""
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def committed_files(store: ModelStore) -> list[str]:
    """The files a committed store is made of: its spec, entries and referenced artifacts."""
    entries = [f"ledger/{version:08d}.json" for version in store.versions()]
    return ["spec.json", *entries, *sorted(store.referenced_artifacts())]


def refused(
    store: Path, *fragments: str, env: dict[str, str | None], args: Sequence[str] = ()
) -> str:
    """Run ``distinc update`` and check it fails with one error line holding every fragment,
    leaving every byte of the store as it was; returns the line."""
    from tests.reliability import procs
    from tests.reliability.tally import tally

    before = snapshot(store)
    finished = procs.run("update", str(store), *args, env=env)
    assert finished.returncode == 1 and len(finished.errors) == 1, finished.describe()
    line = finished.errors[0]
    missing = [fragment for fragment in fragments if fragment not in line]
    assert not missing, f"{missing} not in {line!r}"
    assert snapshot(store) == before, "a refused update changed the store"
    tally("bad inputs refused")
    return line
