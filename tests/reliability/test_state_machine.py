"""Random histories of data changes, updates, crashes and rollbacks, against a plain model.

The model is a few dictionaries: which files exist (each write gets a new stamp), and for every
committed version what its lineage learned (by key, stamp and content), what it set aside, and
the sequence of contents ``partial_fit`` went through. After every step the store must hold
exactly the versions the model predicts, ``check_store`` must pass, and the head model must
equal a plain ``partial_fit`` loop over the model's sequence.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import distinc
from distinc.dataset.profile import content_digest
from distinc.engine import faults
from distinc.exceptions import PartitionChangedError, PartitionMissingError
from tests.conftest import make_frame, write_partition
from tests.reliability import procs
from tests.reliability.harness import CLASSES, STREAM, assert_consistent
from tests.reliability.tally import tally

MTIME_BASE_NS = 1_700_000_000 * 10**9
PAST = {"modify": "rewritten", "delete": "deleted", "duplicate": "copied"}
CRASHES = [(point, "raise") for point in faults.POINTS] + [("after-commit", "raise-after-commit")]


@dataclass(frozen=True)
class Content:
    seed: int
    rows: int


@dataclass(frozen=True)
class File:
    """One write of one file: a new stamp (fingerprint) every time."""

    stamp: int
    content: Content
    digest: str


@dataclass(frozen=True)
class Version:
    """What a committed version's lineage holds."""

    trained: dict[str, File] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    sequence: tuple[Content, ...] = ()


@dataclass(frozen=True)
class Outcome:
    error: type[Exception] | None = None
    version: Version | None = None  # None: nothing to commit


