"""Library versions recorded with every version, and the check made on load."""

from __future__ import annotations

import functools
import logging
import platform
from importlib import metadata

logger = logging.getLogger("distinc")

# Packages whose version can change what a stored model means or whether it loads.
TRACKED = (
    "distinc",
    "scikit-learn",
    "xgboost",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "dask",
    "distributed",
    "skops",
)
# A mismatch in these is worth a warning when a model is loaded.
MODEL_DEFINING = ("scikit-learn", "xgboost", "skops")


def library_versions() -> dict[str, str]:
    return dict(_versions_in_this_process())


@functools.cache
def _versions_in_this_process() -> tuple[tuple[str, str], ...]:
    """Read once per process: the code a process runs does not change when packages are
    upgraded under it, and reading package metadata costs tens of milliseconds per update."""
    versions = [("python", platform.python_version())]
    for name in TRACKED:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(versions)


def report_mismatches(recorded: dict[str, str], *, where: str) -> list[str]:
    """Log (and return) the model-defining libraries whose version differs from ``recorded``."""
    current = library_versions()
    mismatches = [
        f"{name} {recorded[name]} (now {current.get(name, 'not installed')})"
        for name in MODEL_DEFINING
        if name in recorded and recorded[name] != current.get(name)
    ]
    if mismatches:
        logger.warning("%s was saved with %s", where, ", ".join(mismatches))
    return mismatches
