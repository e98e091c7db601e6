"""The few file primitives a model store needs, on a local path or any fsspec URL.

Everything else in the store is derived from these: read, write a never-reused name,
create-if-absent, list, delete.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Sequence
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from distinc.dataset.listing import epoch_seconds


class StoreFiles:
    """Files under a store root.

    ``create`` is the only primitive that must be atomic and exclusive: locally it writes a
    temporary file and hard-links it into place (the link fails if the name exists, and readers
    never see a partial file); elsewhere it uses fsspec's exclusive mode (``"xb"``), which object
    stores implement with a conditional PUT (``store.probe`` checks that the backend honours it).

    ``durable=True`` (local paths) fsyncs every file written and every folder whose entries
    changed, so a committed version survives a power cut; object stores are durable once a
    write is acknowledged, so it changes nothing there.
    """

    def __init__(
        self, url: str, storage_options: dict[str, Any] | None = None, *, durable: bool = False
    ) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})
        self.fs, root = fsspec.core.url_to_fs(url, **self.storage_options)
        self.root = root.rstrip("/")
        self.durable = durable
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def exists(self, name: str) -> bool:
        return bool(self.fs.exists(self.path(name)))

    def read(self, name: str) -> bytes:
        return bytes(self.fs.cat_file(self.path(name)))

    def read_many(self, names: Sequence[str]) -> dict[str, bytes]:
        """The files of ``names`` that exist, by name; object stores fetch them concurrently.

        A store with a thousand versions is then a few round trips to read, not a thousand.
        """
        if not names:
            return {}
        paths = {self.path(name): name for name in names}
        found = self.fs.cat(list(paths), on_error="omit")
        return {paths[path]: bytes(data) for path, data in found.items() if path in paths}

    def list(self, folder: str) -> list[str]:
        """Names of the files directly inside ``folder`` (empty when it does not exist)."""
        # Object-store backends (s3fs) cache listings; another process may have committed since.
        self.fs.invalidate_cache(self.path(folder))
        try:
            paths = self.fs.ls(self.path(folder), detail=False)
        except FileNotFoundError:
            return []
        return sorted(path.rstrip("/").rsplit("/", 1)[-1] for path in paths)

    def modified(self, name: str) -> float | None:
        """Modification time in seconds since the epoch, when the backend reports one."""
        info = self.fs.info(self.path(name))
        value = info.get("mtime") or info.get("LastModified") or info.get("created")
        if value is None:
            return None
        return epoch_seconds(value)

    def write(self, name: str, data: bytes) -> None:
        """Write ``data`` under a name that is never reused (no atomicity needed)."""
        path = self.path(name)
        if self.is_local:
            self._make_folder(os.path.dirname(path))
            with open(path, "wb") as handle:
                handle.write(data)
                self._sync(handle)
            self._sync_dir(os.path.dirname(path))
        else:
            self.fs.pipe_file(path, data)

    def create(self, name: str, data: bytes) -> None:
        """Create ``name`` holding ``data`` atomically; ``FileExistsError`` if it exists."""
        path = self.path(name)
        if not self.is_local:
            with self.fs.open(path, "xb") as handle:
                handle.write(data)
            return
        folder = os.path.dirname(path)
        self._make_folder(folder)
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            with open(temporary, "xb") as handle:
                handle.write(data)
                self._sync(handle)
            os.link(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        self._sync_dir(folder)

    def delete(self, name: str) -> None:
        self.fs.rm_file(self.path(name))

    def _make_folder(self, folder: str) -> None:
        """Create ``folder`` (and parents); in durable mode, make each new name durable too."""
        if os.path.isdir(folder):
            return
        parent = os.path.dirname(folder)
        if parent and parent != folder:
            self._make_folder(parent)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)
        self._sync_dir(parent or ".")

    def _sync(self, handle: Any) -> None:
        if self.durable:
            handle.flush()
            os.fsync(handle.fileno())

    def _sync_dir(self, folder: str) -> None:
        if self.durable:
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
