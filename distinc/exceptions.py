"""Every error distinc raises on purpose.

Each message names what is wrong (partition, column, label or version) and the way out. Errors
cross process boundaries (they are raised on Dask workers and in CLI subprocesses), so every class
is picklable with its details.

    DistincError
    ├── ConfigurationError        bad model name, parameter, option or spec
    ├── StoreError
    │   ├── StoreNotFoundError
    │   ├── StoreExistsError
    │   ├── VersionNotFoundError
    │   ├── ConcurrentUpdateError  another run committed the version this run was going to write
    │   ├── IntegrityError         artifact hash mismatch, torn or unparsable entry, unsafe format
    │   ├── LedgerFormatError      the ledger was written by a newer distinc
    │   └── UnsafeBackendError     create-if-absent cannot be verified on this backend
    ├── DataError                  bad input, found before any training
    │   ├── PartitionChangedError  a trained partition was rewritten
    │   ├── PartitionMissingError  a trained partition disappeared
    │   ├── CorruptPartitionError  unreadable Parquet
    │   │   └── UnreadablePartitionError  an I/O error while reading it
    │   ├── SchemaError            missing column or unsafe type change
    │   ├── UnseenLabelError       a label outside the model's classes
    │   ├── TooFewClassesError     a classifier's first data holds a single label, none declared
    │   └── InvalidValueError      NaN / inf where the model cannot take them
    ├── TrainingError              the model's library refused data that passed distinc's checks
    ├── StorageAccessError         the store or the data refused access (credentials, permissions)
    └── ClusterError               the Dask cluster failed or could not be reached
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def listed(values: Iterable[Any], limit: int = 12) -> str:
    """``values`` as a list for a message, cut short when there are many.

    Examples
    --------
    >>> listed([0, 1, 2])
    '[0, 1, 2]'
    >>> listed(range(6000), limit=3)
    '[0, 1, 2, ... (6,000 in all)]'
    """
    shown = list(values)
    if len(shown) <= limit:
        return repr(shown)
    return f"[{', '.join(map(repr, shown[:limit]))}, ... ({len(shown):,} in all)]"


# How XGBoost's C++ messages start: "[17:24:05] /src/file.cu:83: "
_SOURCE_PREFIX = re.compile(r"^\[[\d:]+\] \S+:\d+: ")


def first_line(exc: BaseException) -> str:
    r"""``exc`` in one line: library errors can span many (reasons, then a stack trace), and
    XGBoost's start with the time and the C++ source line.

    Examples
    --------
    >>> first_line(ValueError("bad\n  at frame 1"))
    'ValueError: bad'
    >>> first_line(ValueError("[17:24:05] /src/regression_obj.cu:83: label must be positive."))
    'ValueError: label must be positive.'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {_SOURCE_PREFIX.sub('', lines[0])[:200]}"


class DistincError(Exception):
    """Base class; ``details`` carries the structured facts behind the message."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), {"details": self.details})


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless there is one, for messages.

    Examples
    --------
    >>> counted(1, "row"), counted(3, "row")
    ('1 row', '3 rows')
    """
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


class ConfigurationError(DistincError):
    """A model name, parameter, option or spec value is not valid."""


class StoreError(DistincError):
    """The model store cannot do what was asked."""


class StoreNotFoundError(StoreError):
    """No distinc store exists at the given location."""


class StoreExistsError(StoreError):
    """``init`` was asked to create a store where one already exists."""


class VersionNotFoundError(StoreError):
    """A version number that the ledger does not hold."""


class ConcurrentUpdateError(StoreError):
    """Another run committed the version this run was about to commit; nothing was published."""


class IntegrityError(StoreError):
    """Stored bytes do not match the ledger, or cannot be trusted."""


class LedgerFormatError(StoreError):
    """The ledger was written in a format this distinc does not understand."""


class UnsafeBackendError(StoreError):
    """The storage backend cannot guarantee create-if-absent, so commits could be lost."""


class DataError(DistincError):
    """The data to train on is not acceptable; raised before any training."""


class PartitionChangedError(DataError):
    """A partition the model already learned from was rewritten."""


class PartitionMissingError(DataError):
    """A partition the model already learned from is gone."""


class CorruptPartitionError(DataError):
    """A partition cannot be read as Parquet."""


class UnreadablePartitionError(CorruptPartitionError):
    """Reading a partition failed with an I/O error (a bad disk, a dropped connection)."""


class SchemaError(DataError):
    """A partition's columns do not match the model's."""


class UnseenLabelError(DataError):
    """A partition holds a label outside the model's classes."""


class TooFewClassesError(DataError):
    """The classes were to be inferred from the first update, which holds only one label."""


class InvalidValueError(DataError):
    """A partition holds NaN or infinite values the model cannot take."""


class TrainingError(DistincError):
    """The model's library refused to train on data distinc had accepted; nothing was committed."""


class StorageAccessError(DistincError):
    """The store or the data refused access: missing or wrong credentials, or no permission."""


class ClusterError(DistincError):
    """The Dask cluster could not be reached or failed during an update."""


__all__ = [
    "ClusterError",
    "ConcurrentUpdateError",
    "ConfigurationError",
    "CorruptPartitionError",
    "DataError",
    "DistincError",
    "IntegrityError",
    "InvalidValueError",
    "LedgerFormatError",
    "PartitionChangedError",
    "PartitionMissingError",
    "SchemaError",
    "StorageAccessError",
    "StoreError",
    "StoreExistsError",
    "StoreNotFoundError",
    "TooFewClassesError",
    "TrainingError",
    "UnreadablePartitionError",
    "UnsafeBackendError",
    "UnseenLabelError",
    "VersionNotFoundError",
]
