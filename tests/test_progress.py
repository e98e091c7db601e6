"""Progress: a bar on a terminal, milestone log lines without one, nothing with --quiet."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

from distinc.cli.progress import LogProgress
from distinc.engine.progress import Progress
from tests.conftest import make_frame, run_cli, write_partition


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def logged_lines() -> Iterator[list[str]]:
    """The messages distinc logs at INFO while the block runs."""
    logger = logging.getLogger("distinc")
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_log_progress_writes_one_line_per_milestone() -> None:
    with logged_lines() as lines:
        show = LogProgress()
        show(Progress("update", "start", 4, 0, 8, 0, 0.0))
        for done in range(1, 9):
            show(Progress("update", "train", 4, done, 8, 100 * done, done / 10))
        show(Progress("update", "done", 4, 8, 8, 800, 1.0))
    assert lines == [
        "version 4: learning 8 partition(s)",
        "version 4: 2/8 partitions, 200 rows (25%)",
        "version 4: 4/8 partitions, 400 rows (50%)",
        "version 4: 6/8 partitions, 600 rows (75%)",
        "version 4: trained 8 partition(s), 800 rows in 1.0 s (800 rows/s)",
    ]


def test_the_last_line_counts_what_was_learned_not_what_was_planned() -> None:
    """Two of five planned files were duplicates; the line said 'trained 5 partition(s)'."""
    with logged_lines() as lines:
        LogProgress()(Progress("update", "done", 2, 5, 5, 300, 1.0, learned=3))
    assert lines == [
        "version 2: trained 3 partition(s) (2 set aside), 300 rows in 1.0 s (300 rows/s)"
    ]


def eight_partitions(tmp_path: Path) -> str:
    data = tmp_path / "data"
    for i in range(8):
        write_partition(data, f"part-{i}.parquet", make_frame(200, seed=i))
    store = str(tmp_path / "store")
    # small files: the scan gives each its own task, so progress has steps to show
    run_cli("init", store, "--data", str(data), "--target", "label", "--model", "SGDClassifier")
    return store


def test_without_a_terminal_milestones_are_log_lines_and_quiet_silences_them(
    tmp_path: Path, scheduler_address: str
) -> None:
    store = eight_partitions(tmp_path)
    result = run_cli("update", store, "--scheduler", scheduler_address)
    lines = result.stderr.splitlines()
    assert "distinc: version 1: learning 8 partition(s)" in lines
    assert any(line.startswith("distinc: connected to tcp://") for line in lines)
    assert any("(dashboard: http" in line for line in lines)
    assert "distinc: version 1: 4/8 partitions, 800 rows (50%)" in lines
    assert any(line.startswith("distinc: version 1: trained 8 partition(s)") for line in lines)
    assert "\r" not in result.stderr
    write_partition(tmp_path / "data", "part-9.parquet", make_frame(50, seed=9))
    quiet = run_cli("update", store, "--scheduler", scheduler_address, "--quiet")
    assert quiet.stderr == "" and "version 2" in quiet.stdout


def test_on_a_terminal_each_update_gets_a_bar(tmp_path: Path, scheduler_address: str) -> None:
    store = eight_partitions(tmp_path)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "distinc", "update", store, "--scheduler", scheduler_address],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={key: value for key, value in os.environ.items() if key != "COLUMNS"},
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    text = output.decode(errors="replace")
    assert "version 1: 100%" in text and "8/8" in text and "rows/s" in text
    assert "1,600 rows" in text and "version 1: trained 8 partition(s)" in text
