"""``--listing since-newest``: only the newest learned folder and the folders after it."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest

import distinc
from distinc.cli.main import build_parser
from distinc.dataset.listing import at_or_after, files_since, list_files, newest_folder
from distinc.dataset.partition import DataSource
from distinc.exceptions import ConfigurationError, PartitionMissingError
from tests.conftest import make_frame, write_partition

KEYS = [
    "top.parquet",
    "day=01/a.parquet",
    "day=02/a.parquet",
    "day=02/hour=03/a.parquet",
    "day=02/hour=03/sub/b.parquet",
    "day=02/hour=04/a.parquet",
    "day=02/hour=10/_tmp/c.parquet",
    "day=03/a.parquet",
    "day=03/hour=01/a.parquet",
    "day=10/.hidden.parquet",
]


def expected_since(full: dict[str, tuple[int, str]], folder: tuple[str, ...]) -> set[str]:
    """Keys in or after ``folder``, plus the files lying directly in the folders above it."""
    above = {folder[:depth] for depth in range(len(folder))}
    return {key for key in full if at_or_after(key, folder) or tuple(key.split("/")[:-1]) in above}


def write_tree(root: Path) -> None:
    for n, key in enumerate(KEYS):
        write_partition(root, key, make_frame(5, seed=n))


@pytest.mark.parametrize("folder", [(), ("day=02",), ("day=02", "hour=03"), ("day=09",)])
def test_files_since_lists_the_folder_and_after_on_local_paths(
    tmp_path: Path, folder: tuple[str, ...]
) -> None:
    write_tree(tmp_path)
    source = DataSource(str(tmp_path))
    full = list_files(source)
    since = list_files(source, since=folder)
    assert set(since) == expected_since(full, folder)
    assert since == {key: full[key] for key in since}


def test_files_since_on_an_fsspec_backend() -> None:
    fs = fsspec.filesystem("memory")
    root = f"/since-{uuid.uuid4().hex}"
    for key in KEYS:
        fs.pipe_file(f"{root}/{key}", b"x" * len(key))
    full = list_files(DataSource(f"memory://{root}"))
    assert set(full) == {k for k in KEYS if "/_" not in k and "/." not in k}
    folder = ("day=02", "hour=03")
    assert files_since(fs, root, folder) == {k: full[k] for k in expected_since(full, folder)}


def test_newest_folder_compares_components_not_strings() -> None:
    # As strings "day=5-b/x" < "day=5/x"; as folders ("day=5",) < ("day=5-b",).
    assert newest_folder(["day=5/x.parquet", "day=5-b/x.parquet"]) == ("day=5-b",)


def test_an_update_since_newest_lists_only_the_newest_folders(
    tmp_path: Path, client: object
) -> None:
    data = tmp_path / "data"
    for day in (1, 2):
        write_partition(data, f"day={day:02d}/a.parquet", make_frame(30, seed=day))
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        classes=[0, 1],
    )
    model.update(client=client)
    write_partition(data, "day=02/b.parquet", make_frame(30, seed=3))
    write_partition(data, "day=03/a.parquet", make_frame(30, seed=4))
    write_partition(data, "day=01/late.parquet", make_frame(30, seed=5))  # an older folder
    (data / "day=01" / "a.parquet").unlink()  # gone, in a folder the listing skips
    with pytest.raises(ConfigurationError, match="listing"):
        model.update(client=client, listing="newest")
    result = model.update(client=client, listing="since-newest")
    assert result.entry is not None
    assert [p.key for p in result.entry.partitions] == ["day=02/b.parquet", "day=03/a.parquet"]
    assert result.plan.missing == ()
    # The full listing sees what the newest-folder listing did not look for.
    with pytest.raises(PartitionMissingError, match="day=01/a.parquet"):
        model.update(client=client, dry_run=True)
    plan = model.update(client=client, dry_run=True, on_missing="warn").plan
    assert [p.key for p in plan.new] == ["day=01/late.parquet"]


def test_the_cli_flag_reaches_the_update() -> None:
    parser = build_parser()
    assert parser.parse_args(["update", "s"]).listing == "full"
    assert parser.parse_args(["update", "s", "--listing", "since-newest"]).listing == "since-newest"
    with pytest.raises(SystemExit):
        parser.parse_args(["update", "s", "--listing", "newest"])
