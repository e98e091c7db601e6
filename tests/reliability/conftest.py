"""Fixtures of the reliability suite, and the tally of what it exercised, printed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import (
    TRAINED_FIRST,
    StrategyCase,
    add_partitions,
    new_store,
    strategy_params,
)
from tests.reliability.tally import TALLY


@pytest.fixture(params=strategy_params())
def case(request: pytest.FixtureRequest) -> StrategyCase:
    """Each training strategy this build provides (the fault tests run once per strategy);
    a test parametrising ``case`` itself chooses which run by default."""
    result: StrategyCase = request.param
    return result


@pytest.fixture
def cli_env(scheduler_address: str) -> dict[str, str | None]:
    """The environment of a command run on the session's cluster."""
    return {"DASK_SCHEDULER_ADDRESS": scheduler_address}


@pytest.fixture
def trained(tmp_path: Path, client: Any) -> tuple[Path, Path]:
    """A dataset of three partitions and a store at version 1 that learned them."""
    data = tmp_path / "data"
    add_partitions(data, TRAINED_FIRST)
    new_store(tmp_path, data).update(client=client)
    return data, tmp_path / "store"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY:
        terminalreporter.section("reliability suite: what this run exercised")
        for kind, count in sorted(TALLY.items()):
            terminalreporter.write_line(f"{count:5d}  {kind}")
