"""Noticing a scheduler that stopped answering, so an operation fails instead of waiting forever.

A scheduler that dies closes its connections, and distributed cancels every future at once. One
that hangs (stopped, swapping, a stuck event loop) keeps them open: the kernel still accepts
what the client sends, and nothing ever comes back. So a thread sends the scheduler an echo (a
bare round trip, whatever the cluster's size) now and then; when no answer comes within the
``distinc.scheduler-timeout`` setting, it closes the client, which cancels every future the
operation waits on, as a lost scheduler does.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

logger = logging.getLogger("distinc")

# The longest pause between two questions: a timeout of minutes still asks every few seconds.
MAX_INTERVAL = 10.0


class SchedulerWatch:
    """While open, send ``client``'s scheduler an echo now and then; close the client when it
    stays silent for ``timeout`` seconds. ``silent_for`` then says how long it was silent."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.silent_for: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="distinc-scheduler-watch", daemon=True
        )

    def __enter__(self) -> SchedulerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=1.0)  # a question still in flight ends on its own, unheeded

    def _watch(self) -> None:
        interval = min(self.timeout / 3, MAX_INTERVAL)
        while not self._done.wait(interval):
            asked = time.monotonic()
            try:
                self.client.sync(self.client.scheduler.echo, callback_timeout=self.timeout)
            except TimeoutError:
                if self._done.is_set():
                    return
                self.silent_for = time.monotonic() - asked
                logger.error(
                    "the Dask scheduler has not answered for %.0f s; giving up on it",
                    self.silent_for,
                )
                self.client.close(timeout=self.timeout)
                return
            except Exception:  # the client is closing or lost: the update says why
                return
