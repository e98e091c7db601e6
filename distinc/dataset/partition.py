"""Partitions: one Parquet file each, identified by its path under the data root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fsspec
from fsspec import AbstractFileSystem


@dataclass(frozen=True, order=True)
class Fingerprint:
    """What the file system says about a file without opening it.

    ``token`` is whatever changes when the object is rewritten: an ETag, a version id or a
    modification time, prefixed with its kind (``"mtime:1700000000.123"``).
    """

    size: int
    token: str


@dataclass(frozen=True, order=True)
class Partition:
    """One Parquet file, keyed by its POSIX path relative to the data root."""

    key: str
    fingerprint: Fingerprint


@dataclass(frozen=True)
class DataSource:
    """A data root (local path or fsspec URL) and the options to reach it."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    def filesystem(self) -> tuple[AbstractFileSystem, str]:
        fs, root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        return fs, root.rstrip("/")

    def path_of(self, key: str) -> str:
        _, root = self.filesystem()
        return f"{root}/{key}" if root else key
