"""The command line as a cron job uses it: real subprocesses, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import SGDClassifier

import distinc
from tests.conftest import FEATURES, cli_init, make_frame, run_cli, write_partition


def test_the_whole_story_from_the_issue(
    tmp_path: Path, data_dir: Path, scheduler_address: str
) -> None:
    store = str(tmp_path / "store")
    on_cluster = ["--scheduler", scheduler_address]
    cli_init(store, data_dir, "--param", "loss=log_loss", "--param", "random_state=0")
    first = json.loads(run_cli("update", store, *on_cluster, "--json").stdout)
    assert first["version"] == 1 and len(first["partitions"]) == 3
    for i in range(3, 8):
        write_partition(data_dir, f"part-{i:02d}.parquet", make_frame(200, seed=i))

    plan = json.loads(run_cli("update", store, "--dry-run", "--json", *on_cluster).stdout)
    assert plan["new"] == [f"part-{i:02d}.parquet" for i in range(3, 8)]
    second = json.loads(run_cli("update", store, *on_cluster, "--json").stdout)
    assert second["version"] == 2 and second["partitions"] == plan["new"]
    assert second["parent"] == 1 and second["rows"] == 1000

    again = run_cli("update", store, *on_cluster)
    assert again.returncode == 0 and "up to date at version 2" in again.stdout
    assert json.loads(run_cli("update", store, *on_cluster, "--json").stdout) == {
        "version": 2,
        "noop": True,
    }

    status = json.loads(run_cli("status", store, "--json").stdout)
    assert {
        k: status[k] for k in ("version", "model", "strategy", "new", "modified", "missing")
    } == {
        "version": 2,
        "model": "SGDClassifier",
        "strategy": "stream",
        "new": [],
        "modified": [],
        "missing": [],
    }
    assert len(status["trained"]) == 8

    history = json.loads(run_cli("history", store, "--json").stdout)
    assert [h["version"] for h in history] == [1, 2]
    assert set(history[0]) >= {
        "version",
        "parent",
        "created_at",
        "strategy",
        "partitions",
        "rows",
        "seconds",
    }

    expected = SGDClassifier(loss="log_loss", random_state=0)
    for path in sorted(data_dir.glob("*.parquet")):
        frame = pq.read_table(path).to_pandas()
        expected.partial_fit(frame[FEATURES], frame["label"], classes=[0, 1])
    np.testing.assert_array_equal(distinc.open(store).model().coef_, expected.coef_)

    scoring = tmp_path / "scoring"
    write_partition(scoring, "s.parquet", make_frame(40, seed=5))
    run_cli("predict", store, "--data", str(scoring), "--out", str(tmp_path / "out"), *on_cluster)
    assert pq.read_table(tmp_path / "out" / "s.parquet").num_rows == 40

    rolled = run_cli("rollback", store, "--to", "1")
    assert "version 3" in rolled.stdout
    restored = distinc.open(store)
    assert restored.version == 3
    assert restored.history()[-1].artifact("model") == restored.history()[0].artifact("model")
    again = run_cli("rollback", store, "--to", "1")
    assert again.stdout.startswith("version 3 already has the model of version 1; nothing")
    assert distinc.open(store).version == 3
    assert run_cli("verify", store).returncode == 0


def test_errors_are_one_line_with_a_way_out(
    tmp_path: Path, data_dir: Path, scheduler_address: str
) -> None:
    store = str(tmp_path / "store")
    missing = run_cli("update", store, check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"distinc: error: No distinc store at {store!r} (no spec.json); create one with "
        "'distinc init' (distinc.init() in Python)."
    ]
    bad_model = cli_init(store, data_dir, check=False, model="SGDClassifer")
    assert bad_model.returncode == 1 and "Unknown model 'SGDClassifer'" in bad_model.stderr
    bad_param = cli_init(store, data_dir, "--param", "loss=nope", check=False)
    assert bad_param.returncode == 1
    assert "The 'loss' parameter of SGDClassifier must be" in bad_param.stderr
    bad_option = cli_init(store, data_dir, "--fit-batch-mb", "-3", check=False)
    assert bad_option.returncode == 1
    assert "The --fit-batch-mb option must be a finite number >= 0" in bad_option.stderr
    bad_bound = cli_init(store, data_dir, "--max-members", "0", check=False)
    assert "The --max-members option must be an int >= 1. Got 0 instead." in bad_bound.stderr

    cli_init(store, data_dir, "--classes", "0,1")
    write_partition(data_dir, "bad.parquet", make_frame(30, seed=3).drop(columns="x2"))
    failed = run_cli("update", store, "--scheduler", scheduler_address, check=False)
    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.startswith("distinc: error")]
    assert len(lines) == 1 and "'bad.parquet'" in lines[0] and "'x2'" in lines[0]
    assert distinc.open(store).version is None


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    store = str(tmp_path / "store")
    cli_init(store, data_dir)
    result = run_cli(
        "update",
        store,
        "--scheduler",
        "tcp://127.0.0.1:9",
        check=False,
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
    )
    assert result.returncode == 1
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.stderr
    assert "Check the address (from the --scheduler option, $DASK_SCHEDULER_ADDRESS" in (
        result.stderr
    )


@pytest.mark.parametrize("address", ["localhost", "tcp://127.0.0.1:port", "foo://127.0.0.1:1"])
def test_a_malformed_scheduler_address_is_a_clear_error(
    tmp_path: Path, data_dir: Path, address: str
) -> None:
    """'--scheduler localhost' (no port) was an internal error (ValueError from Dask)."""
    store = str(tmp_path / "store")
    cli_init(store, data_dir)
    result = run_cli("update", store, "--scheduler", address, check=False)
    assert result.returncode == 1, result.stderr
    assert f"Cannot reach the Dask scheduler at {address!r}" in result.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path, data_dir: Path) -> None:
    """``distinc history STORE --json | head -1``: no traceback, no "internal error"."""
    store = str(tmp_path / "store")
    cli_init(store, data_dir)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes a byte
    try:
        result = subprocess.run(
            [sys.executable, "-m", "distinc", "history", store, "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")
