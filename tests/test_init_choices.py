"""What ``init`` refuses or settles about the columns, the classes and the data path, and a
classifier given a continuous target: each once let a wrong model be trained and committed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import distinc
from distinc.exceptions import ConfigurationError, UnseenLabelError
from tests.conftest import cli_init, make_frame, write_partition


def init(tmp_path: Path, data: Path, **choices: Any) -> Any:
    return distinc.init(str(tmp_path / "store"), data=str(data), model="SGDClassifier", **choices)


def test_the_target_is_refused_as_a_feature(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="'label' is listed as a feature") as error:
        init(tmp_path, data_dir, target="label", features=["x0", "label"])
    assert error.value.details["column"] == "label"
    assert not (tmp_path / "store").exists()


def test_a_feature_listed_twice_is_refused(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="'x0' is listed more than once"):
        init(tmp_path, data_dir, target="label", features=["x0", "x1", "x0"])


def test_numeric_classes_of_a_text_label_are_its_strings(tmp_path: Path, client: Any) -> None:
    data = tmp_path / "data"
    write_partition(data, "p0.parquet", make_frame(400, seed=1, classes=("1", "2", "3")))
    model = init(tmp_path, data, target="label", classes=[1, 2, 3])
    assert model.spec.classes == ("1", "2", "3")
    model.update(client=client)
    assert model.model().classes_.tolist() == ["1", "2", "3"]


def test_text_classes_of_a_numeric_label_are_refused(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="int64 .* 'a' is not a number") as error:
        init(tmp_path, data_dir, target="label", classes=["a", "b"])
    assert error.value.details["label"] == "a"


@pytest.mark.parametrize(
    ("classes", "message"),
    [("01", "a list of labels, not the string '01'"), ([0, 1, 0], "class 0 is declared more")],
)
def test_malformed_classes_are_refused(
    tmp_path: Path, data_dir: Path, classes: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        init(tmp_path, data_dir, target="label", classes=classes)


def test_a_relative_data_path_is_pinned_absolute(tmp_path: Path, data_dir: Path) -> None:
    """A cron job starting in another folder once failed to find (or found other) data."""
    (tmp_path / "elsewhere").mkdir()
    script = (
        "import distinc\n"
        "if __name__ == '__main__':\n"
        "    distinc.init('store', data='data', target='label', model='SGDClassifier')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=120)
    assert distinc.open(str(tmp_path / "store")).spec.data == str(data_dir)
    status = subprocess.run(
        [sys.executable, "-m", "distinc", "status", "../store"],
        cwd=tmp_path / "elsewhere",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr


def test_a_classifier_refuses_a_continuous_target(tmp_path: Path, client: Any) -> None:
    """XGBClassifier once learned 6,000 classes from a float target, and said nothing."""
    data = tmp_path / "data"
    frame = make_frame(300, seed=2)
    frame["label"] = np.random.default_rng(2).normal(size=len(frame))
    write_partition(data, "p0.parquet", frame)
    model = init(tmp_path, data, target="label")
    with pytest.raises(ConfigurationError, match="300 distinct values.*regressor") as error:
        model.update(client=client)
    assert error.value.details["column"] == "label"
    assert model.store.lineage().version is None


def test_float_labels_of_whole_numbers_stay_classes(tmp_path: Path, client: Any) -> None:
    data = tmp_path / "data"
    frame = make_frame(300, seed=3)
    frame["label"] = frame["label"].astype("float64")
    write_partition(data, "p0.parquet", frame)
    model = init(tmp_path, data, target="label")
    model.update(client=client)
    assert model.model().classes_.tolist() == [0.0, 1.0]


def test_a_long_class_list_is_cut_short_in_messages(tmp_path: Path, client: Any) -> None:
    data = tmp_path / "data"
    frame = pd.DataFrame({"x0": np.arange(400.0), "label": np.arange(400)})
    write_partition(data, "p0.parquet", frame)
    model = init(tmp_path, data, target="label")
    model.update(client=client)
    write_partition(data, "p1.parquet", frame.assign(label=frame["label"] + 1000))
    with pytest.raises(UnseenLabelError) as error:
        model.update(client=client)
    message = str(error.value)
    assert "... (400 in all)" in message and len(message) < 1000


def test_the_cli_names_the_target_listed_as_a_feature(tmp_path: Path, data_dir: Path) -> None:
    result = cli_init(str(tmp_path / "store"), data_dir, "--features", "x0,label", check=False)
    assert result.returncode == 1
    assert "'label' is listed as a feature" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_numpy_parameters_are_stored_as_plain_values(tmp_path: Path, data_dir: Path) -> None:
    """NumPy values once failed init with a bare "not JSON serializable" TypeError."""
    model = init(tmp_path, data_dir, target="label", params={"alpha": np.float64(1e-3)})
    assert model.spec.params == {"alpha": 0.001}
    assert type(model.spec.params["alpha"]) is float


def test_a_parameter_json_cannot_hold_is_refused_by_name(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="parameter 'class_weight' is set") as error:
        init(tmp_path, data_dir, target="label", params={"class_weight": {0, 1}})
    assert error.value.details["parameter"] == "class_weight"
    assert not (tmp_path / "store").exists()


def test_the_xgboost_strategy_is_refused_for_another_model(tmp_path: Path, data_dir: Path) -> None:
    """It was accepted, and the update then failed on a missing get_xgb_params (exit 3)."""
    with pytest.raises(ConfigurationError, match="not SGDClassifier; SGDClassifier can use"):
        init(tmp_path, data_dir, target="label", strategy="xgboost")


def test_an_unknown_strategy_lists_those_the_model_can_use(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"can use: \['ensemble', 'stream'\]"):
        init(tmp_path, data_dir, target="label", strategy="bogus")
