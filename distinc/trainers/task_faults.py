"""Fault injection inside tasks on Dask workers: a test-only setting, inert unless set.

``DISTINC_TASK_FAULT`` holds JSON, read on the worker when a task is about to learn, score or
(in a drift check) scan a partition::

    {"partition": "part-03.parquet", "action": "raise", "marker": "/tmp/t/fired"}

The fault fires once across the whole cluster: the first task to create ``marker`` (an
exclusive create) carries it out, every later attempt (a retry, a rerun on another worker) runs
normally. Actions:

* ``raise``: the task raises ``InjectedTaskFault`` after learning the partitions before this one
  (so a retry that did not start from a fresh copy would learn them twice);
* ``sigkill``: the worker process dies on the spot;
* ``pause``: the task waits until ``<marker>.go`` exists (so a test can kill the driver or the
  scheduler while a task is known to be running).

Workers read the variable from their own environment: ``client.run(arm, setting(...))`` sets
it on every worker, ``client.run(arm, None)`` clears it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

VARIABLE = "DISTINC_TASK_FAULT"
ACTIONS = ("raise", "sigkill", "pause")
PAUSE_LIMIT_SECONDS = 300.0


class InjectedTaskFault(RuntimeError):
    """Raised by an injected ``raise`` fault inside a task; never raised in normal operation."""


def setting(partition: str, action: str, marker: str) -> str:
    """The value of ``DISTINC_TASK_FAULT`` for one fault.

    Examples
    --------
    >>> setting("a.parquet", "raise", "/tmp/m")
    '{"action": "raise", "marker": "/tmp/m", "partition": "a.parquet"}'
    """
    if action not in ACTIONS:
        raise ValueError(f"task fault action must be one of {list(ACTIONS)}, got {action!r}")
    return json.dumps({"partition": partition, "action": action, "marker": marker}, sort_keys=True)


def arm(value: str | None) -> None:
    """Set (or with ``None`` clear) the fault setting in this process's environment."""
    if value is None:
        os.environ.pop(VARIABLE, None)
    else:
        os.environ[VARIABLE] = value


def _armed(partition: str) -> dict[str, Any] | None:
    text = os.environ.get(VARIABLE)
    if not text:
        return None
    fault: dict[str, Any] = json.loads(text)
    if fault.get("partition") != partition:
        return None
    if fault.get("action") not in ACTIONS or not fault.get("marker"):
        raise InjectedTaskFault(f"{VARIABLE}={text!r} needs an action in {list(ACTIONS)}")
    return fault


def _first(marker: str) -> bool:
    """Whether this call is the first to claim ``marker``, across processes."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def reach(partition: str) -> None:
    """Carry out the fault armed for ``partition``, if any and not fired yet."""
    fault = _armed(partition)
    if fault is None or not _first(fault["marker"]):
        return
    action = fault["action"]
    if action == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "raise":
        raise InjectedTaskFault(f"injected fault in the task learning {partition!r}")
    gate = f"{fault['marker']}.go"
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise InjectedTaskFault(f"{VARIABLE}: the gate {gate} never opened")
        time.sleep(0.01)
