"""Crash injection for the reliability tests: test-only settings, inert unless set.

``DISTINC_CRASH_AT=<point>:<action>`` makes an update stop at a named point:

* ``sigkill``: the process dies at once, as under ``kill -9`` or a power cut;
* ``raise``: an exception (``InjectedFault``) unwinds the update;
* ``raise-after-commit`` (only at ``after-commit``): the commit lands but the first answer to
  each run is lost, as when a store answers a successful create with a network error. The
  update retries the commit with its own run id, recognises the entry as its own and goes on.

``DISTINC_PAUSE_AT=<point>:<gate path>`` makes an update wait at a point: it creates
``<gate>.<pid>.waiting`` and waits until ``<gate>`` exists, so a test can line several updaters
up on one commit, or change the data at an exact moment.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POINTS = (
    "after-plan",
    "after-train",
    "mid-artifact-write",
    "after-artifact-write",
    "before-commit",
    "after-commit",
)
ACTIONS = ("sigkill", "raise", "raise-after-commit")
VARIABLE = "DISTINC_CRASH_AT"
PAUSE_VARIABLE = "DISTINC_PAUSE_AT"
# A paused update gives up after this long, so a broken test cannot leave it waiting forever.
PAUSE_LIMIT_SECONDS = 300.0

_spent: set[str] = set()


class InjectedFault(RuntimeError):
    """Raised by an injected ``raise`` fault; never raised in normal operation."""


class LostAcknowledgement(OSError):
    """The injected ``raise-after-commit`` fault: the commit landed, its answer did not."""


def _setting(variable: str) -> tuple[str, str] | None:
    text = os.environ.get(variable, "")
    if not text:
        return None
    point, sep, value = text.partition(":")
    if not sep or point not in POINTS or not value:
        raise InjectedFault(
            f"{variable}={text!r} is not <point>:<value> with a point among {list(POINTS)}."
        )
    return point, value


def valid(point: str, action: str) -> bool:
    """Whether ``action`` can be injected at ``point``.

    Examples
    --------
    >>> valid("after-plan", "sigkill"), valid("after-plan", "raise-after-commit")
    (True, False)
    """
    return point in POINTS and (
        action in ("sigkill", "raise") or (action, point) == ("raise-after-commit", "after-commit")
    )


def armed(point: str) -> str | None:
    """The action armed at ``point``, if any; an invalid setting is an error, never ignored."""
    setting = _setting(VARIABLE)
    if setting is None:
        return None
    where, action = setting
    if not valid(where, action):
        raise InjectedFault(f"{VARIABLE}: {action!r} cannot be injected at {where!r}.")
    return action if where == point else None


def reach(point: str) -> None:
    """Wait at ``point`` if a pause is set, then carry out the fault armed there, if any.

    ``raise-after-commit`` is not carried out here but by ``lose_acknowledgement``.
    """
    pause(point)
    action = armed(point)
    if action == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "raise":
        raise InjectedFault(f"injected fault at {point} ({action})")


def lose_acknowledgement(run_id: str) -> None:
    """Raise ``LostAcknowledgement`` once per run when ``raise-after-commit`` is armed."""
    if armed("after-commit") == "raise-after-commit" and run_id not in _spent:
        _spent.add(run_id)
        raise LostAcknowledgement("injected fault: the commit landed but its answer was lost")


def pause(point: str) -> None:
    """Wait at ``point`` until the gate named by ``DISTINC_PAUSE_AT`` exists."""
    setting = _setting(PAUSE_VARIABLE)
    if setting is None or setting[0] != point:
        return
    gate = Path(setting[1])
    Path(f"{gate}.{os.getpid()}.waiting").touch()
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while not gate.exists():
        if time.monotonic() > deadline:
            raise InjectedFault(f"{PAUSE_VARIABLE}: the gate {gate} never opened")
        time.sleep(0.01)
