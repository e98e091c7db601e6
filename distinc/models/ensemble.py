"""Per-delta ensembles: every update trains one new member on the new rows only.

Any scikit-learn estimator becomes incremental this way, even one without ``partial_fit``
(random forests, gradient boosting, SVMs, k-nearest neighbours, your own class): ``fit``
trains the first member, each ``partial_fit`` adds one, and a window of ``max_members``
retires the oldest. Classifiers combine members by a weighted soft vote over the union of
their classes, regressors by a weighted mean. A member's weight is its rows, halved every
``decay_half_life`` versions of age; with ``combiner="stacking"`` the weights are instead
learned on a held-out slice of each new batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.dummy import DummyClassifier
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from distinc.models.combine import (
    aligned_proba,
    holdout_mask,
    member_weights,
    one_hot,
    stacking_weights,
)

_MAX_SEED = np.iinfo(np.int32).max


@dataclass(frozen=True)
class Member:
    """A fitted member and the rows (or total sample weight) it learned from."""

    estimator: Any
    rows: float


def member_seed(random_state: Any, version: int) -> int | None:
    """The seed of the member trained at ``version``; ``None`` leaves members unseeded.

    Examples
    --------
    >>> member_seed(0, 1) == member_seed(0, 1) != member_seed(0, 2)
    True
    >>> member_seed(None, 3) is None
    True
    """
    if random_state is None:
        return None
    if isinstance(random_state, Integral):
        state = np.random.SeedSequence([int(random_state), int(version)]).generate_state(1)
        return int(state[0]) % _MAX_SEED
    return int(check_random_state(random_state).randint(_MAX_SEED))


def fit_member(
    template: Any,
    features: Any,
    target: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    seed: int | None = None,
) -> Any:
    """A fitted clone of ``template``; unset ``random_state`` parameters get ``seed``.

    A classifier that refuses a single class (logistic regression, SVMs) is replaced, for a
    batch holding one class only, by a constant predictor of that class: that is all the batch
    says.
    """
    member = clone(template)
    if seed is not None:
        unseeded = {
            name: seed
            for name, value in member.get_params(deep=True).items()
            if name.endswith("random_state") and value is None
        }
        member.set_params(**unseeded)
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    try:
        return member.fit(features, target, **fit_params)
    except ValueError:
        if not is_classifier(template) or len(np.unique(target)) != 1:
            raise
        return DummyClassifier(strategy="prior").fit(features, target, **fit_params)


class _DeltaEnsemble(BaseEstimator):
    """What the classifier and the regressor share: members, weights, window, stacking."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "max_members": [Interval(Integral, 1, None, closed="left"), None],
        "decay_half_life": [Interval(Real, 0, None, closed="neither"), None],
        "weight_by_rows": ["boolean"],
        "combiner": [StrOptions({"vote", "stacking"})],
        "stacking_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        max_members: int | None = None,
        decay_half_life: float | None = None,
        weight_by_rows: bool = True,
        combiner: str = "vote",
        stacking_fraction: float = 0.2,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.max_members = max_members
        self.decay_half_life = decay_half_life
        self.weight_by_rows = weight_by_rows
        self.combiner = combiner
        self.stacking_fraction = stacking_fraction
        self.random_state = random_state

    # Subclass hooks -----------------------------------------------------------------------

    def _default_estimator(self) -> Any:
        raise NotImplementedError

    def _check_target(self, target: np.ndarray, classes: Any, *, first: bool) -> None:
        """Validate ``target`` (and pin or extend classes, for classifiers)."""

    def _absorb_classes(self, classes: Any, members: Sequence[Member]) -> None:
        """Make the ensemble's classes cover ``classes`` and the members' (classifiers)."""

    def _outputs(self, member: Any, features: Any) -> np.ndarray:
        raise NotImplementedError

    def _stacking_target(self, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # Shared machinery ---------------------------------------------------------------------

    def _template(self) -> Any:
        return self._default_estimator() if self.estimator is None else self.estimator

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self._template())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

    def _validate(self, features: Any, target: Any = None, *, reset: bool, fit: bool) -> Any:
        tags = get_tags(self._template())
        options = {
            "accept_sparse": ["csr", "csc"] if tags.input_tags.sparse else False,
            "ensure_all_finite": "allow-nan" if tags.input_tags.allow_nan else True,
            "reset": reset,
        }
        if not fit:
            return validate_data(self, features, **options)
        return validate_data(self, features, target, y_numeric=not is_classifier(self), **options)

    def _reset(self) -> None:
        self.estimators_: list[Any] = []
        self.member_rows_ = np.empty(0, dtype=np.float64)
        self.member_versions_ = np.empty(0, dtype=np.int64)
        self.version_ = 0
        self.stacking_weights_: np.ndarray | None = None
        self.weights_ = np.empty(0, dtype=np.float64)

    def _learn(self, features: Any, target: Any, sample_weight: Any, classes: Any) -> Any:
        """Train one member on a batch and add it; the first call starts the ensemble."""
        first = not hasattr(self, "estimators_")
        if first:
            self._validate_params()
        features, target = self._validate(features, target, reset=first, fit=True)
        self._check_target(target, classes, first=first)
        if sample_weight is not None:
            if not has_fit_parameter(self._template(), "sample_weight"):
                raise ValueError(
                    f"{type(self._template()).__name__} does not accept sample_weight."
                )
            sample_weight = _check_sample_weight(sample_weight, features)
        if first:
            self._reset()
        version = self.version_ + 1
        held = np.zeros(len(target), dtype=bool)
        if self.combiner == "stacking" and self.estimators_:
            seed = member_seed(self.random_state, version)
            held = holdout_mask(len(target), self.stacking_fraction, 0 if seed is None else seed)
            if held.sum() < 2 or held.all():
                held[:] = False
        kept = ~held
        weight = None if sample_weight is None else sample_weight[kept]
        member = fit_member(
            self._template(),
            features[kept],
            target[kept],
            sample_weight=weight,
            seed=member_seed(self.random_state, version),
        )
        rows = float(kept.sum()) if weight is None else float(weight.sum())
        holdout = (features[held], target[held]) if held.any() else None
        return self.add_members([Member(member, rows)], version=version, holdout=holdout)

    def add_members(
        self,
        members: Sequence[Member],
        *,
        version: int | None = None,
        classes: Any = None,
        holdout: tuple[Any, np.ndarray] | None = None,
    ) -> Any:
        """Add members fitted elsewhere, as one update; returns ``self``.

        This is how distinc's engine grows the ensemble after training members in parallel on
        its workers. ``version`` stamps the members' age (default: one more than the newest);
        ``classes`` are classes the ensemble must know even if no member saw them;
        ``holdout`` is an ``(X, y)`` slice no member learned, used by the stacking combiner.
        """
        if not members:
            return self
        if not hasattr(self, "estimators_"):
            self._validate_params()
            self._reset()
            width = getattr(members[0].estimator, "n_features_in_", None)
            if width is not None:
                self.n_features_in_ = int(width)
        version = self.version_ + 1 if version is None else int(version)
        if version < self.version_:
            raise ValueError(f"Members of version {version} are older than the ensemble's.")
        self._absorb_classes(classes, members)
        self.estimators_ = [*self.estimators_, *(member.estimator for member in members)]
        self.member_rows_ = np.concatenate(
            [self.member_rows_, [float(member.rows) for member in members]]
        )
        self.member_versions_ = np.concatenate(
            [self.member_versions_, np.full(len(members), version, dtype=np.int64)]
        )
        self.version_ = version
        if self.max_members is not None and len(self.estimators_) > self.max_members:
            keep = slice(len(self.estimators_) - self.max_members, None)
            self.estimators_ = self.estimators_[keep]
            self.member_rows_ = self.member_rows_[keep]
            self.member_versions_ = self.member_versions_[keep]
        self.stacking_weights_ = None
        if self.combiner == "stacking" and holdout is not None and len(self.estimators_) > 1:
            held_features, held_target = holdout
            self.stacking_weights_ = stacking_weights(
                [self._outputs(member, held_features) for member in self.estimators_],
                self._stacking_target(np.asarray(held_target)),
            )
        self.weights_ = (
            self.stacking_weights_
            if self.stacking_weights_ is not None
            else member_weights(
                self.member_rows_,
                self.member_versions_,
                latest=self.version_,
                half_life=self.decay_half_life,
                by_rows=self.weight_by_rows,
            )
        )
        return self

    def _combined(self, features: Any) -> np.ndarray:
        check_is_fitted(self)
        features = self._validate(features, reset=False, fit=False)
        total: np.ndarray | None = None
        for weight, member in zip(self.weights_, self.estimators_, strict=True):
            if weight == 0:
                continue
            part = weight * self._outputs(member, features)
            total = part if total is None else total + part
        assert total is not None, "weights sum to 1, so some member has a positive weight"
        return total


