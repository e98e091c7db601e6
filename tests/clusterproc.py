"""Real ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1 for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ProcessCluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dask",
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--no-nanny",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=f"{timeout}s") as client:
            client.wait_for_workers(count, timeout=timeout)


@contextmanager
def process_cluster(workers: int = 2) -> Iterator[ProcessCluster]:
    """A scheduler and ``workers`` single-threaded workers, all killed on exit."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    cluster = ProcessCluster(address, scheduler)
    try:
        for _ in range(workers):
            cluster.add_worker()
        if workers:
            cluster.wait_for_workers(workers)
        yield cluster
    finally:
        for process in [*cluster.workers, scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def kill_the_worker_running(
    prefixes: tuple[str, ...],
    address: str,
    killed: list[str],
    *,
    one_replica: bool = False,
    timeout: float = 120,
) -> None:
    """SIGKILL the first worker seen running a task whose key starts with one of ``prefixes``.

    With ``one_replica``, wait first until the Active Memory Manager has dropped the extra
    copies of the cluster's data, as it does within seconds: data the task uses then dies with
    the worker. The watcher is a client of its own.
    """
    from distributed import Client

    with Client(address) as watcher:
        pids = watcher.run(os.getpid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not killed:
            for worker, keys in watcher.processing().items():
                if not any(str(key).startswith(prefixes) for key in keys):
                    continue
                if one_replica and any(len(held) > 1 for held in watcher.who_has().values()):
                    continue
                os.kill(pids[worker], signal.SIGKILL)
                killed.append(worker)
                return
            time.sleep(0.02)
