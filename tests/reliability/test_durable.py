"""P19: durable mode fsyncs the files and folders of a commit, as the kernel sees it.

The commands run under ``strace`` (installed by ``.ci/run``), which records every ``fsync`` with
the path of its file descriptor, so the test sees exactly what reached the disk's cache flush.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import distinc
from distinc.spec import TrainingOptions
from tests.reliability.harness import add_partitions, assert_consistent, new_store
from tests.reliability.tally import tally

STRACE = shutil.which("strace")
_SYNC = re.compile(r"f(?:data)?sync\(\d+<(?P<path>[^>]*)>\)\s+= 0")


def fsynced(store: Path, *args: str, env: dict[str, str | None]) -> set[str]:
    """Run ``distinc *args`` under strace; the paths under ``store``'s folder it fsynced."""
    if STRACE is None:
        pytest.skip("strace is not installed (.ci/run installs it)")
    log = store.parent / f"strace-{len(list(store.parent.glob('strace-*')))}.log"
    command = [STRACE, "-f", "-qq", "--seccomp-bpf", "-y", "-e", "trace=fsync,fdatasync"]
    merged = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    result = subprocess.run(
        [*command, "-o", str(log), sys.executable, "-m", "distinc", *args],
        capture_output=True,
        text=True,
        env=merged,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    root = str(store.parent)
    paths = {match["path"] for match in map(_SYNC.search, log.read_text().splitlines()) if match}
    return {os.path.relpath(path, store) for path in paths if path.startswith(root)}


def committed(store: Path, version: int) -> set[str]:
    entry = assert_consistent(store).entry(version)
    return {ref.path for ref in entry.artifacts}


def test_update_with_fsync_flushes_artifacts_entry_and_folders_and_without_it_nothing(
    tmp_path: Path, client: Any, cli_env: dict[str, str | None]
) -> None:
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, ["a.parquet"])
    new_store(tmp_path, data).update(client=client)

    add_partitions(data, ["b.parquet"])
    synced = fsynced(store, "update", str(store), "--fsync", env=cli_env)
    assert committed(store, 2) <= synced
    assert {"artifacts", "ledger"} <= synced
    entry = [path for path in synced if re.fullmatch(r"ledger/00000002\.json\.\w+\.tmp", path)]
    assert len(entry) == 1, synced  # the entry is flushed before it is linked into place
    tally("durable commits checked with strace")

    add_partitions(data, ["c.parquet"])
    assert fsynced(store, "update", str(store), env=cli_env) == set()
    assert assert_consistent(store).versions() == [1, 2, 3]


def test_a_store_initialised_with_fsync_is_durable_for_every_later_update(
    tmp_path: Path, cli_env: dict[str, str | None]
) -> None:
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, ["a.parquet"])
    init = ["init", str(store), "--data", str(data), "--target", "label"]
    synced = fsynced(store, *init, "--model", "SGDClassifier", "--fsync", env=cli_env)
    assert {"..", "."} <= synced  # the store folder's own name, and the spec in it
    assert any(re.fullmatch(r"spec\.json\.\w+\.tmp", path) for path in synced), synced
    assert distinc.open(str(store)).spec.options.durable

    synced = fsynced(store, "update", str(store), env=cli_env)  # no flag: the store's setting
    assert committed(store, 1) <= synced
    assert {".", "artifacts", "ledger"} <= synced  # the new folders' names are flushed too
    tally("durable commits checked with strace")


def test_the_python_api_has_the_same_switches(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_partitions(data, ["a.parquet"])
    plain = new_store(tmp_path, data)
    assert not plain.store.files.durable
    assert distinc.open(plain.store.url, durable=True).store.files.durable
    durable = distinc.init(
        str(tmp_path / "durable"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        options=TrainingOptions(durable=True),
    )
    assert durable.store.files.durable
    assert distinc.open(str(tmp_path / "durable")).store.files.durable
