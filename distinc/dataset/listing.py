"""Listing the partitions under a data root from metadata alone (no file is opened)."""

from __future__ import annotations

from typing import Any

from distinc.dataset.partition import DataSource, Fingerprint, Partition
from distinc.exceptions import DataError

PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")

# The first of these a backend reports is the token that changes when an object is rewritten.
_TOKEN_KEYS = ("ETag", "etag", "VersionId", "generation", "mtime", "LastModified", "created")


def version_token(info: dict[str, Any]) -> str:
    """The rewrite-detecting token of one ``fs.info`` record.

    Examples
    --------
    >>> version_token({"size": 3, "mtime": 1700000000.5})
    'mtime:1700000000.5'
    >>> version_token({"size": 3, "ETag": '"abc"'})
    'ETag:abc'
    """
    for name in _TOKEN_KEYS:
        value = info.get(name)
        if value is not None:
            text = value.isoformat() if hasattr(value, "isoformat") else str(value)
            return f"{name}:{text.strip(chr(34))}"
    return "size-only"


def is_partition_file(relative_path: str) -> bool:
    """Parquet files count; hidden and ``_``-prefixed paths (``_SUCCESS``, ``.crc``) do not.

    Examples
    --------
    >>> is_partition_file("day=2024-01-01/part-0.parquet")
    True
    >>> is_partition_file("_temporary/part-0.parquet")
    False
    """
    parts = relative_path.split("/")
    if any(part.startswith((".", "_")) for part in parts):
        return False
    return parts[-1].lower().endswith(PARQUET_SUFFIXES)


def list_partitions(source: DataSource) -> tuple[Partition, ...]:
    """Every Parquet file below ``source``, sorted by key, with its fingerprint."""
    fs, root = source.filesystem()
    if not fs.exists(root):
        raise DataError(
            f"No data at {source.url!r}: the path does not exist. Check --data and any "
            "--storage-option needed to reach it.",
            url=source.url,
        )
    found = fs.find(root, detail=True)
    prefix = f"{root}/" if root else ""
    partitions = []
    for path, info in found.items():
        if info.get("type", "file") != "file":
            continue
        key = path[len(prefix) :] if path.startswith(prefix) else path
        if is_partition_file(key):
            partitions.append(Partition(key, Fingerprint(int(info["size"]), version_token(info))))
    return tuple(sorted(partitions))
