"""The stored XGBoost model: a booster plus what prediction needs, saved as XGBoost UBJSON.

The artifact is a plain XGBoost model file (``Booster.save_raw("ubj")``), loadable by any
XGBoost; distinc's header (task, classes, feature names) rides in the booster's string
attributes, as XGBoost's own scikit-learn wrapper stores its metadata. No pickle is involved.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from distinc.exceptions import IntegrityError

FORMAT = "ubj"
HEADER = "distinc"
HEADER_FORMAT = 1


class BoostedModel:
    """A trained XGBoost booster with the small estimator interface distinc predicts with.

    ``features`` are the model's feature names in order; the booster knows which are
    categorical (feature type ``c``), read as category codes.
    """

    def __init__(
        self, booster: Any, *, task: str, features: Sequence[str], classes: Sequence[Any] | None
    ) -> None:
        self.booster = booster
        self.task = task
        self.features = tuple(features)
        self.classes = None if classes is None else tuple(classes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rounds={self.rounds}, features={len(self.features)})"

    @property
    def rounds(self) -> int:
        return int(self.booster.num_boosted_rounds())

    def dmatrix(self, features: np.ndarray) -> Any:
        import xgboost

        types = self.booster.feature_types
        return xgboost.DMatrix(
            features,
            feature_names=self.booster.feature_names,
            feature_types=types,
            enable_categorical=bool(types) and "c" in types,
        )

    def raw_predict(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(self.dmatrix(features)))

    def to_ubj(self) -> bytes:
        header = {
            "format": HEADER_FORMAT,
            "task": self.task,
            "features": list(self.features),
            "classes": None if self.classes is None else list(self.classes),
        }
        self.booster.set_attr(**{HEADER: json.dumps(header)})
        return bytes(self.booster.save_raw("ubj"))


class BoostedClassifier(BoostedModel):
    """Predicts class labels and probabilities over the pinned classes."""

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.classes)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        output = self.raw_predict(features)
        if output.ndim == 1:
            return np.column_stack([1.0 - output, output])
        return output

    def predict(self, features: np.ndarray) -> np.ndarray:
        index = np.argmax(self.predict_proba(features), axis=1)
        return self.classes_[index]


class BoostedRegressor(BoostedModel):
    """Predicts the booster's output."""

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.raw_predict(features)


def boosted_model(
    booster: Any, *, task: str, features: Sequence[str], classes: Sequence[Any] | None
) -> BoostedModel:
    cls = BoostedClassifier if task == "classification" else BoostedRegressor
    return cls(booster, task=task, features=features, classes=classes)


def dump_ubj(model: Any) -> bytes:
    if not isinstance(model, BoostedModel):
        raise IntegrityError(
            f"The 'ubj' format holds XGBoost models; got {type(model).__name__}.", format=FORMAT
        )
    return model.to_ubj()


def load_ubj(data: bytes, *, where: str) -> BoostedModel:
    """Load an artifact written by ``dump_ubj``; anything else is refused, never unpickled."""
    import xgboost

    # A UBJSON document is an object: it starts with '{'. Pickles and zips do not.
    if not data.startswith(b"{"):
        raise IntegrityError(
            f"Artifact {where} is not an XGBoost UBJSON model; distinc never loads pickles. "
            "Restore the file or roll back to another version.",
            where=where,
        )
    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(data))
    except xgboost.core.XGBoostError as exc:
        raise IntegrityError(
            f"Artifact {where} is not a readable XGBoost model ({str(exc).splitlines()[0]}). "
            "Restore the file or roll back to another version.",
            where=where,
        ) from exc
    text = booster.attr(HEADER)
    try:
        header = json.loads(text) if text is not None else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != HEADER_FORMAT:
        raise IntegrityError(
            f"Artifact {where} is an XGBoost model without a distinc header; it was not "
            "written by this version of distinc.",
            where=where,
        )
    classes = header.get("classes")
    return boosted_model(
        booster,
        task=header["task"],
        features=header["features"],
        classes=None if classes is None else tuple(classes),
    )
