"""Birch that can be stored without pickle.

skops refuses ``Birch``: its fitted CF-tree is a graph of node objects that point at each
other (children, and a linked list of leaves). ``StorableBirch`` wraps a real ``Birch`` and,
whenever it is copied or stored, lays the tree out as plain arrays (nodes in depth-first order,
their subclusters, child links by index, the leaf order) and rebuilds it exactly on load, so
``partial_fit`` continues from the same tree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

_TREE = ("root_", "dummy_leaf_")


def flatten_tree(birch: Any) -> dict[str, Any]:
    """``birch``'s CF-tree as arrays: nodes depth-first from the root, their subclusters."""
    nodes: list[Any] = []
    subclusters: list[Any] = []
    pending = [birch.root_]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(s.child_ for s in reversed(node.subclusters_) if s.child_ is not None)
    position = {id(node): i for i, node in enumerate(nodes)}
    offsets = [0]
    for node in nodes:
        subclusters += node.subclusters_
        offsets.append(len(subclusters))
    leaves = []
    leaf = birch.dummy_leaf_.next_leaf_
    while leaf is not None:
        leaves.append(position[id(leaf)])
        leaf = leaf.next_leaf_
    width = birch.root_.n_features
    return {
        "n_features": width,
        "dtype": str(birch.root_.init_centroids_.dtype),
        "is_leaf": np.array([node.is_leaf for node in nodes], dtype=bool),
        "init_centroids": np.stack([node.init_centroids_ for node in nodes]),
        "init_sq_norm": np.stack([node.init_sq_norm_ for node in nodes]),
        "offsets": np.asarray(offsets, dtype=np.int64),
        "n_samples": np.array([s.n_samples_ for s in subclusters], dtype=np.int64),
        "linear_sum": np.reshape([s.linear_sum_ for s in subclusters], (-1, width)),
        "squared_sum": np.array([s.squared_sum_ for s in subclusters], dtype=np.float64),
        "centroid": np.reshape([s.centroid_ for s in subclusters], (-1, width)),
        "sq_norm": np.array([s.sq_norm_ for s in subclusters], dtype=np.float64),
        "child": np.array(
            [-1 if s.child_ is None else position[id(s.child_)] for s in subclusters],
            dtype=np.int64,
        ),
        "leaves": np.asarray(leaves, dtype=np.int64),
    }


def rebuild_tree(birch: Any, tree: dict[str, Any]) -> None:
    """Give ``birch`` the CF-tree that ``flatten_tree`` laid out."""
    from sklearn.cluster._birch import _CFNode, _CFSubcluster

    def node(i: int) -> Any:
        return _CFNode(
            threshold=birch.threshold,
            branching_factor=birch.branching_factor,
            is_leaf=bool(tree["is_leaf"][i]),
            n_features=int(tree["n_features"]),
            dtype=np.dtype(tree["dtype"]),
        )

    nodes = [node(i) for i in range(len(tree["is_leaf"]))]
    subclusters = []
    for j in range(len(tree["n_samples"])):
        sub = _CFSubcluster()
        sub.n_samples_ = int(tree["n_samples"][j])
        sub.linear_sum_ = np.array(tree["linear_sum"][j])
        sub.squared_sum_ = float(tree["squared_sum"][j])
        sub.centroid_ = np.array(tree["centroid"][j])
        sub.sq_norm_ = float(tree["sq_norm"][j])
        child = int(tree["child"][j])
        sub.child_ = None if child < 0 else nodes[child]
        subclusters.append(sub)
    for i, current in enumerate(nodes):
        first, last = int(tree["offsets"][i]), int(tree["offsets"][i + 1])
        current.subclusters_ = subclusters[first:last]
        current.init_centroids_ = np.array(tree["init_centroids"][i])
        current.init_sq_norm_ = np.array(tree["init_sq_norm"][i])
        current.centroids_ = current.init_centroids_[: last - first, :]
        current.squared_norm_ = current.init_sq_norm_[: last - first]
    birch.root_ = nodes[0]
    birch.dummy_leaf_ = node(0)
    birch.dummy_leaf_.is_leaf = True
    previous = birch.dummy_leaf_
    for index in tree["leaves"]:
        leaf = nodes[int(index)]
        previous.next_leaf_, leaf.prev_leaf_ = leaf, previous
        previous = leaf


class StorableBirch(ClusterMixin, TransformerMixin, BaseEstimator):
    """scikit-learn's ``Birch`` with ``params``, storable with skops; the fitted one is ``birch_``.

    Examples
    --------
    >>> import copy
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> model = StorableBirch({"n_clusters": 3}).partial_fit(X[:100])
    >>> again = copy.deepcopy(model).partial_fit(X[100:])
    >>> direct = model.birch_.partial_fit(X[100:])
    >>> bool((again.predict(X) == direct.predict(X)).all())
    True
    """

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params = params

    def _new(self) -> Any:
        from sklearn.cluster import Birch

        return Birch(**(self.params or {}))

    def fit(self, X: Any, y: Any = None) -> StorableBirch:
        self.birch_ = self._new().fit(X)
        self.n_features_in_ = self.birch_.n_features_in_
        return self

    def partial_fit(self, X: Any = None, y: Any = None) -> StorableBirch:
        birch = self.birch_ if hasattr(self, "birch_") else self._new()
        self.birch_ = birch.partial_fit(X)
        self.n_features_in_ = self.birch_.n_features_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(self.birch_.predict(X))

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(self.birch_.transform(X))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        birch = state.pop("birch_", None)
        if birch is not None:
            fitted = {k: v for k, v in vars(birch).items() if k not in _TREE}
            state["birch_state_"] = {"fitted": fitted, "tree": flatten_tree(birch)}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        stored = state.pop("birch_state_", None)
        super().__setstate__(state)
        if stored is not None:
            birch = self._new()
            birch.__dict__.update(stored["fitted"])
            rebuild_tree(birch, stored["tree"])
            self.birch_ = birch
