"""Work that yields to the model's chain: scans run on a worker's low-priority threads.

A stream's fits form one chain, and each waits for the fit before it; scans can run any time
before their batches are needed. A single-threaded worker that had started a scan made the
next fit wait for it, up to a whole scan on every link of the chain. A stream's scan task
therefore hands its work to threads of lowered priority and leaves the worker's thread pool
while it waits (Dask's ``secede``), so a fit sent to that worker starts at once and the
operating system gives it the CPU before the scan. Strategies without a chain scan as usual:
there, a worker running a scan beside its task would only take a second core.

Work waiting for a background thread is taken in the order its caller gives (a scan's place in
the delta), not in arrival order: the scans of a stream all secede at once, and Dask hands them
to a worker in no particular order, so a worker scanning a later group first left the chain
waiting on an earlier one (0.8 s of a 5.9 s update of 10,000 small files, in one traced run).
"""

from __future__ import annotations

import heapq
import itertools
import os
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from distributed import get_worker, secede
from distributed.worker import thread_state

Result = TypeVar("Result")

# Linux nice value of the scan threads: at 10 a thread's CPU weight is about a tenth of a
# normal thread's, so a fit or the driver sharing its core keeps about 90% of it.
SCAN_NICENESS = 10

_pools: weakref.WeakKeyDictionary[Any, OrderedPool] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()


class ScanCancelled(RuntimeError):
    """The scan's task was released before its turn came; its result would be discarded."""


def _lower_priority() -> None:
    # A thread's own id with PRIO_PROCESS renices that thread alone on Linux only; elsewhere
    # the call would renice the whole worker, so the threads keep their priority there.
    if sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SCAN_NICENESS)


class OrderedPool:
    """Threads of lowered priority that take the waiting work of lowest order first."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(
            threads, thread_name_prefix="distinc-scan", initializer=_lower_priority
        )
        self._waiting: list[tuple[int, int, Callable[[], Any], Future[Any]]] = []
        self._lock = threading.Lock()
        self._arrivals = itertools.count()

    def run(self, function: Callable[[], Result], order: int) -> Result:
        """``function()`` on a thread once no waiting work has a lower ``order``."""
        done: Future[Result] = Future()
        with self._lock:
            heapq.heappush(self._waiting, (order, next(self._arrivals), function, done))
        self._executor.submit(self._run_next)  # one thread turn per piece of work
        return done.result()

    def _run_next(self) -> None:
        with self._lock:
            *_, function, done = heapq.heappop(self._waiting)
        try:
            done.set_result(function())
        except BaseException as exc:  # the caller raises it, as an executor's future would
            done.set_exception(exc)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)


def _pool(worker: Any) -> OrderedPool:
    """The worker's background threads: as many as it has task threads."""
    with _pools_lock:
        pool = _pools.get(worker)
        if pool is None:
            pool = _pools[worker] = OrderedPool(max(1, int(worker.state.nthreads)))
            weakref.finalize(worker, pool.shutdown)
        return pool


def in_background(function: Callable[..., Result], *args: Any, order: int = 0) -> Result:
    """``function(*args)`` on this worker's background threads, the task's slot freed meanwhile;
    waiting work of lower ``order`` goes first (equal orders in arrival order).

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
    return _pool(worker).run(unless_released, order)
