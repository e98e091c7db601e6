"""``distinc`` commands in their own processes, to kill them, race them and pause them.

Two ways to start one, with one interface:

* ``fresh=True``: ``python -m distinc ...``, exactly as cron runs it;
* the default: a child forked from a server process that has already imported distinc and its
  libraries (``multiprocessing``'s forkserver with preloaded modules). The child runs the same
  ``distinc.cli.main.main`` with its own arguments, environment and output files, and can be
  killed or raced like any process. It skips the seconds ``import sklearn, distributed`` cost, so
  a test can run dozens of updates, and a random kill lands in the update rather than in an
  import.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.reliability.tally import tally

PRELOAD = [
    "distinc.api",
    "distinc.cli.main",
    "distinc.cli.render",
    "distinc.engine.update",
    "distinc.trainers.stream",
    "distinc.trainers.boosting.trainer",
    "distinc.trainers.ensemble",
    "distinc.store.codecs",
    "distributed",
    "pyarrow.parquet",
    "skops.io",
    "sklearn.linear_model",
    "sklearn.naive_bayes",
    "sklearn.ensemble",
    "xgboost",
    "tests.reliability.backends",
    "tests.reliability.procs",
]
TIMEOUT = 300.0
STACK_DUMP_SECONDS = 2.0
COMPUTING = ("update", "predict", "evaluate", "demo")
SCHEDULER = "DASK_SCHEDULER_ADDRESS"


@dataclass(frozen=True)
class Finished:
    """How a command ended: its exit code (negative: killed by that signal) and output."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def errors(self) -> list[str]:
        """The one-line errors distinc printed."""
        return [line for line in self.stderr.splitlines() if line.startswith("distinc: error")]

    def describe(self) -> str:
        return f"distinc {' '.join(self.args)} -> {self.returncode}\n{self.stderr[-3000:]}"


def _child(
    argv: list[str], env: dict[str, str | None], out: str, err: str, file_size: int | None
) -> None:
    """The forked child: take the environment and output files, then run the command."""
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    import dask

    dask.config.refresh()  # the server imported dask before this child's DASK_* variables
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(handle, fd)
        os.close(handle)
    if file_size is not None:
        # Writes past the limit then fail with EFBIG, as on a full disk or quota.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    from distinc.cli.main import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


_context: Any = None


def _forkserver() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


class Running:
    """A command that was started and has not been waited for."""

    def __init__(
        self,
        args: tuple[str, ...],
        env: Mapping[str, str | None],
        *,
        fresh: bool,
        file_size: int | None,
    ) -> None:
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="distinc-cli-"))
        self.out, self.err = self.folder / "stdout", self.folder / "stderr"
        self.out.touch()  # a command killed before it opens them still has (empty) output
        self.err.touch()
        self.started = time.monotonic()
        self._popen: subprocess.Popen[bytes] | None = None
        self._process: Any = None
        if fresh:
            if file_size is not None:
                raise ValueError("file_size is for forked children")
            with self.out.open("wb") as out, self.err.open("wb") as err:
                merged = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
                for name in [k for k, v in env.items() if v is None]:
                    merged.pop(name, None)
                self._popen = subprocess.Popen(
                    [sys.executable, "-m", "distinc", *args], stdout=out, stderr=err, env=merged
                )
        else:
            self._process = _forkserver().Process(
                target=_child,
                args=(list(args), dict(env), str(self.out), str(self.err), file_size),
                daemon=False,
            )
            self._process.start()

    @property
    def pid(self) -> int:
        return int(self._popen.pid if self._popen is not None else self._process.pid)

    def poll(self) -> int | None:
        if self._popen is not None:
            return self._popen.poll()
        code = self._process.exitcode
        return None if code is None else int(code)

    def kill(self) -> bool:
        """SIGKILL the command; whether it was still running (and so was killed by this)."""
        if self.poll() is not None:
            return False
        os.kill(self.pid, signal.SIGKILL)
        tally("processes killed with SIGKILL")
        return True

    def wait(self, timeout: float = TIMEOUT) -> Finished:
        """Wait for the end; a command still running after ``timeout`` is a hang, and fails."""
        if self._popen is not None:
            try:
                code = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                raise AssertionError(self.hung()) from None
        else:
            self._process.join(timeout)
            if self._process.exitcode is None:
                raise AssertionError(self.hung())
            code = self._process.exitcode
            self._process.close()
        return self._finished(int(code))

    def hung(self) -> str:
        """Kill a command that stopped making progress; what it was doing, from its own stacks."""
        os.kill(self.pid, signal.SIGUSR1)  # distinc's CLI prints every thread's stack on it
        time.sleep(STACK_DUMP_SECONDS)
        os.kill(self.pid, signal.SIGKILL)
        if self._popen is not None:
            self._popen.wait()
        else:
            self._process.join()
        stderr = self.err.read_text(errors="replace")
        shutil.rmtree(self.folder, ignore_errors=True)
        return f"distinc {' '.join(self.args)} hung; its threads:\n{stderr[-20000:]}"

    def _finished(self, code: int) -> Finished:
        finished = Finished(
            self.args,
            code,
            self.out.read_text(errors="replace"),
            self.err.read_text(errors="replace"),
        )
        shutil.rmtree(self.folder, ignore_errors=True)
        return finished


def warm_up() -> None:
    """Start the fork server now (it imports the preloaded modules once, for seconds)."""
    finished = run("--help")
    assert finished.returncode == 0, finished.describe()


def start(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    fresh: bool = False,
    file_size: int | None = None,
) -> Running:
    """Start ``distinc *args``; ``env`` adds (or, with ``None``, removes) variables.

    Commands that compute must be given a cluster: one that started its own LocalCluster and
    was then killed would leave that cluster's worker processes behind.
    """
    env = dict(env or {})
    if args[0] in COMPUTING and "--scheduler" not in args and not env.get(SCHEDULER):
        raise ValueError(f"give 'distinc {args[0]}' a scheduler (--scheduler or ${SCHEDULER})")
    return Running(tuple(args), env, fresh=fresh, file_size=file_size)


def run(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    fresh: bool = False,
    file_size: int | None = None,
    timeout: float = TIMEOUT,
) -> Finished:
    """Run ``distinc *args`` to its end."""
    return start(*args, env=env, fresh=fresh, file_size=file_size).wait(timeout)
