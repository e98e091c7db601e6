"""Progress of an update or a retrain, reported to a callback; the engine itself never prints.

Strategies report how many of the delta's groups have finished (``TrainingJob.progress``); the
``Tracker`` turns that into partitions and rows trained, which the command line shows as a bar
on a terminal or as log lines elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from distinc.engine.scanning import DeltaScan


@dataclass(frozen=True)
class Progress:
    """One step of an update or retrain.

    ``stage`` is ``"start"`` (``total`` partitions to learn), ``"train"`` (``done`` of them and
    ``rows`` rows trained after ``seconds``) or ``"done"`` (everything trained). When done,
    ``learned`` is how many partitions were learned; the others were set aside (empty,
    duplicate or skipped as corrupt).
    """

    task: str
    stage: str
    version: int | None
    done: int
    total: int
    rows: int
    seconds: float
    learned: int | None = None


ProgressCallback = Callable[[Progress], None]


class Tracker:
    """Partitions and rows trained, from a strategy's reports of finished groups."""

    def __init__(
        self, callback: ProgressCallback | None, *, task: str, version: int | None, total: int
    ) -> None:
        self.callback = callback
        self.task = task
        self.version = version
        self.total = total
        self.started = time.perf_counter()
        self.delta: DeltaScan | None = None
        self.groups = 0
        self.done = 0
        self.rows = 0
        self._rows_of: dict[str, int] = {}
        self._indexed = 0

    def _emit(self, stage: str, learned: int | None = None) -> None:
        if self.callback is not None:
            seconds = time.perf_counter() - self.started
            counts = (self.done, self.total, self.rows, seconds, learned)
            self.callback(Progress(self.task, stage, self.version, *counts))

    def start(self, delta: DeltaScan) -> None:
        """The scan of ``delta`` began; seconds count from here, as the entry's do."""
        self.delta = delta
        self.started = time.perf_counter()
        self._emit("start")

    def groups_finished(self, next_group: int) -> None:
        """A strategy finished every group before ``next_group``."""
        if self.delta is None or next_group <= self.groups:
            return
        # Admission only appends, so only its new records are indexed: a report per group
        # would otherwise cost the whole delta, quadratic in its groups.
        admitted = self.delta.admitter.train
        self._rows_of.update((part.key, part.rows) for part in admitted[self._indexed :])
        self._indexed = len(admitted)
        for group in self.delta.parts[self.groups : next_group]:
            self.done += len(group)
            self.rows += sum(self._rows_of.get(part.key, 0) for part in group)
        self.groups = next_group
        self._emit("train")

    def finish(self, rows: int, learned: int) -> None:
        self.done, self.rows = self.total, rows
        self._emit("done", learned)
