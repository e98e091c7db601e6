"""The ``distinc`` command: exit 0 on success or no-op, 1 with one line on stderr on error."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from distinc.config import is_credential
from distinc.exceptions import ConfigurationError, DistincError

logger = logging.getLogger("distinc")


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


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if getattr(args, "json", False) else text)


def cmd_init(args: argparse.Namespace) -> int:
    import distinc
    from distinc.spec import TrainingOptions

    features = parse_list(args.features)
    model = distinc.init(
        args.store,
        data=args.data,
        model=args.model,
        target=args.target,
        params=parse_pairs(args.param, "--param"),
        features=None if features is None else [str(name) for name in features],
        categorical=[str(name) for name in parse_list(args.categorical) or []] or None,
        classes=parse_list(args.classes),
        strategy=args.strategy,
        options=TrainingOptions(
            task_rows=args.task_rows,
            prefetch=args.prefetch,
            durable=args.fsync,
            **_strategy_options(args),
        ),
        **_storage_arguments(args),
    )
    spec = model.spec
    print(
        f"initialised {args.store}: {spec.model} ({spec.strategy}), "
        f"{len(spec.features)} feature(s), target {spec.target!r}"
    )
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from distinc.cli import decide, render
    from distinc.cli.progress import progress_for

    model = _open(args)
    result = model.update(
        scheduler=args.scheduler,
        on_modified=args.on_modified,
        on_missing=args.on_missing,
        dry_run=args.dry_run,
        progress=progress_for(sys.stderr, quiet=args.quiet),
        single_writer=args.single_writer,
        listing=args.listing,
    )
    if result.dry_run:
        return decide.dry_run(args, model, result)
    _emit(args, render.update_json(result), render.update_text(result))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from distinc.cli import render

    status = _open(args).status()
    _emit(args, render.status_json(status), render.status_text(status))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from distinc.cli import render

    entries = _open(args).history()
    _emit(args, [render.history_item(e) for e in entries], render.history_text(entries))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    summary = _open(args).predict(
        args.data,
        out=args.out,
        version=args.version,
        keep=parse_list(args.keep) or (),
        scheduler=args.scheduler,
    )
    print(
        f"wrote predictions for {summary.rows:,} rows in {summary.files} file(s) to {summary.out}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from distinc.cli import decide

    return decide.cmd_evaluate(args)


def cmd_rollback(args: argparse.Namespace) -> int:
    entry = _open(args).rollback(args.to, single_writer=args.single_writer)
    print(f"version {entry.version}: rolled back to the model of version {args.to}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    problems = _open(args).verify()
    if problems:
        print(
            f"distinc: store {args.store} is inconsistent: {problems[0]}"
            + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
            file=sys.stderr,
        )
        for problem in problems[1:]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"store {args.store} is consistent")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from distinc.cli.demo import run_demo

    run_demo(args.dir, scheduler=args.scheduler)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from distinc.cli.config_view import config_json, config_text

    _emit(args, config_json(), config_text())
    return 0


_STORAGE_FLAGS = {
    "storage_option": ("--storage-option", "storage_options"),
    "store_option": ("--store-option", "store_options"),
    "data_option": ("--data-option", "data_options"),
    "out_option": ("--out-option", "output_options"),
}


def _storage_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The storage flags a command was given, as keyword arguments of ``distinc.open``."""
    return {
        keyword: parse_storage_pairs(getattr(args, name), flag)
        for name, (flag, keyword) in _STORAGE_FLAGS.items()
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


def _strategy_options(args: argparse.Namespace) -> dict[str, Any]:
    """The strategy options given on the command line; the rest keep their defaults."""
    return {
        name: getattr(args, name) for name in _STRATEGY_FLAGS if getattr(args, name) is not None
    }


def _strategy_flags(parser: argparse.ArgumentParser) -> None:
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


def _xgboost_flags(parser: argparse.ArgumentParser) -> None:
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


def _open(args: argparse.Namespace) -> Any:
    import distinc

    durable = True if getattr(args, "fsync", False) else None  # else the distinc.durable setting
    return distinc.open(args.store, durable=durable, **_storage_arguments(args))


def _fsync(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--fsync",
        action="store_true",
        help=f"durable mode: fsync {what}, files and folders, so it survives a power cut",
    )


def _single_writer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--single-writer",
        action="store_true",
        help="promise that no other update runs on this store; needed only on a backend "
        "whose create-if-absent cannot be proven",
    )


def _store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", metavar="STORE", help="store path or fsspec URL")


def _scheduler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS, "
        "else the distinc.scheduler setting, else dask's scheduler-address setting, else a "
        "LocalCluster on this machine shaped by distinc.local-cluster)",
    )


def _storage(parser: argparse.ArgumentParser, *, data: bool = True, out: bool = False) -> None:
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
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"option for {where} (default: the distinc.storage-options setting, empty)",
    )
    group.add_argument(
        "--store-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for the store only, over --storage-option (default: the "
        "distinc.store-options setting, empty)",
    )
    if data:
        group.add_argument(
            "--data-option",
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
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="option for the prediction output only, over --storage-option (default: the "
            "distinc.output-options setting, empty)",
        )


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


