"""What XGBoost would refuse is refused by distinc first, in one line naming what is wrong:
parameters at init, labels outside the objective's range, a validation set the model cannot
take; an XGBoostError while training is one line too, and nothing is committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import distinc
from distinc.exceptions import (
    ConfigurationError,
    DataError,
    InvalidValueError,
    SchemaError,
    UnseenLabelError,
)
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


def text_feature(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(x1="abc")


def numeric_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(x1=frame["x1"].astype(str))


def unseen_label(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(label=frame["label"].where(frame.index > 0, 7))


def no_x2(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="x2")


TEXT = "Column 'x1' of partition 'v.parquet' is large_string"


@pytest.mark.parametrize(
    ("spoil", "error", "message", "backend"),
    [
        (text_feature, SchemaError, TEXT, "local"),
        (numeric_text, SchemaError, TEXT, "local"),
        (no_x2, SchemaError, "Partition 'v.parquet' has no column 'x2'", "local"),
        (unseen_label, UnseenLabelError, "Partition 'v.parquet' has label 7", "local"),
        (unseen_label, UnseenLabelError, "Partition 'v.parquet' has label 7", "dask"),
    ],
    ids=["text", "numeric-text", "missing-column", "unseen-label", "unseen-label-dask"],
)  # fmt: skip
def test_a_validation_set_the_model_cannot_take_fails_before_training(
    tmp_path: Path, client: Any, spoil: Any, error: type, message: str, backend: str
) -> None:
    data, validation = tmp_path / "data", tmp_path / "validation"
    write_partition(data, "a.parquet", make_frame(200, seed=1))
    write_partition(validation, "v.parquet", spoil(make_frame(100, seed=2)))
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="xgboost",
        options=distinc.TrainingOptions(
            rounds=3, validation=str(validation), early_stopping_rounds=2, xgb_backend=backend
        ),
    )
    with pytest.raises(error, match=f"^The validation dataset '{validation}' .*{message}"):
        model.update(client=client)
    assert_nothing_committed(model, tmp_path / "store")


def test_a_validation_path_that_does_not_exist_is_refused_at_init(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(100, seed=1))
    with pytest.raises(
        DataError, match="No data at .*absent.*Check 'validation' and any 'storage_op"
    ):
        distinc.init(
            str(tmp_path / "store"),
            data=str(data),
            target="label",
            model="xgboost",
            options=distinc.TrainingOptions(validation=str(tmp_path / "absent")),
        )
    assert not (tmp_path / "store").exists()


def test_refusals_in_the_python_api_name_options_not_flags(tmp_path: Path) -> None:
    data = regression_data(tmp_path / "data", lambda frame: frame["x0"])
    with pytest.raises(ConfigurationError) as refused:
        distinc.init(
            str(tmp_path / "store"),
            data=str(data),
            target="label",
            model="XGBRegressor",
            params={"booster": "gblinear"},
            options=distinc.TrainingOptions(rounds=3, xgb_mode="refresh"),
        )
    assert "refuses the parameter 'booster' ('gblinear') with the 'xgb_mode' option 'refresh'" in (
        str(refused.value)
    )
    assert refused.value.details["parameter"] == "booster" and "--" not in str(refused.value)
