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
    """
    head = store.head()
    if head is None:
        raise VersionNotFoundError("The store has no versions yet; nothing to roll back.")
    target = store.entry(to)
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
