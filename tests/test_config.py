"""Settings: flag > environment > config file > default, through dask's configuration."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import Client

import distinc
from distinc.cli.main import build_parser
from distinc.config import StorageOptions, default_settings, flatten, setting
from distinc.engine.cluster import (
    PRE_SPAWN_ENVIRON,
    connect_timeout,
    dask_client,
    local_cluster_options,
    scheduler_address,
    scheduler_timeout,
    start_local_cluster,
)
from distinc.exceptions import ConfigurationError
from tests.conftest import make_frame, run_cli, write_partition

README = Path(__file__).parents[1] / "README.md"
UNREACHABLE = "tcp://127.0.0.1:9"


def test_scheduler_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with dask.config.set({"distinc.scheduler": None, "scheduler-address": None}):
        assert scheduler_address() is None
        with dask.config.set({"scheduler-address": "tcp://dask:1"}):
            assert scheduler_address() == "tcp://dask:1"
            with dask.config.set({"distinc.scheduler": "tcp://distinc:2"}):
                assert scheduler_address() == "tcp://distinc:2"
                monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://env:3")
                assert scheduler_address() == "tcp://env:3"
                assert scheduler_address("tcp://flag:4") == "tcp://flag:4"


def test_cluster_settings_fall_back_to_dask_and_the_machine() -> None:
    with dask.config.set({"distributed.comm.timeouts.connect": "7s"}):
        assert connect_timeout() == "7s"
        with dask.config.set({"distinc.connect-timeout": "2s"}):
            assert connect_timeout() == "2s"
    assert local_cluster_options()["n_workers"] >= 1
    with dask.config.set({"distinc.local-cluster.n-workers": 3}):
        assert local_cluster_options() == {
            "n_workers": 3,
            "threads_per_worker": 1,
            "memory_limit": "auto",
        }


def test_scheduler_timeout_is_seconds_or_none() -> None:
    assert scheduler_timeout() == 120
    for configured, seconds in [("3s", 3), (2, 2), ("1 minute", 60), (None, None), (0, None)]:
        with dask.config.set({"distinc.scheduler-timeout": configured}):
            assert scheduler_timeout() == seconds


def _saturation(dask_scheduler: Any) -> float:
    return float(dask_scheduler.WORKER_SATURATION)


def test_own_local_cluster_hands_a_worker_one_task_per_thread_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import distributed  # registers distributed's settings

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    process_wide = dask.config.get("distributed.scheduler.worker-saturation")
    local = {"distinc.scheduler": None, "scheduler-address": None}
    with dask.config.set({**local, "distinc.local-cluster.n-workers": 1}):
        with dask_client() as client:
            assert isinstance(client, distributed.Client)
            assert client.run_on_scheduler(_saturation) == 1.0
        with (
            dask.config.set({"distinc.local-cluster.worker-saturation": 2.0}),
            dask_client() as client,
        ):
            assert client.run_on_scheduler(_saturation) == 2.0
    assert dask.config.get("distributed.scheduler.worker-saturation") == process_wide


def _quieted(dask_worker: Any) -> tuple[bool, float]:
    return "profile" in dask_worker.periodic_callbacks, float(dask_worker._tick_interval)


def test_own_local_cluster_quiets_what_only_the_dashboard_reads_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    local = {"distinc.scheduler": None, "scheduler-address": None}
    with dask.config.set({**local, "distinc.local-cluster.n-workers": 1}):
        with dask_client() as client:
            assert list(client.run(_quieted).values()) == [(False, 0.2)]
            assert (
                client.run_on_scheduler(lambda dask_scheduler: dask_scheduler._tick_interval) == 0.2
            )
        profiled = {"distributed.worker.profile.enabled": True}
        with (
            dask.config.set({"distinc.local-cluster.dask-config": profiled}),
            dask_client() as client,
        ):
            assert list(client.run(_quieted).values()) == [(True, 0.02)]
    assert dask.config.get("distributed.worker.profile.enabled") is True


WORKER_VARIABLES = (
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_ARENA_MAX",
    "NUMPY_MADVISE_HUGEPAGE",
    "GLIBC_TUNABLES",
)


def _memory_kept_after_free() -> tuple[dict[str, str], int]:
    """The worker's allocator variables, and how much of a freed 8 MiB array it kept."""
    import numpy as np
    import psutil

    process = psutil.Process()
    array = np.ones(2**20)
    before = process.memory_info().rss
    del array
    kept = 2**23 - (before - process.memory_info().rss)
    return {name: os.environ[name] for name in WORKER_VARIABLES if name in os.environ}, kept


