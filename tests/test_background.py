"""Scans yield to fits: their work runs on low-priority threads, and their task slot is freed.

Run on a real worker of one thread, where a task holding the only slot would block every other.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from distinc.engine.background import SCAN_NICENESS, in_background

GATE_SECONDS = 30.0


def _wait_for(gate: str) -> str:
    deadline = time.monotonic() + GATE_SECONDS
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} was never created: the task that creates it never ran")
        time.sleep(0.01)
    return "opened"


def wait_in_background(gate: str) -> str:
    return in_background(_wait_for, gate)


def create(path: str) -> str:
    Path(path).touch()
    return "created"


def touch_in_background(path: str) -> str:
    return in_background(create, path)


def priorities() -> tuple[int, int]:
    """(this task thread's nice value, the background thread's)."""

    def own() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    return own(), in_background(own)


def task_state(key: str, dask_worker: Any) -> str | None:
    task = dask_worker.state.tasks.get(key)
    return None if task is None else str(task.state)


def wait_for_state(client: Any, key: str, wanted: set[str | None]) -> None:
    deadline = time.monotonic() + GATE_SECONDS
    while not wanted & set(client.run(task_state, key).values()):
        assert time.monotonic() < deadline, f"task {key} never reached {wanted}"
        time.sleep(0.01)


def test_a_task_waiting_on_background_work_leaves_its_slot_to_the_next(
    tmp_path: Path, one_worker: Any
) -> None:
    gate = str(tmp_path / "gate")
    waiting = one_worker.submit(wait_in_background, gate, pure=False)
    opening = one_worker.submit(create, gate, pure=False)
    assert opening.result(timeout=GATE_SECONDS) == "created"
    assert waiting.result(timeout=GATE_SECONDS) == "opened"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_background_work_runs_at_lowered_priority_and_the_task_thread_keeps_its_own(
    one_worker: Any,
) -> None:
    task_thread, background = one_worker.submit(priorities, pure=False).result()
    assert background == task_thread + SCAN_NICENESS or background == 19


def test_work_released_before_its_turn_never_runs(tmp_path: Path, one_worker: Any) -> None:
    gate, marker = str(tmp_path / "gate"), tmp_path / "ran"
    busy = one_worker.submit(wait_in_background, gate, pure=False)  # holds the one thread
    released = one_worker.submit(touch_in_background, str(marker), pure=False)
    wait_for_state(one_worker, released.key, {"long-running"})  # queued behind `busy`
    key = released.key
    released.release()
    wait_for_state(one_worker, key, {"cancelled", None})
    create(gate)
    assert busy.result(timeout=GATE_SECONDS) == "opened"
    # work is taken in order, so once this later work is done the released one had its turn
    assert one_worker.submit(wait_in_background, gate, pure=False).result() == "opened"
    assert not marker.exists()


def log_in_background(path: str, order: int) -> int:
    def log() -> int:
        with open(path, "a") as file:
            file.write(f"{order}\n")
        return order

    return in_background(log, order=order)


def test_waiting_work_is_taken_lowest_order_first(tmp_path: Path, one_worker: Any) -> None:
    gate, log = str(tmp_path / "gate"), tmp_path / "log"
    busy = one_worker.submit(wait_in_background, gate, pure=False)  # holds the one thread
    waiting = []
    for order in (3, 1, 2):  # arrive out of order, as Dask may hand a worker its scans
        waiting.append(one_worker.submit(log_in_background, str(log), order, pure=False))
        wait_for_state(one_worker, waiting[-1].key, {"long-running"})
    create(gate)
    assert busy.result(timeout=GATE_SECONDS) == "opened"
    assert [future.result(timeout=GATE_SECONDS) for future in waiting] == [3, 1, 2]
    assert log.read_text().split() == ["1", "2", "3"]


def test_outside_a_worker_the_work_simply_runs() -> None:
    assert in_background(sum, [1, 2, 3]) == 6


def scan_threads(dask_worker: Any) -> list[int]:
    """The nice value of each background scan thread the worker has started."""
    return [
        os.getpriority(os.PRIO_PROCESS, thread.native_id)
        for thread in threading.enumerate()
        if thread.name.startswith("distinc-scan") and thread.native_id is not None
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_only_a_stream_scans_in_the_background(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    import distinc
    from tests.conftest import make_frame, write_partition

    data = tmp_path / "data"
    for i in range(3):
        write_partition(data, f"part-{i}.parquet", make_frame(500, seed=i))
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as local,
        Client(local) as client,
    ):
        for model, threads in (("GaussianNB", []), ("SGDClassifier", [SCAN_NICENESS])):
            store = distinc.init(
                str(tmp_path / model), data=str(data), target="label", model=model, classes=[0, 1]
            )
            assert store.update(client=client).version == 1
            assert list(client.run(scan_threads).values()) == [threads], model
