"""Data, stores and the checks every reliability test ends with.

``StrategyCase`` describes a training strategy the way these tests drive it: how to create a
store for it and what a clean, uninterrupted run over the same partitions in the same order
produces. The fault tests are parametrised over ``strategy_cases()``, so a strategy joins them
by adding its case here.
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

import distinc
from distinc.store.check import check_store
from distinc.store.store import ModelStore
from distinc.trainers import available_strategies
from tests.conftest import FEATURES, make_frame, write_partition

CLASSES = (0, 1)


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


@dataclass(frozen=True)
class StrategyCase:
    """A strategy under test: its model, and what a clean run over given partitions learns."""

    strategy: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    reference: Callable[[Sequence[pd.DataFrame], Sequence[Any]], Any] | None = None
    assert_same: Callable[[Any, Any], None] = same_linear_model

    def clean_model(self, frames: Sequence[pd.DataFrame], classes: Sequence[Any]) -> Any:
        if self.reference is not None:
            return self.reference(frames, classes)
        return partial_fit_loop(self.model, self.params, frames, classes)


STREAM = StrategyCase("stream", "SGDClassifier", {"loss": "log_loss", "random_state": 0})
# The XGBoost continuation and per-delta ensemble strategies add their cases here as they land.
CASES = (STREAM,)


def strategy_cases() -> list[StrategyCase]:
    """The cases whose strategy this build of distinc provides."""
    available = set(available_strategies())
    return [case for case in CASES if case.strategy in available]


def new_store(
    root: Path, data: Path, case: StrategyCase = STREAM, **kwargs: Any
) -> distinc.IncrementalModel:
    """A store at ``root / "store"`` for ``case``'s model on ``data``, classes declared."""
    options: dict[str, Any] = {
        "target": "label",
        "model": case.model,
        "params": case.params,
        "classes": list(CLASSES),
        **kwargs,
    }
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
    """The head model equals a clean run over the partitions in the order they were learned."""
    opened = assert_consistent(store)
    frames = [pq.read_table(data / key).to_pandas() for key in learned_order(opened)]
    head = opened.head()
    assert head is not None
    case.assert_same(opened.load_model(head), case.clean_model(frames, CLASSES))


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