def _worker_memory(memory_limit: str, **configured: Any) -> tuple[dict[str, str], int]:
    settings = {"distinc.local-cluster.dask-config": configured} if configured else {}
    with (
        dask.config.set(settings),
        start_local_cluster(
            n_workers=1, threads_per_worker=1, memory_limit=memory_limit, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        return next(iter(client.run(_memory_kept_after_free).values()))


def test_own_local_cluster_workers_keep_freed_memory_up_to_a_share_of_their_limit() -> None:
    before = {name: os.environ.get(name) for name in WORKER_VARIABLES}
    # a 64th of 4 GB: an 8 MiB array is kept for the next one instead of unmapped
    environ, kept = _worker_memory("4GB")
    assert environ == {
        "MALLOC_TRIM_THRESHOLD_": "62500000",
        "MALLOC_MMAP_THRESHOLD_": "15625000",
        "MALLOC_ARENA_MAX": "1",
        "NUMPY_MADVISE_HUGEPAGE": "0",
        "GLIBC_TUNABLES": "glibc.malloc.tcache_count=500",
    }
    assert kept > 2**22
    # a 64th of 320 MB is less than the array: it goes back to the system at once, as under
    # dask's own settings, although a cluster with other values was started in this process
    environ, kept = _worker_memory("320MB")
    assert environ["MALLOC_TRIM_THRESHOLD_"] == "5000000"
    assert kept < 2**21
    # dask's own values, configured back: the array goes back to the system again
    dasks_own = {
        "MALLOC_TRIM_THRESHOLD_": 65536,
        "MALLOC_MMAP_THRESHOLD_": None,
        "MALLOC_ARENA_MAX": None,
    }
    environ, kept = _worker_memory(
        "4GB", **{f"{PRE_SPAWN_ENVIRON}.{name}": value for name, value in dasks_own.items()}
    )
    assert environ == {"MALLOC_TRIM_THRESHOLD_": "65536"}
    assert kept < 2**21
    assert {name: os.environ.get(name) for name in WORKER_VARIABLES} == before


def test_storage_options_layer_key_by_key() -> None:
    configured = {
        "distinc.storage-options": {"endpoint_url": "cfg", "anon": False, "a": 1},
        "distinc.data-options": {"anon": True, "b": 1},
        "distinc.output-options": {"c": 1},
    }
    with dask.config.set(configured):
        options = StorageOptions.resolve(shared={"a": 2, "b": 2}, store={"endpoint_url": "flag"})
    assert options.store == {"endpoint_url": "flag", "anon": False, "a": 2, "b": 2}
    # a flag for every location still beats a setting for one location
    assert options.data == {"endpoint_url": "cfg", "anon": True, "a": 2, "b": 2}
    assert options.output == {"endpoint_url": "cfg", "anon": False, "a": 2, "c": 1, "b": 2}
    assert options.for_data({"endpoint_url": "pinned", "d": 1}) == {**options.data, "d": 1}


def test_environment_beats_config_file_beats_default(tmp_path: Path) -> None:
    folder = tmp_path / "dask"
    folder.mkdir()
    (folder / "distinc.yaml").write_text(
        "distinc:\n"
        "  scheduler: tcp://file:1\n"
        "  local-cluster:\n"
        "    n-workers: 5\n"
        "    threads-per-worker: 2\n"
        "  storage-options:\n"
        "    endpoint_url: http://file\n"
        "    secret: from-file\n"
    )
    env = {
        "DASK_CONFIG": str(folder),
        "DASK_DISTINC__LOCAL_CLUSTER__N_WORKERS": "3",
        "DASK_DISTINC__CONNECT_TIMEOUT": "4s",
    }
    shown = json.loads(run_cli("config", "--json", env=env).stdout)
    settings = shown["settings"]
    assert settings["local-cluster.n-workers"] == 3  # environment over file
    assert settings["connect-timeout"] == "4s"  # environment over default
    assert settings["scheduler"] == "tcp://file:1"  # file over default
    assert settings["local-cluster.threads-per-worker"] == 2
    assert settings["local-cluster.memory-limit"] == "auto"  # default
    assert settings["storage-options"] == {"endpoint_url": "http://file", "secret": "***"}
    assert str(folder / "distinc.yaml") in shown["files"]
    assert shown["defaults"] == flatten(default_settings())


def test_update_follows_the_scheduler_setting_unless_a_flag_or_env_says_otherwise(
    tmp_path: Path, data_dir: Path, scheduler_address: str
) -> None:
    folder = tmp_path / "dask"
    folder.mkdir()
    (folder / "distinc.yaml").write_text(f"distinc:\n  scheduler: {UNREACHABLE}\n")
    base = {"DASK_CONFIG": str(folder), "DASK_SCHEDULER_ADDRESS": ""}
    store = str(tmp_path / "store")
    distinc.init(store, data=str(data_dir), target="label", model="SGDClassifier")

    flagged = run_cli("update", store, "--scheduler", scheduler_address, env=base)
    assert f"connected to {scheduler_address}" in flagged.stderr

    write_partition(data_dir, "part-10.parquet", make_frame(50, seed=10))
    quick = {**base, "DASK_DISTINC__CONNECT_TIMEOUT": "2s"}
    from_file = run_cli("update", store, env=quick, check=False)
    assert from_file.returncode == 1
    assert f"Cannot reach the Dask scheduler at {UNREACHABLE!r}" in from_file.stderr

    from_env = run_cli("update", store, env={**base, "DASK_DISTINC__SCHEDULER": scheduler_address})
    assert f"connected to {scheduler_address}" in from_env.stderr
    assert "version 2: trained 1 partition(s)" in from_env.stdout


def test_the_local_cluster_follows_its_settings(tmp_path: Path, data_dir: Path) -> None:
    store = str(tmp_path / "store")
    distinc.init(store, data=str(data_dir), target="label", model="SGDClassifier")
    env = {"DASK_SCHEDULER_ADDRESS": "", "DASK_DISTINC__LOCAL_CLUSTER__N_WORKERS": "1"}
    result = run_cli("update", store, env=env)
    assert "started a LocalCluster of 1 worker process(es)" in result.stderr


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if action.option_strings and action.dest != "help"]


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]  # type: ignore[no-any-return]
    raise AssertionError("no subcommands")