class DeltaEnsembleClassifier(ClassifierMixin, _DeltaEnsemble):
    """A classifier that learns each new batch as a new member, for any base estimator.

    Parameters
    ----------
    estimator
        The unfitted estimator cloned for each member (default: a decision tree).
    max_members
        Keep at most this many members; the oldest retire first (default: keep all).
    decay_half_life
        A member's weight halves every this many versions of age (default: no decay).
    weight_by_rows
        Weigh members by the rows (or sample weight) they learned from.
    combiner
        ``"vote"``: weighted soft vote. ``"stacking"``: weights learned by non-negative least
        squares on a held-out slice of each new batch (the new member does not train on it).
    stacking_fraction
        The share of each new batch held out for the stacking combiner.
    allow_new_classes
        Accept labels outside ``classes_`` in ``partial_fit`` (they extend ``classes_``);
        otherwise such labels raise ``ValueError``.
    random_state
        Seeds members whose own ``random_state`` is unset, and the stacking hold-out.

    Attributes
    ----------
    estimators_
        The members, oldest first. ``member_rows_`` and ``member_versions_`` hold each one's
        rows and the version that trained it; ``weights_`` their current vote weights.
    classes_
        The sorted union of the classes of every member and every declared class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = DeltaEnsembleClassifier(LogisticRegression(), max_members=2)
    >>> model = model.fit(X[:100], y[:100]).partial_fit(X[100:200], y[100:200])
    >>> model = model.partial_fit(X[200:], y[200:])
    >>> len(model.estimators_), model.member_versions_.tolist(), model.score(X, y) > 0.9
    (2, [2, 3], True)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_DeltaEnsemble._parameter_constraints,
        "allow_new_classes": ["boolean"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        max_members: int | None = None,
        decay_half_life: float | None = None,
        weight_by_rows: bool = True,
        combiner: str = "vote",
        stacking_fraction: float = 0.2,
        allow_new_classes: bool = False,
        random_state: Any = None,
    ) -> None:
        super().__init__(
            estimator,
            max_members=max_members,
            decay_half_life=decay_half_life,
            weight_by_rows=weight_by_rows,
            combiner=combiner,
            stacking_fraction=stacking_fraction,
            random_state=random_state,
        )
        self.allow_new_classes = allow_new_classes

    def _default_estimator(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DeltaEnsembleClassifier:
        """Start over with one member trained on ``X``, ``y``."""
        for name in ("estimators_", "classes_"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X, y, sample_weight=sample_weight)

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> DeltaEnsembleClassifier:
        """Add one member trained on ``X``, ``y`` (the first call may declare ``classes``)."""
        self._learn(X, y, sample_weight, classes)
        return self

    def _check_target(self, target: np.ndarray, classes: Any, *, first: bool) -> None:
        check_classification_targets(target)
        labels = np.unique(target)
        if first:
            declared = labels if classes is None else np.unique(np.asarray(classes))
            unknown = np.setdiff1d(labels, declared)
            if unknown.size:
                raise ValueError(f"The labels {unknown.tolist()} are not in classes.")
            self.classes_ = declared
            return
        unknown = np.setdiff1d(labels, self.classes_)
        if unknown.size and not self.allow_new_classes:
            raise ValueError(
                f"The labels {unknown.tolist()} are not among the classes "
                f"{self.classes_.tolist()} this ensemble learned; pass "
                "allow_new_classes=True to let new members add classes."
            )

    def _absorb_classes(self, classes: Any, members: Sequence[Member]) -> None:
        known = [np.asarray(member.estimator.classes_) for member in members]
        if classes is not None:
            known.append(np.asarray(classes))
        if hasattr(self, "classes_"):
            known.append(self.classes_)
        self.classes_ = np.unique(np.concatenate([labels for labels in known if labels.size]))

    def _outputs(self, member: Any, features: Any) -> np.ndarray:
        return aligned_proba(member, features, self.classes_)

    def _stacking_target(self, target: np.ndarray) -> np.ndarray:
        return one_hot(target, self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The members' class probabilities, averaged with the ensemble's weights."""
        return self._combined(X)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])


