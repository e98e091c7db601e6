"""What each ``distinc`` command does with its parsed arguments; the exit status is returned."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from distinc.cli.flags import storage_arguments, strategy_options
from distinc.cli.parsing import parse_list, parse_pairs


def open_store(args: argparse.Namespace) -> Any:
    import distinc

    durable = True if getattr(args, "fsync", False) else None  # else the distinc.durable setting
    return distinc.open(args.store, durable=durable, **storage_arguments(args))


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(json_ready(data), indent=2, default=str, allow_nan=False))
    else:
        print(text)


def json_ready(data: Any) -> Any:
    """``data`` with NaN and infinities as ``None``: JSON has no such numbers, and records
    written by an older distinc may hold a NaN metric.

    Examples
    --------
    >>> json_ready({"roc_auc": float("nan"), "rows": [1.0, float("inf")]})
    {'roc_auc': None, 'rows': [1.0, None]}
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {name: json_ready(value) for name, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_ready(value) for value in data]
    return data


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
            prefetch=args.prefetch,
            durable=args.fsync,
            **strategy_options(args),
        ),
        **storage_arguments(args),
    )
    spec = model.spec
    target = f", target {spec.target!r}" if spec.target is not None else ""
    print(
        f"initialised {args.store}: {spec.model} ({spec.strategy}), "
        f"{len(spec.features)} feature(s){target}"
    )
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from distinc.cli import decide, render
    from distinc.cli.progress import progress_for

    model = open_store(args)
    result = model.update(
        scheduler=args.scheduler,
        on_modified=args.on_modified,
        on_missing=args.on_missing,
        dry_run=args.dry_run,
        progress=progress_for(sys.stderr, quiet=args.quiet),
        single_writer=args.single_writer,
        listing=args.listing,
        on_corrupt=args.on_corrupt,
    )
    if result.dry_run:
        return decide.dry_run(args, model, result)
    emit(args, render.update_json(result), render.update_text(result))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from distinc.cli import render

    status = open_store(args).status()
    emit(args, render.status_json(status), render.status_text(status))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from distinc.cli import render

    entries = open_store(args).history()
    emit(args, [render.history_item(e) for e in entries], render.history_text(entries))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    summary = open_store(args).predict(
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
    model = open_store(args)
    head = model.version
    entry = model.rollback(args.to, single_writer=args.single_writer)
    if entry.version == head:
        print(f"version {head} already has the model of version {args.to}; nothing committed")
    else:
        print(f"version {entry.version}: rolled back to the model of version {args.to}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    problems = open_store(args).verify()
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

    data = config_json()
    emit(args, data, config_text(data))
    return 1 if data["refused"] else 0  # a refused setting fails every other command
