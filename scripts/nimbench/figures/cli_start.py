"""Figure 5: `nimctl --help`, and `nimctl status` (and `status --json`, every probe) with
--status-deployments deployments running."""

from __future__ import annotations

from scripts.nimbench.context import Bench
from scripts.nimbench.procs import parallel
from scripts.nimbench.progress import log
from scripts.nimbench.rows import Row, Target


def time_command(bench: Bench, row: Row, args: list[str], samples: int, expect: str = "") -> None:
    """`samples` wall times of `nimctl ARGS` after one untimed warm-up (bytecode and page caches)."""
    bench.run([*bench.nimctl, *args])
    for _ in range(samples):
        result = bench.run([*bench.nimctl, *args], timeout=60)
        if result.returncode == 0 and expect in result.stdout:
            row.add(result.wall)
        else:
            row.fail(f"exited {result.returncode}: {result.tail()}")


def fig_cli_start(bench: Bench, reps: int) -> list[Row]:
    fig = "5 CLI start"
    samples = 4 * reps
    count = bench.args.status_deployments
    help_row = Row(fig, "nimctl --help", "s", target=Target(0.15, 0.3, "median ≤ 150 ms, p95 ≤ 300 ms"))  # issue 17
    status_row = Row(fig, "nimctl status", "s", target=Target(0.5, 0.5, "≤ 500 ms"))
    status_json_row = Row(fig, "nimctl status --json", "s", target=Target(0.4, 0.5, "median ≤ 400 ms, p95 ≤ 500 ms"))
    time_command(bench, help_row, ["--help"], samples, expect="Usage")
    log(f"fig 5: --help median {help_row.cell(help_row.median)}")

    ports = {bench.name("status"): bench.free_port() for _ in range(count)}
    names = list(ports)
    profile = bench.profile(SIM_STARTUP_DELAY="0")
    log(f"fig 5: starting {count} deployments for `nimctl status`")
    ups = parallel([lambda n=n: bench.nimctl_up(n, ports[n], profile, "--no-smoke") for n in names], workers=2)
    try:
        failed = [n for n, r in zip(names, ups) if isinstance(r, BaseException) or r.returncode != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} of the {count} deployments did not start")
        time_command(bench, status_row, ["status"], samples)
        time_command(bench, status_json_row, ["status", "--json"], samples, expect="[")
        listing = bench.run([*bench.nimctl, "status", "--json"], timeout=60)
        listed = listing.json() if listing.returncode == 0 else []
        ours = [r for r in listed if r.get("name") in ports]
        ready = sum(1 for r in ours if r.get("ready"))
        status_row.note = f"{len(ours)} deployments of this run ({ready} ready) among {len(listed)} listed"
        status_json_row.note = status_row.note
        log(f"fig 5: status median {status_row.cell(status_row.median)} ({status_row.note})")
    except Exception as exc:  # noqa: BLE001
        status_row.fail(str(exc))
        status_json_row.fail(str(exc))
        log(f"fig 5 status: FAILED {exc}")
    finally:
        parallel([lambda n=n: bench.nimctl_down(n) for n in names], workers=3)
    return [help_row, status_row, status_json_row]
