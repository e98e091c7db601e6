"""The model store: a spec, an append-only ledger and the artifacts its entries reference.

Layout::

    STORE/spec.json                     written once by init
    STORE/ledger/00000001.json          one entry per version, created with create-if-absent
    STORE/artifacts/00000001-<run>-model.skops
                                        written before the entry, under a never-reused name

A version exists exactly when its ledger entry exists. Artifacts of runs that never committed
are unreferenced and never read; ``collect_garbage`` removes them after a grace period.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

from distinc.dataset.access import access_errors, refused
from distinc.exceptions import (
    ConcurrentUpdateError,
    IntegrityError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    UnsafeBackendError,
    VersionNotFoundError,
    listed,
)
from distinc.ledger.entry import ArtifactRef, LedgerEntry
from distinc.ledger.lineage import Lineage
from distinc.spec import ModelSpec
from distinc.store import codecs
from distinc.store.files import StoreFiles
from distinc.store.probe import PROBE_FOLDER, exclusive_create_problem
from distinc.store.versions import report_mismatches

logger = logging.getLogger("distinc")

SPEC_NAME = "spec.json"
LEDGER = "ledger"
ARTIFACTS = "artifacts"
_ENTRY_NAME = re.compile(r"^(\d{8})\.json$")
_TEMPORARY = re.compile(r"^\d{8}\.json\.[0-9a-f]{32}\.tmp$")
GARBAGE_GRACE_SECONDS = 24 * 3600.0


def entry_name(version: int) -> str:
    return f"{LEDGER}/{version:08d}.json"


def _refuse_occupied(files: StoreFiles, url: str) -> None:
    """Refuse to create a store over a file, or in a folder already holding other files."""
    try:
        kind = files.fs.info(files.root).get("type")
    except FileNotFoundError:
        return
    except NotADirectoryError as exc:
        raise StoreError(
            f"Cannot create a store at {url!r}: a folder on its path is a file.", store=url
        ) from exc
    if kind != "directory":
        raise StoreError(
            f"Cannot create a store at {url!r}: it is a file, and a store is a folder. Choose "
            "another path.",
            store=url,
        )
    held = files.list("")
    if held:
        raise StoreError(
            f"Cannot create a store at {url!r}: the folder already holds {listed(held, 3)} and "
            "is not a distinc store. Give a new or empty folder.",
            store=url,
        )


class ModelStore:
    """A store at a local path or fsspec URL; every method reads what is committed now."""

    def __init__(self, files: StoreFiles, spec: ModelSpec) -> None:
        self.files = files
        self.spec = spec
        self._entries: dict[int, LedgerEntry] = {}
        self._exclusive_checked = False

    @property
    def url(self) -> str:
        return self.files.url

    @classmethod
    def create(
        cls, url: str, spec: ModelSpec, *, storage_options: dict[str, Any] | None = None
    ) -> ModelStore:
        files = StoreFiles(url, storage_options, durable=spec.options.durable)
        try:
            exists = files.exists(SPEC_NAME)
        except access_errors() as exc:
            raise refused("the store", url, exc, option="store_options") from exc
        if exists:
            raise StoreExistsError(
                f"A distinc store already exists at {url!r}; update it with 'distinc update' "
                "(distinc.open(...).update() in Python), or choose another path.",
                store=url,
            )
        _refuse_occupied(files, url)
        try:
            files.create(SPEC_NAME, spec.to_json().encode())
        except FileExistsError as exc:
            raise StoreExistsError(
                f"A distinc store was created at {url!r} by another process just now.", store=url
            ) from exc
        return cls(files, spec)

    @classmethod
    def open(
        cls, url: str, *, storage_options: dict[str, Any] | None = None, durable: bool = False
    ) -> ModelStore:
        files = StoreFiles(url, storage_options, durable=durable)
        try:
            text = files.read(SPEC_NAME)
        except (FileNotFoundError, NotADirectoryError) as exc:
            if files.fs.isfile(files.root):
                raise StoreNotFoundError(
                    f"{url!r} is a file, not a distinc store; a store is a folder.", store=url
                ) from exc
            raise StoreNotFoundError(
                f"No distinc store at {url!r} (no {SPEC_NAME}); create one with 'distinc init' "
                "(distinc.init() in Python).",
                store=url,
            ) from exc
        except access_errors() as exc:
            raise refused("the store", url, exc, option="store_options") from exc
        spec = ModelSpec.from_json(text.decode())
        files.durable = durable or spec.options.durable
        return cls(files, spec)

    def versions(self) -> list[int]:
        """Committed version numbers, ascending, as the ledger folder lists them."""
        found = (_ENTRY_NAME.match(name) for name in self.files.list(LEDGER))
        return sorted(int(match.group(1)) for match in found if match)

    def entry(self, version: int) -> LedgerEntry:
        cached = self._entries.get(version)
        if cached is not None:
            return cached
        name = entry_name(version)
        try:
            text = self.files.read(name)
        except FileNotFoundError as exc:
            raise VersionNotFoundError(
                f"Version {version} does not exist in {self.url!r}; 'distinc history' "
                "(history() in Python) lists the versions.",
                version=version,
            ) from exc
        return self._parsed(version, text)

    def _parsed(self, version: int, text: bytes) -> LedgerEntry:
        name = entry_name(version)
        entry = LedgerEntry.from_json(text, where=name)
        if entry.version != version:
            raise IntegrityError(
                f"Ledger entry {name} claims to be version {entry.version}; the store is "
                "damaged. Run 'distinc verify' (verify() in Python).",
                version=version,
            )
        self._entries[version] = entry
        return entry

    def entries(self) -> tuple[LedgerEntry, ...]:
        versions = self.versions()
        # Fetched together (concurrently on object stores); any the batch missed are read one
        # by one below, where a vanished entry gets its own error.
        unread = [version for version in versions if version not in self._entries]
        texts = self.files.read_many([entry_name(version) for version in unread])
        for version in unread:
            text = texts.get(entry_name(version))
            if text is not None:
                self._parsed(version, text)
        return tuple(self.entry(version) for version in versions)

    def head(self) -> LedgerEntry | None:
        versions = self.versions()
        return self.entry(versions[-1]) if versions else None

    def lineage(self) -> Lineage:
        return Lineage.of(self.entries())

    @staticmethod
    def artifact_name(*, role: str, version: int, run_id: str, fmt: str) -> str:
        """The never-reused name of a run's artifact."""
        return f"{ARTIFACTS}/{version:08d}-{run_id}-{role}.{fmt}"

    def put_artifact(
        self, data: bytes, *, role: str, version: int, run_id: str, fmt: str
    ) -> ArtifactRef:
        """Write an artifact under a never-reused name; it stays invisible until committed."""
        name = self.artifact_name(role=role, version=version, run_id=run_id, fmt=fmt)
        try:
            self.files.write(name, data)
        except OSError as exc:
            raise StoreError(
                f"Writing {name} ({len(data):,} bytes) to {self.url!r} failed ({exc}); nothing "
                f"was committed, version {version} does not exist. Fix the store's storage "
                "(space, permissions, connection) and rerun the update.",
                path=name,
                version=version,
            ) from exc
        return ArtifactRef(role, name, codecs.sha256(data), fmt, len(data))

    def read_artifact(self, ref: ArtifactRef) -> bytes:
        """The artifact's bytes, after checking them against the ledger's sha256."""
        try:
            data = self.files.read(ref.path)
        except FileNotFoundError as exc:
            raise IntegrityError(
                f"Artifact {ref.path} named by the ledger is missing; restore it or roll back "
                "to another version.",
                path=ref.path,
            ) from exc
        if codecs.sha256(data) != ref.sha256:
            raise IntegrityError(
                f"Artifact {ref.path} does not match the sha256 in the ledger; it was changed "
                "after commit. Restore it, or roll back to another version.",
                path=ref.path,
            )
        return data

    def trusted_roots(self) -> tuple[str, ...]:
        own = self.spec.estimator.split(".")[0] + "."
        return (*codecs.TRUSTED_ROOTS, own)

    def load_model(self, entry: LedgerEntry) -> Any:
        """The model of ``entry``, verified against its hash; library mismatches are logged."""
        ref = entry.artifact("model")
        report_mismatches(entry.libraries, where=f"version {entry.version}")
        return codecs.load(
            self.read_artifact(ref), ref.format, trusted_roots=self.trusted_roots(), where=ref.path
        )

    def require_exclusive_create(self, *, single_writer: bool = False) -> None:
        """Refuse to commit on a backend whose create-if-absent is not proven (P6).

        With ``single_writer`` the caller promises no other updater runs on this store, so an
        unproven backend is used anyway, with a warning. ``commit`` calls this too; callers
        call it before training so that a refusal costs nothing.
        """
        if self._exclusive_checked:
            return
        problem = exclusive_create_problem(self.files)
        if problem is not None and not single_writer:
            raise UnsafeBackendError(
                f"The store {self.url!r} cannot prove create-if-absent: {problem}. Two "
                "updaters could overwrite each other's version and lose a commit, so distinc "
                "refuses to update it concurrently. Use a backend with conditional writes, or "
                "run one update at a time and say so with the 'single_writer' option.",
                store=self.url,
                options=("single_writer",),
            )
        if problem is not None:
            logger.warning(
                "%s: %s; committing anyway because this update is the single writer",
                self.url,
                problem,
            )
        self._exclusive_checked = True

    def commit(self, entry: LedgerEntry) -> LedgerEntry:
        """Publish ``entry``; exactly one run can publish each version number.

        Idempotent for the same run: if the entry already exists with this run's id (the
        commit landed but the caller saw an error), the existing entry is returned. Refused on a
        backend whose create-if-absent is unproven, unless a single writer was declared.
        """
        self.require_exclusive_create()
        for ref in entry.artifacts:
            if not self.files.exists(ref.path):
                raise IntegrityError(
                    f"Refusing to commit version {entry.version}: artifact {ref.path} is not "
                    "written.",
                    version=entry.version,
                )
        name = entry_name(entry.version)
        try:
            # Checked first as well, so a backend whose exclusive create is unproven (used with
            # single_writer) still refuses an entry that is already there.
            if self.files.exists(name):
                raise FileExistsError(name)
            self.files.create(name, entry.to_json().encode())
        except FileExistsError:
            self._entries.pop(entry.version, None)
            existing = self.entry(entry.version)
            if existing.run_id == entry.run_id:
                return existing
            raise ConcurrentUpdateError(
                f"Concurrent update: version {entry.version} was committed by run "
                f"{existing.run_id} while this run ({entry.run_id}) was working; nothing was "
                "published. Run the update again to train what is left.",
                version=entry.version,
            ) from None
        self._entries[entry.version] = entry
        return entry

    def referenced_artifacts(self) -> set[str]:
        return {ref.path for entry in self.entries() for ref in entry.artifacts}

    def collect_garbage(self, *, grace_seconds: float = GARBAGE_GRACE_SECONDS) -> list[str]:
        """Delete what crashed runs left behind, once older than the grace period.

        That is artifacts no entry references, temporary entry files of interrupted commits and
        stray capability probes. The grace period protects runs still working towards a commit.
        """
        referenced = self.referenced_artifacts()
        candidates = [
            *(f"{ARTIFACTS}/{name}" for name in self.files.list(ARTIFACTS)),
            *(f"{LEDGER}/{name}" for name in self.files.list(LEDGER) if _TEMPORARY.match(name)),
            *(f"{PROBE_FOLDER}/{name}" for name in self.files.list(PROBE_FOLDER)),
        ]
        removed = []
        now = time.time()
        for path in candidates:
            if path in referenced:
                continue
            # Another run may remove its own file (a temporary entry, a probe) after the listing.
            with contextlib.suppress(FileNotFoundError):
                modified = self.files.modified(path)
                if modified is not None and now - modified >= grace_seconds:
                    self.files.delete(path)
                    removed.append(path)
        return removed
