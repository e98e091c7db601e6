"""Garbage collection during a run: the driver's walks only the objects the run made and pauses
while planning, and a worker's pauses while it scans.

An update of many partitions allocates hundreds of thousands of small objects on the driver
(the listing, profiles, verdicts, ledger records), and CPython answers with full collections
that each walk every object of the process: with dask, distributed, pandas and scikit-learn
imported, 0.1-0.15 s a collection, and one or two in an update of 10,000 partitions. The
objects that exist when a run starts are frozen (``gc.freeze``) until it ends, so those
collections walk only the run's own; afterwards they are back in the oldest generation and
collected as ever. Planning, which makes a few such objects per listed file (the ledger's
records and the listing, none in a cycle), pauses collections while it runs.

A worker scanning thousands of small files makes a dozen small objects per file (its profile,
label counts, sample and batch), all alive until admitted or fitted: about 70 young-generation
collections per worker in an update of 10,000 files, for nothing, as these objects hold no
cycles. Collections pause while a worker scans and resume when its last scan ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Leave the objects that exist now out of garbage collections until the block ends.

    Examples
    --------
    >>> with older_objects_frozen():
    ...     gc.get_freeze_count() > 0
    True
    >>> gc.get_freeze_count()
    0
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_pause_lock = threading.Lock()
_paused_blocks = 0
_enabled_before = False


@contextmanager
def collections_paused() -> Iterator[None]:
    """No garbage collection in this process until the last block paused by any thread ends
    (collections stay off if they were off before the first).

    Examples
    --------
    >>> with collections_paused():
    ...     with collections_paused():
    ...         pass
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    global _paused_blocks, _enabled_before
    with _pause_lock:
        if _paused_blocks == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _paused_blocks += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused_blocks -= 1
            if _paused_blocks == 0 and _enabled_before:
                gc.enable()
