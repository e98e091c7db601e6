"""The public API: one curated ``distinc`` namespace with a sorted ``__all__``."""

from __future__ import annotations

import inspect

import distinc


def test_all_is_sorted_and_names_exactly_the_public_names() -> None:
    assert distinc.__all__ == sorted(distinc.__all__)
    public = {
        name
        for name, value in vars(distinc).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(distinc.__all__) == public
    assert {"DeltaEnsembleClassifier", "DeltaEnsembleRegressor"} <= public
