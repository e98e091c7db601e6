"""Resuming training when the Dask cluster loses work (a worker dies, a task is cancelled).

Errors in the data are not retried: they fail the update at once, naming what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from distinc.exceptions import ClusterError
from distinc.trainers.base import TrainingJob

logger = logging.getLogger("distinc")

MAX_RESUMES = 3

T = TypeVar("T")


def cluster_lost_work(exc: BaseException) -> bool:
    """Whether ``exc`` means the cluster lost work (worth resuming), not that the data is bad."""
    from distributed.client import FutureCancelledError
    from distributed.comm import CommClosedError
    from distributed.scheduler import KilledWorker

    return isinstance(exc, KilledWorker | FutureCancelledError | CommClosedError)


def rerunning(
    client: Any,
    attempt: Callable[[], T],
    *,
    what: str,
    gives_up: str,
    before_rerun: Callable[[], None] | None = None,
) -> T:
    """``attempt()``, run again (at most ``MAX_RESUMES`` times) while the cluster loses work;
    after the last, a ``ClusterError`` that ends with ``gives_up``."""
    for tries in range(MAX_RESUMES + 1):
        try:
            return attempt()
        except Exception as exc:
            # Without its scheduler the client cannot rerun; the caller names the failure.
            if not cluster_lost_work(exc) or getattr(client, "status", "running") != "running":
                raise
            if tries == MAX_RESUMES:
                message = f"The Dask cluster kept losing work ({exc}); {gives_up}"
                raise ClusterError(message) from exc
            logger.warning("the cluster lost work (%s); %s", type(exc).__name__, what)
            if before_rerun is not None:
                before_rerun()
    raise AssertionError("unreachable")


def resuming(job: TrainingJob, client: Any, attempt: Callable[[], T], *, what: str) -> T:
    """``attempt()``, rerun while the cluster loses work, picking up from wherever the previous
    one got to; batches the scan kept in worker memory are forgotten before a rerun, as the lost
    worker may have held them."""
    return rerunning(
        client,
        attempt,
        what=what,
        gives_up="nothing was committed. Check the workers and rerun the update.",
        before_rerun=getattr(job.delta, "forget_batches", None),
    )
