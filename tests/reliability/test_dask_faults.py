"""P7, P8, P9: faults inside the Dask cluster during an update, on real worker processes.

Faults are injected inside the fit task on the worker (``DISTINC_TASK_FAULT``, set in the
workers' environment), on the partition ``b-2.parquet``: the third partition of a task that
learns six, so a retry that did not start from a fresh copy of its input would learn
``b-0`` and ``b-1`` twice and the model would differ from a clean run. (XGBoost and the
ensemble train a version in one task, on all seven, as one booster or one member: a rerun
that kept anything from the killed attempt would differ from a clean run too.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import distinc
from distinc.trainers import task_faults
from tests.clusterproc import ProcessCluster, process_cluster
from tests.inotify import OpenWatch
from tests.reliability import procs
from tests.reliability.harness import (
    EVERY_STRATEGY,
    StrategyCase,
    add_partitions,
    assert_equals_clean_run,
    assert_learned_once,
    new_store,
    snapshot,
    strategy_params,
)
from tests.reliability.tally import tally

pytestmark = pytest.mark.cluster

BIG = "a-big.parquet"
SMALL = [f"b-{i}.parquet" for i in range(6)]
TARGET = "b-2.parquet"


def write_delta(data: Path) -> list[str]:
    """One big partition (a task of its own), then six small ones (learned by one task)."""
    add_partitions(data, [BIG], rows=20_000)
    add_partitions(data, SMALL, rows=40)
    return [BIG, *SMALL]


def arm(client: Any, partition: str, action: str, marker: Path) -> None:
    client.run(task_faults.arm, task_faults.setting(partition, action, str(marker)))


def disarm(client: Any) -> None:
    client.run(task_faults.arm, None)


@pytest.fixture
def armed_client(client: Any) -> Iterator[Any]:
    """The session client, whose workers are disarmed again after the test."""
    yield client
    disarm(client)


def wait_for(path: Path, running: procs.Running | None = None) -> None:
    while not path.exists():
        if running is not None and running.poll() is not None:
            raise AssertionError(running.wait().describe())
        time.sleep(0.02)


def fit_states(client: Any, prefix: str) -> set[str]:
    """The states of the training tasks (keys starting with ``prefix``) the workers know of."""
    found = client.run(
        lambda dask_worker: [
            ts.state for key, ts in dask_worker.state.tasks.items() if prefix in str(key)
        ]
    )
    return {state for states in found.values() for state in states}


def wait_until(client: Any, prefix: str, done: Callable[[set[str]], bool]) -> None:
    while not done(fit_states(client, prefix)):
        time.sleep(0.05)


# XGBoost's training task has no retries (an exception there is an error in the data):
# tests/test_xgboost_faults.py checks that it fails the update and commits nothing.
@pytest.mark.parametrize("case", [param for param in strategy_params() if param.id != "xgboost"])
def test_a_one_shot_exception_in_a_training_task_is_retried_without_learning_twice(
    tmp_path: Path, armed_client: Any, case: StrategyCase
) -> None:
    data = tmp_path / "data"
    add_partitions(data, ["first.parquet"])
    model = new_store(tmp_path, data, case)
    model.update(client=armed_client)
    learned = ["first.parquet", *write_delta(data)]
    marker = tmp_path / "fired"
    arm(armed_client, TARGET, "raise", marker)
    entry = model.update(client=armed_client).entry
    assert marker.exists(), "the fault never fired"
    tally("in-task faults injected")
    tasks = entry.notes.get("tasks", entry.notes.get("members")) if entry else None
    assert tasks is not None and tasks < len(learned) - 1  # the b-* share a task
    assert_learned_once(model.store, learned)
    assert_equals_clean_run(model.store, data, case)


@pytest.fixture
def cluster3() -> Iterator[ProcessCluster]:
    with process_cluster(workers=3) as cluster:
        yield cluster


@pytest.mark.parametrize("case", strategy_params(default=EVERY_STRATEGY))
def test_a_worker_killed_mid_training_gives_the_model_of_a_clean_run(
    tmp_path: Path, cluster3: ProcessCluster, case: StrategyCase
) -> None:
    from distributed import Client

    data = tmp_path / "data"
    add_partitions(data, ["first.parquet"])
    with Client(cluster3.address) as client:
        model = new_store(tmp_path, data, case)
        model.update(client=client)
        learned = ["first.parquet", *write_delta(data)]
        marker = tmp_path / "fired"
        arm(client, TARGET, "sigkill", marker)
        assert model.update(client=client).version == 2
        assert marker.exists(), "the fault never fired"
        assert sum(worker.poll() is not None for worker in cluster3.workers) == 1
    tally("Dask workers killed with SIGKILL")
    assert_learned_once(model.store, learned)
    assert_equals_clean_run(model.store, data, case)


def test_a_killed_driver_leaves_tasks_running_that_never_touch_the_store(
    tmp_path: Path, cluster3: ProcessCluster, case: StrategyCase
) -> None:
    """P8: the driver dies while a fit task is running; the task finishes, the store is intact."""
    from distributed import Client

    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, ["first.parquet"])
    with Client(cluster3.address) as client:
        new_store(tmp_path, data, case).update(client=client)
        learned = ["first.parquet", *write_delta(data)]
        before = snapshot(store)
        marker = tmp_path / "paused"
        arm(client, TARGET, "pause", marker)
        driver = procs.start("update", str(store), "--scheduler", cluster3.address)
        wait_for(marker, driver)
        watches = [OpenWatch(folder) for folder in (store, store / "ledger", store / "artifacts")]
        try:
            assert driver.kill()
            assert driver.wait().killed
            # The scheduler forgot the dead driver's work; the running task is a zombie now
            # (its input model stays on the worker, "released", until it ends).
            wait_until(client, case.task_key, lambda states: "cancelled" in states)
            Path(f"{marker}.go").touch()  # it learns its partitions and returns, to no one
            wait_until(client, case.task_key, lambda states: not states)
            opened = [watch.opened() for watch in watches]
        finally:
            for watch in watches:
                watch.close()
        tally("drivers killed mid-task")
        assert all(not found for found in opened), f"files opened after the driver died: {opened}"
        assert snapshot(store) == before
        disarm(client)
        assert distinc.open(str(store)).update(client=client).version == 2
    assert_learned_once(store, learned)
    assert_equals_clean_run(store, data, case)


def run_with_scheduler_fault(
    tmp_path: Path,
    arguments: list[str],
    sent: signal.Signals,
    env: dict[str, str],
    target: str = TARGET,
) -> tuple[procs.Finished, str]:
    """Run ``distinc *arguments`` on a cluster of its own, send its scheduler ``sent`` while the
    task on ``target`` is paused; how the command ended, and the scheduler's address."""
    from distributed import Client

    marker = tmp_path / "paused"
    with process_cluster(workers=2) as cluster:
        with Client(cluster.address) as remote:
            arm(remote, target, "pause", marker)
        driver = procs.start(*arguments, "--scheduler", cluster.address, env=env)
        wait_for(marker, driver)
        os.killpg(cluster.scheduler.pid, sent)
        try:
            finished = driver.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):  # a stopped one must die on exit
                os.killpg(cluster.scheduler.pid, signal.SIGCONT)
            Path(f"{marker}.go").touch()
    return finished, cluster.address


