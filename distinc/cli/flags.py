"""The flags the ``distinc`` commands share, and the options they carry into the API."""

from __future__ import annotations

import argparse
from typing import Any

from distinc.cli.parsing import parse_storage_pairs

# Each storage flag by its destination: the keyword of ``distinc.open``, so that an error naming
# the keyword reads as the flag on the command line.
_STORAGE_FLAGS = {
    "storage_options": "--storage-option",
    "store_options": "--store-option",
    "data_options": "--data-option",
    "output_options": "--out-option",
}


def storage_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The storage flags a command was given, as keyword arguments of ``distinc.open``."""
    return {
        name: parse_storage_pairs(getattr(args, name), flag)
        for name, flag in _STORAGE_FLAGS.items()
        if hasattr(args, name)
    }


# init flags of the strategies' options: argparse destination -> TrainingOptions field.
_STRATEGY_FLAGS = (
    "max_members",
    "member_rows",
    "combiner",
    "stacking_fraction",
    "allow_new_classes",
    "decay_half_life",
    "epochs",
    "fit_batch_mb",
    "rounds",
    "update_rounds",
    "xgb_mode",
    "replay_fraction",
    "reservoir_rows",
    "validation",
    "early_stopping_rounds",
    "xgb_backend",
    "xgb_collective_timeout",
    "encoding",
    "encoding_width",
    "scale",
)


def strategy_options(args: argparse.Namespace) -> dict[str, Any]:
    """The strategy options given on the command line; the rest keep their defaults."""
    return {
        name: getattr(args, name) for name in _STRATEGY_FLAGS if getattr(args, name) is not None
    }


def add_strategy_flags(parser: argparse.ArgumentParser) -> None:
    ensemble = parser.add_argument_group("per-delta ensemble (estimators without partial_fit)")
    ensemble.add_argument(
        "--max-members", type=int, metavar="N", help="keep the newest N members (default: all)"
    )
    ensemble.add_argument(
        "--member-rows",
        type=int,
        metavar="N",
        help="a delta of more rows trains several members in parallel (default: 500000)",
    )
    ensemble.add_argument(
        "--combiner",
        choices=["vote", "stacking"],
        help="weighted soft vote / mean, or weights learned on a held-out slice of the newest "
        "delta (default: vote)",
    )
    ensemble.add_argument(
        "--stacking-fraction",
        type=float,
        metavar="F",
        help="share of the newest delta held out for stacking (default: 0.2)",
    )
    ensemble.add_argument(
        "--allow-new-classes",
        action="store_const",
        const=True,
        help="a label outside the pinned classes extends them instead of failing the update",
    )
    ensemble.add_argument(
        "--decay-half-life",
        type=float,
        metavar="K",
        help="weight by age in versions: an ensemble member, or an XGBoost replayed row, K "
        "versions old weighs half (default: no decay)",
    )
    stream = parser.add_argument_group("partial_fit stream")
    stream.add_argument(
        "--epochs",
        type=int,
        metavar="E",
        help="passes over the delta per update, for neural nets and SGD (default: 1)",
    )
    stream.add_argument(
        "--fit-batch-mb",
        type=float,
        metavar="MB",
        help="learn consecutive files of about MB megabytes with one partial_fit call on their "
        "rows joined, for many small files; the model then equals a loop over those batches "
        "(default: 0, one call per file)",
    )
    encoding = parser.add_argument_group("encodings (models without native categorical support)")
    encoding.add_argument(
        "--encoding",
        choices=["vocabulary", "hash"],
        help="categorical features: a slot per category in order of first sight plus an unseen "
        "slot, or hash buckets (default: vocabulary)",
    )
    encoding.add_argument(
        "--encoding-width",
        type=int,
        metavar="N",
        help="slots or buckets per categorical feature (default: 32)",
    )
    encoding.add_argument(
        "--scale",
        choices=["none", "standard", "maxabs"],
        help="numeric scaling learned with the model (default: none)",
    )


def add_xgboost_flags(parser: argparse.ArgumentParser) -> None:
    from distinc.spec import TrainingOptions

    default = TrainingOptions()
    group = parser.add_argument_group("XGBoost continuation (--model xgboost)")
    group.add_argument(
        "--rounds", type=int, metavar="N", help=f"rounds of version 1 (default: {default.rounds})"
    )
    group.add_argument(
        "--update-rounds",
        type=int,
        metavar="N",
        help=f"rounds each update adds (default: {default.update_rounds})",
    )
    group.add_argument(
        "--xgb-mode",
        choices=["add", "refresh", "add+refresh"],
        help="add new rounds on the delta, refresh the leaves of the existing trees on it, "
        f"or both (default: {default.xgb_mode})",
    )
    group.add_argument(
        "--replay-fraction",
        type=float,
        metavar="F",
        help="share of an update's rows replayed from a reservoir of earlier rows "
        f"(default: {default.replay_fraction}, no reservoir)",
    )
    group.add_argument(
        "--reservoir-rows",
        type=int,
        metavar="N",
        help=f"size cap of the replay reservoir (default: {default.reservoir_rows})",
    )
    group.add_argument(
        "--validation",
        metavar="URL",
        help="Parquet dataset evaluated on every fit and update (default: none)",
    )
    group.add_argument(
        "--early-stopping-rounds",
        type=int,
        metavar="N",
        help="stop adding rounds after N without improvement on --validation and keep the best "
        "(default: no early stopping)",
    )
    group.add_argument(
        "--xgb-backend",
        choices=["auto", "local", "dask"],
        help="local: one task with a host's threads; dask: xgboost.dask across workers; "
        f"auto: local when every worker is on one host (default: {default.xgb_backend})",
    )
    group.add_argument(
        "--xgb-collective-timeout",
        type=int,
        metavar="S",
        help="seconds xgboost.dask workers wait on each other before the update fails "
        f"(default: {default.xgb_collective_timeout})",
    )


def add_fsync(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--fsync",
        action="store_true",
        help=f"durable mode: fsync {what}, files and folders, so it survives a power cut",
    )


def add_single_writer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--single-writer",
        action="store_true",
        help="promise that no other update runs on this store; needed only on a backend "
        "whose create-if-absent cannot be proven",
    )


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", metavar="STORE", help="store path or fsspec URL")


def add_scheduler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS, "
        "else the distinc.scheduler setting, else dask's scheduler-address setting, else a "
        "LocalCluster on this machine shaped by distinc.local-cluster)",
    )


def add_storage(parser: argparse.ArgumentParser, *, data: bool = True, out: bool = False) -> None:
    group = parser.add_argument_group(
        "storage",
        "fsspec options (https://filesystem-spec.readthedocs.io), e.g. endpoint_url=URL for an "
        "S3-compatible server. Repeatable; VALUE is parsed as JSON when it can be (credentials "
        "stay text). Flags go over the distinc.*-options settings, key by key.",
    )
    places = ["the store", *(["the data"] if data else []), *(["the output"] if out else [])]
    where = " and ".join([", ".join(places[:-1]), places[-1]] if len(places) > 1 else places)
    group.add_argument(
        "--storage-option",
        dest="storage_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"option for {where} (default: the distinc.storage-options setting, empty)",
    )
    group.add_argument(
        "--store-option",
        dest="store_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for the store only, over --storage-option (default: the "
        "distinc.store-options setting, empty)",
    )
    if data:
        group.add_argument(
            "--data-option",
            dest="data_options",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="option for the data only, over --storage-option (default: the "
            "distinc.data-options setting, empty); init pins the data's options in the store, "
            "credentials excepted, and later commands lay theirs over them",
        )
    if out:
        group.add_argument(
            "--out-option",
            dest="output_options",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="option for the prediction output only, over --storage-option (default: the "
            "distinc.output-options setting, empty)",
        )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
