"""Figure 4: whole `nimctl up --no-smoke` against `docker run -d` + a 0.1 s loop: the ratio of wall times."""

from __future__ import annotations

import re
import time
import tomllib

from scripts.nimbench.comparators import Comparator, Nimctl, RunbookLoop
from scripts.nimbench.context import SIM_PROFILE, Bench
from scripts.nimbench.progress import log
from scripts.nimbench.retry import retried
from scripts.nimbench.rows import Row, Target

TIMEOUT = 120.0


def whole_wall(bench: Bench, comparator: Comparator, delay: str) -> float:
    """Seconds from starting the tool to it reporting ready (nimctl: until its process exits)."""
    tag = re.sub(r"[^a-z0-9]+", "-", comparator.tool.lower()).strip("-")[:24]  # a valid container name
    name, port = bench.name("whole-" + tag), bench.free_port()
    try:
        started = time.monotonic()
        outcome = comparator.start(bench, name, port, {"SIM_STARTUP_DELAY": delay}, TIMEOUT)
        elapsed = time.monotonic() - started
        if outcome.t_ready is None:
            raise RuntimeError(outcome.why or f"not ready within {TIMEOUT:.0f} s")
        # nimctl's own wall time: from just before its Popen to its exit, as measured around the process
        return outcome.details.get("wall_s", elapsed)
    finally:
        comparator.remove(bench, name)


def fig_whole_up(bench: Bench, reps: int) -> list[Row]:
    fig = "4 whole up"
    # the sim profile's own start-up delay (configs/sim.toml), the same for both sides
    delay = str(tomllib.loads(SIM_PROFILE.read_text()).get("env", {}).get("SIM_STARTUP_DELAY", "2"))
    nim = Row(fig, "nimctl up --no-smoke", "s", note=f"SIM_STARTUP_DELAY={delay}")
    book = Row(fig, "runbook-0.1s (docker run -d + loop)", "s", note=f"SIM_STARTUP_DELAY={delay}")
    ratio = Row(fig + " ratio", "nimctl / runbook-0.1s", "x", target=Target(1.1, 1.1, "≤ 1.1×"))
    # with a GPU request (the engine's nvidia runtime; a stand-in GPU here): the GPU check's
    # throwaway nvidia-smi container, or its kept evidence (the warm-up leaves it)
    gpu_tool = "nimctl up --no-smoke --gpus all --runtime nvidia"
    gpu = Row(fig, gpu_tool, "s", note=f"SIM_STARTUP_DELAY={delay}; GPU check (evidence from the warm-up)")
    gpu_ratio = Row(fig + " ratio", "nimctl --gpus all / runbook-0.1s (no GPU)", "x", target=Target(1.1, 1.1, "≤ 1.1×"))
    sides = [
        (Nimctl(), nim),
        (RunbookLoop(0.1), book),
        (Nimctl("--gpus", "all", "--runtime", "nvidia", tool=gpu_tool), gpu),
    ]
    log("fig 4: warm-up (untimed)")
    for comparator, _ in sides:
        try:
            whole_wall(bench, comparator, delay)
        except Exception as exc:  # noqa: BLE001
            log(f"fig 4 warm-up: {exc}")
    for rep in range(reps):
        order = sides if rep % 2 == 0 else sides[::-1]  # alternate which one runs first
        walls: dict[str, float] = {}
        for comparator, row in order:
            try:
                walls[row.tool], failures = retried(
                    lambda c=comparator: whole_wall(bench, c, delay), f"fig 4 rep {rep + 1} {row.tool}"
                )
                row.add(walls[row.tool], **({"retried_after": failures} if failures else {}))
                row.retries += bool(failures)
            except Exception as exc:  # noqa: BLE001
                row.fail(str(exc))
                log(f"fig 4 rep {rep + 1} {row.tool}: FAILED {exc}")
        for row, into in ((nim, ratio), (gpu, gpu_ratio)):
            if row.tool in walls and book.tool in walls:
                into.add(walls[row.tool] / walls[book.tool], nimctl_s=walls[row.tool], runbook_s=walls[book.tool])
            else:
                into.fail("one side failed")
        log(f"fig 4 rep {rep + 1}/{reps}: " + ", ".join(f"{tool} {wall:.2f} s" for tool, wall in walls.items()))
    return [nim, book, ratio, gpu, gpu_ratio]
