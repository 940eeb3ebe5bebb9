"""The benchmark (scripts/nimbench) still runs: its CLI, and one cheap figure end to end with its JSON.

The full benchmark takes minutes (CI runs `--reps 1` once); here only figure 5 (CLI start) runs,
with two deployments instead of ten, which costs about ten seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.harness import base_env

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.nimbench", *args],
        check=False,
        cwd=REPO,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_exits_zero_and_lists_the_figures() -> None:
    result = run_bench("--help", timeout=60)
    assert result.returncode == 0, result.stderr
    for word in ("--reps", "--json", "--only", "readiness-lag", "crash", "cli-start", "smoke"):
        assert word in result.stdout


def test_an_unknown_figure_is_refused() -> None:
    result = run_bench("--only", "no-such-figure", timeout=60)
    assert result.returncode == 2
    assert "unknown figure" in result.stderr


def test_cli_start_once_writes_the_table_and_the_json(tmp_path: Path, docker_client, sim_image: str) -> None:
    out = tmp_path / "bench.json"
    result = run_bench("--only", "cli-start", "--reps", "1", "--status-deployments", "2", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]

    report = json.loads(out.read_text())
    for key in ("date", "command", "reps", "machine", "git", "complete", "rows", "figures", "run_id", "load"):
        assert key in report, key
    assert report["complete"] is True
    assert report["reps"] == 1
    assert report["machine"]["cpus"] >= 1 and report["machine"]["docker_engine"]

    rows = {row["tool"]: row for row in report["figures"]["cli-start"]}
    assert set(rows) == {"nimctl --help", "nimctl status", "nimctl status --json"}
    for row in rows.values():
        assert row["errors"] == [], row["errors"]
        assert row["n"] == 4 and len(row["samples"]) == 4
        assert 0 < row["median"] <= row["p95"] <= max(row["samples"])
        assert row["unit"] == "s"
        assert row["target"]["p95_max"] == (0.3 if row["tool"] == "nimctl --help" else 0.5)
        assert row["target"]["median_max"] == {"nimctl --help": 0.15, "nimctl status": 0.5}.get(row["tool"], 0.4)
        # met is computed from the samples' median and p95 against the target's bounds
        target = row["target"]
        assert row["met"] is (row["median"] <= target["median_max"] and row["p95"] <= target["p95_max"])
        assert row["runs"] == [{"value": value} for value in row["samples"]]
    assert rows["nimctl status"]["note"].startswith("2 deployments of this run (2 ready)")
    assert set(report["load"]["cli-start"]) == {"start", "end"}

    # the markdown table on stdout: header plus one line per row
    lines = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert lines[0] == "| figure | tool | median | p95 | target | met? |"
    for tool, row in rows.items():
        (line,) = [line for line in lines if line.startswith(f"| 5 CLI start | {tool} (n=4)")]
        assert line.endswith("| yes |" if row["met"] else "| **no** |")

    # nothing of that run is left behind
    left = docker_client.containers.list(all=True, filters={"name": f"nimctl-bench-{report['run_id']}-"})
    assert left == []


def test_baseline_runs_both_sides_alternating_and_prints_the_ratios(
    tmp_path: Path, docker_client, sim_image: str
) -> None:
    """`--baseline HEAD`: HEAD in its own worktree and venv (kept per commit) against the working tree."""
    from scripts.nimbench.baseline import checkout_dir

    out = tmp_path / "bench.json"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    checkout = checkout_dir(head)
    made_here = not checkout.exists()  # a checkout kept from an earlier run stays; one made here goes
    try:
        result = run_bench(
            "--baseline",
            "HEAD",
            "--only",
            "cli-start",
            "--reps",
            "1",
            "--status-deployments",
            "1",
            "--json",
            str(out),
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(out.read_text())
        assert report["baseline"]["commit"] == head and report["baseline"]["rev"] == "HEAD"
        assert (
            report["baseline"]["nimctl_command"][0].startswith("/")
            and head[:12] in report["baseline"]["nimctl_command"][0]
        )
        base = {row["tool"]: row for row in report["baseline"]["rows"]}
        work = {row["tool"]: row for row in report["rows"]}
        assert set(base) == set(work) == {"nimctl --help", "nimctl status", "nimctl status --json"}
        assert all(row["n"] == 4 and not row["errors"] for row in [*base.values(), *work.values()])
        ratios = {ratio["tool"]: ratio for ratio in report["ratios"]}
        for tool, ratio in ratios.items():
            assert ratio["ratio_median"] == work[tool]["median"] / base[tool]["median"]
        # the sides alternate: REV's --help runs come first, then the working tree's (the log says which)
        marks = [line for line in result.stderr.splitlines() if "--- cli-start:" in line]
        assert [("HEAD" in line) for line in marks] == [True, False]
        header = next(line for line in result.stdout.splitlines() if line.startswith("| figure"))
        assert "HEAD: median" in header and "working tree: median" in header and "ratio" in header
    finally:
        if made_here and checkout.exists():
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkout)], check=False)
