"""Locations given wrong: a file where a folder belongs, an output over its own input."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from distinc.dataset.listing import list_files
from distinc.dataset.partition import DataSource
from distinc.exceptions import DataError
from tests.conftest import cli_init, learned_store, make_frame, write_partition


def one_line_error(result: Any) -> str:
    """The single ``distinc: error:`` line of a command that failed with exit status 1."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("distinc: error: "), result.stderr
    return str(lines[0])


def test_a_data_location_that_is_one_file_is_refused_by_name(tmp_path: Path) -> None:
    local = write_partition(tmp_path, "day=1/part-0.parquet", make_frame(5, seed=0))
    remote = f"/one-file-{uuid.uuid4().hex}/part-0.parquet"
    fsspec.filesystem("memory").pipe_file(remote, local.read_bytes())
    for url, named in [(str(local), str(local)), (f"memory://{remote}", remote)]:
        for since in (None, ()):
            with pytest.raises(DataError, match=f"{named!r} is a file; data must be a folder"):
                list_files(DataSource(url), since=since)


def test_init_evaluate_and_predict_refuse_a_data_file(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    data_file = data_dir / "part-00.parquet"
    refused = one_line_error(cli_init(str(tmp_path / "one"), data_file, check=False))
    assert f"{str(data_file)!r} is a file" in refused
    model = learned_store(tmp_path, data_dir, client)
    with pytest.raises(DataError, match="is a file; data must be a folder"):
        model.evaluate(str(data_file), client=client)
    with pytest.raises(DataError, match="is a file; data must be a folder"):
        model.predict(str(data_file), out=str(tmp_path / "out"), client=client)
