"""Run every benchmark at a scale that fits 2 cores / 24 GB in under 20 minutes; write RESULTS.md.

Usage: python -m benchmarks.run_all [--only NAME[,NAME...]] [--out benchmarks/RESULTS.md]

Each script in ``benchmarks/`` runs in its own process, one after the other, with ``--json``;
its ratios (name, value, target, whether it holds, detail) come from the last line of its
output (a script without ``--json`` is read from its printed ratio lines). The report holds a
table of every ratio, the exact command of each script and of this run, the date, the machine,
its load, and the CPU seconds each script obtained next to its wall time (the machine is
shared, so a timing ratio can miss because another process took the cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import Ratio

HERE = Path(__file__).resolve().parent
# The arguments each script runs with here; a script not listed runs with its defaults.
SCALES: dict[str, list[str]] = {
    # An update of 0.7 s against a loop of 0.9 s: best of 5 each, as a moment of load moves
    # either by a tenth (best of 3 gave 0.63-0.88 across run_all runs).
    "stream_vs_loop": ["--rows", "1500000", "--files", "15", "--repeat", "5"],
    "drift_stats": ["--rows", "600000", "--files", "15", "--repeat", "15"],
    # Full size: at a fifth of it, a fixed second or so per update dominates both XGBoost ratios.
    "xgb_update_vs_retrain": ["--scale", "1.0", "--repeat", "2"],
    "out_of_core": ["--limit-mb", "600", "--ratio", "10"],
    # Full size: the merge's fits are cheap, so at half of it the serial part weighs too much.
    "parallel_speedup": ["--scale", "1.0", "--repeat", "2", "--trees", "10"],
    "ensemble_update": ["--scale", "0.1", "--repeat", "2"],
    # Full size: the targets are stated for 1,000 trained partitions and 100,000 to plan. The
    # update takes about 0.2 s, so the machine's noise alone moves one attempt by 10 to 20 %.
    "history_growth": ["--repeat", "15"],
    # Full size, as the target is stated (10,000 partitions against 100). The references (a
    # call per partition, plain loops and reads) take five times as long as the pair the target
    # compares, so they run in the first attempt only, the plain loop and read over a tenth of
    # the files (the plain loop over all 10,000 small files alone took a minute).
    "small_partitions": [
        *("--scale", "1.0", "--repeat", "7"),
        *("--reference-repeat", "1", "--reference-share", "0.1"),
    ],
}
NOT_BENCHMARKS = {"__init__", "common", "run_all"}
TIMEOUT = 30 * 60
RATIO_LINE = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<value>-?\d+\.\d+)\s+target (?P<target>.+?)\s+(?P<mark>holds|MISSES)"
)


@dataclass
class Run:
    name: str
    command: list[str]
    code: int | None = None
    wall: float = 0.0
    cpu: float = 0.0
    ratios: list[Ratio] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


def benchmarks() -> list[str]:
    """Every script in ``benchmarks/``: the known ones in report order, then any others."""
    present = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS)
    return [name for name in SCALES if name in present] + [
        name for name in present if name not in SCALES
    ]


def parse(lines: list[str]) -> list[Ratio]:
    """The ratios of a script's output: its JSON line, else its printed ratio lines."""
    for line in reversed(lines):
        if line.startswith("[{") or line == "[]":
            try:
                return [Ratio(**item) for item in json.loads(line)]
            except (ValueError, TypeError):
                break
    found = [RATIO_LINE.match(line) for line in lines]
    return [
        Ratio(m["name"], float(m["value"]), m["target"].strip(), m["mark"] == "holds")
        for m in found
        if m is not None
    ]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(name: str, *, json_flag: bool = True) -> Run:
    command = [sys.executable, "-m", f"benchmarks.{name}", *SCALES.get(name, [])]
    command += ["--json"] if json_flag else []
    result = Run(name, command)
    print(f"\n=== {name}: {shlex.join(display(command))}", flush=True)
    cpu, started = children_cpu(), time.perf_counter()
    lines = []
    with subprocess.Popen(
        command,
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    ) as process:
        assert process.stdout is not None
        deadline = started + TIMEOUT
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if not line.startswith("[{"):
                print("  " + line.rstrip("\n"), flush=True)
            if time.perf_counter() > deadline:
                process.kill()
        result.code = process.wait()
    result.wall = time.perf_counter() - started
    result.cpu = children_cpu() - cpu
    if json_flag and result.code == 2 and any("--json" in line for line in lines[-3:]):
        return run(name, json_flag=False)  # a script that has no --json yet
    result.ratios = parse(lines)
    result.tail = lines[-5:]
    return result


def display(command: list[str]) -> list[str]:
    return ["python", *command[1:]]


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        memory = ""
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} x {model}{memory}, "
        f"Python {platform.python_version()}"
    )


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' (with uncommitted changes)' if dirty else ''}" if head else "unknown"


def library_line() -> str:
    from distinc.store.versions import library_versions

    versions = library_versions()
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))


def informative(ratio: Ratio) -> bool:
    """A ratio printed for reference, with no target: "(reference)", "(none set)"."""
    return ratio.target.startswith("(")


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report(runs: list[Run], *, command: str, started: dt.datetime, loads: tuple[str, str]) -> str:
    held = sum(r.holds for run in runs for r in run.ratios if not informative(r))
    total = sum(1 for run in runs for r in run.ratios if not informative(r))
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` (from the repository root) on {started:%Y-%m-%d %H:%M} UTC, "
        f"revision {git_revision()}.",
        "",
        f"* Machine: {machine()}; shared with other work, 1-minute load average "
        f"{loads[0]} at the start and {loads[1]} at the end.",
        f"* Libraries: {library_line()}.",
        f"* {held} of {total} targets hold. Every ratio compares runs made in the same process; "
        "CPU seconds are what the script's processes obtained (on 2 cores, at most twice the "
        "wall time).",
        "",
        "| benchmark | ratio | value | target | holds | detail |",
        "|---|---|---:|---|---|---|",
    ]
    for run in runs:
        if run.code != 0 or not run.ratios:
            why = f"exit code {run.code}" if run.code != 0 else "no ratio printed"
            tail = " / ".join(line.strip() for line in run.tail if line.strip())[-300:]
            lines.append(f"| {run.name} | (failed) | | | no | {cell(why + ': ' + tail)} |")
        for ratio in run.ratios:
            holds = "reference" if informative(ratio) else "yes" if ratio.holds else "NO"
            lines.append(
                f"| {run.name} | {cell(ratio.name)} | {ratio.value:.3f} | {cell(ratio.target)} "
                f"| {holds} | {cell(ratio.detail)} |"
            )
    lines += [
        "",
        "## Commands",
        "",
        "| benchmark | command | wall s | CPU s |",
        "|---|---|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.name} | `{shlex.join(display(run.command))}` | {run.wall:.0f} | "
            f"{run.cpu:.0f} |"
        )
    return "\n".join(lines) + "\n"


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> list[Run]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names (default: every one)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    names = benchmarks()
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(names)}")
        names = [name for name in names if name in wanted]
    started, start_load = dt.datetime.now(dt.UTC), load()
    clock = time.perf_counter()
    runs = [run(name) for name in names]
    command = shlex.join(["python", "-m", "benchmarks.run_all", *(argv or [])])
    text = report(runs, command=command, started=started, loads=(start_load, load()))
    Path(args.out).write_text(text)
    print(f"\n{text}\n({time.perf_counter() - clock:.0f} s in all; written to {args.out})")
    return runs


if __name__ == "__main__":
    main(sys.argv[1:])
