"""Coalescing partitions into Dask tasks of a sensible size.

Dask pays milliseconds per task, so thousands of tiny partitions would drown an update in
scheduling. Consecutive partitions are grouped until a group reaches a budget; each partition
keeps its own identity (and ledger record) inside its group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def coalesce(items: Sequence[T], weight: Callable[[T], int], budget: int) -> list[list[T]]:
    """Split ``items`` in order into groups whose total weight stays near ``budget``.

    A group closes once it reaches the budget, so one heavy item forms a group of its own.

    Examples
    --------
    >>> coalesce([5, 5, 5, 20, 1], weight=lambda x: x, budget=10)
    [[5, 5], [5, 20], [1]]
    """
    groups: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item in items:
        current.append(item)
        total += weight(item)
        if total >= budget:
            groups.append(current)
            current, total = [], 0
    if current:
        groups.append(current)
    return groups
