"""Where the work runs: a given client, a cluster by address, or a LocalCluster."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from distinc.config import setting
from distinc.engine.watch import SchedulerWatch
from distinc.exceptions import ClusterError

logger = logging.getLogger("distinc")


def scheduler_address(explicit: str | None = None) -> str | None:
    """The scheduler to connect to, or ``None`` for a LocalCluster.

    In order: ``explicit`` (``--scheduler``), the ``DASK_SCHEDULER_ADDRESS`` environment
    variable (which the Dask operator sets in its job pods), the ``distinc.scheduler`` setting
    (``DASK_DISTINC__SCHEDULER`` or a config file), dask's own ``scheduler-address`` setting.
    """
    if explicit:
        return explicit
    import dask

    address = (
        os.environ.get("DASK_SCHEDULER_ADDRESS")
        or setting("scheduler")
        or dask.config.get("scheduler-address", None)
    )
    return str(address) if address else None


def connect_timeout() -> Any:
    """``distinc.connect-timeout``, else dask's ``distributed.comm.timeouts.connect``."""
    import dask

    configured = setting("connect-timeout")
    return configured or dask.config.get("distributed.comm.timeouts.connect")


def local_cluster_options() -> dict[str, Any]:
    """LocalCluster keywords from ``distinc.local-cluster`` (one worker per core by default)."""
    return {
        "n_workers": setting("local-cluster.n-workers") or os.cpu_count() or 1,
        "threads_per_worker": setting("local-cluster.threads-per-worker"),
        "memory_limit": setting("local-cluster.memory-limit"),
    }


PRE_SPAWN_ENVIRON = "distributed.nanny.pre-spawn-environ"
# Freed memory glibc keeps in a worker for reuse: this share of its memory limit, at most the cap.
MALLOC_KEEP_SHARE = 1 / 64
MALLOC_KEEP_CAP = 128 * 2**20
# The largest mmap threshold glibc accepts on 64-bit systems (half its 64 MiB arena heaps).
MMAP_THRESHOLD_CAP = 32 * 2**20