class DeltaEnsembleRegressor(RegressorMixin, _DeltaEnsemble):
    """A regressor that learns each new batch as a new member, for any base estimator.

    The parameters and attributes are the classifier's (``DeltaEnsembleClassifier``) except
    the class handling; members' predictions are averaged with the ensemble's weights. The
    default member is a decision tree.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = X @ [2.0, -1.0]
    >>> model = DeltaEnsembleRegressor(Ridge(alpha=1e-6), decay_half_life=1.0)
    >>> model = model.fit(X[:100], y[:100]).partial_fit(X[100:], y[100:])
    >>> model.weights_.round(3).tolist(), round(model.score(X, y), 6)
    ([0.333, 0.667], 1.0)
    """

    def _default_estimator(self) -> Any:
        from sklearn.tree import DecisionTreeRegressor

        return DecisionTreeRegressor()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DeltaEnsembleRegressor:
        """Start over with one member trained on ``X``, ``y``."""
        self.__dict__.pop("estimators_", None)
        return self.partial_fit(X, y, sample_weight=sample_weight)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> DeltaEnsembleRegressor:
        """Add one member trained on ``X``, ``y``."""
        self._learn(X, y, sample_weight, None)
        return self

    def _check_target(self, target: np.ndarray, classes: Any, *, first: bool) -> None:
        if not np.issubdtype(np.asarray(target).dtype, np.number):
            raise ValueError("DeltaEnsembleRegressor needs a numeric target.")

    def _outputs(self, member: Any, features: Any) -> np.ndarray:
        return np.asarray(member.predict(features), dtype=np.float64)

    def _stacking_target(self, target: np.ndarray) -> np.ndarray:
        return np.asarray(target, dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The members' predictions, averaged with the ensemble's weights."""
        return self._combined(X)
