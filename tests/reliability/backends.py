"""A real fsspec backend that misbehaves the way real backends do, for the reliability tests.

``faulty://`` serves local files through the fsspec interface of a remote store (distinc treats
it as non-local, so it probes it and reads through ``cat_file``) and can be told to:

* ``exclusive=False``: treat exclusive create (``mode="xb"``) like a plain write, silently
  overwriting, as s3fs did for small files until 2025 (fsspec/s3fs#973, fixed by #974) and as
  S3-compatible services without conditional writes still do. ``overwriting://`` is the same
  backend with that default, for commands that open a store without storage options;
* ``unreadable=[names]``: fail every read of files with those names with ``EIO``, as a bad disk
  or a dropped connection does.

Importing this module registers the protocol; workers and forked commands import it too.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from typing import Any

import fsspec
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

PROTOCOL = "faulty"
OVERWRITING = "overwriting"


class FaultyFileSystem(AbstractFileSystem):
    """Local files behind a non-local fsspec backend with configurable faults."""

    protocol = PROTOCOL
    root_marker = "/"

    def __init__(
        self, *, exclusive: bool = True, unreadable: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.local = LocalFileSystem(auto_mkdir=True)
        self.exclusive = exclusive
        self.unreadable = tuple(unreadable)

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        for protocol in (PROTOCOL, OVERWRITING):
            text = text.removeprefix(f"{protocol}://")
        return "/" + text.lstrip("/")

    def _check_readable(self, path: str) -> None:
        if os.path.basename(path) in self.unreadable:
            raise OSError(errno.EIO, os.strerror(errno.EIO), path)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        return self.local.ls(self._strip_protocol(path), detail=detail)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.local.info(self._strip_protocol(path))
        return result

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kw: Any
    ) -> Any:
        path = self._strip_protocol(path)
        self._check_readable(path)
        return self.local.cat_file(path, start=start, end=end)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        self.local.pipe_file(self._strip_protocol(path), value)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        if "r" in mode:
            self._check_readable(path)
        if "x" in mode and not self.exclusive:
            mode = mode.replace("x", "w")
        return self.local._open(path, mode, **kwargs)

    def rm_file(self, path: str) -> None:
        self.local.rm_file(self._strip_protocol(path))

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.local.mkdir(self._strip_protocol(path), create_parents=create_parents)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.local.makedirs(self._strip_protocol(path), exist_ok=exist_ok)


class OverwritingFileSystem(FaultyFileSystem):
    """``faulty://`` whose exclusive create overwrites unless told otherwise."""

    protocol = OVERWRITING

    def __init__(self, *, exclusive: bool = False, **kwargs: Any) -> None:
        super().__init__(exclusive=exclusive, **kwargs)


fsspec.register_implementation(PROTOCOL, FaultyFileSystem, clobber=True)
fsspec.register_implementation(OVERWRITING, OverwritingFileSystem, clobber=True)


def url(path: Any, protocol: str = PROTOCOL) -> str:
    """The URL of a local path through ``protocol``."""
    return f"{protocol}://{os.path.abspath(path)}"


def register_on_workers(client: Any) -> None:
    """Make the protocol known to every worker of ``client``'s cluster."""
    import importlib

    client.run(importlib.import_module, __name__)
