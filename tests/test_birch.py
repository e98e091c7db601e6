"""Birch survives the store: its CF-tree is laid out as arrays and rebuilt exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering, Birch

from distinc.models.birch import StorableBirch
from distinc.store import codecs


def stored(model: StorableBirch) -> StorableBirch:
    data = codecs.dump(model, "skops")
    loaded: StorableBirch = codecs.load(
        data, "skops", trusted_roots=codecs.TRUSTED_ROOTS, where="test"
    )
    return loaded


@pytest.mark.parametrize(
    "params",
    [
        {"n_clusters": 3},
        {"n_clusters": None, "threshold": 0.3, "branching_factor": 5},
        {"n_clusters": AgglomerativeClustering(n_clusters=2), "branching_factor": 3},
    ],
    ids=["global-3", "deep-tree", "agglomerative"],
)
def test_a_stored_birch_continues_exactly_like_scikit_learns(params: dict[str, object]) -> None:
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(rows, 3)) * [1.0, 2.0, 3.0] for rows in (200, 350, 120, 400)]
    direct = Birch(**params)  # type: ignore[arg-type]
    ours = StorableBirch(params)
    for part in parts:
        direct.partial_fit(part)
        ours = stored(ours).partial_fit(part)
    everything = np.vstack(parts)
    np.testing.assert_array_equal(ours.birch_.subcluster_centers_, direct.subcluster_centers_)
    np.testing.assert_array_equal(ours.predict(everything), direct.predict(everything))
    np.testing.assert_allclose(ours.transform(everything), direct.transform(everything))
    assert len(ours.birch_._get_leaves()) == len(direct._get_leaves())