# How long the driver waits for a stopped scheduler: long enough that one only slowed by a
# loaded machine is not taken for stopped (three suites at once on two cores once left a
# scheduler silent for over 3 s before anything was paused).
SILENCE = 6
# How the scheduler fails mid-update: the signal it gets, the driver's extra settings, and how
# the one error line starts ({address} is the scheduler's).
SCHEDULER_FAULTS = {
    # dies: its connections close, and distributed cancels every future at once
    "killed": (signal.SIGKILL, {}, "Lost the Dask scheduler at {address!r} during the update"),
    # hangs: its connections stay open, so only the update's own watch can notice
    "stopped": (
        signal.SIGSTOP,
        {"DASK_DISTINC__SCHEDULER_TIMEOUT": f"{SILENCE}s"},
        "The Dask scheduler at {address!r} stopped answering during the update "
        f"(no reply in {SILENCE} s)",
    ),
}


@pytest.mark.parametrize("fault", sorted(SCHEDULER_FAULTS))
def test_a_scheduler_that_dies_or_hangs_fails_the_update_with_a_clear_error(
    tmp_path: Path, client: Any, case: StrategyCase, fault: str
) -> None:
    """P9: no hang, no commit, one line naming the scheduler; the rerun elsewhere succeeds."""
    sent, env, error = SCHEDULER_FAULTS[fault]
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, ["first.parquet"])
    new_store(tmp_path, data, case).update(client=client)
    learned = ["first.parquet", *write_delta(data)]
    before = snapshot(store)
    finished, address = run_with_scheduler_fault(tmp_path, ["update", str(store)], sent, env)
    tally(f"Dask schedulers {fault} with {sent.name}")
    assert finished.returncode == 1 and len(finished.errors) == 1, finished.describe()
    assert finished.errors[0].startswith("distinc: error: " + error.format(address=address)), (
        finished.describe()
    )
    assert "nothing was committed" in finished.errors[0]
    assert snapshot(store) == before
    assert distinc.open(str(store)).update(client=client).version == 2
    assert_learned_once(store, learned)
    assert_equals_clean_run(store, data, case)


# A command that runs on the cluster after the store learned the data, the operation its error
# line names, and the partition whose task is paused (a drift check scans only new files).
CLUSTER_COMMANDS = {
    "compare": (["compare", "{store}", "--holdout", "{data}"], "retrain", TARGET),
    "predict": (["predict", "{store}", "--data", "{data}", "--out", "{out}"], "prediction", TARGET),
    "evaluate": (["evaluate", "{store}", "--data", "{data}"], "evaluation", TARGET),
    "drift": (["drift", "{store}"], "drift check", "pending.parquet"),
}


@pytest.mark.parametrize("command", sorted(CLUSTER_COMMANDS))
def test_a_scheduler_that_hangs_fails_a_command_on_the_cluster_with_a_clear_error(
    tmp_path: Path, client: Any, command: str
) -> None:
    """P9 beyond updates: a retrain, a prediction, an evaluation or a drift check on a stopped
    scheduler ends with one line naming it, instead of waiting forever, and stores nothing."""
    arguments, task, paused = CLUSTER_COMMANDS[command]
    data, store, out = tmp_path / "data", tmp_path / "store", tmp_path / "out"
    add_partitions(data, ["first.parquet"])
    write_delta(data)
    new_store(tmp_path, data).update(client=client)
    add_partitions(data, ["pending.parquet"])  # for the drift check to scan
    before = snapshot(store)
    filled = [part.format(store=store, data=data, out=out) for part in arguments]
    env = {"DASK_DISTINC__SCHEDULER_TIMEOUT": f"{SILENCE}s"}
    finished, address = run_with_scheduler_fault(tmp_path, filled, signal.SIGSTOP, env, paused)
    tally(f"Dask schedulers stopped during a {task}")
    assert finished.returncode == 1 and len(finished.errors) == 1, finished.describe()
    assert finished.errors[0].startswith(
        f"distinc: error: The Dask scheduler at {address!r} stopped answering during "
        f"the {task} (no reply in {SILENCE} s)"
    ), finished.describe()
    assert snapshot(store) == before
