"""Where data and outputs are: locations compared without touching them, output folders made."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from distinc.exceptions import ConfigurationError


@dataclass(frozen=True)
class Location:
    """A path on a file system, normalised so that two spellings of one place compare equal.

    Local paths are resolved (``..``, symbolic links); other paths are compared as the backend
    spells them, on any protocol the two file systems share (``s3`` and ``s3a``).
    """

    protocols: frozenset[str]
    path: str

    @classmethod
    def of(cls, url: str, storage_options: dict[str, Any] | None = None) -> Location:
        fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        if isinstance(fs, LocalFileSystem):
            path = os.path.realpath(path)
        protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
        return cls(frozenset(protocols), path.rstrip("/"))

    def within(self, other: Location) -> bool:
        """Whether this is ``other`` or lies below it.

        Examples
        --------
        >>> Location.of("memory://data/day=1").within(Location.of("memory://data"))
        True
        >>> Location.of("memory://database").within(Location.of("memory://data"))
        False
        """
        if not self.protocols & other.protocols:
            return False
        return self.path == other.path or self.path.startswith(f"{other.path}/")


def output_folder(
    url: str, storage_options: dict[str, Any], *, what: str
) -> tuple[AbstractFileSystem, str]:
    """The file system and root of the folder ``url``, created if need be, for ``what``."""
    fs, root = fsspec.core.url_to_fs(url, **storage_options)
    root = root.rstrip("/")
    try:
        fs.makedirs(root, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        where = "it is a file" if fs.isfile(root) else "a folder on its path is a file"
        raise ConfigurationError(
            f"Cannot write {what} to {url!r}: {where}. Give a folder.",
            url=url,
        ) from exc
    return fs, root
