"""An update never opens a file it already trained on; one Dask task per partition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import distinc
from distinc.dataset.partition import DataSource
from distinc.dataset.profile import content_digest
from distinc.dataset.reading import MAP_BYTES, partitions_frame, read_bytes
from distinc.exceptions import PartitionMissingError
from tests.conftest import make_frame, write_partition
from tests.inotify import OpenWatch


def test_update_opens_only_new_files(tmp_path: Path, data_dir: Path, client: Any) -> None:
    """Counted by the kernel (inotify), so opens by worker processes and by Arrow count too."""
    model = distinc.init(
        str(tmp_path / "store"), data=str(data_dir), target="label", model="SGDClassifier"
    )
    trained = {p.name for p in data_dir.glob("*.parquet")}
    model.update(client=client)
    watch = OpenWatch(data_dir)
    try:
        new = {
            write_partition(data_dir, f"new-{i}.parquet", make_frame(100, seed=50 + i)).name
            for i in range(2)
        }
        watch.opened()
        assert model.update(client=client).version == 2
        opened = watch.opened()
        assert not set(opened) & trained, f"an update opened trained files: {opened}"
        assert set(opened) == new
        assert model.update(client=client).noop
        assert not watch.opened()
    finally:
        watch.close()


def test_dask_collection_has_one_task_per_partition(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    keys = [f"k={i}/p.parquet" for i in range(25)]
    for i, key in enumerate(keys):
        write_partition(root, key, make_frame(3, seed=i))
    meta = make_frame(0, seed=0)
    frame = partitions_frame(DataSource(str(root)), keys, meta, columns=None)
    assert frame.npartitions == 25
    assert len(frame.partitions[7].compute()) == 3
    pd.testing.assert_frame_equal(
        frame.partitions[7].compute().reset_index(drop=True), make_frame(3, seed=7)
    )


def test_local_files_are_read_when_small_and_mapped_when_large(tmp_path: Path) -> None:
    small = write_partition(tmp_path, "small.parquet", make_frame(100, seed=1))
    large = write_partition(tmp_path, "large.parquet", make_frame(60_000, seed=2))
    assert small.stat().st_size < MAP_BYTES <= large.stat().st_size
    source = DataSource(str(tmp_path))
    read = read_bytes(source, "small.parquet")
    assert isinstance(read, bytes) and read == small.read_bytes()
    mapped = read_bytes(source, "large.parquet")
    assert isinstance(mapped, pa.Buffer) and mapped.to_pybytes() == large.read_bytes()
    # the mapping outlives the file's name, as a scan's batches may
    large.unlink()
    assert content_digest(mapped) == content_digest(mapped.to_pybytes())
    with pytest.raises(PartitionMissingError, match="'large.parquet' vanished"):
        read_bytes(source, "large.parquet")
