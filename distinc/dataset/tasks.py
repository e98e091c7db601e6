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


def split_even(items: Sequence[T], weight: Callable[[T], int], parts: int) -> list[list[T]]:
    """Split ``items`` in order into at most ``parts`` groups of about equal total weight.

    Each item joins the group its weight's midpoint falls in, so groups stay consecutive and
    one heavy item never drags its neighbours along.

    Examples
    --------
    >>> split_even([1, 1, 1, 1, 1, 1], weight=lambda x: x, parts=3)
    [[1, 1], [1, 1], [1, 1]]
    >>> split_even([5, 1, 1, 1, 1, 1], weight=lambda x: x, parts=2)
    [[5], [1, 1, 1, 1, 1]]
    >>> split_even([3, 3], weight=lambda x: x, parts=5)
    [[3], [3]]
    """
    parts = max(1, min(parts, len(items)))
    weights = [max(0, weight(item)) for item in items]
    total = sum(weights)
    groups: list[list[T]] = [[] for _ in range(parts)]
    done = 0
    for position, (item, size) in enumerate(zip(items, weights, strict=True)):
        share = (done + size / 2) / total if total else (position + 0.5) / len(items)
        groups[min(parts - 1, int(share * parts))].append(item)
        done += size
    return [group for group in groups if group]


def tapered(groups: list[list[T]], halvings: int, width: int = 1) -> list[list[T]]:
    """``groups`` with the last ``width`` of them halved, then the last ``width`` of the halves
    again, ``halvings`` times; a last group under half the one before it first joins that one.

    ``width`` workers take consecutive groups side by side, so the last ``width`` groups finish
    about together: all of them must be short for the work that waits on them to be short.

    Examples
    --------
    >>> tapered([[1, 2], [3, 4, 5, 6, 7, 8, 9, 10]], 2)
    [[1, 2], [3, 4, 5, 6], [7, 8], [9, 10]]
    >>> [len(group) for group in tapered([[0] * 8, [0] * 8, [0] * 8, [0] * 2], 3, width=2)]
    [8, 4, 4, 2, 3, 1, 1, 1, 2]
    """
    groups = list(groups)
    if halvings and len(groups) >= 2 and 2 * len(groups[-1]) < len(groups[-2]):
        groups[-2:] = [groups[-2] + groups[-1]]
    for _ in range(halvings):
        tail = groups[-width:]
        if all(len(group) < 2 for group in tail):
            break
        del groups[-width:]
        for group in tail:
            middle = len(group) // 2
            groups += [group[:middle], group[middle:]] if middle else [group]
    return groups
