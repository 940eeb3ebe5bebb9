"""Figure 3: `nimctl up` again on a running, ready deployment: wall time and restarts."""

from __future__ import annotations

from typing import Any

from scripts.nimbench.context import Bench
from scripts.nimbench.progress import log
from scripts.nimbench.rows import Row, Target


def identity(attrs: dict[str, Any] | None) -> tuple:
    """What changes when a container is recreated or restarted."""
    state = (attrs or {}).get("State", {})
    return (attrs or {}).get("Id"), state.get("StartedAt"), (attrs or {}).get("RestartCount"), state.get("Status")


def fig_unchanged_up(bench: Bench, reps: int) -> list[Row]:
    fig = "3 unchanged up"
    wall = Row(fig, "nimctl up --no-smoke", "s", target=Target(0.3, 1.0, "median ≤ 300 ms, p95 ≤ 1 s"))  # issue 17
    wall_smoke = Row(fig, "nimctl up (default: quick smoke)", "s", note="informational")
    restarts = Row(fig + " restarts", "nimctl up (both variants)", "restarts", target=Target(0, 0, "0"))
    name, port = bench.name("unchanged"), bench.free_port()
    profile = bench.profile(SIM_STARTUP_DELAY="0.5")
    first = bench.nimctl_up(name, port, profile, "--no-smoke")
    try:
        if first.returncode != 0:
            raise RuntimeError(f"setup `nimctl up` exited {first.returncode}: {first.tail()}")
        for i in range(4 * reps):
            for row, extra in ((wall, ("--no-smoke",)), (wall_smoke, ())):
                before = identity(bench.inspect(name))
                result = bench.nimctl_up(name, port, profile, *extra)
                after = identity(bench.inspect(name))
                if result.returncode != 0:
                    row.fail(f"exited {result.returncode}: {result.tail()}")
                    continue
                action = result.json().get("action")  # the plan nimctl carried out: "noop" expected
                changed = int(before != after)
                row.add(result.wall, action=action, before=before, after=after)
                restarts.add(changed, variant=row.tool, action=action, before=before, after=after)
            log(
                f"fig 3 {i + 1}/{4 * reps}: --no-smoke {wall.cell(wall.samples[-1] if wall.samples else None)}, "
                f"with smoke {wall_smoke.cell(wall_smoke.samples[-1] if wall_smoke.samples else None)}"
            )
    except Exception as exc:  # noqa: BLE001
        log(f"fig 3: FAILED {exc}")
        wall.fail(str(exc))
    finally:
        bench.nimctl_down(name)
    # restarts: per run 0 or 1 (container Id/StartedAt/RestartCount/status changed around the run)
    restarts.note = f"{sum(restarts.samples):.0f} restart(s) in {len(restarts.samples)} runs"
    return [wall, wall_smoke, restarts]
