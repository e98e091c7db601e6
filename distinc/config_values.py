"""What each typed distinc setting accepts, checked where the setting is read.

dask passes ``DASK_DISTINC__*`` values through ``ast.literal_eval``: ``4`` arrives as a number,
but ``no``, ``abc`` or JSON's ``true`` arrive as text. Each reader below turns the text a user
may reasonably write into the value, and refuses anything else with a ``ValueError`` saying what
the setting takes (``config.setting`` names the setting and the value).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from typing import Any

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _unset(value: Any) -> bool:
    """``None``, or an empty ``DASK_DISTINC__*`` variable."""
    return value is None or (isinstance(value, str) and not value.strip())


def flag(value: Any) -> bool:
    """A boolean, strictly: ``yes`` is true, ``no`` false, ``maybe`` an error.

    Examples
    --------
    >>> [flag(v) for v in (True, "no", "ON", 1, None)]
    [True, False, True, True, False]
    """
    if _unset(value) or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower() if isinstance(value, (int, str)) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"must be true or false ({'/'.join(_TRUE)} or {'/'.join(_FALSE)})")


def count(value: Any) -> int | None:
    """A whole number of at least 1, or ``None`` (unset).

    Examples
    --------
    >>> count(4), count("2"), count(None)
    (4, 2, None)
    """
    if _unset(value):
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError("must be a whole number of at least 1, or null")
    return number


def duration(value: Any) -> Any:
    """A number of seconds or a dask duration (``"90s"``, ``"2 minutes"``), or ``None``;
    returned as given once it parses.

    Examples
    --------
    >>> duration("10s"), duration(3), duration("")
    ('10s', 3, None)
    """
    from dask.utils import parse_timedelta

    if _unset(value):
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = parse_timedelta(value, default="s")
    except (KeyError, ValueError, TypeError):
        seconds = -1
    if seconds is None or seconds < 0:
        raise ValueError('must be a duration such as 30, "30s" or "2 minutes", or null')
    return value


def positive(value: Any) -> float:
    """A number above zero (``inf`` allowed).

    Examples
    --------
    >>> positive(1.1), positive("inf")
    (1.1, inf)
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if not number > 0:
        raise ValueError('must be a number above 0 (or "inf")')
    return number


def memory(value: Any) -> Any:
    """``"auto"``, a number of bytes or a size such as ``"4GB"``, or ``None``; as given.

    Examples
    --------
    >>> memory("auto"), memory("4GB"), memory(2**30)
    ('auto', '4GB', 1073741824)
    """
    from dask.utils import parse_bytes

    if _unset(value):
        return None
    if value == "auto":
        return value
    try:
        if isinstance(value, bool):
            raise TypeError
        size = parse_bytes(value) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        size = -1
    if size < 0:
        raise ValueError('must be "auto", a number of bytes or a size such as "4GB", or null')
    return value


def mapping(value: Any) -> dict[str, Any]:
    """A mapping, also given as JSON or Python text (``{"anon": true}``); ``{}`` when unset.

    Examples
    --------
    >>> mapping('{"anon": true, "endpoint_url": null}'), mapping("{'anon': True}"), mapping(None)
    ({'anon': True, 'endpoint_url': None}, {'anon': True}, {})
    """
    if _unset(value):
        return {}
    if isinstance(value, str):
        value = _parsed_text(value)
    if not isinstance(value, Mapping):
        raise ValueError('must be a mapping, such as {"anon": true} (JSON or a Python literal)')
    return dict(value)


def _parsed_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError):
        return text


# The reader of each typed setting, by dotted name; the others are taken as they are.
READERS: dict[str, Callable[[Any], Any]] = {
    "connect-timeout": duration,
    "scheduler-timeout": duration,
    "local-cluster.n-workers": count,
    "local-cluster.threads-per-worker": count,
    "local-cluster.memory-limit": memory,
    "local-cluster.worker-saturation": positive,
    "local-cluster.dask-config": mapping,
    "storage-options": mapping,
    "store-options": mapping,
    "data-options": mapping,
    "output-options": mapping,
    "durable": flag,
}