def malloc_environ(memory_limit: int) -> dict[str, str]:
    """glibc settings under which a worker reuses the memory of the arrays it frees.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also pins the mmap
    threshold at 128 KiB: every matrix a scan builds is then mapped fresh from the kernel and
    unmapped once fitted, and all its pages fault in again for the next one. Freed memory up to
    a 64th of the worker's limit now stays in the worker for the next scan instead.

    A stream's scans run on threads of their own, which glibc serves from arenas of their own,
    and there these thresholds did not keep the matrices' memory: during the stream benchmark's
    updates a worker built the feature matrix of a 100,000-row file of 28 columns in 10-15 ms of
    CPU, against 6 ms with memory reused. With one arena for every thread (``MALLOC_ARENA_MAX``
    at 1) it took 6.5 ms, and the workers spent about 5 % less CPU per update (2.5 % in the
    small-partition benchmark). Arrow's buffers come from its own allocator, not glibc's.
    """
    keep = int(min(MALLOC_KEEP_CAP, memory_limit * MALLOC_KEEP_SHARE))
    return {
        f"{PRE_SPAWN_ENVIRON}.MALLOC_TRIM_THRESHOLD_": str(keep),
        f"{PRE_SPAWN_ENVIRON}.MALLOC_MMAP_THRESHOLD_": str(min(MMAP_THRESHOLD_CAP, keep // 4)),
        f"{PRE_SPAWN_ENVIRON}.MALLOC_ARENA_MAX": "1",
    }


def worker_memory_limit(options: Mapping[str, Any]) -> int:
    """A LocalCluster worker's memory limit in bytes; the machine's memory when unlimited."""
    from distributed.system import MEMORY_LIMIT
    from distributed.worker_memory import parse_memory_limit

    threads = options.get("threads_per_worker") or 1
    limit = parse_memory_limit(options.get("memory_limit", "auto"), threads, logger=logger)
    return limit or MEMORY_LIMIT


@contextlib.contextmanager
def process_environ(settings: Mapping[str, Any]) -> Iterator[None]:
    """The worker variables among ``settings`` in this process's environment, then as before.

    A nanny lets the environment of the process that starts it override its pre-spawn
    variables, and writes them into that environment: without this, a LocalCluster would get
    the variables of the one started before it in the process, not its own.
    """
    names = _variables(settings)
    before = {name: os.environ.get(name) for name in names}
    try:
        _set_environ(names)  # a value of None unsets the variable, as in dask's setting
        yield
    finally:
        _set_environ(before)


def _variables(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The variables that ``settings`` set in the workers' environment, by name."""
    prefix = f"{PRE_SPAWN_ENVIRON}."
    return {key.removeprefix(prefix): v for key, v in settings.items() if key.startswith(prefix)}


def _worker_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The Dask settings that ``distinc.local-cluster`` adds for workers with ``options``."""
    return {
        **malloc_environ(worker_memory_limit(options)),
        **setting("local-cluster.dask-config"),
    }


def worker_variables(memory_limit: str | int = "auto", threads: int = 1) -> dict[str, str]:
    """The environment distinc's LocalCluster gives its workers (glibc's and NumPy's settings),
    for workers started another way, such as by ``cluster/local-cluster.sh``.

    ``memory_limit`` is each worker's, as ``dask worker --memory-limit`` takes it.
    """
    options = {"memory_limit": memory_limit, "threads_per_worker": threads}
    variables = _variables(_worker_settings(options))
    return {name: str(value) for name, value in variables.items() if value is not None}


def _set_environ(values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)


def start_local_cluster(**options: Any) -> Any:
    """A LocalCluster of worker processes, set up by ``distinc.local-cluster``."""
    import dask
    from distributed import LocalCluster

    settings = {
        "distributed.scheduler.worker-saturation": setting("local-cluster.worker-saturation"),
        **_worker_settings(options),
    }
    # the scheduler and nannies read these once, here, and hand them to the workers
    with dask.config.set(settings), process_environ(settings):
        return LocalCluster(processes=True, **options)


@contextlib.contextmanager
def dask_client(address: str | None = None, *, client: Any = None) -> Iterator[Any]:
    """Yield a Dask client: ``client`` itself, one connected to ``address``, or a LocalCluster's.

    The client is made current while it is in use: Dask helpers that fall back on the default
    client (``distributed.wait``, inside ``xgboost.dask`` too) would otherwise drive it from
    another client's event loop when the process holds two, and deadlock.
    """
    with contextlib.ExitStack() as stack:
        chosen = client if client is not None else stack.enter_context(_own_client(address))
        with chosen.as_current():
            yield chosen


@contextlib.contextmanager
def _own_client(address: str | None) -> Iterator[Any]:
    """A client of the scheduler at ``address``, else of a LocalCluster started for the run.

    The LocalCluster follows ``distinc.local-cluster`` (by default one single-threaded worker
    process per core, handed one task per thread at a time) and asks for a free dashboard port,
    so several runs on one host never clash.
    """
    from distributed import Client

    address = scheduler_address(address)
    if address:
        try:
            remote = Client(address, timeout=connect_timeout())
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: a malformed address
            raise ClusterError(
                f"Cannot reach the Dask scheduler at {address!r} ({exc}). Check the address "
                "(from the 'scheduler' option, $DASK_SCHEDULER_ADDRESS or the distinc.scheduler "
                "setting), or leave it out to run on a local cluster.",
                address=address,
                options=("scheduler",),
            ) from exc
        with remote:
            logger.info("connected to %s (dashboard: %s)", address, remote.dashboard_link)
            yield remote
        return
    # A free port even without bokeh: the scheduler's HTTP server (health, metrics) always
    # starts, and on the default port it would warn whenever another cluster holds it.
    dashboard = importlib.util.find_spec("bokeh") is not None
    # Dask's own log lines stay quiet below CRITICAL: what goes wrong on the cluster reaches the
    # user as distinc's named errors, while closing the cluster can race a worker's heartbeat
    # and print a scary but harmless traceback after the command's output.
    cluster = start_local_cluster(
        **local_cluster_options(), dashboard_address=":0", silence_logs=logging.CRITICAL
    )
    with cluster, Client(cluster) as local:
        logger.info(
            "started a LocalCluster of %d worker process(es) (dashboard: %s)",
            len(cluster.workers),
            local.dashboard_link if dashboard else "none",
        )
        yield local


def _import_all(modules: Sequence[str]) -> None:
    for name in modules:
        importlib.import_module(name)


def warm_workers(client: Any, modules: Sequence[str]) -> None:
    """Import ``modules`` on every worker now, so the first tasks do not pay for it.

    Fresh worker processes take seconds to import scikit-learn and friends; timing an update
    or a retrain without this would measure the imports, not the training.
    """
    client.run(_import_all, list(modules))


def scheduler_timeout() -> float | None:
    """``distinc.scheduler-timeout`` in seconds, or ``None`` when the scheduler is never timed."""
    from dask.utils import parse_timedelta

    configured = setting("scheduler-timeout")
    return (parse_timedelta(configured, default="s") or None) if configured else None


# What each operation leaves behind when it loses its scheduler, for its one error line.
AFTERMATH = {
    "update": "nothing was committed",
    "retrain": "nothing was committed",
    "comparison": "nothing was committed",
    "evaluation": "no evaluation was stored",
    "prediction": "the files written so far stay, and a rerun writes every one again",
    "drift check": "nothing was written",
}


def lost_scheduler(
    client: Any,
    exc: BaseException,
    *,
    address: str | None = None,
    silent_for: float | None = None,
    task: str,
) -> ClusterError | None:
    """The error to raise when ``exc`` means the client lost its scheduler during ``task``
    (a key of ``AFTERMATH``), else ``None``.

    When the scheduler dies, distributed cancels every future with the reason
    ``scheduler-connection-lost`` and the client starts reconnecting; waiting for it would
    only delay the failure, so the operation fails at once. ``silent_for``: the scheduler was
    given up on after that many seconds without an answer (see ``distinc.engine.watch``).
    """
    from distributed.comm import CommClosedError

    gone = getattr(client, "status", "running") != "running"
    if not (gone or isinstance(exc, CommClosedError) or "scheduler-connection-lost" in str(exc)):
        return None
    address = address or getattr(getattr(client, "scheduler", None), "address", None)
    if silent_for is not None:
        return ClusterError(
            f"The Dask scheduler at {address!r} stopped answering during the {task} (no reply "
            f"in {silent_for:.0f} s); {AFTERMATH[task]}. Check the scheduler (a stopped, "
            "stuck or overloaded process) and run it again; the distinc.scheduler-timeout "
            "setting says how long to wait.",
            address=address,
        )
    return ClusterError(
        f"Lost the Dask scheduler at {address!r} during the {task} "
        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}); "
        f"{AFTERMATH[task]}. Check the scheduler and run it again.",
        address=address,
    )


@contextlib.contextmanager
def scheduler_losses_named(client: Any, task: str) -> Iterator[None]:
    """Turn whatever losing the scheduler raises inside the block into one ``ClusterError``
    naming ``task`` (a key of ``AFTERMATH``), and give up on a scheduler that stops answering
    for ``distinc.scheduler-timeout``."""
    address = getattr(getattr(client, "scheduler", None), "address", None)
    timeout = scheduler_timeout()
    with contextlib.ExitStack() as stack:
        watch = None if timeout is None else stack.enter_context(SchedulerWatch(client, timeout))
        try:
            yield
        except Exception as exc:
            silent_for = None if watch is None else watch.silent_for
            lost = lost_scheduler(client, exc, address=address, silent_for=silent_for, task=task)
            if lost is None:
                raise
            raise lost from exc
