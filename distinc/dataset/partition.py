"""Partitions: one Parquet file each, identified by its path under the data root."""

from __future__ import annotations

import os
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
        return self.locate(key)[1]

    def locate(self, key: str) -> tuple[AbstractFileSystem, str]:
        """The file system and full path of partition ``key``, from one parse of the URL."""
        fs, root = self.filesystem()
        return fs, under(root, key)


def under(root: str, key: str) -> str:
    """The path of ``key`` below ``root``, a root that ``DataSource.filesystem`` returned.

    Examples
    --------
    >>> under("/data", "day=1/a.parquet"), under("", "a.parquet")
    ('/data/day=1/a.parquet', 'a.parquet')
    """
    return f"{root}/{key}" if root else key


def absolute_location(url: str) -> str:
    """``url`` with a local path made absolute, so that a store keeps pointing at the same data
    whatever folder later commands run from; URLs with a protocol are kept as they are.

    Examples
    --------
    >>> absolute_location("s3://bucket/data")
    's3://bucket/data'
    >>> absolute_location("/data/events")
    '/data/events'
    >>> absolute_location("data") == os.path.join(os.getcwd(), "data")
    True
    """
    protocol, _ = fsspec.core.split_protocol(url)
    return url if protocol else os.path.abspath(os.path.expanduser(url))
