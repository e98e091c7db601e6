"""P1, P2: rounds of new partitions and an update killed with SIGKILL at a random moment.

The moment is drawn uniformly over the time a clean update takes on this machine (measured in
the same test), so kills land in every phase: listing, scanning, training, writing, committing,
or after the end. After every kill the store is consistent; at the end every partition was
learned exactly once and the model equals a clean run over the committed order.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

import distinc
from tests.reliability import procs
from tests.reliability.harness import (
    StrategyCase,
    add_partitions,
    assert_consistent,
    assert_equals_clean_run,
    assert_learned_once,
    new_store,
)
from tests.reliability.tally import tally


def kill_loop(
    root: Path, client: object, env: dict[str, str | None], case: StrategyCase, *, rounds: int
) -> None:
    rng = random.Random(rounds)
    data, store = root / "data", str(root / "store")
    names = [f"first-{i}.parquet" for i in range(3)]
    add_partitions(data, names)
    new_store(root, data, case).update(client=client)
    procs.warm_up()
    durations = []
    for i in range(2):  # the shorter of two clean runs: a load spike must not stretch the window
        names.append(f"calibration-{i}.parquet")
        add_partitions(data, names[-1:])
        started = time.monotonic()
        clean = procs.run("update", store, env=env)
        assert clean.returncode == 0, clean.describe()
        durations.append(time.monotonic() - started)
    duration = min(durations)
    killed = 0
    for round_ in range(rounds):
        new = [f"round-{round_:02d}-{i}.parquet" for i in range(rng.randint(1, 3))]
        add_partitions(data, new, rows=rng.choice([40, 150, 600]))
        names += new
        running = procs.start("update", store, env=env)
        time.sleep(rng.uniform(0.0, 1.2 * duration))
        killed += running.kill()
        finished = running.wait()
        assert finished.killed or finished.returncode == 0, finished.describe()
        assert_consistent(store)
        if rng.random() < 0.4:
            distinc.open(store).update(client=client)
            assert_consistent(store)
        tally("kill-loop rounds")
    assert killed, "no update was killed mid-way; the loop tested nothing"
    distinc.open(store).update(client=client)
    assert_learned_once(store, names)
    assert_equals_clean_run(store, data, case)


def test_updates_killed_at_random_moments_lose_nothing_and_learn_nothing_twice(
    tmp_path: Path, client: object, cli_env: dict[str, str | None], case: StrategyCase
) -> None:
    kill_loop(tmp_path, client, cli_env, case, rounds=6)


@pytest.mark.slow
def test_long_kill_loop(
    tmp_path: Path, client: object, cli_env: dict[str, str | None], case: StrategyCase
) -> None:
    kill_loop(tmp_path, client, cli_env, case, rounds=30)
