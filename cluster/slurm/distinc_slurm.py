"""``distinc update`` on a SLURM cluster: the Dask workers are SLURM jobs, via dask-jobqueue.

Run it where ``sbatch`` works, on a login node or as a small job of its own (``update.sbatch``)::

    pip install 'distinc[slurm]'
    python cluster/slurm/distinc_slurm.py /shared/models/churn --jobs 4 --queue normal

Each worker job runs ``--cores`` single-threaded worker processes sharing ``--memory``. The
workers read the partitions themselves, so the data must be at paths every node sees (a shared
file system) or in object storage. Anything not given as a flag comes from dask's
``jobqueue.slurm`` settings (e.g. ``~/.config/dask/jobqueue.yaml``), so site defaults such as
the account, the interface or extra ``#SBATCH`` lines live there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def make_cluster(
    *,
    cores: int = 4,
    memory: str = "16GiB",
    walltime: str = "02:00:00",
    queue: str | None = None,
    account: str | None = None,
    **options: Any,
) -> Any:
    """A SLURMCluster whose jobs each run ``cores`` single-threaded workers; no job submitted yet.

    The jobs start them with ``distinc worker``: ``dask worker`` with the memory settings of
    distinc's own workers. ``options`` go to ``dask_jobqueue.SLURMCluster`` as they are
    (``scheduler_options``, ``job_extra_directives``, ``interface``...).
    """
    from dask_jobqueue import SLURMCluster

    # jobqueue adds these two itself only for its default worker command
    extra = ["--nworkers", str(cores), "--nanny", *options.pop("worker_extra_args", [])]
    return SLURMCluster(
        cores=cores,
        processes=cores,  # one thread per worker: partial_fit is serial, so parallelism is tasks
        memory=memory,
        walltime=walltime,
        queue=queue,
        account=account,
        job_name="distinc-worker",
        worker_command="distinc worker",
        worker_extra_args=extra,
        **options,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run `distinc update STORE` on Dask workers submitted as SLURM jobs."
    )
    parser.add_argument("store", help="store path or fsspec URL, as for `distinc update`")
    parser.add_argument("--jobs", type=int, default=2, help="worker jobs to submit (default: 2)")
    parser.add_argument(
        "--cores", type=int, default=4, help="CPU cores, and workers, per job (default: 4)"
    )
    parser.add_argument("--memory", default="16GiB", help="memory per job (default: 16GiB)")
    parser.add_argument("--walltime", default="02:00:00", help="job time limit (default: 02:00:00)")
    parser.add_argument("--queue", help="SLURM partition (default: jobqueue.slurm.queue)")
    parser.add_argument("--account", help="SLURM account (default: jobqueue.slurm.account)")
    parser.add_argument(
        "--wait",
        type=float,
        default=1800,
        help="seconds to wait for the first worker to start (default: 1800)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from distributed import Client

    import distinc
    from distinc.cli import render

    try:
        model = distinc.open(args.store)
        with (
            make_cluster(
                cores=args.cores,
                memory=args.memory,
                walltime=args.walltime,
                queue=args.queue,
                account=args.account,
            ) as cluster,
            Client(cluster) as client,
        ):
            cluster.scale(jobs=args.jobs)
            client.wait_for_workers(1, timeout=args.wait)
            result = model.update(client=client)
    except distinc.DistincError as exc:
        print(f"distinc: error: {exc.message}", file=sys.stderr)
        return 1
    print(render.update_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
