"""Where outputs go: folders made, and a file where a folder belongs refused by name."""

from __future__ import annotations

from typing import Any

import fsspec
from fsspec import AbstractFileSystem

from distinc.exceptions import ConfigurationError


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
