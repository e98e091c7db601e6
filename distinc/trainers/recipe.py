"""The model a store trains, built from its spec: the estimator, encoded and scaled as asked.

* With numeric features only and no scaling, the model is the estimator itself.
* Categorical features get a ``CategoryEncoder`` in front (stateless, fixed width), so the
  model's input never changes width as vocabularies grow.
* ``scale`` puts a ``partial_fit`` scaler between the encoder and a streamed estimator, or
  inside every ensemble member (each member keeps the scaling of the rows it learned).
* ``Birch`` becomes ``StorableBirch``, which skops can store.
* The ensemble strategy wraps the estimator in a ``DeltaEnsembleClassifier`` or
  ``DeltaEnsembleRegressor``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from distinc.estimators import build_estimator
from distinc.exceptions import ConfigurationError
from distinc.models.birch import StorableBirch
from distinc.models.encoding import CategoryEncoder
from distinc.models.ensemble import DeltaEnsembleClassifier, DeltaEnsembleRegressor
from distinc.models.pipeline import IncrementalPipeline
from distinc.spec import ModelSpec
from distinc.trainers.base import TrainingJob

# Families whose partial_fit counts rows: a second pass over a delta would count it twice.
_COUNTING_MODULES = ("sklearn.naive_bayes", "sklearn.preprocessing")
_COUNTING_NAMES = ("IncrementalPCA", "Birch")


def _scaler(kind: str) -> Any:
    from sklearn.preprocessing import MaxAbsScaler, StandardScaler

    return {"standard": StandardScaler, "maxabs": MaxAbsScaler}[kind]()


def storable(estimator: Any) -> Any:
    """``estimator``, or a form of it that skops can store (``Birch``'s tree is cyclic)."""
    from sklearn.cluster import Birch

    return StorableBirch(estimator.get_params()) if type(estimator) is Birch else estimator


def encoder_of(spec: ModelSpec) -> CategoryEncoder | None:
    """The encoder of ``spec``'s categorical features, ready to use; ``None`` without any."""
    if not spec.categorical:
        return None
    columns = tuple(spec.features.index(name) for name in spec.categorical)
    encoder = CategoryEncoder(
        len(spec.features),
        categorical=columns,
        encoding=spec.options.encoding,
        width=spec.options.encoding_width,
    )
    # The encoding is stateless: fitting only records the input width.
    return encoder.fit(np.zeros((1, len(spec.features))))


def member_template(spec: ModelSpec) -> Any:
    """The unfitted estimator each ensemble member is cloned from."""
    estimator = build_estimator(spec.estimator, spec.params)
    if spec.options.scale == "none":
        return estimator
    return Pipeline([("scale", _scaler(spec.options.scale)), ("model", estimator)])


def fresh_model(spec: ModelSpec) -> Any:
    """The unfitted model of ``spec``'s first version."""
    steps: list[tuple[str, Any]] = []
    encoder = encoder_of(spec)
    if encoder is not None:
        steps.append(("encode", encoder))
    if spec.strategy == "ensemble":
        options = spec.options
        classifier = spec.task == "classification"
        core = (DeltaEnsembleClassifier if classifier else DeltaEnsembleRegressor)(
            member_template(spec),
            max_members=options.max_members,
            decay_half_life=options.decay_half_life,
            combiner=options.combiner,
            stacking_fraction=options.stacking_fraction,
        )
        if classifier:
            core.set_params(allow_new_classes=options.allow_new_classes)
        steps.append(("model", core))
    else:
        if spec.options.scale != "none":
            steps.append(("scale", _scaler(spec.options.scale)))
        steps.append(("model", storable(build_estimator(spec.estimator, spec.params))))
    return steps[0][1] if len(steps) == 1 else IncrementalPipeline(steps)


def counts_rows(estimator: Any) -> bool:
    """Whether ``estimator``'s ``partial_fit`` accumulates counts (naive Bayes, scalers...).

    Examples
    --------
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.neural_network import MLPClassifier
    >>> counts_rows(GaussianNB()), counts_rows(MLPClassifier())
    (True, False)
    """
    cls = type(estimator)
    return cls.__module__.startswith(_COUNTING_MODULES) or cls.__name__ in _COUNTING_NAMES


def check_recipe(spec: ModelSpec, estimator: Any) -> None:
    """Refuse combinations of strategy, estimator and options that cannot work."""
    spec.options.check_strategy(spec.strategy, model=spec.model)
    if spec.strategy == "ensemble" and spec.task == "unsupervised":
        raise ConfigurationError(
            f"{spec.model} is unsupervised and has no partial_fit; an ensemble of per-delta "
            "models cannot combine unsupervised outputs. Use an estimator with partial_fit "
            "(MiniBatchKMeans, IncrementalPCA, Birch).",
            strategy=spec.strategy,
        )
    if spec.options.epochs > 1 and counts_rows(estimator):
        raise ConfigurationError(
            f"The 'epochs' option applies to iterative learners (MLP, SGD...); {spec.model} "
            "counts rows, so a second pass over a delta would count it twice.",
            option="epochs",
        )
    if spec.strategy in ("stream", "merge", "ensemble"):
        fresh_model(spec)


def with_vocabularies(job: TrainingJob) -> TrainingJob:
    """``job`` reading categorical features with the vocabularies this update pins.

    The codes of a delta's new categories are fixed only once every partition is admitted, so
    this waits for admission.
    """
    if not job.spec.categorical:
        return job
    categories = job.delta.admission().categories
    return dataclasses.replace(
        job, contract=dataclasses.replace(job.contract, vocabularies=dict(categories))
    )
