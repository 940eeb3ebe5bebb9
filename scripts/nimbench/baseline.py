"""`--baseline REV`: every figure for REV and for the working tree, alternating, in one run.

REV is checked out with `git worktree add --detach` into a directory keyed by its commit (under
the temp dir) with its own virtualenv, installed from the local pip cache/wheels; a later run with
the same commit reuses both. The figures run one repetition at a time, REV then the working tree,
REV, working tree... (`alternation`), each side's rows merged (`merge_rows`), and the report shows
each figure side by side with the ratio working tree / REV (`ratio_rows`, `ratio_markdown`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.nimbench.progress import log
from scripts.nimbench.rows import Row

BASELINE, WORK = "baseline", "work"
READY_MARK = ".nimctl-bench-ready"  # written once the venv is installed: the checkout can be reused


def alternation(reps: int) -> list[str]:
    """The order of the sides: REV first, then the working tree, `reps` times (A/B/A/B...)."""
    if reps < 1:
        raise ValueError("reps must be at least 1")
    return [BASELINE, WORK] * reps


def merge_rows(batches: Iterable[list[Row]]) -> list[Row]:
    """One row per (figure, tool) from the rows of several one-repetition runs, in first-seen order."""
    merged: dict[tuple[str, str], Row] = {}
    for rows in batches:
        for row in rows:
            key = (row.figure, row.tool)
            into = merged.get(key)
            if into is None:
                merged[key] = Row(
                    row.figure,
                    row.tool,
                    row.unit,
                    list(row.samples),
                    row.target,
                    list(row.errors),
                    row.note,
                    row.not_noticed,
                    row.bound_s,
                    row.retries,
                    list(row.extra),
                )
                continue
            into.samples.extend(row.samples)
            into.errors.extend(row.errors)
            into.extra.extend(row.extra)
            into.not_noticed += row.not_noticed
            into.retries += row.retries
            if row.note and row.note != into.note:
                into.note = row.note  # the latest (e.g. a count of restarts so far)
    return list(merged.values())


@dataclass
class Ratio:
    figure: str
    tool: str
    unit: str
    base: Row | None
    work: Row | None

    @staticmethod
    def _max(row: Row | None) -> float | None:
        return max(row.samples) if row is not None and row.samples else None

    @property
    def median_ratio(self) -> float | None:
        return _ratio(self.work.median if self.work else None, self.base.median if self.base else None)

    @property
    def max_ratio(self) -> float | None:
        return _ratio(self._max(self.work), self._max(self.base))

    def to_dict(self) -> dict[str, Any]:
        def side(row: Row | None) -> dict[str, Any] | None:
            if row is None:
                return None
            return {"n": len(row.samples), "median": row.median, "p95": row.p95, "max": self._max(row), "met": row.met}

        return {
            "figure": self.figure,
            "tool": self.tool,
            "unit": self.unit,
            "baseline": side(self.base),
            "work": side(self.work),
            "ratio_median": self.median_ratio,
            "ratio_max": self.max_ratio,
        }


def _ratio(work: float | None, base: float | None) -> float | None:
    if work is None or base is None or base == 0:
        return None
    return work / base


def ratio_rows(base: list[Row], work: list[Row]) -> list[Ratio]:
    """Both sides' rows paired by (figure, tool), in the working tree's order, then REV's leftovers."""
    by_key = {(row.figure, row.tool): row for row in base}
    out = []
    for row in work:
        out.append(Ratio(row.figure, row.tool, row.unit, by_key.pop((row.figure, row.tool), None), row))
    out.extend(Ratio(row.figure, row.tool, row.unit, row, None) for row in by_key.values())
    return out


def ratio_markdown(ratios: list[Ratio], rev: str) -> str:
    def cell(row: Row | None, value: float | None) -> str:
        if row is None:
            return "—"
        text = row.cell(value)
        return text + (f" ({len(row.errors)} failed)" if row.errors else "")

    head = f"| figure | tool | {rev}: median | working tree: median | ratio | {rev}: max | working tree: max | ratio |"
    lines = [head, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in ratios:
        n = max(len(r.base.samples) if r.base else 0, len(r.work.samples) if r.work else 0)
        median_ratio = "—" if r.median_ratio is None else f"{r.median_ratio:.2f}"
        max_ratio = "—" if r.max_ratio is None else f"{r.max_ratio:.2f}"
        lines.append(
            f"| {r.figure} | {r.tool} (n={n}) | {cell(r.base, r.base.median if r.base else None)} | "
            f"{cell(r.work, r.work.median if r.work else None)} | {median_ratio} | "
            f"{cell(r.base, Ratio._max(r.base))} | {cell(r.work, Ratio._max(r.work))} | {max_ratio} |"
        )
    return "\n".join(lines)


# -- the checkout ------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def checkout_dir(commit: str) -> Path:
    return Path(tempfile.gettempdir()) / f"nimctl-bench-baseline-{commit[:12]}"


def profile_keys(nimctl: list[str]) -> set[str]:
    """The profile keys the nimctl `nimctl` runs knows: its Settings fields (asked of its own venv)."""
    python = Path(nimctl[0]).with_name("python")
    checkout = python.parents[2]  # <checkout>/.venv/bin/python: run there, not where -c would import ours
    done = subprocess.run(
        [
            str(python),
            "-c",
            "import json; from nimctl.settings import Settings; print(json.dumps(list(Settings.model_fields)))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=checkout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot read the baseline's settings: {done.stderr.strip()[-500:]}")
    return set(json.loads(done.stdout))


def precompile(checkout: Path, python: str | Path) -> None:
    """Write the bytecode of the checkout's nimctl, as a wheel install does (pip compiles on install).

    An editable checkout under PYTHONDONTWRITEBYTECODE=1 (set on this machine) would otherwise compile
    every nimctl module at every start: ~60 ms of CPU per command that no installed nimctl pays.
    compileall writes the files whatever that variable says; both sides of an A/B get the same."""
    subprocess.run([str(python), "-m", "compileall", "-q", str(checkout / "nimctl")], capture_output=True, timeout=300)


def prepare(repo: Path, rev: str) -> tuple[str, list[str]]:
    """(the commit, the nimctl command of REV): a worktree and venv keyed by the commit, made once."""
    commit = _git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}")
    where = checkout_dir(commit)
    nimctl = where / ".venv" / "bin" / "nimctl"
    if (where / READY_MARK).exists() and nimctl.exists():
        log(f"baseline {rev} ({commit[:12]}): reusing {where}")
        precompile(where, where / ".venv" / "bin" / "python")
        return commit, [str(nimctl)]
    if where.exists():  # a half-made one: start again
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(where)], capture_output=True)
        shutil.rmtree(where, ignore_errors=True)
        _git(repo, "worktree", "prune")
    log(f"baseline {rev} ({commit[:12]}): git worktree add {where}, then its venv")
    _git(repo, "worktree", "add", "--detach", str(where), commit)
    subprocess.run([sys.executable, "-m", "venv", str(where / ".venv")], check=True, timeout=300)
    pip = [str(where / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "-e", str(where)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"installing {rev} into its venv failed: {done.stderr.strip()[-800:]}")
    precompile(where, where / ".venv" / "bin" / "python")
    (where / READY_MARK).write_text(commit + "\n")
    return commit, [str(nimctl)]
