"""``distinc worker``: ``dask worker`` in the environment distinc's LocalCluster gives its workers.

Every argument goes to ``dask worker`` unchanged; the memory limit and threads they name pick
glibc's and NumPy's settings (``distinc.engine.cluster.worker_variables``). They replace what
the environment holds: a process that started a LocalCluster keeps Dask's own values in its
environment for good (its nannies write them there), and would pass them on. A deployment pins
its own values in ``distinc.local-cluster.dask-config``, as for distinc's LocalCluster.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from distinc.engine.cluster import worker_variables


def worker_threads(threads: int | None, workers: str | None) -> int:
    """The threads of each worker, as ``dask worker`` picks them when ``--nthreads`` is absent:
    the machine's cores shared among ``--nworkers``.

    Examples
    --------
    >>> worker_threads(3, "2")
    3
    >>> worker_threads(None, "4") == max(1, (os.cpu_count() or 1) // 4)
    True
    """
    if threads:
        return threads
    count = int(workers) if workers and workers.isdigit() and int(workers) > 0 else 1
    return max(1, (os.cpu_count() or 1) // count)


def run_worker(arguments: Sequence[str]) -> NoReturn:
    """Replace this process with ``dask worker *arguments`` in distinc's worker environment."""
    named = argparse.ArgumentParser(add_help=False)
    named.add_argument("--memory-limit", default="auto")
    named.add_argument("--nthreads", type=int)
    named.add_argument("--nworkers")
    found, _ = named.parse_known_args(arguments)
    variables = worker_variables(found.memory_limit, worker_threads(found.nthreads, found.nworkers))
    command = [sys.executable, "-m", "dask", "worker", *arguments]
    os.execve(sys.executable, command, {**os.environ, **variables})
