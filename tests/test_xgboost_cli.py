"""``distinc`` with ``--model xgboost`` as a user runs it: subprocesses, real Dask processes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import distinc
from tests.clusterproc import process_cluster
from tests.conftest import make_frame, run_cli, write_partition
from tests.xgbdata import city_frame


def init_args(store: str, data: Path, *extra: str) -> list[str]:
    return [
        "init", store, "--data", str(data), "--target", "label", "--model", "xgboost",
        "--param", "max_depth=3", "--param", "eta=0.3", "--param", "objective=binary:logistic",
        "--rounds", "8", "--update-rounds", "3", *extra,
    ]  # fmt: skip


def test_init_pins_the_xgboost_options(tmp_path: Path, data_dir: Path) -> None:
    store = str(tmp_path / "store")
    run_cli(
        *init_args(
            store,
            data_dir,
            "--xgb-mode",
            "add+refresh",
            "--replay-fraction",
            "0.2",
            "--decay-half-life",
            "3",
        )
    )
    options = distinc.open(store).spec.options
    assert (options.rounds, options.update_rounds, options.xgb_mode) == (8, 3, "add+refresh")
    assert (options.replay_fraction, options.decay_half_life) == (0.2, 3.0)
    assert options.xgb_backend == "auto" and options.reservoir_rows == 100_000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--replay-fraction", "1.5"], "--replay-fraction option must be a number in"),
        (
            ["--early-stopping-rounds", "5"],
            "The --early-stopping-rounds option needs a --validation dataset to stop on; set the "
            "--validation option too.",
        ),
        (
            ["--param", "n_estimators=50"],
            "The 'n_estimators' parameter is set by distinc for the xgboost strategy; use the "
            "--rounds and --update-rounds options instead.",
        ),
        (
            ["--param", "early_stopping_rounds=5"],
            "The 'early_stopping_rounds' parameter is set by distinc for the xgboost strategy; use "
            "the --early-stopping-rounds and --validation options instead.",
        ),
        (["--param", "max_depth=-3"], "refuses the parameter 'max_depth' (-3): value -3 for"),
        (["--param", "learning_rate=abc"], "refuses the parameter 'learning_rate' ('abc')"),
        (["--param", "tree_method=bogus"], "refuses the parameter 'tree_method' ('bogus')"),
        (
            ["--param", "booster=gblinear", "--xgb-mode", "refresh"],
            "refuses the parameter 'booster' ('gblinear') with the --xgb-mode option 'refresh': "
            "Unknown",
        ),
        (["--param", "no_such_param=1"], "does not use the parameter 'no_such_param'"),
    ],
)
def test_bad_xgboost_settings_fail_init_in_one_line(
    tmp_path: Path, data_dir: Path, extra: list[str], message: str
) -> None:
    store = tmp_path / "store"
    result = run_cli(*init_args(str(store), data_dir, *extra), check=False)
    assert result.returncode == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not store.exists()


@pytest.mark.cluster
def test_an_update_on_a_real_scheduler_and_two_workers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i in range(2):
        write_partition(data, f"a-{i}.parquet", city_frame(300, seed=i))
    store = str(tmp_path / "store")
    run_cli(*init_args(store, data, "--xgb-backend", "dask"))
    with process_cluster(workers=2) as cluster:
        first = json.loads(
            run_cli("update", store, "--scheduler", cluster.address, "--json").stdout
        )
        write_partition(data, "b.parquet", city_frame(200, seed=9, cities=("aachen", "oslo")))
        env = {"DASK_SCHEDULER_ADDRESS": cluster.address}
        second = json.loads(run_cli("update", store, "--json", env=env).stdout)
        run_cli("predict", store, "--data", str(data), "--out", str(tmp_path / "out"), env=env)
    assert first["version"] == 1 and second["partitions"] == ["b.parquet"]
    model = distinc.open(store)
    notes = model.entry().notes
    assert notes["backend"] == "dask" and (notes["rounds"], notes["rounds_added"]) == (11, 3)
    scored = pd.read_parquet(tmp_path / "out" / "b.parquet")
    frame = pd.read_parquet(data / "b.parquet")
    assert len(scored) == 200 and set(scored.columns) == {"prediction", "proba_0", "proba_1"}
    assert (scored["prediction"] == frame["label"]).mean() > 0.7
    assert model.verify() == []


def test_the_local_backend_through_the_cli(
    tmp_path: Path, data_dir: Path, scheduler_address: str
) -> None:
    store = str(tmp_path / "store")
    on_cluster = ["--scheduler", scheduler_address]
    run_cli(*init_args(store, data_dir))
    first = json.loads(run_cli("update", store, *on_cluster, "--json").stdout)
    assert first["version"] == 1
    assert distinc.open(store).entry().notes["backend"] == "local"
    write_partition(data_dir, "more.parquet", make_frame(100, seed=50))
    evaluated = json.loads(
        run_cli("evaluate", store, "--data", str(data_dir), *on_cluster, "--json").stdout
    )
    metrics = evaluated[-1]["metrics"]
    assert evaluated[-1]["version"] == 1
    assert metrics["rows"] == 1600 and metrics["roc_auc"] > 0.9


def test_a_refresh_update_prints_no_xgboost_updater_warning(
    tmp_path: Path, data_dir: Path, scheduler_address: str
) -> None:
    # XGBoost warns that the refresh updater was chosen by hand, once per process, from the
    # thread that trains: the update runs on its own cluster, whose fresh workers share its stderr.
    store = str(tmp_path / "store")
    run_cli(*init_args(store, data_dir, "--xgb-mode", "refresh"))
    run_cli("update", store, "--scheduler", scheduler_address)
    write_partition(data_dir, "more.parquet", make_frame(100, seed=50))
    refreshed = run_cli("update", store)
    assert distinc.open(store).entry().notes["sessions"] == ["refresh"]
    assert "updater" not in refreshed.stderr, refreshed.stderr
