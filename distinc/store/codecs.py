"""Artifact formats: how a model becomes bytes and back, without pickle.

``skops`` holds scikit-learn estimators; ``ubj`` holds XGBoost boosters (XGBoost's UBJSON).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable
from typing import Any

from distinc.exceptions import IntegrityError

# Type prefixes a skops artifact may contain; the model's own package is added per store.
TRUSTED_ROOTS = ("sklearn.", "numpy.", "scipy.", "distinc.")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_skops(model: Any) -> bytes:
    import skops.io

    return bytes(skops.io.dumps(model))


def load_skops(data: bytes, *, trusted_roots: Iterable[str] = TRUSTED_ROOTS, where: str) -> Any:
    """Load a skops artifact, refusing any type outside ``trusted_roots``."""
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise IntegrityError(
            f"Artifact {where} is not a skops file ({exc}); distinc never loads pickles. "
            "Restore the file or roll back to another version.",
            where=where,
        ) from exc
    roots = tuple(trusted_roots)
    refused = [name for name in untrusted if not name.startswith(roots)]
    if refused:
        raise IntegrityError(
            f"Artifact {where} contains types distinc does not trust: {refused[:5]}. Only "
            f"types from {list(roots)} are loaded.",
            where=where,
        )
    return skops.io.loads(data, trusted=untrusted)


def dump(model: Any, fmt: str) -> bytes:
    if fmt == "skops":
        return dump_skops(model)
    if fmt == "ubj":
        from distinc.trainers.boosting.model import dump_ubj

        return dump_ubj(model)
    raise IntegrityError(f"Unknown artifact format {fmt!r}.", format=fmt)


def load(data: bytes, fmt: str, *, trusted_roots: Iterable[str], where: str) -> Any:
    if fmt == "skops":
        return load_skops(data, trusted_roots=trusted_roots, where=where)
    if fmt == "ubj":
        from distinc.trainers.boosting.model import load_ubj

        return load_ubj(data, where=where)
    raise IntegrityError(
        f"Artifact {where} has format {fmt!r}, which this distinc cannot read.", where=where
    )
