"""Admission judges partition profiles before training; pure, no Dask, no files."""

from __future__ import annotations

import pytest

from distinc.dataset.partition import Fingerprint, Partition
from distinc.dataset.profile import ColumnHealth, PartitionProfile
from distinc.dataset.schema import ColumnContract
from distinc.exceptions import (
    CorruptPartitionError,
    InvalidValueError,
    SchemaError,
    UnseenLabelError,
)
from distinc.ledger.admit import admit
from distinc.ledger.entry import ArtifactRef, LedgerEntry, TrainedPartition
from distinc.ledger.lineage import Lineage

CONTRACT = ColumnContract(("a", "b"), ("double", "int64"), target="y", task="classification")
SCHEMA = (("a", "double"), ("b", "int64"), ("y", "int64"))


def part(key: str) -> Partition:
    return Partition(key, Fingerprint(100, "mtime:1"))


def profile(
    key: str,
    *,
    rows: int = 10,
    digest: str | None = None,
    schema: tuple[tuple[str, str], ...] = SCHEMA,
    labels: tuple[tuple[object, int], ...] = ((0, 5), (1, 5)),
    unhealthy: tuple[ColumnHealth, ...] = (),
    problem: str | None = None,
) -> PartitionProfile:
    return PartitionProfile(
        key, rows, digest or f"digest-{key}", schema, unhealthy, labels, problem=problem
    )


def run(
    *profiles: PartitionProfile,
    lineage: Lineage | None = None,
    contract: ColumnContract = CONTRACT,
    **kwargs: object,
) -> object:
    return admit(
        [part(p.key) for p in profiles],
        {p.key: p for p in profiles},
        contract=contract,
        lineage=lineage or Lineage(),
        **kwargs,
    )  # type: ignore[arg-type]


def test_clean_partitions_are_admitted_in_order_with_inferred_classes() -> None:
    admission = run(profile("a"), profile("b", labels=((2, 1),)))
    assert [p.key for p in admission.train] == ["a", "b"]
    assert admission.classes == (0, 1, 2)
    assert admission.rows == 20


def test_declared_classes_win_over_inference() -> None:
    admission = run(profile("a", labels=((0, 3),)), declared_classes=(0, 1, 2))
    assert admission.classes == (0, 1, 2)


def test_unseen_label_names_partition_and_label() -> None:
    with pytest.raises(UnseenLabelError, match=r"'b'.*label 7 \(2 rows\)") as info:
        run(profile("a"), profile("b", labels=((7, 2),)), declared_classes=(0, 1))
    assert info.value.details == {"partition": "b", "label": 7, "options": ("classes",)}


def test_joined_problems_read_as_sentences() -> None:
    with pytest.raises(UnseenLabelError) as info:
        run(
            profile("a", labels=((7, 1),)),
            profile("b", labels=((8, 3),)),
            declared_classes=(0, 1),
        )
    message = info.value.message
    assert "label 7 (1 row)," in message and "label 8 (3 rows)," in message
    assert message.endswith("remove those rows.") and ".." not in message


def test_missing_column_names_partition_and_column() -> None:
    with pytest.raises(SchemaError, match="'p'.*no column 'b'"):
        run(profile("p", schema=(("a", "double"), ("y", "int64"))))


def test_renamed_column_is_a_missing_column() -> None:
    with pytest.raises(SchemaError, match="no column 'b'"):
        run(profile("p", schema=(("a", "double"), ("b_renamed", "int64"), ("y", "int64"))))


def test_extra_and_reordered_columns_are_fine() -> None:
    schema = (("y", "int64"), ("extra", "string"), ("b", "int64"), ("a", "double"))
    admission = run(profile("p", schema=schema))
    assert admission.train and "extra" in admission.warnings[0]


def test_extra_columns_are_warned_about_once_per_set_of_columns() -> None:
    """A dataset with one extra column once warned once per partition, on every update."""
    wide = (*SCHEMA, ("note", "string"))
    admission = run(*(profile(f"p{i}", schema=wide) for i in range(50)), profile("q"))
    assert admission.warnings == ("50 partitions ('p0', ...): extra column(s) ['note'] ignored",)


