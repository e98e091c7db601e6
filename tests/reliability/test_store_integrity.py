"""P1, P16, P17, P18: failed writes, damaged or foreign stores, rollback, and ``distinc verify``."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import distinc
from tests.reliability import procs
from tests.reliability.harness import (
    TRAINED_FIRST,
    add_partitions,
    assert_consistent,
    assert_equals_clean_run,
    assert_learned_once,
    refused,
    snapshot,
)
from tests.reliability.tally import tally

FIRST = list(TRAINED_FIRST)


def entry_file(store: Path, version: int) -> Path:
    return store / "ledger" / f"{version:08d}.json"


def artifact_file(store: Path, version: int) -> Path:
    entry = json.loads(entry_file(store, version).read_text())
    return store / entry["artifacts"][0]["path"]


def rewrite_entry(store: Path, version: int, **changes: Any) -> None:
    """Edit an entry as another tool or another distinc would have written it."""
    path = entry_file(store, version)
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_an_io_error_while_writing_the_artifact_commits_nothing(
    trained: tuple[Path, Path], client: Any, cli_env: dict[str, str | None]
) -> None:
    """The kernel refuses the write halfway (a file size limit, like a full disk or quota)."""
    data, store = trained
    add_partitions(data, ["new.parquet"])
    limit = artifact_file(store, 1).stat().st_size // 2
    finished = procs.run("update", str(store), env=cli_env, file_size=limit)
    assert finished.returncode == 1 and len(finished.errors) == 1, finished.describe()
    assert finished.errors[0].startswith("distinc: error: Writing artifacts/00000002-")
    assert (
        "failed ([Errno 27] File too large); nothing was committed, version 2 does not "
        in (finished.errors[0])
    )
    tally("I/O errors injected")
    assert assert_consistent(store).versions() == [1]
    assert distinc.open(str(store)).update(client=client).version == 2
    assert_learned_once(store, [*FIRST, "new.parquet"])
    assert_equals_clean_run(store, data)


def test_a_tampered_artifact_is_refused_and_named_by_verify(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    path = artifact_file(store, 1)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    path.write_bytes(bytes(damaged))
    add_partitions(data, ["new.parquet"])
    name = f"artifacts/{path.name}"
    refused(store, f"Artifact {name} does not match the sha256 in the ledger", env=cli_env)
    verify = procs.run("verify", str(store))
    assert verify.returncode == 1, verify.describe()
    assert f"version 1: Artifact {name} does not match the sha256" in verify.stderr


def test_a_pickle_in_place_of_a_skops_artifact_is_never_unpickled(
    tmp_path: Path, trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    """Even with a matching hash in the ledger, as a store written by another tool would have."""
    data, store = trained
    side_effect = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(side_effect), "w"))

    path = artifact_file(store, 1)
    payload = pickle.dumps(Payload())
    path.write_bytes(payload)
    artifacts = json.loads(entry_file(store, 1).read_text())["artifacts"]
    artifacts[0].update(sha256=hashlib.sha256(payload).hexdigest(), size=len(payload))
    rewrite_entry(store, 1, artifacts=artifacts)
    add_partitions(data, ["new.parquet"])
    refused(store, "is not a skops file", "distinc never loads pickles", env=cli_env)
    verify = procs.run("verify", str(store))
    assert verify.returncode == 1 and "the head version 1 does not load" in verify.stderr
    assert not side_effect.exists()


@pytest.mark.parametrize("where", ["ledger", "spec"])
def test_a_store_written_by_a_newer_distinc_is_refused_and_left_alone(
    trained: tuple[Path, Path], cli_env: dict[str, str | None], where: str
) -> None:
    data, store = trained
    if where == "ledger":
        rewrite_entry(store, 1, format=99)
        expected = "Ledger entry ledger/00000001.json has format 99, newer than this distinc"
    else:
        spec = json.loads((store / "spec.json").read_text())
        (store / "spec.json").write_text(json.dumps({**spec, "format": 99}))
        expected = "The store spec has format 99, newer than this distinc understands"
    add_partitions(data, ["new.parquet"])
    refused(store, expected, "Upgrade distinc; nothing was changed.", env=cli_env)
    before = snapshot(store)
    for command in (["history"], ["status"], ["rollback", "--to", "1"], ["verify"]):
        finished = procs.run(*command[:1], str(store), *command[1:], env=cli_env)
        assert finished.returncode == 1 and expected in finished.stderr, finished.describe()
    assert snapshot(store) == before


def test_rollback_appends_a_version_and_the_next_update_relearns_what_it_undid(
    trained: tuple[Path, Path], client: Any, cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    add_partitions(data, ["d.parquet", "e.parquet"])
    assert distinc.open(str(store)).update(client=client).version == 2
    history = {name: value for name, value in snapshot(store).items() if name != "spec.json"}
    rolled = procs.run("rollback", str(store), "--to", "1", env=cli_env)
    assert rolled.stdout.strip() == "version 3: rolled back to the model of version 1"
    after = snapshot(store)
    assert {name: after[name] for name in history} == history  # history is append-only
    model = distinc.open(str(store))
    assert model.store.entry(3).artifact("model") == model.store.entry(1).artifact("model")
    entry = model.update(client=client).entry
    assert entry is not None and entry.parent == 3
    assert [part.key for part in entry.partitions] == ["d.parquet", "e.parquet"]
    assert_learned_once(store, [*FIRST, "d.parquet", "e.parquet"])
    assert_equals_clean_run(store, data)
    for version in (1, 2, 3, 4):  # P17: every committed version stays loadable
        assert model.model(version) is not None


def test_a_library_version_mismatch_is_reported_when_a_model_is_loaded(
    trained: tuple[Path, Path], cli_env: dict[str, str | None]
) -> None:
    data, store = trained
    libraries = json.loads(entry_file(store, 1).read_text())["libraries"]
    rewrite_entry(store, 1, libraries={**libraries, "scikit-learn": "0.0.1"})
    add_partitions(data, ["new.parquet"])
    finished = procs.run("update", str(store), env=cli_env)
    assert finished.returncode == 0, finished.describe()
    assert "distinc: version 1 was saved with scikit-learn 0.0.1 (now " in finished.stderr


def test_verify_names_a_missing_artifact_and_exits_non_zero(
    trained: tuple[Path, Path],
) -> None:
    _, store = trained
    assert procs.run("verify", str(store)).stdout.strip() == f"store {store} is consistent"
    path = artifact_file(store, 1)
    path.unlink()
    finished = procs.run("verify", str(store))
    assert finished.returncode == 1
    assert finished.stderr.splitlines()[0] == (
        f"distinc: store {store} is inconsistent: version 1: Artifact artifacts/{path.name} "
        "named by the ledger is missing; restore it or roll back to another version."
    )
