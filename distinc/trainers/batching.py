"""Fit batches: consecutive partitions learned by one ``partial_fit`` call (``fit_batch_mb``).

scikit-learn pays a fixed cost per ``partial_fit`` call (milliseconds, even with validation
skipped), so a delta of thousands of small files spends most of its time in that cost. With
``fit_batch_mb`` set, the scan groups the delta's partitions, in training order, by the sizes
their fingerprints record, against that fixed budget; the stream then concatenates each batch's
rows into one call. The batches depend on the files alone (not on the workers, retries or
resumes), so every run over the same delta learns the same batches and ends with the same model.
A task takes whole batches, as many as its usual size allows. Each partition keeps its own
ledger record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from distinc.dataset.profile import Batch
from distinc.spec import TrainingOptions

MEGABYTE = 2**20


def fit_batch_bytes(options: TrainingOptions, *, strategy: str) -> int | None:
    """The fixed file bytes per fit batch; ``None`` when fit batching is off
    (the default, and every strategy but the stream).

    Examples
    --------
    >>> fit_batch_bytes(TrainingOptions(fit_batch_mb=1.5), strategy="stream")
    1572864
    >>> fit_batch_bytes(TrainingOptions(), strategy="stream") is None
    True
    """
    if options.fit_batch_mb <= 0 or strategy != "stream":
        return None
    return max(1, round(options.fit_batch_mb * MEGABYTE))


def joined(batches: Sequence[Batch]) -> Batch:
    """One batch of ``batches``' rows in order: features stacked, labels concatenated.

    Examples
    --------
    >>> features, labels = joined([(np.zeros((2, 3)), np.array([0, 1])),
    ...                            (np.ones((1, 3)), np.array([1]))])
    >>> features.shape, labels.tolist()
    ((3, 3), [0, 1, 1])
    >>> joined([(np.zeros((1, 2)), None), (np.ones((2, 2)), None)])[1] is None
    True
    """
    if len(batches) == 1:
        return batches[0]
    features = _stacked([features for features, _ in batches])
    labels = [labels for _, labels in batches if labels is not None]
    return features, _stacked(labels) if labels else None


def _stacked(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """``blocks`` one after the other; without a copy when there is one, or when they are
    consecutive rows of one array, as the batches of partitions scanned together are.

    Examples
    --------
    >>> whole = np.arange(12.0).reshape(6, 2)
    >>> joined_view = _stacked([whole[1:3], whole[3:4], whole[4:6]])
    >>> np.shares_memory(joined_view, whole), joined_view.tolist() == whole[1:].tolist()
    (True, True)
    >>> np.shares_memory(_stacked([whole[0:1], whole[2:3]]), whole)
    False
    """
    first, owner = blocks[0], blocks[0].base
    if len(blocks) == 1:
        return first
    if isinstance(owner, np.ndarray) and all(map(_follows, blocks, blocks[1:])):
        rows = sum(len(block) for block in blocks)
        offset = _address(first) - _address(owner)
        return np.ndarray((rows, *first.shape[1:]), first.dtype, owner, offset)
    return np.concatenate(blocks)


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


def _follows(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether ``after`` views the rows right after ``before``'s, in the array both view."""
    owner = before.base
    return (
        isinstance(owner, np.ndarray)
        and after.base is owner
        and owner.flags.c_contiguous
        and before.flags.c_contiguous
        and after.flags.c_contiguous
        and before.dtype == after.dtype
        and before.shape[1:] == after.shape[1:]
        and _address(before) + before.nbytes == _address(after)
    )


# Batches as they travel: runs of partitions, each with its keys, its rows (features and labels
# of every partition in it, or None) and where each partition's rows start and stop.
PackedRun = tuple[tuple[str, ...], Batch | None, tuple[int, ...]]


def packed(batches: Mapping[str, Batch | None]) -> list[PackedRun]:
    """``batches`` as runs: consecutive batches that view adjacent rows of one array (those of
    partitions scanned together) join without a copy, so a run is sent as one array instead of
    an array per partition (a thousand small arrays cost several times their bytes to send).

    Examples
    --------
    >>> whole, labels = np.arange(12.0).reshape(6, 2), np.arange(6)
    >>> runs = packed({"a": (whole[:2], labels[:2]), "b": (whole[2:6], labels[2:6]), "c": None})
    >>> [(keys, bounds) for keys, _, bounds in runs]
    [(('a', 'b'), (0, 2, 6)), (('c',), (0,))]
    >>> unpacked(runs)["b"][1].tolist(), unpacked(runs)["c"]
    ([2, 3, 4, 5], None)
    """
    runs: list[list[tuple[str, Batch | None]]] = []
    for key, batch in batches.items():
        last = runs[-1][-1][1] if runs else None
        if batch is not None and last is not None and _batch_follows(last, batch):
            runs[-1].append((key, batch))
        else:
            runs.append([(key, batch)])
    return [_packed_run(run) for run in runs]


def unpacked(runs: Sequence[PackedRun]) -> dict[str, Batch | None]:
    """The batches ``packed`` made ``runs`` of, each a view of its run's rows."""
    batches: dict[str, Batch | None] = {}
    for keys, rows, bounds in runs:
        if rows is None:
            batches.update(dict.fromkeys(keys))
            continue
        features, labels = rows
        for key, start, stop in zip(keys, bounds, bounds[1:], strict=False):
            batches[key] = (features[start:stop], None if labels is None else labels[start:stop])
    return batches


def _batch_follows(before: Batch, after: Batch) -> bool:
    (features, labels), (next_features, next_labels) = before, after
    if labels is None or next_labels is None:
        return labels is next_labels is None and _follows(features, next_features)
    return _follows(features, next_features) and _follows(labels, next_labels)


def _packed_run(run: Sequence[tuple[str, Batch | None]]) -> PackedRun:
    keys = tuple(key for key, _ in run)
    pieces = [batch for _, batch in run if batch is not None]  # all or none: see ``packed``
    if not pieces:
        return keys, None, (0,)
    labels = [y for _, y in pieces if y is not None]
    rows = (_stacked([x for x, _ in pieces]), _stacked(labels) if labels else None)
    return keys, rows, tuple(np.cumsum([0, *(len(x) for x, _ in pieces)]).tolist())
