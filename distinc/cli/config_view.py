"""``distinc config``: every setting in force, its default, where it came from, and the files
dask read."""

from __future__ import annotations

import json
import os
from typing import Any

from distinc.config import (
    SECTION,
    config_files,
    default_settings,
    environment_variable,
    flatten,
    masked,
    parsed,
    settings,
)
from distinc.exceptions import ConfigurationError


def config_json() -> dict[str, Any]:
    """Settings in force and defaults as dotted names, credentials masked, the variables that
    set them, the values refused (and why), and the files read."""
    in_force = flatten(settings())
    refused = {}
    for name, value in in_force.items():
        try:
            in_force[name] = parsed(name, value)
        except ConfigurationError as exc:
            refused[name] = exc.message
    return {
        "settings": masked(in_force),
        "defaults": masked(flatten(default_settings())),
        "environment": {
            name: variable
            for name in in_force
            if (variable := environment_variable(name)) in os.environ
        },
        "refused": refused,
        "files": config_files(),
    }


def config_text(data: dict[str, Any]) -> str:
    """``config_json``'s ``data`` as lines of text."""
    lines = [f"{SECTION} settings (flag > DASK_{SECTION.upper()}__* environment > file > default):"]
    names = [*data["defaults"], *(n for n in data["settings"] if n not in data["defaults"])]
    for name in names:
        value, default = data["settings"].get(name), data["defaults"].get(name)
        notes = [f"from {data['environment'][name]}"] if name in data["environment"] else []
        if value != default:
            notes.append(f"default: {json.dumps(default)}")
        if name in data["refused"]:
            notes.append("REFUSED, see below")
        note = f"   ({'; '.join(notes)})" if notes else ""
        lines.append(f"  {name}: {json.dumps(value)}{note}")
    lines += [f"error: {message}" for message in data["refused"].values()]
    lines.append("files read, lowest priority first:")
    lines += [f"  {path}" for path in data["files"]] or ["  (none)"]
    return "\n".join(lines)
