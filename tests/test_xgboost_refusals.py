"""What XGBoost would refuse is refused by distinc first, in one line naming what is wrong:
parameters at init, labels outside the objective's range; an XGBoostError while training is one
line too, and nothing is committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import distinc
from distinc.exceptions import ConfigurationError, InvalidValueError
from tests.conftest import make_frame, run_cli, write_partition


def regression_data(folder: Path, labels: Any) -> Path:
    frame = make_frame(200, seed=1)
    frame["label"] = labels(frame)
    write_partition(folder, "b.parquet", frame)
    return folder


def regressor(tmp_path: Path, data: Path, **params: Any) -> distinc.IncrementalModel:
    return distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="XGBRegressor",
        params=params,
        options=distinc.TrainingOptions(rounds=3),
    )


def assert_nothing_committed(model: distinc.IncrementalModel, store: Path) -> None:
    assert model.version is None and not list((store / "ledger").glob("*.json"))


def test_several_quantiles_are_refused_at_init_and_one_quantile_predicts(
    tmp_path: Path, client: Any
) -> None:
    data = regression_data(tmp_path / "data", lambda frame: frame["x0"])
    with pytest.raises(ConfigurationError, match="predicts 3 values per row .quantile_alpha"):
        regressor(tmp_path, data, objective="reg:quantileerror", quantile_alpha=[0.1, 0.5, 0.9])
    assert not (tmp_path / "store").exists()
    model = regressor(tmp_path, data, objective="reg:quantileerror", quantile_alpha=0.5)
    model.update(client=client)
    model.predict(str(data), out=str(tmp_path / "out"), client=client)
    scored = pd.read_parquet(tmp_path / "out" / "b.parquet")
    assert list(scored.columns) == ["prediction"] and len(scored) == 200


@pytest.mark.parametrize(
    ("objective", "labels", "message"),
    [
        ("count:poisson", lambda frame: frame["x0"], r"below 0.0 .*'count:poisson' needs .* >= 0"),
        ("reg:logistic", lambda frame: frame["x0"].abs() + 0.5, r"above 1.0 .*needs labels in \["),
    ],
    ids=["poisson", "logistic"],
)
def test_labels_outside_the_objectives_range_fail_naming_the_partition(
    tmp_path: Path, client: Any, objective: str, labels: Any, message: str
) -> None:
    model = regressor(tmp_path, regression_data(tmp_path / "data", labels), objective=objective)
    with pytest.raises(InvalidValueError, match=f"partition 'b.parquet' has .*{message}"):
        model.update(client=client)
    assert_nothing_committed(model, tmp_path / "store")


def test_an_xgboost_error_while_training_is_one_line_and_commits_nothing(
    tmp_path: Path, scheduler_address: str
) -> None:
    """Ranking takes whole relevance degrees, which XGBoost checks only once it trains."""
    data = regression_data(tmp_path / "data", lambda frame: frame["x0"].abs())
    model = regressor(tmp_path, data, objective="rank:ndcg")
    result = run_cli("update", str(tmp_path / "store"), "--scheduler", scheduler_address,
                     check=False)  # fmt: skip
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1, result.stderr
    assert last.startswith("distinc: error: XGBoost could not train version 1 (XGBoostError: ")
    assert "label must be either 0 or positive integer" in last and "nothing was committed" in last
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert_nothing_committed(model, tmp_path / "store")
