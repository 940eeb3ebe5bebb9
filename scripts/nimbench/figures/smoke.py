"""Figure 6: the quick and full smoke suites against the simulator (CLI and in-process): wall time."""

from __future__ import annotations

import time
from collections.abc import Callable

from scripts.nimbench.context import Bench
from scripts.nimbench.progress import log
from scripts.nimbench.rows import Row, Target

Job = Callable[[], tuple[bool, float, str]]  # (passed, seconds, why it failed)


def fig_smoke(bench: Bench, reps: int) -> list[Row]:
    from nimctl.smoketest import ALL_CHECKS, QUICK_CHECKS, run_checks

    fig = "6 smoke"
    quick_target, full_target = Target(2.0, 2.0, "≤ 2 s"), Target(5.0, 5.0, "≤ 5 s")
    rows = {
        "cli-quick": Row(fig, "nimctl smoke --checks quick", "s", target=quick_target),
        "cli-all": Row(fig, "nimctl smoke --checks all", "s", target=full_target),
        "api-quick": Row(fig, "run_checks(QUICK_CHECKS), in-process", "s", target=quick_target),
        "api-all": Row(fig, "run_checks(ALL_CHECKS), in-process", "s", target=full_target),
    }
    name, port = bench.name("smoke"), bench.free_port()
    url = f"http://127.0.0.1:{port}"
    profile = bench.profile(SIM_STARTUP_DELAY="0.5")

    def cli(suite: str) -> tuple[bool, float, str]:
        result = bench.run([*bench.nimctl, "smoke", "--url", url, "--checks", suite], timeout=120)
        return result.returncode == 0, result.wall, f"exited {result.returncode}: {result.tail()}"

    def api(checks: tuple[str, ...]) -> tuple[bool, float, str]:
        started = time.monotonic()
        report = run_checks(base_url=url, checks=checks)
        elapsed = time.monotonic() - started
        failed = ", ".join(r.name for r in report.results if not r.passed)
        return report.ok, elapsed, f"a check failed: {failed}"

    jobs: dict[str, Job] = {
        "cli-quick": lambda: cli("quick"),
        "cli-all": lambda: cli("all"),
        "api-quick": lambda: api(QUICK_CHECKS),
        "api-all": lambda: api(ALL_CHECKS),
    }
    try:
        first = bench.nimctl_up(name, port, profile, "--no-smoke")
        if first.returncode != 0:
            raise RuntimeError(f"setup `nimctl up` exited {first.returncode}: {first.tail()}")
        run_checks(base_url=url, checks=QUICK_CHECKS)  # warm-up: imports openai once in this process
        for i in range(4 * reps):
            for key, job in jobs.items():
                ok, elapsed, why = job()
                if ok:
                    rows[key].add(elapsed)
                else:
                    rows[key].fail(why)
            log(
                f"fig 6 {i + 1}/{4 * reps}: "
                + ", ".join(f"{k} {r.samples[-1]:.2f} s" for k, r in rows.items() if r.samples)
            )
    except Exception as exc:  # noqa: BLE001
        log(f"fig 6: FAILED {exc}")
        rows["cli-quick"].fail(str(exc))
    finally:
        bench.nimctl_down(name)
    return list(rows.values())
