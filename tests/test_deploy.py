"""The deployment recipes in cluster/: run for real where this machine can, checked otherwise."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from distributed import Client

import distinc
from distinc.cli.main import build_parser
from distinc.engine.cluster import worker_variables
from tests.clusterproc import process_cluster
from tests.conftest import run_cli

ROOT = Path(__file__).parents[1]
CLUSTER = ROOT / "cluster"
SCRIPT = CLUSTER / "local-cluster.sh"
OPERATOR_API = "kubernetes.dask.org/v1"
SATURATION = "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"
CONFIG = "DASK_DISTINC__LOCAL_CLUSTER__DASK_CONFIG"


def process_groups_alive(groups: list[int]) -> list[int]:
    """Live (not zombie) processes whose process group is one of ``groups``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group in groups and state != "Z":
            alive.append(int(stat.parent.name))
    return alive


def local_cluster(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args, "--dir", str(state), "--python", sys.executable],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.cluster
def test_the_host_script_runs_an_update_and_leaves_nothing_running(
    tmp_path: Path, data_dir: Path
) -> None:
    state = tmp_path / "cluster"
    started = local_cluster(
        "start", "--workers", "2", "--port", "0", "--dashboard", ":0", state=state
    )
    groups = [int(p.read_text()) for p in state.glob("*.pid")]
    try:
        assert started.returncode == 0, started.stderr
        address = re.search(r"scheduler (tcp://\S+) with 2 worker", started.stdout)
        assert address is not None, started.stdout
        status = local_cluster("status", state=state)
        assert status.returncode == 0 and f"{address[1]} with 2 worker(s)" in status.stdout

        store = str(tmp_path / "store")
        distinc.init(store, data=str(data_dir), target="label", model="SGDClassifier")
        updated = run_cli("update", store, "--scheduler", address[1], "--json")
        assert json.loads(updated.stdout)["version"] == 1
        assert f"connected to {address[1]}" in updated.stderr
        with Client(address[1], timeout=30) as client:
            # a lambda travels by value; the scheduler process cannot import this module
            saturation = client.run_on_scheduler(
                lambda dask_scheduler: dask_scheduler.WORKER_SATURATION
            )
            assert saturation == 1.0
            # the workers run with the variables distinc's LocalCluster gives its own
            expected = worker_variables("auto", 1)
            environs = client.run(lambda: dict(__import__("os").environ))
            assert len(environs) == 2 and "MALLOC_TRIM_THRESHOLD_" in expected
            for environ in environs.values():
                assert {name: environ.get(name) for name in expected} == expected
    finally:
        stopped = local_cluster("stop", state=state)
        leftovers = process_groups_alive(groups)
        for group in groups if leftovers else []:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    assert len(groups) == 2 and leftovers == []
    assert not list(state.glob("*.pid")) and not (state / "scheduler.json").exists()
    after = local_cluster("status", state=state)
    assert after.returncode == 3 and "not running" in after.stdout


