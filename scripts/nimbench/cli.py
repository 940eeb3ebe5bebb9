"""Arguments, signals, the figure loop, the JSON report, the markdown table and the exit status."""

from __future__ import annotations

import argparse
import json
import random
import shlex
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.nimbench import baseline
from scripts.nimbench.cleanup import cleanup, remove_scratch
from scripts.nimbench.context import REPO, Bench
from scripts.nimbench.figures import FIGURES, RUNNERS
from scripts.nimbench.progress import log
from scripts.nimbench.report import git_revision, load, machine
from scripts.nimbench.rows import Row, markdown


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.nimbench",
        description="Benchmark nimctl against the NVIDIA runbook (docker run + curl loop) and testcontainers.",
        epilog="figures: " + ", ".join(FIGURES) + ". Exit status: 0 when every measurement was taken "
        "(whether or not targets are met), 1 when some failed, 130 when interrupted.",
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each start-up scenario (default 5)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample as JSON to FILE")
    parser.add_argument("--only", default=",".join(FIGURES), help="comma list of figures to run (default: all)")
    parser.add_argument("--crash-wait", type=float, default=30.0, help="figure 2: seconds a tool gets to notice (30)")
    parser.add_argument(
        "--long-wait",
        type=float,
        default=20.0,
        help="figure 1: seconds of the long wait for nimctl's request rate (20; 0: skip)",
    )
    parser.add_argument("--delay-range", default="2-6", help="figure 1: SIM_STARTUP_DELAY range (default 2-6)")
    parser.add_argument(
        "--status-deployments", type=int, default=10, help="figure 5: deployments running during `nimctl status` (10)"
    )
    parser.add_argument(
        "--nimctl",
        metavar="COMMAND",
        help="the nimctl command to measure (default: the `nimctl` next to this interpreter), "
        "e.g. a wrapper around a patched copy, to measure a proposed fix",
    )
    parser.add_argument("--seed", type=int, help="random seed (start-up delays are drawn by the simulator)")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the git revision REV (its own worktree and venv, kept per commit), alternating "
        "REV / working tree one repetition at a time, and print both side by side with the ratios",
    )
    args = parser.parse_args(argv)
    args.figures = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in args.figures if f not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _rows_of(figure: str, rows: list[Row]) -> list[dict[str, Any]]:
    number = str(FIGURES.index(figure) + 1)  # a row's figure text starts with the figure's number
    return [row.to_dict() for row in rows if row.figure.split(" ", 1)[0] == number]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Ctrl-C even when started in the background of a script (which ignores SIGINT); the children
    # then get the default action back on exec, so nimctl too cleans up after an interrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    started = time.monotonic()
    arguments = sys.argv[1:] if argv is None else argv
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([_relative(sys.executable), "-m", "scripts.nimbench", *arguments]),
        "reps": args.reps,
        "figures_run": args.figures,
        "machine": machine(),
        "nimctl_command": args.nimctl or "(the nimctl next to the interpreter)",
        "git": git_revision(),
        "complete": False,
        "rows": [],
    }
    rows: list[Row] = []
    base_rows: list[Row] = []  # --baseline: REV's rows (`rows` are the working tree's)
    bench = Bench(args)
    report["run_id"] = bench.run_id
    interrupted = False
    try:
        if args.baseline:
            commit, base_nimctl = baseline.prepare(REPO, args.baseline)
            report["baseline"] = {"rev": args.baseline, "commit": commit, "nimctl_command": base_nimctl, "rows": []}
            bench.nimctl_only = True  # figures 1-2 compare nimctl with itself: the other tools once is enough
            bench.profile_keys = baseline.profile_keys(base_nimctl)
        if not args.nimctl:  # the working tree's nimctl, with its bytecode written as an install has it
            baseline.precompile(REPO, sys.executable)
        bench.prepare()
        report["image"] = {"reference": bench.image, "id": bench.image_id}
        for figure in args.figures:
            log(f"=== {figure} (reps {args.reps}) ===")
            report.setdefault("load", {})[figure] = {"start": load(bench)}
            t0 = time.monotonic()
            if args.baseline:
                work_nimctl, batches = bench.nimctl, {baseline.BASELINE: [], baseline.WORK: []}
                for side in baseline.alternation(args.reps):
                    bench.nimctl = base_nimctl if side == baseline.BASELINE else work_nimctl
                    log(f"--- {figure}: {args.baseline if side == baseline.BASELINE else 'working tree'} ---")
                    try:
                        batches[side].append(RUNNERS[figure](bench, 1))
                    finally:
                        bench.nimctl = work_nimctl
                base_rows.extend(baseline.merge_rows(batches[baseline.BASELINE]))
                rows.extend(baseline.merge_rows(batches[baseline.WORK]))
            else:
                rows.extend(RUNNERS[figure](bench, args.reps))
            report["load"][figure]["end"] = load(bench)
            log(f"=== {figure} done in {time.monotonic() - t0:.0f} s ===")
        report["complete"] = True
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: cleaning up")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish
        cleanup(bench)
        report["seconds"] = round(time.monotonic() - started, 1)
        report["rows"] = [row.to_dict() for row in rows]
        report["figures"] = {figure: _rows_of(figure, rows) for figure in args.figures}
        ratios = baseline.ratio_rows(base_rows, rows) if args.baseline else []
        if args.baseline and "baseline" in report:
            report["baseline"]["rows"] = [row.to_dict() for row in base_rows]
            report["ratios"] = [ratio.to_dict() for ratio in ratios]
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
            log(f"wrote {args.json}")
    if args.baseline:
        print(baseline.ratio_markdown(ratios, args.baseline))
    else:
        print(markdown(rows))
    log(f"total {report['seconds']:.0f} s")
    failed = [f"{row.figure} / {row.tool}" for row in [*rows, *base_rows] if row.errors]
    remove_scratch(bench, keep=bool(failed) or interrupted)
    if interrupted:
        return 130
    if failed:  # a measurement could not be taken (a missed target is a result, not a failure)
        log(f"measurements failed in: {'; '.join(failed)}")
        return 1
    return 0
