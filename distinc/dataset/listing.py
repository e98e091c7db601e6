"""Listing the partitions under a data root from metadata alone (no file is opened)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from distinc.dataset.access import access_errors, refused
from distinc.dataset.partition import DataSource, Fingerprint, Partition, absolute_location
from distinc.exceptions import ConfigurationError, DataError

PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")

# The first of these a backend reports is the token that changes when an object is rewritten.
_TOKEN_KEYS = ("ETag", "etag", "VersionId", "generation", "mtime", "LastModified", "created")
# Those of them that are times: a backend may report one as a number or a datetime.
_TIME_KEYS = ("mtime", "LastModified", "created")


def version_token(info: dict[str, Any]) -> str:
    """The rewrite-detecting token of one ``fs.info`` record.

    A time is written as seconds since the epoch whether the backend reported a number or a
    datetime: fsspec's memory file system lists ``created`` as one and ``info`` gives the other.

    Examples
    --------
    >>> version_token({"size": 3, "mtime": 1700000000.5})
    'mtime:1700000000.5'
    >>> version_token({"size": 3, "ETag": '"abc"'})
    'ETag:abc'
    >>> from datetime import datetime, timezone
    >>> version_token({"created": datetime.fromtimestamp(1700000000.5, timezone.utc)})
    'created:1700000000.5'
    """
    if "mtime" in info and "ETag" not in info:
        return f"mtime:{epoch_text(info['mtime'])}"
    for name in _TOKEN_KEYS:
        value = info.get(name)
        if value is not None:
            text = epoch_text(value) if name in _TIME_KEYS else str(value)
            return f"{name}:{text.strip(chr(34))}"
    return "size-only"


def epoch_seconds(value: Any) -> float:
    """A time a backend reported (a number or a datetime; naive means UTC) in epoch seconds.

    Examples
    --------
    >>> from datetime import datetime
    >>> epoch_seconds(1700000000.5), epoch_seconds(datetime(2023, 11, 14, 22, 13, 20))
    (1700000000.5, 1700000000.0)
    """
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.timestamp()
    return float(value)


def epoch_text(value: Any) -> str:
    """A time as a token holds it: a datetime in epoch seconds, a number or text as it is (the
    tokens already in ledgers keep their form)."""
    return str(epoch_seconds(value)) if isinstance(value, dt.datetime) else str(value)


def is_partition_file(relative_path: str) -> bool:
    """Parquet files count; hidden and ``_``-prefixed paths (``_SUCCESS``, ``.crc``) do not.

    Examples
    --------
    >>> is_partition_file("day=2024-01-01/part-0.parquet")
    True
    >>> is_partition_file("_temporary/part-0.parquet")
    False
    """
    if not relative_path.lower().endswith(PARQUET_SUFFIXES):
        return False
    return not any(part.startswith((".", "_")) for part in relative_path.split("/"))


def _walk_local(root: str) -> dict[str, tuple[int, str]]:
    """The partition files below a local folder: ``fs.find`` and the filters, several times faster.

    Hidden and ``_``-prefixed folders are pruned rather than walked, so only file names need
    the suffix test. Directory symlinks are followed once (a visited set breaks cycles).
    """
    found: dict[str, tuple[int, str]] = {}
    stack, visited = [(root, "")], set()
    while stack:
        folder, prefix = stack.pop()
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in visited:
            continue
        visited.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith((".", "_")):
                    continue
                if entry.is_dir():
                    stack.append((entry.path, f"{prefix}{name}/"))
                elif name.lower().endswith(PARQUET_SUFFIXES) and entry.is_file():
                    found[prefix + name] = _local_state(entry.stat())
    return found


def _local_state(stat: os.stat_result) -> tuple[int, str]:
    return stat.st_size, f"mtime:{stat.st_mtime}"


def file_state(fs: AbstractFileSystem, path: str) -> tuple[int, str] | None:
    """The size and version token of ``path`` as a listing records them, asked afresh;
    ``None`` when the file is gone."""
    try:
        if isinstance(fs, LocalFileSystem):
            return _local_state(os.stat(path))  # fsspec's info costs ten times a bare stat
        fs.invalidate_cache(path)  # s3fs would answer from the listing cached before training
        info = fs.info(path)
    except FileNotFoundError:
        return None
    return int(info["size"]), version_token(info)


def not_a_folder(root: str) -> DataError:
    """The error for a data location that is one file rather than a folder of them."""
    return DataError(
        f"The data location {root!r} is a file; data must be a folder of Parquet files. Put the "
        "file in a folder of its own and give that folder instead.",
        url=root,
    )


def files_below(fs: AbstractFileSystem, root: str) -> dict[str, tuple[int, str]]:
    """Every partition file below the folder ``root`` of ``fs``, keyed relative to it."""
    if isinstance(fs, LocalFileSystem) and os.path.isdir(root):
        return _walk_local(root)
    prefix = f"{root}/" if root else ""
    files = {}
    for path, info in fs.find(root, detail=True).items():
        if info.get("type", "file") != "file":
            continue
        if path.rstrip("/") == root:  # ``find`` on a file finds the file itself
            raise not_a_folder(root)
        key = path[len(prefix) :] if path.startswith(prefix) else path
        if is_partition_file(key):
            files[key] = (int(info["size"]), version_token(info))
    return files


LISTINGS = ("full", "since-newest")


def parse_listing(value: str) -> str:
    """``value`` if it names a listing mode, else a ``ConfigurationError`` naming the choices."""
    if value not in LISTINGS:
        raise ConfigurationError(
            f"The listing must be one of {list(LISTINGS)}. Got {value!r} instead.",
            option="listing",
        )
    return value


def newest_folder(keys: Iterable[str]) -> tuple[str, ...] | None:
    """The folder, as path components, of the key in the folder that sorts last.

    Examples
    --------
    >>> newest_folder(["day=02/a.parquet", "day=10/b.parquet", "day=10/hour=3/c.parquet"])
    ('day=10', 'hour=3')
    >>> newest_folder(["a.parquet"]), newest_folder([])
    ((), None)
    """
    return max((tuple(key.split("/")[:-1]) for key in keys), default=None)


def at_or_after(key: str, folder: tuple[str, ...]) -> bool:
    """Whether ``key`` lies in ``folder`` or a folder that sorts after it, component-wise.

    Examples
    --------
    >>> [at_or_after(k, ("day=10",)) for k in ("day=09/a.pq", "day=10/a.pq", "day=11/x/a.pq")]
    [False, True, True]
    """
    return tuple(key.split("/")[:-1]) >= folder


def files_since(
    fs: AbstractFileSystem, root: str, folder: tuple[str, ...]
) -> dict[str, tuple[int, str]]:
    """The partition files in ``folder`` and in every folder that sorts after it.

    Folders that sort before it are not listed at all, so the cost follows the newest part of
    an append-only tree (``day=.../hour=...``), not its size. Files lying directly in the
    folders on the way down are listed too (they come with the folder listings anyway).
    """
    files: dict[str, tuple[int, str]] = {}
    path, prefix = root, ""
    for depth in range(len(folder) + 1):
        wanted = folder[depth] if depth < len(folder) else None
        descend = False
        for info in fs.ls(path, detail=True):
            if str(info["name"]).rstrip("/") == root:  # ``ls`` on a file lists the file itself
                raise not_a_folder(root)
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if name.startswith((".", "_")):
                continue
            if info.get("type") == "directory":
                if wanted is None or name > wanted:
                    below = files_below(fs, f"{path}/{name}")
                    files.update({f"{prefix}{name}/{key}": value for key, value in below.items()})
                descend = descend or name == wanted
            elif is_partition_file(prefix + name):
                files[prefix + name] = (int(info["size"]), version_token(info))
        if not descend:
            break
        path, prefix = f"{path}/{wanted}", f"{prefix}{wanted}/"
    return files


def list_files(
    source: DataSource, *, since: tuple[str, ...] | None = None, option: str = "data"
) -> dict[str, tuple[int, str]]:
    """Every Parquet file below ``source`` as ``key -> (size, token)``, in no particular order.

    The raw form of ``list_partitions``, for callers that handle a hundred thousand files and
    need ``Partition`` values for only a few of them (planning). With ``since`` (a folder, as
    ``newest_folder`` gives it) only that folder and the folders after it are listed. ``option``
    is the one that named ``source``, for the error when it does not exist.
    """
    fs, root = source.filesystem()
    try:
        if fs.exists(root):
            return files_below(fs, root) if since is None else files_since(fs, root, since)
    except access_errors() as exc:
        raise refused("the data", source.url, exc, option="data_options") from exc
    # The absolute path: a relative one spelt like the option ('data') would read as its flag.
    raise DataError(
        f"No data at {absolute_location(source.url)!r}: the path does not exist. Check "
        f"{option!r} and any 'storage_options' needed to reach it.",
        url=source.url,
        options=(option, "storage_options"),
    )


def list_partitions(source: DataSource, *, option: str = "data") -> tuple[Partition, ...]:
    """Every Parquet file below ``source``, sorted by key, with its fingerprint."""
    files = list_files(source, option=option)
    return tuple(Partition(key, Fingerprint(*files[key])) for key in sorted(files))


def listing_digest(partitions: Sequence[Partition]) -> str:
    """A short digest of a listing; it changes when any file is added, removed or rewritten.

    Examples
    --------
    >>> one = [Partition("a.parquet", Fingerprint(3, "mtime:1"))]
    >>> listing_digest(one) == listing_digest(list(one))
    True
    >>> listing_digest(one) == listing_digest([Partition("a.parquet", Fingerprint(3, "mtime:2"))])
    False
    """
    digest = hashlib.sha256()
    for part in sorted(partitions, key=attrgetter("key")):
        digest.update(f"{part.key}\t{part.fingerprint.size}\t{part.fingerprint.token}\n".encode())
    return digest.hexdigest()[:16]
