"""The strategies' init flags, as a script passes them: real subprocesses, real files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import cli_init


def test_ensemble_flags_are_pinned_in_the_spec(tmp_path: Path, data_dir: Path) -> None:
    store = tmp_path / "store"
    cli_init(
        str(store),
        data_dir,
        "--max-members",
        "3",
        "--decay-half-life",
        "2",
        "--combiner",
        "stacking",
        "--allow-new-classes",
        "--member-rows",
        "1000",
        model="sklearn.ensemble.ExtraTreesClassifier",
    )
    spec = json.loads((store / "spec.json").read_text())
    assert spec["strategy"] == "ensemble"
    assert {
        key: spec["options"][key]
        for key in (
            "max_members",
            "decay_half_life",
            "combiner",
            "allow_new_classes",
            "member_rows",
        )
    } == {
        "max_members": 3,
        "decay_half_life": 2.0,
        "combiner": "stacking",
        "allow_new_classes": True,
        "member_rows": 1000,
    }
    assert spec["options"]["epochs"] == 1 and spec["options"]["encoding"] == "vocabulary"


def test_a_flag_the_strategy_cannot_honour_is_one_line_and_creates_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    store = tmp_path / "store"
    result = cli_init(str(store), data_dir, "--allow-new-classes", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "distinc: error: The --allow-new-classes option applies to the 'ensemble' strategy; "
        "SGDClassifier uses the 'stream' strategy."
    ]
    assert not store.exists()
