"""Work that yields to the model's chain: scans run on a worker's low-priority threads.

A stream's fits form one chain, and each waits for the fit before it; scans can run any time
before their batches are needed. A single-threaded worker that had started a scan made the
next fit wait for it, up to a whole scan on every link of the chain. A stream's scan task
therefore hands its work to threads of lowered priority and leaves the worker's thread pool
while it waits (Dask's ``secede``), so a fit sent to that worker starts at once and the
operating system gives it the CPU before the scan. Strategies without a chain scan as usual:
there, a worker running a scan beside its task would only take a second core.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from distributed import get_worker, secede
from distributed.worker import thread_state

Result = TypeVar("Result")

# Linux nice value of the scan threads: at 10 a thread's CPU weight is about a tenth of a
# normal thread's, so a fit or the driver sharing its core keeps about 90% of it.
SCAN_NICENESS = 10

_pools: weakref.WeakKeyDictionary[Any, ThreadPoolExecutor] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()


class ScanCancelled(RuntimeError):
    """The scan's task was released before its turn came; its result would be discarded."""


def _lower_priority() -> None:
    # A thread's own id with PRIO_PROCESS renices that thread alone on Linux only; elsewhere
    # the call would renice the whole worker, so the threads keep their priority there.
    if sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SCAN_NICENESS)


def _pool(worker: Any) -> ThreadPoolExecutor:
    """The worker's background threads: as many as it has task threads."""
    with _pools_lock:
        pool = _pools.get(worker)
        if pool is None:
            pool = ThreadPoolExecutor(
                max(1, int(worker.state.nthreads)),
                thread_name_prefix="distinc-scan",
                initializer=_lower_priority,
            )
            _pools[worker] = pool
            weakref.finalize(worker, pool.shutdown, wait=False)
        return pool


def in_background(function: Callable[..., Result], *args: Any) -> Result:
    """``function(*args)`` on this worker's background threads, the task's slot freed meanwhile.

    Outside a Dask task it simply runs.
    """
    try:
        worker, key = get_worker(), thread_state.key
    except (ValueError, AttributeError):
        return function(*args)

    def unless_released() -> Result:
        task = worker.state.tasks.get(key)
        if task is None or task.state == "cancelled":
            raise ScanCancelled(f"task {key!r} was released before it ran")
        return function(*args)

    secede()
    return _pool(worker).submit(unless_released).result()