@pytest.mark.cluster
def test_distinc_worker_is_dask_worker_with_the_local_cluster_environment() -> None:
    """Every argument reaches ``dask worker``; the variables follow its memory limit and
    threads, through the nannies. They replace Dask's value that a process which started a
    LocalCluster keeps in its environment, and a pre-spawn-environ entry in distinc's
    ``local-cluster.dask-config`` setting replaces them."""
    pinned = {"distributed.nanny.pre-spawn-environ.GLIBC_TUNABLES": "glibc.malloc.tcache_count=7"}
    with process_cluster(workers=0) as cluster:
        arguments = ["--nworkers", "2", "--nthreads", "1", "--memory-limit", "600MiB"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "distinc", "worker", cluster.address, *arguments],
            env={**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536", CONFIG: str(pinned)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        cluster.workers.append(worker)
        cluster.wait_for_workers(2)
        with Client(cluster.address, timeout=30) as client:
            limits = {w["memory_limit"] for w in client.scheduler_info()["workers"].values()}
            environs = client.run(lambda: dict(__import__("os").environ))
    expected = worker_variables("600MiB", 1)
    assert expected["MALLOC_TRIM_THRESHOLD_"] == str(600 * 2**20 // 64)
    expected["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=7"
    assert limits == {600 * 2**20} and len(environs) == 2
    for environ in environs.values():
        assert {name: environ.get(name) for name in expected} == expected


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((CLUSTER / "docker-compose.yml").read_text()))


def test_the_compose_file_runs_a_scheduler_workers_and_a_one_shot_update() -> None:
    services = compose()["services"]
    assert set(services) == {"scheduler", "worker", "update"}
    assert len({service["image"] for service in services.values()}) == 1
    for service in services.values():
        build = service["build"]
        assert (CLUSTER / build["context"] / build["dockerfile"]).resolve() == (
            CLUSTER / "Dockerfile"
        )
        assert [volume.split(":")[-1] for volume in service["volumes"]] == ["/work"]
    assert services["scheduler"]["command"][:2] == ["dask", "scheduler"]
    assert services["scheduler"]["environment"] == {
        **services["worker"]["environment"],
        SATURATION: "1.0",
    }
    assert "8786" in services["scheduler"]["command"]
    assert services["worker"]["command"][:3] == ["distinc", "worker", "tcp://scheduler:8786"]
    job = services["update"]
    assert job["profiles"] == ["job"] and job["restart"] == "no"
    assert job["command"][0] == "distinc"
    args = build_parser().parse_args(job["command"][1:])
    assert args.command == "update" and args.scheduler == "tcp://scheduler:8786"
    assert args.store.startswith("/work/")


def test_the_dockerfile_copies_what_pip_install_needs() -> None:
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    sources = [
        word
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for word in line.split()[1:-1]
    ]
    assert sources == ["pyproject.toml", "README.md", "distinc"]
    kept = (CLUSTER / "Dockerfile.dockerignore").read_text().splitlines()
    for source in sources:
        assert (ROOT / source).exists()
        assert f"!{source}" in kept or f"!{source}/" in kept
    assert re.search(r'pip install "\.\[s3\]"', dockerfile)


def _compose_command() -> list[str] | None:
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if shutil.which(command[0]) is None:
            continue
        version = subprocess.run([*command, "version"], capture_output=True, text=True)
        if version.returncode == 0 and re.search(r"v?2\.\d+", version.stdout):
            return command
    return None


def test_docker_compose_accepts_the_compose_file() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip(
            "`docker compose config` cannot run here: neither the Docker Compose v2 plugin nor "
            "a v2 `docker-compose` is installed (this machine has the docker client only); the "
            "file is still checked by test_the_compose_file_runs_a_scheduler_workers_and_..."
        )
    base = [*command, "-f", str(CLUSTER / "docker-compose.yml"), "--profile", "job"]
    checked = subprocess.run([*base, "config", "--quiet"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    listed = subprocess.run([*base, "config", "--services"], capture_output=True, text=True)
    assert set(listed.stdout.split()) == {"scheduler", "worker", "update"}


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((CLUSTER / "kubernetes").glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    containers = pod_spec["containers"]
    assert containers and all(c["name"] and c["image"] for c in containers)
    return list(containers)


def check_cluster_spec(spec: dict[str, Any], *, cluster_name: str) -> set[str]:
    """What the Dask operator reads from a DaskCluster spec; returns the images used."""
    worker, scheduler = spec["worker"], spec["scheduler"]
    assert isinstance(worker["replicas"], int) and worker["replicas"] >= 1
    workers = _containers(worker["spec"])
    assert workers[0]["args"][:2] == ["distinc", "worker"]
    schedulers = _containers(scheduler["spec"])
    assert schedulers[0]["args"][:2] == ["dask", "scheduler"]
    assert {e["name"]: e["value"] for e in schedulers[0]["env"]} == {SATURATION: "1.0"}
    ports = {port["name"]: port["containerPort"] for port in schedulers[0]["ports"]}
    assert ports == {"tcp-comm": 8786, "http-dashboard": 8787}
    service = scheduler["service"]
    assert service["selector"] == {
        "dask.org/cluster-name": cluster_name,
        "dask.org/component": "scheduler",
    }
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["ports"]} == {
        ("tcp-comm", 8786, "tcp-comm"),
        ("http-dashboard", 8787, "http-dashboard"),
    }
    return {c["image"] for c in [*workers, *schedulers]}


def test_the_kubernetes_manifests_have_what_the_dask_operator_needs() -> None:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for document in manifests():
        by_kind.setdefault(document["kind"], []).append(document)
    assert set(by_kind) == {"DaskCluster", "DaskJob", "Secret"}
    secrets = {secret["metadata"]["name"] for secret in by_kind["Secret"]}

    (cluster,) = by_kind["DaskCluster"]
    assert cluster["apiVersion"] == OPERATOR_API
    check_cluster_spec(cluster["spec"], cluster_name=cluster["metadata"]["name"])

    (job,) = by_kind["DaskJob"]
    assert job["apiVersion"] == OPERATOR_API
    # the operator names the job's cluster after the job; the service must select its scheduler
    images = check_cluster_spec(
        job["spec"]["cluster"]["spec"], cluster_name=job["metadata"]["name"]
    )
    pod = job["spec"]["job"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (runner,) = _containers(pod)
    assert runner["args"][0] == "distinc"
    args = build_parser().parse_args(runner["args"][1:])
    assert args.command == "update" and args.scheduler is None  # DASK_SCHEDULER_ADDRESS is set
    assert images | {runner["image"]} == {runner["image"]}  # one image: same library versions
    referenced = {
        source["secretRef"]["name"]
        for container in [runner, *_containers(job["spec"]["cluster"]["spec"]["worker"]["spec"])]
        for source in container.get("envFrom", [])
    }
    assert referenced and referenced <= secrets
    options = {e["name"]: e["value"] for e in runner["env"]}["DASK_DISTINC__STORAGE_OPTIONS"]
    assert isinstance(yaml.safe_load(options), dict)


def slurm_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "distinc_slurm", CLUSTER / "slurm/distinc_slurm.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_slurm_example_writes_worker_jobs_for_its_scheduler() -> None:
    example = slurm_example()
    local = {"host": "127.0.0.1", "dashboard_address": ":0"}
    with example.make_cluster(
        cores=2, memory="4GiB", walltime="00:30:00", queue="short", scheduler_options=local
    ) as cluster:
        script = cluster.job_script()
        address = cluster.scheduler_address
    for line in ("#SBATCH -p short", "#SBATCH --cpus-per-task=2", "#SBATCH -t 00:30:00"):
        assert line in script
    assert f"-m distinc worker {address}" in script
    assert "--nworkers 2" in script and "--nthreads 1" in script and "--nanny" in script
    args = example.build_parser().parse_args(["/shared/store", "--jobs", "3"])
    assert (args.store, args.jobs, args.cores) == ("/shared/store", 3, 4)


def test_the_slurm_example_fails_in_one_line_before_submitting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert slurm_example().main([str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.startswith("distinc: error: No distinc store at")


def test_the_cluster_readme_explains_every_recipe() -> None:
    text = (CLUSTER / "README.md").read_text()
    for path in sorted(CLUSTER.rglob("*")):
        if path.is_file() and path.name != "README.md":
            assert str(path.relative_to(CLUSTER)) in text, f"cluster/README.md omits {path}"
