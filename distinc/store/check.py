"""``check_store``: the invariants every committed store keeps, checked from its files."""

from __future__ import annotations

from distinc.exceptions import DistincError
from distinc.ledger.entry import LedgerEntry
from distinc.ledger.lineage import Lineage
from distinc.store.store import ModelStore


def _contiguity(versions: list[int]) -> list[str]:
    expected = list(range(1, len(versions) + 1))
    if versions != expected:
        gaps = sorted(set(expected) - set(versions)) or versions
        return [f"versions are not contiguous from 1: found {versions[:10]}, gap at {gaps[:5]}"]
    return []


def _parent_problems(entries: list[LedgerEntry]) -> list[str]:
    problems = []
    for entry in entries:
        if entry.parent is not None and not 1 <= entry.parent < entry.version:
            problems.append(f"version {entry.version} names parent {entry.parent}")
        elif entry.kind == "update" and entry.parent != (entry.version - 1 or None):
            # An update continues the head it planned against; skipping a version would drop
            # that version's training from the lineage without a trace.
            problems.append(
                f"update version {entry.version} continues version {entry.parent}, not "
                f"{entry.version - 1}"
            )
    return problems


def _twice_trained(lineage: Lineage) -> list[str]:
    seen: dict[tuple[str, int, str], int] = {}
    problems = []
    for entry in lineage.chain:
        for part in entry.partitions:
            mark = (part.key, part.size, part.token)
            if mark in seen:
                problems.append(
                    f"partition {part.key!r} with the same fingerprint was trained by versions "
                    f"{seen[mark]} and {entry.version}"
                )
            seen[mark] = entry.version
    return problems


def check_store(store: ModelStore) -> list[str]:
    """Every broken invariant of ``store``, as sentences; an empty list means consistent.

    Checked: versions contiguous from 1; every entry parses; every artifact is present with its
    recorded sha256; parents precede their children and an update continues the version just
    before it; no partition fingerprint is trained twice in the head's lineage; the head's
    model loads.
    """
    versions = store.versions()
    problems = _contiguity(versions)
    entries = []
    for version in versions:
        try:
            entries.append(store.entry(version))
        except DistincError as exc:
            problems.append(exc.message)
    problems += _parent_problems(entries)
    for entry in entries:
        for ref in entry.artifacts:
            try:
                store.read_artifact(ref)
            except DistincError as exc:
                problems.append(f"version {entry.version}: {exc.message}")
    if problems or not entries:
        return problems
    try:
        lineage = Lineage.of(entries)
    except DistincError as exc:
        return [exc.message]
    problems += _twice_trained(lineage)
    try:
        store.load_model(entries[-1])
    except DistincError as exc:
        problems.append(f"the head version {entries[-1].version} does not load: {exc.message}")
    return problems