@pytest.mark.parametrize("command", [None, "init", "update"])
def test_help_explains_every_option_and_its_default(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    target = parser if command is None else _subparser(parser, command)
    for action in _options(target):
        assert action.help, f"{action.option_strings} has no help"
        takes_value = action.nargs != 0
        if takes_value and not action.required:
            assert re.search(r"default", action.help), f"{action.option_strings}: no default"
    with pytest.raises(SystemExit) as shown:
        target.parse_args(["--help"])
    assert shown.value.code == 0
    text = capsys.readouterr().out
    assert all(option in text for action in _options(target) for option in action.option_strings)


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    for name in flatten(default_settings()):
        assert f"`{name.rsplit('.', 1)[-1]}`" in text, f"README does not explain {name}"


def test_durable_mode_follows_its_setting_unless_given(tmp_path: Path, data_dir: Path) -> None:
    store = str(tmp_path / "store")
    distinc.init(store, data=str(data_dir), target="label", model="SGDClassifier")
    assert distinc.open(store).store.files.durable is False
    with dask.config.set({"distinc.durable": True}):
        assert distinc.open(store).store.files.durable is True
        assert distinc.open(store, durable=False).store.files.durable is False


def test_options_variables_take_json_and_refuse_what_is_no_mapping() -> None:
    given = '{"anon": true, "endpoint_url": "http://x", "client_kwargs": null}'
    shown = run_cli("config", "--json", env={"DASK_DISTINC__DATA_OPTIONS": given})
    parsed = json.loads(shown.stdout)
    expected = {"anon": True, "endpoint_url": "http://x", "client_kwargs": None}
    assert parsed["settings"]["data-options"] == expected
    assert parsed["environment"] == {"data-options": "DASK_DISTINC__DATA_OPTIONS"}
    # JSON merges over a mapping's defaults as a Python literal does
    env = {
        "DASK_DISTINC__LOCAL_CLUSTER__DASK_CONFIG": '{"distributed.worker.profile.enabled": true}'
    }
    merged = json.loads(run_cli("config", "--json", env=env).stdout)["settings"]
    assert merged["local-cluster.dask-config"] == {
        **default_settings()["local-cluster"]["dask-config"],
        "distributed.worker.profile.enabled": True,
    }

    bad = {"DASK_DISTINC__DATA_OPTIONS": '{"anon": tru'}
    refused = run_cli("config", env=bad, check=False)
    assert refused.returncode == 1
    assert "error: The setting distinc.data-options (from DASK_DISTINC__DATA_OPTIONS)" in (
        refused.stdout
    )
    failed = run_cli("status", "/nowhere", env=bad, check=False)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "distinc: error: The setting distinc.data-options (from DASK_DISTINC__DATA_OPTIONS) "
        'must be a mapping, such as {"anon": true} (JSON or a Python literal); '
        "got '{\"anon\": tru'."
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("local-cluster.n-workers", "abc"),
        ("local-cluster.n-workers", 0),
        ("local-cluster.threads-per-worker", True),
        ("scheduler-timeout", "banana"),
        ("connect-timeout", "-3s"),
        ("local-cluster.memory-limit", "lots"),
        ("local-cluster.worker-saturation", "-1"),
        ("durable", "maybe"),
        ("storage-options", "[1, 2]"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(name: str, value: Any) -> None:
    with (
        dask.config.set({f"distinc.{name}": value}),
        pytest.raises(
            ConfigurationError, match=f"distinc.{name} must be .*; got {re.escape(repr(value))}"
        ),
    ):
        setting(name)


def test_booleans_are_parsed_strictly(tmp_path: Path, data_dir: Path) -> None:
    for text in ("true", "Yes", "1", "ON", 1, True):
        with dask.config.set({"distinc.durable": text}):
            assert setting("durable") is True
    for text in ("false", "NO", "0", "off", "", 0, False, None):
        with dask.config.set({"distinc.durable": text}):
            assert setting("durable") is False
    store = str(tmp_path / "store")
    distinc.init(store, data=str(data_dir), target="label", model="SGDClassifier")
    with dask.config.set({"distinc.durable": "no"}):
        assert distinc.open(store).store.files.durable is False


def test_bad_settings_fail_a_command_in_one_line_naming_them(
    tmp_path: Path, data_dir: Path
) -> None:
    store = str(tmp_path / "store")
    distinc.init(store, data=str(data_dir), target="label", model="SGDClassifier")
    local = {"DASK_SCHEDULER_ADDRESS": "", "DASK_DISTINC__LOCAL_CLUSTER__N_WORKERS": "abc"}
    for env, named in [
        (local, "distinc.local-cluster.n-workers (from DASK_DISTINC__LOCAL_CLUSTER__N_WORKERS)"),
        ({"DASK_DISTINC__DURABLE": "nope"}, "distinc.durable (from DASK_DISTINC__DURABLE)"),
    ]:
        failed = run_cli("update", store, env=env, check=False)
        assert failed.returncode == 1, failed.stderr
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and f"error: The setting {named} must be" in lines[0]
