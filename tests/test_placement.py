"""Where the stream's fits run: on the worker that keeps their scan's batches.

Left to itself, Dask sends a fit to whichever worker is idle and moves the batches to it; that
worker then spends its time receiving and fitting while the other scans alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distributed import get_task_stream

import distinc
from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.engine.scanning import DeltaScan
from distinc.engine.update import plan_update
from tests.conftest import make_frame, write_partition

PARAMS = {"loss": "log_loss", "random_state": 0}


def eight_partitions(root: Path) -> distinc.IncrementalModel:
    data = root / "data"
    for i in range(8):
        write_partition(data, f"part-{i:02d}.parquet", make_frame(2_000, seed=i))
    return distinc.init(
        str(root / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=PARAMS,
        classes=[0, 1],
    )


def test_each_group_names_the_worker_that_keeps_its_batches(tmp_path: Path, client: Any) -> None:
    store = eight_partitions(tmp_path).store
    lineage, _, selection = plan_update(store)
    spec = store.spec
    delta = DeltaScan(
        client,
        DataSource(spec.data),
        selection.train,
        contract=ColumnContract.from_spec(spec, {}),
        lineage=lineage,
        declared_classes=spec.classes,
        keep=True,
    )
    try:
        groups = list(delta.groups())
        assert len(groups) > 1 and all(group.batches is not None for group in groups)
        holders = client.who_has([group.batches for group in groups])
        assert [group.holder for group in groups] == [
            holders[group.batches.key][0] for group in groups
        ]
        delta.forget_batches()
        assert all(group.holder is None for group in delta.groups())
    finally:
        delta.release()


def test_each_fit_runs_on_the_worker_that_kept_its_batches(tmp_path: Path, client: Any) -> None:
    model = eight_partitions(tmp_path)
    with get_task_stream(client) as stream:
        entry = model.update(client=client).entry
    assert entry is not None and len(entry.partitions) == 8
    # Keys end in the group's index: distinc-scan-<token>-<i>, distinc-fit-<run>-<attempt>-<i>.
    ran: dict[str, dict[int, str]] = {"scan": {}, "fit": {}}
    for task in stream.data:
        name, kind, *_, index = str(task["key"]).split("-")
        if name == "distinc" and kind in ran:
            ran[kind][int(index)] = task["worker"]
    assert len(set(ran["scan"].values())) == 2, "the scans should use both workers"
    assert ran["fit"] == ran["scan"]
