"""Drift samples of a run of partitions scanned together.

A partition scanned on its own carries its statistics as sketches. Partitions scanned together
(``distinc.dataset.runs``) share one ``RunSample``: the rows each would have sampled alone, in
one float64 matrix, with each partition's ``PartitionSample`` pointing at its block. That is
the same information at a fraction of the cost: no per-partition sketch to build, ship and
merge. Which partitions count is only known after admission on the driver, so the blocks of
admitted partitions are sketched there, all at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby, pairwise
from typing import Any

import numpy as np

from distinc.dataset.stats import DeltaStats, matrix_summaries, merge_stats


@dataclass(frozen=True, eq=False)
class RunSample:
    """Sampled rows of a run of partitions: one column per feature in ``columns``, then the
    regression target when ``with_target``; partition ``i`` owns rows ``starts[i]:starts[i+1]``."""

    columns: tuple[str, ...]
    with_target: bool
    rows: np.ndarray
    starts: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class PartitionSample:
    """One partition's statistics inside a ``RunSample``."""

    run: RunSample
    index: int
    rows: int
    sample_every: int
    labels: tuple[tuple[Any, int], ...]

    def block(self) -> np.ndarray:
        return self.run.rows[self.run.starts[self.index] : self.run.starts[self.index + 1]]


PartitionStats = DeltaStats | PartitionSample


def sample_run(
    matrix: np.ndarray,
    target: np.ndarray | None,
    bounds: Sequence[int],
    offsets: Sequence[int],
    *,
    columns: Sequence[str],
    sample_every: int,
    labels: Sequence[tuple[tuple[Any, int], ...]],
) -> list[PartitionSample]:
    """Each partition's sample: rows ``offset % sample_every`` then every ``sample_every``-th
    of its own rows (``bounds[i]:bounds[i+1]`` of ``matrix``), as ``partition_stats`` takes them.

    ``target`` is a numeric regression target to sample alongside the features.
    """
    step = max(1, sample_every)
    picks = [
        np.arange(start + offset % step, stop, step)
        for (start, stop), offset in zip(pairwise(bounds), offsets, strict=True)
    ]
    chosen = np.concatenate(picks) if picks else np.empty(0, dtype=np.intp)
    rows = matrix[chosen]
    if target is not None:
        rows = np.column_stack([rows, np.asarray(target[chosen], dtype=np.float64)])
    starts = tuple(np.cumsum([0, *(len(pick) for pick in picks)]).tolist())
    run = RunSample(tuple(columns), target is not None, rows, starts)
    return [
        PartitionSample(run, i, int(stop - start), sample_every, labels[i])
        for i, (start, stop) in enumerate(pairwise(bounds))
    ]


def _stats_of_samples(parts: Sequence[PartitionSample]) -> DeltaStats:
    """The statistics of partitions sampled alike (same columns and step), sketched at once."""
    first = parts[0].run
    summaries = matrix_summaries(np.concatenate(_blocks(parts)))
    target = summaries.pop() if first.with_target else None
    labels: Counter[Any] = Counter()
    for part in parts:
        for label, count in part.labels:
            labels[label] += count
    return DeltaStats(
        rows=sum(part.rows for part in parts),
        sample_every=parts[0].sample_every,
        columns=dict(zip(first.columns, summaries, strict=True)),
        labels=tuple(sorted(labels.items(), key=lambda pair: repr(pair[0]))),
        target=target,
    )


def _blocks(parts: Sequence[PartitionSample]) -> list[np.ndarray]:
    """The sampled rows of ``parts``: a run whose partitions all count gives its rows at once."""
    blocks: list[np.ndarray] = []
    # RunSample compares by identity, so each group is one run's partitions, in a row
    for run, group in groupby(parts, key=lambda part: part.run):
        members = list(group)
        if len(members) == len(run.starts) - 1:
            blocks.append(run.rows)
        else:
            blocks += [part.block() for part in members]
    return blocks


def merged_stats(parts: Iterable[PartitionStats | None]) -> DeltaStats | None:
    """One ``DeltaStats`` for partitions scanned alone or together; ``None`` if there are none."""
    whole: list[DeltaStats] = []
    alike: dict[tuple[tuple[str, ...], bool, int], list[PartitionSample]] = {}
    for part in parts:
        if isinstance(part, PartitionSample):
            kind = (part.run.columns, part.run.with_target, part.sample_every)
            alike.setdefault(kind, []).append(part)
        elif part is not None:
            whole.append(part)
    return merge_stats([*whole, *(_stats_of_samples(group) for group in alike.values())])
