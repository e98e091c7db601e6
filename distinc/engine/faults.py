"""Crash injection for the reliability tests: a test-only setting, inert unless set.

``DISTINC_CRASH_AT=<point>:<action>`` makes an update stop at a named point, where ``action`` is
``sigkill`` (the process dies at once), ``raise`` (an exception) or ``raise-after-commit``
(valid at ``after-commit``: the commit landed, but the caller sees an error).
"""

from __future__ import annotations

import os
import signal

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


class InjectedFault(RuntimeError):
    """Raised by an injected ``raise`` fault; never raised in normal operation."""


def armed(point: str) -> str | None:
    """The action armed at ``point``, if any."""
    setting = os.environ.get(VARIABLE, "")
    where, _, action = setting.partition(":")
    return action if where == point and action in ACTIONS else None


def reach(point: str) -> None:
    """Carry out the fault armed at ``point``, if any."""
    action = armed(point)
    if action is None:
        return
    if action == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"injected fault at {point} ({action})")
