"""``distinc config``: every setting in force, its default, and the files dask read."""

from __future__ import annotations

import json
from typing import Any

from distinc.config import SECTION, config_files, default_settings, flatten, masked, settings


def config_json() -> dict[str, Any]:
    """Settings in force and defaults as dotted names, credentials masked, and the files read."""
    return {
        "settings": masked(flatten(settings())),
        "defaults": masked(flatten(default_settings())),
        "files": config_files(),
    }


def config_text() -> str:
    data = config_json()
    lines = [f"{SECTION} settings (flag > DASK_{SECTION.upper()}__* environment > file > default):"]
    names = [*data["defaults"], *(n for n in data["settings"] if n not in data["defaults"])]
    for name in names:
        value, default = data["settings"].get(name), data["defaults"].get(name)
        note = "" if value == default else f"   (default: {json.dumps(default)})"
        lines.append(f"  {name}: {json.dumps(value)}{note}")
    lines.append("files read, lowest priority first:")
    lines += [f"  {path}" for path in data["files"]] or ["  (none)"]
    return "\n".join(lines)
