"""``evaluate``: every version on a holdout, computed once and kept in the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import learned_store, make_frame, run_cli, write_partition
from tests.inotify import OpenWatch


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))}


@pytest.fixture
def three_versions(tmp_path: Path, data_dir: Path, client: Any) -> Any:
    model = learned_store(tmp_path, data_dir, client)
    write_partition(data_dir, "part-03.parquet", make_frame(400, seed=3))
    model.update(client=client)
    model.rollback(1)
    return model


def test_every_version_is_evaluated_once_and_stored(
    tmp_path: Path, three_versions: Any, client: Any
) -> None:
    model = three_versions
    holdout = tmp_path / "holdout"
    write_partition(holdout, "h.parquet", make_frame(300, seed=77))
    ledger = snapshot(tmp_path / "store" / "ledger")
    found = model.evaluations(str(holdout), client=client)
    assert [e.version for e in found] == [1, 2, 3]
    assert all(e.metrics["rows"] == 300 and 0.5 < e.metrics["roc_auc"] <= 1 for e in found)
    assert all(type(e.metrics["rows"]) is int for e in found)
    # version 3 restores version 1's model, so its metrics are version 1's
    assert found[2].metrics == found[0].metrics and found[1].metrics != found[0].metrics
    digest = found[0].holdout_digest
    stored = sorted((tmp_path / "store" / "evaluations" / digest).glob("*.json"))
    assert [p.name for p in stored] == ["00000001.json", "00000002.json", "00000003.json"]
    assert snapshot(tmp_path / "store" / "ledger") == ledger

    watch = OpenWatch(holdout)
    try:
        again = model.evaluations(str(holdout), client=client)
        assert again == found and not watch.opened()
        assert all(type(e.metrics["rows"]) is int for e in again)  # read back from the records
        assert model.evaluate(str(holdout), version=2, client=client) == found[1].metrics
        assert not watch.opened()
        write_partition(holdout, "h2.parquet", make_frame(100, seed=78))
        changed = model.evaluations(str(holdout), versions=[2], client=client)
        assert watch.opened()["h.parquet"] >= 1
    finally:
        watch.close()
    assert changed[0].holdout_digest != digest and changed[0].metrics["rows"] == 400


def test_evaluate_command_lists_versions(
    tmp_path: Path, three_versions: Any, scheduler_address: str
) -> None:
    holdout = tmp_path / "holdout"
    write_partition(holdout, "h.parquet", make_frame(200, seed=5))
    store = str(tmp_path / "store")
    on = ["--scheduler", scheduler_address]
    every = json.loads(run_cli("evaluate", store, "--data", str(holdout), "--json", *on).stdout)
    assert [item["version"] for item in every] == [1, 2, 3]
    assert set(every[0]["metrics"]) == {"rows", "accuracy", "log_loss", "roc_auc"}
    text = run_cli("evaluate", store, "--data", str(holdout), "--version", "2").stdout
    lines = text.strip().splitlines()
    assert "accuracy" in lines[1] and lines[2].split()[0] == "2" and len(lines) == 3


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_roc_auc_averages_the_classes_a_holdout_holds(
    tmp_path: Path, client: Any, scheduler_address: str
) -> None:
    from sklearn.metrics import roc_auc_score

    import distinc

    data, holdout = tmp_path / "data", tmp_path / "holdout"
    write_partition(data, "a.parquet", make_frame(300, seed=1, classes=(0, 1, 2)))
    frame = make_frame(200, seed=2, classes=(0, 1))  # declared class 2 is absent
    write_partition(holdout, "h.parquet", frame)
    store = str(tmp_path / "store")
    model = distinc.init(
        store,
        data=str(data),
        target="label",
        model="SGDClassifier",
        params={"loss": "log_loss", "random_state": 0},
        classes=[0, 1, 2],
    )
    model.update(client=client)

    on = ["--data", str(holdout), "--json", "--scheduler", scheduler_address]
    shown = run_cli("evaluate", store, *on)
    assert "Only one class" not in shown.stderr
    metrics = _strict_json(shown.stdout)[0]["metrics"]
    assert model.evaluate(str(holdout), client=client) == metrics  # as stored
    learned = model.store.load_model(model.store.head())
    scores = learned.predict_proba(frame.drop(columns="label").to_numpy())
    expected = [roc_auc_score(frame["label"] == c, scores[:, c]) for c in (0, 1)]
    assert metrics["roc_auc"] == pytest.approx(sum(expected) / 2)

    write_partition(holdout, "h.parquet", make_frame(50, seed=3).assign(label=1))
    single = _strict_json(run_cli("evaluate", store, *on).stdout)[0]["metrics"]
    assert "roc_auc" not in single and {"accuracy", "log_loss"} <= set(single)


def test_an_unseen_label_names_the_version_that_never_learned_it(
    tmp_path: Path, client: Any
) -> None:
    """With every version evaluated at once, the error once named the file and the label but
    not which version had not learned the class."""
    import distinc
    from distinc.engine.evaluation import evaluate_versions
    from distinc.exceptions import UnseenLabelError

    data, holdout = tmp_path / "data", tmp_path / "holdout"
    write_partition(data, "a.parquet", make_frame(300, seed=1))
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="ExtraTreesClassifier",
        params={"n_estimators": 5, "random_state": 0},
        options=distinc.TrainingOptions(allow_new_classes=True),
    )
    model.update(client=client)
    write_partition(data, "b.parquet", make_frame(300, seed=2, classes=(0, 1, 2)))
    model.update(client=client)
    write_partition(holdout, "h.parquet", make_frame(200, seed=3, classes=(0, 1, 2)))
    with pytest.raises(UnseenLabelError, match=r"^Partition 'h.parquet' has label 2") as error:
        evaluate_versions(model.store, str(holdout), client=client)
    assert (
        "It is version 1 that did not learn it; the 'version' option evaluates one version only."
    ) in str(error.value)
    assert error.value.details == {
        "partition": "h.parquet",
        "label": 2,
        "version": 1,
        "options": ("version",),
    }
    assert evaluate_versions(model.store, str(holdout), versions=[2], client=client)
