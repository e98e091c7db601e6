"""distinc's settings: the ``distinc`` section of dask's configuration.

The defaults live in ``distinc/distinc.yaml`` and are registered with dask on import, the way
dask's own packages do it; users override them in any dask configuration file (for example
``~/.config/dask/distinc.yaml``) or with ``DASK_DISTINC__<KEY>`` environment variables. Dask
merges environment variables over files over defaults; a command-line flag or an API argument
is applied over all three by the caller.

Storage options come in four layers per location (the store, the data, prediction outputs):
the shared ``storage-options`` and the location's own ``*-options``, first from the
configuration, then from flags or arguments. Credentials are never pinned in a store's spec
(``public_options``): they come from flags, the configuration or the backend's environment
each time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.config
import yaml

from distinc.config_values import READERS, mapping
from distinc.exceptions import ConfigurationError

SECTION = "distinc"
DEFAULTS_FILE = Path(__file__).with_name("distinc.yaml")
PLACES = ("store", "data", "output")

# An option whose name contains one of these is a credential; it is never written to a store.
_CREDENTIAL_WORDS = ("key", "secret", "token", "password", "passwd", "credential", "connection")


def _respell(section: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    """Give keys read before the defaults existed the defaults' spelling, in place.

    dask reads files and ``DASK_*`` variables when it is imported. A variable such as
    ``DASK_DISTINC__CONNECT_TIMEOUT`` then lands under ``connect_timeout``, apart from the
    ``connect-timeout`` default registered later; dask equates ``-`` and ``_`` only for keys it
    already knows. Environment variables always spell ``_``, so the respelled value wins.
    """
    for name in list(section):
        spelled = name.replace("_", "-")
        if name in defaults or spelled not in defaults:
            continue
        value = section.pop(name)
        current = section.get(spelled)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            value = {**current, **value}
        section[spelled] = value
    for name, default in defaults.items():
        inner = section.get(name)
        if isinstance(default, Mapping) and isinstance(inner, dict) and default:
            _respell(inner, default)


def _register_defaults() -> None:
    """Register the shipped defaults under the values dask read from files and variables.

    A mapping setting given as JSON text (``DASK_DISTINC__DATA_OPTIONS='{"anon": true}'``,
    which ``ast.literal_eval`` leaves as text) is parsed first, so the defaults merge under it
    as under a Python literal; dask's merge would replace the text with the default. Text that
    is no mapping is put back for ``setting`` to refuse.
    """
    with open(DEFAULTS_FILE, encoding="utf-8") as handle:
        shipped = yaml.safe_load(handle)
    section = dask.config.config.setdefault(SECTION, {})
    _respell(section, shipped[SECTION])
    mappings = {n for n, v in flatten(shipped[SECTION]).items() if isinstance(v, Mapping)}
    refused = {}
    for name, value in flatten(section).items():
        if name in mappings and isinstance(value, str):
            try:
                _put(section, name, mapping(value))
            except ValueError:
                refused[name] = value
    dask.config.update_defaults(shipped)
    for name, value in refused.items():
        _put(dask.config.config[SECTION], name, value)


def _put(section: dict[str, Any], name: str, value: Any) -> None:
    *parents, last = name.split(".")
    for parent in parents:
        section = section[parent]
    section[last] = value


def setting(name: str) -> Any:
    """The value in force of ``distinc.<name>`` (dotted for nested keys), checked and parsed
    by its reader in ``config_values``; a value it refuses is a ``ConfigurationError``.

    Examples
    --------
    >>> setting("local-cluster.threads-per-worker")
    1
    """
    return parsed(name, dask.config.get(f"{SECTION}.{name}"))


def parsed(name: str, value: Any) -> Any:
    """``value`` as setting ``name`` takes it, or a ``ConfigurationError`` naming both."""
    reader = READERS.get(name)
    if reader is None:
        return value
    try:
        return reader(value)
    except ValueError as exc:
        variable = environment_variable(name)
        source = f" (from {variable})" if variable in os.environ else ""
        raise ConfigurationError(
            f"The setting {SECTION}.{name}{source} {exc}; got {value!r}.", option=name
        ) from exc


def environment_variable(name: str) -> str:
    """The ``DASK_*`` variable that sets ``distinc.<name>``.

    Examples
    --------
    >>> environment_variable("local-cluster.n-workers")
    'DASK_DISTINC__LOCAL_CLUSTER__N_WORKERS'
    """
    return f"DASK_{SECTION}.{name}".upper().replace(".", "__").replace("-", "_")


def settings() -> dict[str, Any]:
    """The whole ``distinc`` section in force (environment over files over defaults)."""
    return dict(dask.config.get(SECTION))


def default_settings() -> dict[str, Any]:
    """The ``distinc`` section as shipped, before any file or environment variable."""
    with open(DEFAULTS_FILE, encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle)[SECTION])


def flatten(section: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted names; storage options and Dask's settings stay whole.

    Examples
    --------
    >>> flatten({"scheduler": None, "local-cluster": {"n-workers": 2}, "storage-options": {}})
    {'scheduler': None, 'local-cluster.n-workers': 2, 'storage-options': {}}
    """
    flat: dict[str, Any] = {}
    for name, value in section.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, Mapping) and not dotted.endswith(("options", "dask-config")):
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def masked(value: Any) -> Any:
    """``value`` with the values of credential options replaced by ``"***"``.

    Examples
    --------
    >>> masked({"endpoint_url": "u", "secret": "s3cr3t"})
    {'endpoint_url': 'u', 'secret': '***'}
    """
    if isinstance(value, Mapping):
        return {
            name: "***" if is_credential(str(name)) else masked(inner)
            for name, inner in value.items()
        }
    return value


