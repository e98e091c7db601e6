"""Progress that fits where distinc runs: a bar on a terminal, log lines in cron or CI.

On a terminal each update or retrain gets a bar (partitions done, rows, rows per second) on
stderr. Without one, a plain ``logging`` line marks each milestone: the start, every quarter of
the partitions, the end. ``--quiet`` shows neither.
"""

from __future__ import annotations

import logging
import shutil
from typing import IO, Any

from distinc.engine.progress import Progress, ProgressCallback

logger = logging.getLogger("distinc")

MILESTONES = (0.25, 0.5, 0.75)


def _title(event: Progress) -> str:
    if event.task == "retrain":
        return "full retrain"
    return f"version {event.version}" if event.version is not None else event.task


class LogProgress:
    """One ``logging`` line per milestone, for output that is read later (cron, CI, files)."""

    def __init__(self) -> None:
        self.passed = 0

    def __call__(self, event: Progress) -> None:
        title = _title(event)
        if event.stage == "start":
            self.passed = 0
            logger.info("%s: learning %d partition(s)", title, event.total)
            return
        if event.stage == "done":
            rate = event.rows / event.seconds if event.seconds > 0 else 0.0
            learned = event.total if event.learned is None else event.learned
            aside = f" ({event.total - learned} set aside)" if learned < event.total else ""
            logger.info(
                "%s: trained %d partition(s)%s, %s rows in %.1f s (%s rows/s)",
                title,
                learned,
                aside,
                f"{event.rows:,}",
                event.seconds,
                f"{rate:,.0f}",
            )
            return
        share = event.done / event.total if event.total else 1.0
        reached = sum(1 for mark in MILESTONES if share >= mark)
        if reached > self.passed:
            self.passed = reached
            logger.info(
                "%s: %d/%d partitions, %s rows (%.0f%%)",
                title,
                event.done,
                event.total,
                f"{event.rows:,}",
                100 * share,
            )


class BarProgress:
    """A tqdm bar per update or retrain on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.bar: Any = None

    def __call__(self, event: Progress) -> None:
        from tqdm import tqdm

        if event.stage == "start":
            self.close()
            self.bar = tqdm(
                total=event.total,
                desc=_title(event),
                unit="partition",
                file=self.stream,
                # a terminal that reports no size (some CI ptys) still gets a full-width bar
                ncols=shutil.get_terminal_size((100, 24)).columns,
                leave=True,
            )
            return
        if self.bar is None:
            return
        self.bar.update(event.done - self.bar.n)
        rate = event.rows / event.seconds if event.seconds > 0 else 0.0
        self.bar.set_postfix_str(f"{event.rows:,} rows, {rate:,.0f} rows/s", refresh=True)
        if event.stage == "done":
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_for(stream: IO[str], *, quiet: bool) -> ProgressCallback | None:
    """The progress display for output going to ``stream``: a bar, log lines or nothing."""
    if quiet:
        return None
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return BarProgress(stream)
    return LogProgress()
