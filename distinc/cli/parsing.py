"""Text given on the command line: values, KEY=VALUE pairs and comma-separated lists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from distinc.config import is_credential
from distinc.exceptions import ConfigurationError


def parse_value(text: str) -> Any:
    """A command-line value as JSON when it parses (``0``, ``1e-4``, ``[50,50]``), else text.

    Examples
    --------
    >>> parse_value("0"), parse_value("log_loss"), parse_value("[50, 50]")
    (0, 'log_loss', [50, 50])
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(pairs: Sequence[str], flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` arguments as a dict."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"{flag} expects KEY=VALUE; got {pair!r}.")
        result[key] = parse_value(value)
    return result


def parse_storage_pairs(pairs: Sequence[str], flag: str) -> dict[str, Any]:
    """Storage ``KEY=VALUE`` arguments; credentials stay text even when they look like numbers.

    Examples
    --------
    >>> parse_storage_pairs(["anon=false", "secret=0123", "client_kwargs={}"], "--storage-option")
    {'anon': False, 'secret': '0123', 'client_kwargs': {}}
    """
    parsed = parse_pairs(pairs, flag)
    for pair in pairs:
        key, _, value = pair.partition("=")
        if is_credential(key):
            parsed[key] = value
    return parsed


def parse_list(text: str | None) -> list[Any] | None:
    """A comma-separated list, each item parsed like ``parse_value``."""
    if text is None:
        return None
    return [parse_value(item.strip()) for item in text.split(",") if item.strip()]
