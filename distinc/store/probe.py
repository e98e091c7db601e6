"""Proving that a store backend creates files exclusively, before trusting it with commits.

A commit is safe against a concurrent updater only if creating the ledger entry fails when the
entry exists. Object stores implement that with conditional writes, and not every fsspec backend
(or backend version) honours it: some treat ``mode="xb"`` like ``"wb"`` and overwrite silently
(s3fs did so for small files until 2025, fsspec/s3fs#973), which would lose a commit without a
trace. So before a non-local update trains anything, the store creates a probe file twice and
checks that the second create was refused and the first content survived.

Local paths are not probed: the store creates entries with ``os.link``, which POSIX defines to
fail when the name exists.
"""

from __future__ import annotations

import contextlib
import uuid

from distinc.store.files import StoreFiles

PROBE_FOLDER = "_probe"


def exclusive_create_problem(files: StoreFiles) -> str | None:
    """Why create-if-absent cannot be trusted on ``files``' backend; ``None`` when it held."""
    if files.is_local:
        return None
    name = f"{PROBE_FOLDER}/{uuid.uuid4().hex}"
    first, second = b"first create", b"second create"
    try:
        files.create(name, first)
    except (OSError, ValueError, NotImplementedError) as exc:
        return f"creating a file exclusively failed ({type(exc).__name__}: {exc})"
    try:
        try:
            files.create(name, second)
        except FileExistsError:
            refused = True
        except (OSError, ValueError, NotImplementedError) as exc:
            return f"a second exclusive create failed without FileExistsError ({exc!r})"
        else:
            refused = False
        survived = files.read(name) == first
    finally:
        with contextlib.suppress(OSError):
            files.delete(name)
    if not refused:
        outcome = "overwrote the first" if not survived else "succeeded"
        return f"a second exclusive create of the same name {outcome} instead of failing"
    if not survived:
        return "a refused exclusive create still changed the file"
    return None