def config_files() -> list[str]:
    """The YAML files dask reads its configuration from, in increasing priority."""
    found = []
    for folder in dask.config.paths:
        if os.path.isdir(folder):
            found += sorted(
                str(Path(folder) / name)
                for name in os.listdir(folder)
                if name.endswith((".yaml", ".yml"))
            )
        elif os.path.isfile(folder):
            found.append(folder)
    return found


@dataclass(frozen=True)
class StorageOptions:
    """The fsspec options for each location distinc reads or writes.

    ``store``, ``data`` and ``output`` are already merged, from lowest to highest precedence:
    the configured shared options, the configured options of the location, the given shared
    options, the given options of the location.

    Examples
    --------
    >>> options = StorageOptions.resolve(shared={"anon": False}, data={"anon": True})
    >>> options.store["anon"], options.data["anon"]
    (False, True)
    """

    store: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        *,
        shared: Mapping[str, Any] | None = None,
        store: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        output: Mapping[str, Any] | None = None,
    ) -> StorageOptions:
        """Given options (flags, arguments) over the configured ones, key by key."""
        given = {"store": store, "data": data, "output": output}
        merged = {
            place: {
                **setting("storage-options"),
                **setting(f"{place}-options"),
                **(shared or {}),
                **(given[place] or {}),
            }
            for place in PLACES
        }
        return cls(**merged)

    def for_data(self, pinned: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Options for a dataset: those pinned in the store's spec, overridden by these."""
        return {**(pinned or {}), **self.data}


def is_credential(name: str) -> bool:
    """Whether an option name looks like a credential.

    Examples
    --------
    >>> [is_credential(n) for n in ("secret", "aws_access_key_id", "endpoint_url", "anon")]
    [True, True, False, False]
    """
    lowered = name.lower()
    return any(word in lowered for word in _CREDENTIAL_WORDS)


def public_options(
    options: Mapping[str, Any], prefix: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """``options`` without credentials (at any depth), and the dotted names left out.

    Examples
    --------
    >>> public_options({"key": "AK", "client_kwargs": {"endpoint_url": "u", "aws_token": "t"}})
    ({'client_kwargs': {'endpoint_url': 'u'}}, ['key', 'client_kwargs.aws_token'])
    """
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, value in options.items():
        dotted = f"{prefix}{name}"
        if is_credential(str(name)):
            dropped.append(dotted)
        elif isinstance(value, Mapping):
            kept[name], inner = public_options(value, f"{dotted}.")
            dropped += inner
        else:
            kept[name] = value
    return kept, dropped


_register_defaults()
