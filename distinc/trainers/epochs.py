"""Several passes over a delta per update (``--epochs``), as one longer stream.

``EpochDelta`` presents the admitted groups of a delta ``epochs`` times in a row, numbering
the groups of pass ``e`` from ``e * width`` on (``width``: the delta's group count). The
partial_fit stream needs nothing else: its tasks stay pure and in order, its checkpoint and
resume work across passes, and the groups of later passes use the batches the scan kept, or
are read again, so memory stays bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from distinc.ledger.admit import Admission
from distinc.trainers.base import AdmittedGroup, Delta, TrainingJob


class EpochDelta:
    """``delta`` seen ``epochs`` times in a row."""

    def __init__(self, delta: Delta, epochs: int) -> None:
        self.delta = delta
        self.epochs = epochs
        self._width: int | None = None

    @classmethod
    def over(cls, job: TrainingJob, epochs: int) -> TrainingJob:
        """``job`` making ``epochs`` passes; progress counts each pass as its share."""
        report = job.progress
        return dataclasses.replace(
            job,
            delta=cls(job.delta, epochs),
            progress=None if report is None else (lambda reached: report(reached // epochs)),
        )

    def width(self) -> int:
        """Groups per pass; knowing it waits for the whole delta to be admitted."""
        if self._width is None:
            self._width = 1 + max((group.index for group in self.delta.groups()), default=-1)
        return self._width

    def classes(self) -> tuple[Any, ...] | None:
        return self.delta.classes()

    def admission(self) -> Admission:
        return self.delta.admission()

    def groups(self, start: int = 0) -> Iterator[AdmittedGroup]:
        epoch, first = divmod(start, self.width()) if start else (0, 0)
        for current in range(epoch, self.epochs):
            base = current * self.width() if current else 0
            for group in self.delta.groups(first if current == epoch else 0):
                yield dataclasses.replace(group, index=base + group.index)

    def forget_batches(self) -> None:
        forget = getattr(self.delta, "forget_batches", None)
        if forget is not None:
            forget()