_EPILOG = """\
settings:
  distinc reads a `distinc:` section of dask's configuration: YAML files in ~/.config/dask/,
  /etc/dask/ or $DASK_CONFIG (e.g. ~/.config/dask/distinc.yaml), and DASK_DISTINC__<KEY>
  environment variables. Precedence: command-line flag > environment > config file > default.
  `distinc config` prints every setting in force, its default and the files read. dask's own
  settings (DASK_SCHEDULER_ADDRESS, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT, ...) apply too.

exit status: 0 on success or when there is nothing to do, 1 on an error (one line on stderr
naming the file, column, label or version at fault), 3 on an internal error, 130 if interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distinc",
        description="Keep training a model as its Parquet data grows: each update learns only "
        "the partitions the model has not seen.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks on error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        # Also after the command; SUPPRESS keeps `distinc --quiet CMD` working.
        sub.add_argument(
            "--quiet",
            action="store_true",
            default=argparse.SUPPRESS,
            help="only warnings and errors",
        )
        return sub

    init = command("init", cmd_init, "create a store for a model and its dataset")
    _store(init)
    init.add_argument(
        "--data",
        required=True,
        metavar="URL",
        help="root of the Parquet dataset (path or fsspec URL)",
    )
    init.add_argument(
        "--model",
        required=True,
        help="scikit-learn class name (SGDClassifier), dotted path "
        "(mypackage.models.MyEstimator), or 'xgboost'",
    )
    init.add_argument(
        "--target",
        metavar="COLUMN",
        help="label column (default: none, for unsupervised models such as MiniBatchKMeans)",
    )
    init.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="estimator parameter, repeatable; VALUE is parsed as JSON when it can be "
        "(default: the estimator's own defaults)",
    )
    init.add_argument(
        "--features", metavar="A,B,C", help="feature columns (default: every column but the target)"
    )
    init.add_argument(
        "--categorical",
        metavar="A,B",
        help="features to encode as categories (default: string and dictionary columns); "
        "their vocabularies are pinned and only ever appended to",
    )
    init.add_argument(
        "--classes",
        metavar="A,B",
        help="every class the model will ever see (default: the labels of the "
        "first update, then pinned)",
    )
    init.add_argument(
        "--strategy",
        help="training strategy (default: chosen from the estimator: 'stream' when it has "
        "partial_fit)",
    )
    init.add_argument(
        "--task-rows",
        type=int,
        default=200_000,
        metavar="N",
        help="rows per training task; small partitions are grouped up to it (default: 200000)",
    )
    init.add_argument(
        "--prefetch",
        type=int,
        default=2,
        metavar="N",
        help="tasks read ahead of the partial_fit model (default: 2)",
    )
    _xgboost_flags(init)
    _storage(init)
    _fsync(init, "every write to this store, on every later command")
    _strategy_flags(init)

    update = command("update", cmd_update, "train on the partitions not yet learned")
    _store(update)
    _scheduler(update)
    update.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and the drift of the new partitions; train nothing",
    )
    update.add_argument(
        "--on-modified",
        default="error",
        choices=["error", "skip", "retrain"],
        help="what to do when a learned partition was rewritten (default: error)",
    )
    update.add_argument(
        "--on-missing",
        default="error",
        choices=["error", "warn"],
        help="what to do when a learned partition is gone (default: error)",
    )
    update.add_argument(
        "--listing",
        default="full",
        choices=["full", "since-newest"],
        help="list every folder (default), or only the newest learned folder and the folders "
        "sorting after it, for large append-only trees",
    )
    _fsync(update, "the artifacts and the ledger entry of this update")
    _single_writer(update)
    _json(update)
    _storage(update)

    status = command("status", cmd_status, "the head version and what is new in the data")
    _store(status)
    _json(status)
    _storage(status)

    history = command("history", cmd_history, "every version, oldest first")
    _store(history)
    _json(history)
    _storage(history, data=False)

    predict = command("predict", cmd_predict, "score a dataset, one output file per input file")
    _store(predict)
    predict.add_argument("--data", required=True, metavar="URL")
    predict.add_argument("--out", required=True, metavar="URL")
    predict.add_argument("--version", type=int, help="version to use (default: the head)")
    predict.add_argument("--keep", metavar="A,B", help="input columns to copy into the output")
    _scheduler(predict)
    _storage(predict, out=True)

    evaluate = command(
        "evaluate", cmd_evaluate, "metrics of every version on a holdout, stored in the store"
    )
    _store(evaluate)
    evaluate.add_argument("--data", required=True, metavar="URL")
    evaluate.add_argument("--version", type=int, help="evaluate this version only")
    _scheduler(evaluate)
    _json(evaluate)
    _storage(evaluate)

    roll = command("rollback", cmd_rollback, "commit a new version restoring an earlier model")
    _store(roll)
    roll.add_argument("--to", type=int, required=True, metavar="N")
    _storage(roll, data=False)
    _fsync(roll, "the new ledger entry")
    _single_writer(roll)

    verify = command("verify", cmd_verify, "check the store's invariants")
    _store(verify)
    _storage(verify, data=False)

    config = command(
        "config", cmd_config, "print the distinc settings in force, their defaults and sources"
    )
    _json(config)

    from distinc.cli import decide

    decide.add_commands(command)

    demo = command("demo", cmd_demo, "generate data, fit, add data, update, compare to retrain")
    demo.add_argument("--dir", help="folder for the demo's data and store (default: temporary)")
    _scheduler(demo)
    return parser


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("distinc: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    for noisy in ("distributed", "tornado", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.quiet)
    try:
        code: int = args.handler(args)
        return code
    except DistincError as exc:
        print(f"distinc: error: {exc.message}", file=sys.stderr)
        if args.traceback:
            traceback.print_exc()
        return 1
    except KeyboardInterrupt:
        print("distinc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(
            f"distinc: internal error: {type(exc).__name__}: {exc} (rerun with --traceback "
            "for details)",
            file=sys.stderr,
        )
        if args.traceback or os.environ.get("DISTINC_TRACEBACK"):
            traceback.print_exc()
        return 3


if __name__ == "__main__":
    sys.exit(main())
