"""Rollback: a new version whose model is an earlier version's. History is never rewritten."""

from __future__ import annotations

import datetime as dt
import uuid

from distinc.exceptions import VersionNotFoundError
from distinc.ledger.entry import LedgerEntry
from distinc.store.store import ModelStore


def rollback(store: ModelStore, to: int, *, single_writer: bool = False) -> LedgerEntry:
    """Commit a version that restores version ``to`` (its model and what it had learned).

    Partitions learned only by the versions rolled back count as new again, so the next update
    learns them unless they are removed from the dataset. ``single_writer`` is as for updates.
    When the head already holds version ``to``'s model (it is ``to``, or a rollback to the same
    model), nothing is committed and the head is returned: a rerun script stacks no copies.
    """
    head = store.head()
    if head is None:
        raise VersionNotFoundError("The store has no versions yet; nothing to roll back.")
    target = store.entry(to)
    if _restored(store, head) == _restored(store, target):
        return head
    store.read_artifact(target.artifact("model"))
    store.require_exclusive_create(single_writer=single_writer)
    entry = LedgerEntry(
        version=head.version + 1,
        parent=target.version,
        kind="rollback",
        run_id=uuid.uuid4().hex,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        strategy=target.strategy,
        artifacts=target.artifacts,
        classes=target.classes,
        categories=target.categories,
        libraries=target.libraries,
        notes={"rolled_back_from": head.version, "restores": target.version},
    )
    return store.commit(entry)


def _restored(store: ModelStore, entry: LedgerEntry) -> int:
    """The version whose model and lineage ``entry`` holds: itself unless it is a rollback."""
    while entry.kind == "rollback" and entry.parent is not None:
        entry = store.entry(entry.parent)
    return entry.version
