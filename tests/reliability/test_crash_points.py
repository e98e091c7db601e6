"""P1, P2, P3, P4: an update killed or failing at any commit point, then run again.

Every update runs as its own process with ``DISTINC_CRASH_AT=<point>:<action>``; afterwards the
store holds the old version or the new one and nothing else that is ever read, the rerun learns
every partition exactly once, and the model equals a clean run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import distinc
from distinc.engine.faults import ACTIONS, POINTS, VARIABLE, valid
from tests.inotify import OpenWatch
from tests.reliability import procs
from tests.reliability.harness import (
    StrategyCase,
    add_partitions,
    assert_consistent,
    assert_equals_clean_run,
    assert_learned_once,
    committed_files,
    new_store,
    snapshot,
    strategy_params,
)
from tests.reliability.tally import tally

FIRST = ["a.parquet", "b.parquet", "c.parquet"]
SECOND = ["d.parquet", "e.parquet"]
MATRIX = [(point, action) for point in POINTS for action in ACTIONS if valid(point, action)]
# The faults every strategy meets in the default run (the whole matrix runs under -m slow):
# a torn artifact, a failure just before the commit, and a commit whose answer was lost.
EVERY_STRATEGY = {
    ("mid-artifact-write", "sigkill"),
    ("before-commit", "raise"),
    ("after-commit", "raise-after-commit"),
}
CRASHES = [
    pytest.param(
        case.values[0],
        point,
        action,
        id=f"{case.id}-{point}:{action}",
        marks=case.marks if (point, action) not in EVERY_STRATEGY else (),
    )
    for case in strategy_params()
    for point, action in MATRIX
]


def check_fault_happened(finished: procs.Finished, point: str, action: str) -> None:
    if action == "sigkill":
        assert finished.killed, finished.describe()
        tally("processes killed with SIGKILL")
    elif action == "raise":
        assert finished.returncode == 3, finished.describe()
        assert f"injected fault at {point}" in finished.stderr
    else:  # the commit's answer was lost once; the retry recognised the run's own entry
        assert finished.returncode == 0, finished.describe()
        assert "committing version 2 failed (injected fault" in finished.stderr
        assert "retrying with the same run id" in finished.stderr
    tally("crash-point faults injected")


@pytest.mark.parametrize(("case", "point", "action"), CRASHES)
def test_a_crash_leaves_the_old_or_the_new_version_and_the_rerun_learns_each_partition_once(
    tmp_path: Path,
    client: object,
    cli_env: dict[str, str | None],
    case: StrategyCase,
    point: str,
    action: str,
) -> None:
    data, store = tmp_path / "data", tmp_path / "store"
    add_partitions(data, FIRST)
    new_store(tmp_path, data, case).update(client=client)
    add_partitions(data, SECOND)
    before = snapshot(store)

    crashed = procs.run("update", str(store), env={**cli_env, VARIABLE: f"{point}:{action}"})
    check_fault_happened(crashed, point, action)

    landed = point == "after-commit"
    opened = assert_consistent(store)
    assert opened.versions() == ([1, 2] if landed else [1])
    after = snapshot(store)
    assert {name: after[name] for name in before} == before, "a committed file was changed"
    if landed:
        assert [part.key for part in opened.entry(2).partitions] == SECOND
    leftovers = set(after) - set(committed_files(opened))

    rerun_before = snapshot(store)
    watch = OpenWatch(store / "artifacts")  # counted by the kernel, so every reader counts
    try:
        rerun = distinc.open(str(store)).update(client=client)
        if landed:  # P4 and P3: the rerun sees the commit and changes nothing
            assert rerun.noop and snapshot(store) == rerun_before
        else:
            assert rerun.version == 2 and rerun.entry is not None
            assert [part.key for part in rerun.entry.partitions] == SECOND
        assert_learned_once(store, FIRST + SECOND)
        assert_equals_clean_run(store, data, case)
        opened = {f"artifacts/{name}" for name in watch.opened()}
    finally:
        watch.close()
    head = assert_consistent(store).head()
    assert head is not None and head.artifact("model").path in opened  # the watch works
    assert not opened & leftovers, "a file left by the crash was read"  # P8

    # What the crash left is unreferenced; collecting garbage removes exactly that.
    reopened = assert_consistent(store)
    assert set(reopened.collect_garbage(grace_seconds=0)) == leftovers
    assert_consistent(store)


def test_an_invalid_crash_setting_is_an_error_not_a_silent_no_op(
    tmp_path: Path, client: object, cli_env: dict[str, str | None]
) -> None:
    data = tmp_path / "data"
    add_partitions(data, FIRST)
    new_store(tmp_path, data)
    for setting in ("after-plan:raise-after-commit", "after-lunch:sigkill", "after-plan"):
        finished = procs.run("update", str(tmp_path / "store"), env={**cli_env, VARIABLE: setting})
        assert finished.returncode == 3 and VARIABLE in finished.stderr, finished.describe()
    assert distinc.open(str(tmp_path / "store")).version is None