class LedgerMachine(RuleBasedStateMachine):
    client: ClassVar[Any] = None
    env: ClassVar[dict[str, str | None]] = {}
    kill: ClassVar[bool] = False  # crash with SIGKILL in a separate process, not an exception

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="distinc-machine-"))
        self.data = self.root / "data"
        self.names = itertools.count()
        self.stamps = itertools.count(1)
        self.seeds = itertools.count(1)
        self.files: dict[str, File] = {}
        self.versions: list[Version] = []
        # the version whose model each version holds: its own, or what its rollback restored
        self.origins: list[int] = []
        self.write(self.new_name(), Content(next(self.seeds), 40))
        self.model = distinc.init(
            str(self.root / "store"),
            data=str(self.data),
            target="label",
            model=STREAM.model,
            params=STREAM.params,
            classes=list(CLASSES),
        )

    def committed(self, version: Version, origin: int | None = None) -> None:
        self.versions.append(version)
        self.origins.append(len(self.versions) if origin is None else origin)

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the data ---------------------------------------------------------------------------

    def new_name(self) -> str:
        return f"k{next(self.names):03d}.parquet"

    def write(self, key: str, content: Content, *, copy_of: str | None = None) -> None:
        path = self.data / key
        if copy_of is None:
            write_partition(self.data, key, make_frame(content.rows, seed=content.seed))
        else:
            shutil.copyfile(self.data / copy_of, path)
        stamp = next(self.stamps)
        # A distinct modification time per write, so every rewrite has a new fingerprint
        # (the kernel's clock may give two quick writes the same one).
        os.utime(path, ns=(MTIME_BASE_NS + stamp * 10**6,) * 2)
        self.files[key] = File(stamp, content, content_digest(path.read_bytes()))

    @rule(
        changes=st.lists(
            st.tuples(
                st.sampled_from(["add", "modify", "add", "delete", "duplicate"]),
                st.sampled_from([60, 20, 0]),
            ),
            min_size=1,
            max_size=3,
        ),
        data=st.data(),
    )
    def change(self, changes: list[tuple[str, int]], data: st.DataObject) -> None:
        """Add, rewrite, delete or copy partitions."""
        for kind, rows in changes:
            keys = sorted(self.files)
            if kind == "duplicate":
                keys = [key for key in keys if self.files[key].content.rows]
            if kind == "add" or not keys:
                self.write(self.new_name(), Content(next(self.seeds), rows))
                tally("state machine: partitions added")
                continue
            key = data.draw(st.sampled_from(keys))
            if kind == "modify":
                self.write(key, Content(next(self.seeds), rows or 20))
            elif kind == "delete":
                (self.data / key).unlink()
                del self.files[key]
            else:
                self.write(self.new_name(), self.files[key].content, copy_of=key)
            tally(f"state machine: partitions {PAST[kind]}")

    # -- the plain model of an update ---------------------------------------------------------

    def predict(self, on_modified: str, on_missing: str) -> Outcome:
        head = self.versions[-1] if self.versions else Version()
        if any(key not in self.files for key in head.trained) and on_missing == "error":
            return Outcome(PartitionMissingError)
        new, modified = [], []
        for key, file in sorted(self.files.items()):
            learned = head.trained.get(key)
            if (learned is not None and learned.stamp == file.stamp) or (
                head.skipped.get(key) == file.stamp
            ):
                continue
            (modified if learned is not None else new).append(key)
        if modified and on_modified == "error":
            return Outcome(PartitionChangedError)
        candidates = sorted(new + modified) if on_modified == "retrain" else new
        twins = {file.digest: key for key, file in head.trained.items()}
        trained, skipped = dict(head.trained), dict(head.skipped)
        admitted = []
        for key in candidates:
            file = self.files[key]
            twin = twins.get(file.digest)
            if file.content.rows == 0 or (twin is not None and twin != key):
                skipped[key] = file.stamp
                continue
            twins[file.digest] = key
            admitted.append(key)
        if not admitted:
            return Outcome()
        if on_modified == "skip":
            skipped.update({key: self.files[key].stamp for key in modified})
        for key in admitted:
            trained[key] = self.files[key]
            skipped.pop(key, None)
        sequence = head.sequence + tuple(self.files[key].content for key in admitted)
        return Outcome(version=Version(trained, skipped, sequence))

    def reaches(self, point: str, outcome: Outcome) -> bool:
        """Whether an update with ``outcome`` gets as far as ``point``."""
        if outcome.error is not None:
            return False
        return point == "after-plan" or outcome.version is not None

    # -- the operations ----------------------------------------------------------------------

    @rule(
        on_modified=st.sampled_from(["error", "error", "skip", "retrain"]),
        on_missing=st.sampled_from(["error", "error", "warn"]),
    )
    def update(self, on_modified: str, on_missing: str) -> None:
        outcome = self.predict(on_modified, on_missing)
        if outcome.error is not None:
            with pytest.raises(outcome.error):
                self.model.update(
                    client=self.client, on_modified=on_modified, on_missing=on_missing
                )
            tally("state machine: updates refused as predicted")
            return
        result = self.model.update(
            client=self.client, on_modified=on_modified, on_missing=on_missing
        )
        assert result.noop == (outcome.version is None)
        if outcome.version is not None:
            self.committed(outcome.version)
        tally("state machine: updates")

    @precondition(lambda self: self.predict("error", "error").version is not None)
    @rule(crash=st.sampled_from(CRASHES))
    def crash(self, crash: tuple[str, str]) -> None:
        point, action = crash
        outcome = self.predict("error", "error")
        reached = self.reaches(point, outcome)
        landed = reached and point == "after-commit"
        if self.kill and action != "raise-after-commit":
            store = str(self.root / "store")
            finished = procs.run(
                "update", store, env={**self.env, faults.VARIABLE: f"{point}:sigkill"}
            )
            assert finished.killed == reached, finished.describe()
            if finished.killed:
                tally("processes killed with SIGKILL")
        else:
            os.environ[faults.VARIABLE] = f"{point}:{action}"
            try:
                if reached and action == "raise":
                    with pytest.raises(faults.InjectedFault):
                        self.model.update(client=self.client)
                elif outcome.error is not None:
                    with pytest.raises(outcome.error):
                        self.model.update(client=self.client)
                else:
                    self.model.update(client=self.client)
            finally:
                del os.environ[faults.VARIABLE]
        if landed or (reached and action == "raise-after-commit"):
            assert outcome.version is not None
            self.committed(outcome.version)
        if reached:
            tally("state machine: crashes injected")

    @precondition(lambda self: len(self.versions) >= 2)
    @rule(data=st.data())
    def rollback(self, data: st.DataObject) -> None:
        self.roll_back_to(data.draw(st.integers(1, len(self.versions) - 1)))

    @precondition(lambda self: self.versions)
    @rule()
    def rollback_to_the_head(self) -> None:
        self.roll_back_to(len(self.versions))

    def roll_back_to(self, target: int) -> None:
        self.model.rollback(target)
        if self.origins[target - 1] == self.origins[-1]:
            tally("state machine: rollbacks to the head's own model (nothing committed)")
            return
        self.committed(replace(self.versions[target - 1]), self.origins[target - 1])
        tally("state machine: rollbacks")

    # -- the check after every step -----------------------------------------------------------

    @invariant()
    def the_store_is_what_the_model_predicts(self) -> None:
        store = assert_consistent(self.model.store)
        assert store.versions() == list(range(1, len(self.versions) + 1))
        if not self.versions:
            return
        expected = self.versions[-1]
        lineage = store.lineage()
        assert {k: (p.digest, p.rows) for k, p in lineage.trained.items()} == {
            k: (f.digest, f.content.rows) for k, f in expected.trained.items()
        }
        assert set(lineage.skipped) == set(expected.skipped)
        frames = [make_frame(content.rows, seed=content.seed) for content in expected.sequence]
        STREAM.assert_same(store.load_model(store.head()), STREAM.clean_model([frames], CLASSES))


def run_machine(
    client: Any, env: dict[str, str | None], *, examples: int, steps: int, kill: bool
) -> None:
    machine = type("Machine", (LedgerMachine,), {"client": client, "env": env, "kill": kill})
    machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    machine.TestCase().runTest()


def test_random_histories_match_a_plain_model_of_the_ledger(
    client: Any, cli_env: dict[str, str | None]
) -> None:
    run_machine(client, cli_env, examples=12, steps=15, kill=False)


@pytest.mark.slow
def test_long_random_histories_with_sigkill_crashes(
    client: Any, cli_env: dict[str, str | None]
) -> None:
    run_machine(client, cli_env, examples=100, steps=30, kill=True)