@pytest.mark.parametrize(
    ("a_type", "b_type", "ok"),
    [
        ("int64", "int64", True),  # int -> float widening
        ("float", "int32", True),  # narrower float and int widen
        ("double", "double", False),  # float -> int narrowing
        ("double", "string", False),  # int -> string
    ],
)
def test_only_safe_widenings(a_type: str, b_type: str, ok: bool) -> None:
    schema = (("a", a_type), ("b", b_type), ("y", "int64"))
    if ok:
        assert run(profile("p", schema=schema)).train
    else:
        with pytest.raises(SchemaError, match="'b' of partition 'p'"):
            run(profile("p", schema=schema))


def test_nan_and_inf_name_partition_and_column() -> None:
    bad = (ColumnHealth("a", missing=3, infinite=1),)
    with pytest.raises(InvalidValueError, match="'a' of partition 'p' has 3 missing/NaN and 1"):
        run(profile("p", unhealthy=bad))


def test_nan_label_is_an_error_even_when_features_may_be_missing() -> None:
    contract = ColumnContract(
        ("a", "b"), ("double", "int64"), target="y", task="regression", allow_missing=True
    )
    assert run(profile("p", unhealthy=(ColumnHealth("a", 3, 0),)), contract=contract).train
    with pytest.raises(InvalidValueError, match="target column 'y'"):
        run(profile("p", unhealthy=(ColumnHealth("y", 1, 0),)), contract=contract)


def test_empty_partitions_are_skipped_not_trained() -> None:
    admission = run(profile("a"), profile("empty", rows=0, labels=()))
    assert [p.key for p in admission.train] == ["a"]
    assert [(s.key, s.reason) for s in admission.skipped] == [("empty", "empty")]


def test_duplicates_of_trained_or_earlier_new_partitions_are_skipped() -> None:
    model = (ArtifactRef("model", "m", "0", "skops", 1),)
    old = TrainedPartition("old", 1, "t", 10, "same-as-old")
    lineage = Lineage.of([LedgerEntry(1, None, "update", "r", "", "stream", model, (old,))])
    admission = run(
        profile("a", digest="x"),
        profile("b", digest="x"),
        profile("c", digest="same-as-old"),
        lineage=lineage,
    )
    assert [p.key for p in admission.train] == ["a"]
    assert [s.reason for s in admission.skipped] == ["duplicate of a", "duplicate of old"]


def test_corrupt_partition_is_named_and_every_problem_reported_once() -> None:
    with pytest.raises(CorruptPartitionError, match="'bad'.*Also:.*no column 'b'"):
        run(
            profile("bad", problem="not readable Parquet"),
            profile("p", schema=(("a", "double"), ("y", "int64"))),
        )


def test_vocabularies_only_grow_by_appending() -> None:
    model = (ArtifactRef("model", "m", "0", "skops", 1),)
    v1 = LedgerEntry(
        1, None, "update", "r", "", "xgboost", model, categories={"city": ("oslo", "rome")}
    )
    contract = ColumnContract(
        ("a", "city"),
        ("double", "string"),
        target="y",
        task="classification",
        categorical=("city",),
    )
    schema = (("a", "double"), ("city", "string"), ("y", "int64"))
    admission = run(
        PartitionProfile("p", 5, "d1", schema, categories=(("city", ("bern", "rome")),)),
        PartitionProfile("q", 5, "d2", schema, categories=(("city", ("athens",)),)),
        lineage=Lineage.of([v1]),
        contract=contract,
    )
    assert admission.categories == {"city": ("oslo", "rome", "athens", "bern")}


def test_a_regression_target_must_be_numbers() -> None:
    """A text target once reached the regressor, which read "1.5" as 1.5 and failed on "n/a"."""
    contract = ColumnContract(("a", "b"), ("double", "int64"), target="y", task="regression")
    text = (("a", "double"), ("b", "int64"), ("y", "large_string"))
    with pytest.raises(SchemaError, match="'y' of partition 'p' is large_string") as error:
        run(profile("p", schema=text, labels=()), contract=contract)
    assert error.value.details == {"partition": "p", "column": "y"}
    assert run(profile("q", labels=()), contract=contract).train
