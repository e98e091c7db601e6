"""The ``distinc`` command: exit 0 on success or no-op, 1 with one line on stderr on error."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from distinc.cli.commands import (
    cmd_config,
    cmd_demo,
    cmd_evaluate,
    cmd_history,
    cmd_init,
    cmd_predict,
    cmd_rollback,
    cmd_status,
    cmd_update,
    cmd_verify,
)
from distinc.cli.flags import (
    add_fsync,
    add_json,
    add_scheduler,
    add_single_writer,
    add_storage,
    add_store,
    add_strategy_flags,
    add_xgboost_flags,
)
from distinc.cli.worker import run_worker
from distinc.exceptions import DistincError

logger = logging.getLogger("distinc")

EXIT_READER_GONE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away


_EPILOG = """\
settings:
  distinc reads a `distinc:` section of dask's configuration: YAML files in ~/.config/dask/,
  /etc/dask/ or $DASK_CONFIG (e.g. ~/.config/dask/distinc.yaml), and DASK_DISTINC__<KEY>
  environment variables. Precedence: command-line flag > environment > config file > default.
  `distinc config` prints every setting in force, its default and the files read. dask's own
  settings (DASK_SCHEDULER_ADDRESS, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT, ...) apply too.

exit status: 0 on success or when there is nothing to do, 1 on an error (one line on stderr
naming the file, column, label or version at fault), 3 on an internal error, 130 if interrupted,
141 (quietly) when the reader of the output went away, as in `distinc history STORE | head -1`.
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
    add_store(init)
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
        "--prefetch",
        type=int,
        default=2,
        metavar="N",
        help="tasks read ahead of the partial_fit model (default: 2)",
    )
    add_xgboost_flags(init)
    add_storage(init)
    add_fsync(init, "every write to this store, on every later command")
    add_strategy_flags(init)

    update = command("update", cmd_update, "train on the partitions not yet learned")
    add_store(update)
    add_scheduler(update)
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
        "--on-corrupt",
        default="error",
        choices=["error", "skip"],
        help="what to do with a new file that is not readable Parquet: fail, or record it as "
        "skipped until it changes (default: error)",
    )
    update.add_argument(
        "--listing",
        default="full",
        choices=["full", "since-newest"],
        help="list every folder (default), or only the newest learned folder and the folders "
        "sorting after it, for large append-only trees",
    )
    add_fsync(update, "the artifacts and the ledger entry of this update")
    add_single_writer(update)
    add_json(update)
    add_storage(update)

    status = command("status", cmd_status, "the head version and what is new in the data")
    add_store(status)
    add_json(status)
    add_storage(status)

    history = command("history", cmd_history, "every version, oldest first")
    add_store(history)
    add_json(history)
    add_storage(history, data=False)

    predict = command("predict", cmd_predict, "score a dataset, one output file per input file")
    add_store(predict)
    predict.add_argument("--data", required=True, metavar="URL")
    predict.add_argument(
        "--out",
        required=True,
        metavar="URL",
        help="folder for the predictions, outside the scoring data and the training data",
    )
    predict.add_argument("--version", type=int, help="version to use (default: the head)")
    predict.add_argument("--keep", metavar="A,B", help="input columns to copy into the output")
    add_scheduler(predict)
    add_storage(predict, out=True)

    evaluate = command(
        "evaluate", cmd_evaluate, "metrics of every version on a holdout, stored in the store"
    )
    add_store(evaluate)
    evaluate.add_argument("--data", required=True, metavar="URL")
    evaluate.add_argument("--version", type=int, help="evaluate this version only")
    add_scheduler(evaluate)
    add_json(evaluate)
    add_storage(evaluate)

    roll = command("rollback", cmd_rollback, "commit a new version restoring an earlier model")
    add_store(roll)
    roll.add_argument("--to", type=int, required=True, metavar="N")
    add_storage(roll, data=False)
    add_fsync(roll, "the new ledger entry")
    add_single_writer(roll)

    verify = command("verify", cmd_verify, "check the store's invariants")
    add_store(verify)
    add_storage(verify, data=False)

    config = command(
        "config", cmd_config, "print the distinc settings in force, their defaults and sources"
    )
    add_json(config)

    from distinc.cli import decide

    decide.add_commands(command)

    demo = command("demo", cmd_demo, "generate data, fit, add data, update, compare to retrain")
    demo.add_argument("--dir", help="folder for the demo's data and store (default: temporary)")
    add_scheduler(demo)

    worker = command(
        "worker",
        lambda args: run_worker(args.dask_arguments),
        "run `dask worker` with the memory settings distinc's own workers get",
    )
    worker.add_argument(
        "dask_arguments", nargs=argparse.REMAINDER, help="arguments for `dask worker`, as is"
    )
    return parser


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("distinc: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    for noisy in ("distributed", "tornado", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _reader_went_away() -> int:
    """Exit quietly, as a Unix tool does when its reader (``head``) closes the pipe early."""
    # The recipe of Python's signal docs: the interpreter's last flush of stdout would fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_READER_GONE


def command_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Every command's flags by destination, which is the name the Python API gives the option:
    an error raised in one command may name another's (an update refused for an undeclared
    class names init's --classes)."""
    return {
        action.dest: max(action.option_strings, key=len)
        for commands in parser._actions
        if isinstance(commands, argparse._SubParsersAction)
        for command in commands.choices.values()
        for action in command._actions
        if action.option_strings
    }


def in_flag_terms(exc: DistincError, args: argparse.Namespace, flags: Mapping[str, str]) -> str:
    """``exc``'s message with the options it names (``option`` and ``options`` in its details)
    spelt as their ``flags`` (flag by the Python API's name); a flag that was given in ``args``
    is never None, so "None or" goes. A quoted name followed by "parameter" is the model's
    parameter, and stays.

    Examples
    --------
    >>> flags = {"max_members": "--max-members", "storage_options": "--storage-option"}
    >>> error = DistincError("The 'max_members' option must be None or >= 1.", option="max_members")
    >>> in_flag_terms(error, argparse.Namespace(max_members=0), flags)
    'The --max-members option must be >= 1.'
    >>> in_flag_terms(error, argparse.Namespace(), {})
    "The 'max_members' option must be None or >= 1."
    >>> error = DistincError("The 'rounds' parameter is set; use the 'rounds' option.",
    ...                      options=("rounds",))
    >>> in_flag_terms(error, argparse.Namespace(), {"rounds": "--rounds"})
    "The 'rounds' parameter is set; use the --rounds option."
    >>> error = DistincError("Pass it in 'storage_options'.", options=("storage_options",))
    >>> in_flag_terms(error, argparse.Namespace(), flags)
    'Pass it in --storage-option.'
    """
    message = exc.message
    option = exc.details.get("option")
    for name in (option, *exc.details.get("options", ())):
        if isinstance(name, str) and name in flags:
            flag = flags[name]
            message = re.sub(re.escape(repr(name)) + "(?! parameter)", flag, message)
            if name == option and getattr(args, name, None) is not None:
                message = message.replace(
                    f"{flag} option must be None or ", f"{flag} option must be "
                )
    return message


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["worker"]:  # every later argument is dask's, even one argparse knows
        run_worker(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    _configure_logging(args.quiet)
    if hasattr(signal, "SIGUSR1"):
        # `kill -USR1 <pid>` prints every thread's stack: the first question about a stalled run.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # here, where a reader that went away can still be handled
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except DistincError as exc:
        print(f"distinc: error: {in_flag_terms(exc, args, command_flags(parser))}", file=sys.stderr)
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
