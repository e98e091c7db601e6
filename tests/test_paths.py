"""Locations given wrong: a file where a folder belongs, an output over its own input."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from distinc.dataset.listing import list_files
from distinc.dataset.partition import DataSource
from distinc.exceptions import ConfigurationError, DataError
from tests.conftest import cli_init, learned_store, make_frame, run_cli, write_partition


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


def test_predict_refuses_an_output_folder_over_or_inside_data_before_scoring(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = learned_store(tmp_path, data_dir, client)
    scoring = tmp_path / "score"
    scored = write_partition(scoring, "a.parquet", make_frame(50, seed=7))
    before = scored.read_bytes()
    store = str(tmp_path / "store")
    same = run_cli("predict", store, "--data", str(scoring), "--out", str(scoring), check=False)
    assert f"The output folder {str(scoring)!r} is the scoring data" in one_line_error(same)
    refused = {
        str(scoring / "predictions"): "lies inside the scoring data",
        str(tmp_path): "contains the scoring data",
        f"{data_dir}/../data/predictions": "lies inside the training data",
    }
    for out, relation in refused.items():
        with pytest.raises(ConfigurationError, match=f"{out!r} {relation}"):
            model.predict(str(scoring), out=out, client=client)
    assert scored.read_bytes() == before
    assert not (data_dir / "predictions").exists() and not (scoring / "predictions").exists()

    out = tmp_path / "out"
    for _ in range(2):  # a rerun overwrites its own earlier predictions, as documented
        assert model.predict(str(scoring), out=str(out), client=client).rows == 50
    notes = tmp_path / "notes.txt"
    notes.write_text("x\n")
    with pytest.raises(ConfigurationError, match=f"{str(notes)!r}: it is a file"):
        model.predict(str(scoring), out=str(notes), client=client)


def test_a_file_where_a_store_or_an_output_folder_belongs_is_named(
    tmp_path: Path, data_dir: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x\n")
    assert f"{str(notes)!r}: it is a file" in one_line_error(
        cli_init(str(notes), data_dir, check=False)
    )
    status = run_cli("status", str(notes), check=False)
    assert f"{str(notes)!r} is a file, not a distinc store" in one_line_error(status)

    mixed = one_line_error(cli_init(str(data_dir), data_dir, check=False))
    assert f"{str(data_dir)!r}: the folder already holds ['part-00.parquet'" in mixed
    assert not (data_dir / "spec.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    cli_init(str(empty), data_dir)
    report = run_cli("report", str(empty), "--out", str(notes), check=False)
    assert f"Cannot write the report to {str(notes)!r}: it is a file" in one_line_error(report)
    assert notes.read_text() == "x\n"
