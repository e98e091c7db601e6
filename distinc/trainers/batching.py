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

from collections.abc import Sequence

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
    """``blocks`` one after the other; without a copy when they are consecutive rows of one
    array, as the batches of partitions scanned together are.

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
    if isinstance(owner, np.ndarray) and owner.flags.c_contiguous:
        start = end = first.__array_interface__["data"][0]
        for block in blocks:
            alike = block.dtype == first.dtype and block.shape[1:] == first.shape[1:]
            if not (alike and block.base is owner and block.flags.c_contiguous):
                break
            if block.__array_interface__["data"][0] != end:
                break
            end += block.nbytes
        else:
            rows = sum(len(block) for block in blocks)
            offset = start - owner.__array_interface__["data"][0]
            return np.ndarray((rows, *first.shape[1:]), first.dtype, owner, offset)
    return np.concatenate(blocks)
