"""What the reliability suite exercised in this run: faults, kills and bad inputs, counted.

Tests call ``tally`` when a fault has demonstrably happened (a process died of SIGKILL, an
injected exception was seen, a bad input was refused); the totals are printed at the end of the
pytest run.
"""

from __future__ import annotations

from collections import Counter

TALLY: Counter[str] = Counter()


def tally(kind: str, count: int = 1) -> None:
    TALLY[kind] += count
