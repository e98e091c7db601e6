"""P5, P6: updaters racing for one store, and backends whose create-if-absent is unproven."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from pathlib import Path

import fsspec
import pytest

import distinc
from distinc.engine.faults import PAUSE_VARIABLE
from distinc.exceptions import ConcurrentUpdateError, UnsafeBackendError
from distinc.store.store import ModelStore
from tests.reliability import backends, procs
from tests.reliability.harness import (
    EVERY_STRATEGY,
    StrategyCase,
    add_partitions,
    assert_consistent,
    assert_equals_clean_run,
    assert_learned_once,
    new_store,
    strategy_params,
)
from tests.reliability.tally import tally

UPDATERS = 4
FIRST = ["a.parquet", "b.parquet"]


# Well under the paused updaters' own limit (faults.PAUSE_LIMIT_SECONDS), so they are still there.
STALL_SECONDS = 120.0


def wait_until_waiting(gate: Path, running: list[procs.Running]) -> None:
    """Wait until every updater is paused at the gate (or fail if one ended or stalled)."""
    deadline = time.monotonic() + STALL_SECONDS
    while len(waiting := list(gate.parent.glob(f"{gate.name}.*.waiting"))) < len(running):
        ended = [r.wait() for r in running if r.poll() is not None]
        assert not ended, ended[0].describe()
        if time.monotonic() > deadline:
            paused = {int(path.name.split(".")[-2]) for path in waiting}
            stalled = [r.hung() for r in running if r.pid not in paused]
            gate.touch()
            raise AssertionError("\n\n".join(stalled))
        time.sleep(0.02)


def loser_run_id(finished: procs.Finished, version: int) -> str:
    assert finished.returncode == 1 and len(finished.errors) == 1, finished.describe()
    found = re.match(
        rf"distinc: error: Concurrent update: version {version} was committed by run \w+ while "
        r"this run \((\w+)\) was working; nothing was published\.",
        finished.errors[0],
    )
    assert found, finished.errors[0]
    return found.group(1)


@pytest.mark.parametrize("case", strategy_params(default=EVERY_STRATEGY))
def test_four_updaters_released_onto_one_commit_one_wins_each_version(
    tmp_path: Path, client: object, cli_env: dict[str, str | None], case: StrategyCase
) -> None:
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, FIRST)
    new_store(tmp_path, data, case).update(client=client)
    learned = list(FIRST)
    for version in (2, 3):
        keys = [f"v{version}-{i}.parquet" for i in range(2)]
        add_partitions(data, keys)
        learned += keys
        gate = tmp_path / f"gate-{version}"
        env = {**cli_env, PAUSE_VARIABLE: f"before-commit:{gate}"}
        # Real `python -m distinc` processes, as cron starts them: an updater forked from the
        # preloaded server once stalled before the gate (2 full runs in about 8, stacks lost).
        running = [procs.start("update", str(store), env=env, fresh=True) for _ in range(UPDATERS)]
        wait_until_waiting(gate, running)
        gate.touch()  # all four have trained and written their artifacts; now they all commit
        finished = [r.wait() for r in running]
        tally("concurrent updaters raced", UPDATERS)

        winners = [f for f in finished if f.returncode == 0]
        assert len(winners) == 1, [f.describe() for f in finished]
        losers = {loser_run_id(f, version) for f in finished if f.returncode != 0}
        assert len(losers) == UPDATERS - 1
        opened = assert_consistent(store)
        assert opened.versions() == list(range(1, version + 1))
        assert [part.key for part in opened.entry(version).partitions] == keys
        # The losers published nothing: their artifacts are exactly the unreferenced ones.
        unreferenced = {
            name
            for name in opened.files.list("artifacts")
            if name.startswith(f"{version:08d}-")
            and f"artifacts/{name}" not in opened.referenced_artifacts()
        }
        assert {name.split("-")[1] for name in unreferenced} == losers
    assert_learned_once(store, learned)
    assert_equals_clean_run(store, data, case)


def test_four_cron_jobs_started_together_commit_one_version(
    tmp_path: Path, client: object, cli_env: dict[str, str | None], case: StrategyCase
) -> None:
    """No gate: however the four interleave, one version is committed and nothing is lost."""
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, FIRST)
    new_store(tmp_path, data, case).update(client=client)
    add_partitions(data, ["c.parquet", "d.parquet"])
    running = [procs.start("update", str(store), env=cli_env) for _ in range(UPDATERS)]
    finished = [r.wait() for r in running]
    tally("concurrent updaters raced", UPDATERS)
    for result in finished:
        if result.returncode != 0:
            loser_run_id(result, 2)
    assert any(result.returncode == 0 for result in finished)
    assert assert_consistent(store).versions() == [1, 2]
    assert_learned_once(store, [*FIRST, "c.parquet", "d.parquet"])
    assert_equals_clean_run(store, data, case)


def test_an_updater_that_planned_before_another_committed_fails_rather_than_skip_ahead(
    tmp_path: Path, client: object, cli_env: dict[str, str | None], case: StrategyCase
) -> None:
    """It may not commit version 3 on top of version 1, dropping version 2 from the lineage."""
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, FIRST)
    new_store(tmp_path, data, case).update(client=client)
    add_partitions(data, ["c.parquet"])
    gate = tmp_path / "gate"
    late = procs.start("update", str(store), env={**cli_env, PAUSE_VARIABLE: f"after-plan:{gate}"})
    wait_until_waiting(gate, [late])
    assert distinc.open(str(store)).update(client=client).version == 2
    gate.touch()
    loser_run_id(late.wait(), 2)
    tally("concurrent updaters raced", 2)
    assert assert_consistent(store).versions() == [1, 2]
    assert_learned_once(store, [*FIRST, "c.parquet"])
    assert_equals_clean_run(store, data, case)


def test_the_test_backend_really_overwrites_on_exclusive_create(tmp_path: Path) -> None:
    fs = fsspec.filesystem(backends.PROTOCOL, exclusive=False)
    path = str(tmp_path / "entry.json")
    for text in (b"first", b"second"):
        with fs.open(path, "xb") as handle:
            handle.write(text)
    assert fs.cat_file(path) == b"second"
    honest = fsspec.filesystem(backends.PROTOCOL, exclusive=True)
    with pytest.raises(FileExistsError), honest.open(path, "xb") as handle:
        handle.write(b"third")


def test_a_backend_that_cannot_prove_create_if_absent_is_refused_unless_single_writer(
    tmp_path: Path, client: object, cli_env: dict[str, str | None]
) -> None:
    backends.register_on_workers(client)
    data = tmp_path / "data"
    add_partitions(data, FIRST)
    store_url = backends.url(tmp_path / "store", backends.OVERWRITING)
    distinc.init(
        store_url,
        data=backends.url(data, backends.OVERWRITING),
        target="label",
        model="SGDClassifier",
        classes=[0, 1],
    )

    refused = procs.run("update", store_url, env=cli_env)
    assert refused.returncode == 1 and len(refused.errors) == 1, refused.describe()
    assert refused.errors[0] == (
        f"distinc: error: The store {store_url!r} cannot prove create-if-absent: a second "
        "exclusive create of the same name overwrote the first instead of failing. Two updaters "
        "could overwrite each other's version and lose a commit, so distinc refuses to update it "
        "concurrently. Use a backend with conditional writes, or run one update at a time and "
        "say so with the --single-writer option."
    )
    tally("unsafe backends refused")
    store = ModelStore.open(store_url)
    assert store.versions() == [] and store.files.list("artifacts") == []
    assert store.files.list("_probe") == []
    with pytest.raises(UnsafeBackendError, match="cannot prove create-if-absent"):
        store.require_exclusive_create()

    single = procs.run("update", store_url, "--single-writer", env=cli_env)
    assert single.returncode == 0, single.describe()
    assert "committing anyway because this update is the single writer" in single.stderr
    assert assert_consistent(store).versions() == [1]

    # Every commit is guarded, whatever path leads to it (an update, a rollback, a retrain).
    entry = store.entry(1)
    other = dataclasses.replace(entry, run_id=uuid.uuid4().hex)
    with pytest.raises(UnsafeBackendError):
        ModelStore.open(store_url).commit(other)
    # A single writer's commit checks the name before creating it, so a second writer of
    # version 1 is refused even here; that narrows the race but cannot close it.
    store.require_exclusive_create(single_writer=True)
    with pytest.raises(ConcurrentUpdateError, match="version 1 was committed by run"):
        store.commit(other)
    assert ModelStore.open(store_url).entry(1) == entry


def test_compare_commits_to_an_unproven_backend_only_as_the_single_writer(
    tmp_path: Path, client: object, cli_env: dict[str, str | None]
) -> None:
    """``compare --commit`` commits a retrain, so the same promise applies, and a refusal comes
    before the retrain: nothing is trained or written."""
    backends.register_on_workers(client)
    data, holdout = tmp_path / "data", tmp_path / "holdout"
    add_partitions(data, FIRST)
    add_partitions(holdout, ["h.parquet"])
    store_url = backends.url(tmp_path / "store", backends.OVERWRITING)
    model = distinc.init(
        store_url,
        data=backends.url(data, backends.OVERWRITING),
        target="label",
        model="SGDClassifier",
        classes=[0, 1],
    )
    assert model.update(client=client, single_writer=True).version == 1
    store = ModelStore.open(store_url)
    artifacts = store.files.list("artifacts")

    compare = ("compare", store_url, "--holdout", str(holdout), "--commit")
    refused = procs.run(*compare, env=cli_env)
    assert refused.returncode == 1 and len(refused.errors) == 1, refused.describe()
    assert refused.errors[0].startswith(f"distinc: error: The store {store_url!r} cannot prove")
    assert refused.errors[0].endswith("say so with the --single-writer option.")
    calls: list[object] = []
    with pytest.raises(UnsafeBackendError, match="cannot prove create-if-absent"):
        distinc.open(store_url).compare(
            str(holdout), commit=True, client=client, progress=calls.append
        )
    assert calls == []  # refused before the retrain learned anything
    assert store.versions() == [1] and store.files.list("artifacts") == artifacts

    committed = procs.run(*compare, "--single-writer", env=cli_env)
    assert committed.returncode == 0, committed.describe()
    assert "committing anyway because this update is the single writer" in committed.stderr
    assert assert_consistent(store).versions() == [1, 2]
    assert store.entry(2).kind == "retrain"


def test_a_backend_that_honours_exclusive_create_passes_the_probe(
    tmp_path: Path, client: object
) -> None:
    data = tmp_path / "data"
    add_partitions(data, FIRST)
    store_url = f"memory://distinc-probe-{uuid.uuid4().hex}"
    model = distinc.init(store_url, data=str(data), target="label", model="SGDClassifier")
    assert model.update(client=client).version == 1
    assert model.store.files.list("_probe") == []
    assert_consistent(model.store)
