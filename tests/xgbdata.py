"""Small tables for the XGBoost tests: numeric features, a city column, a label that uses both."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tests.conftest import FEATURES

EFFECT = {"aachen": -2.0, "amsterdam": 1.5, "oslo": -1.0}


def city_frame(rows: int, seed: int, cities: Sequence[str] = ("amsterdam", "oslo")) -> pd.DataFrame:
    """A binary label driven by ``x0``, ``x1`` and the city."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    frame["city"] = rng.choice(list(cities), size=rows)
    score = frame["x0"] - 0.5 * frame["x1"] + frame["city"].map(EFFECT)
    frame["label"] = (score + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    return frame


def noisy_frame(rows: int, seed: int) -> pd.DataFrame:
    """A weak signal under heavy noise: boosting overfits it within a few rounds."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    frame["label"] = (0.3 * frame["x0"] + rng.normal(size=rows) > 0).astype("int64")
    return frame
