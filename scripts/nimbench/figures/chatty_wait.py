"""Figure 7: nimctl waiting on a NIM that prints 3,000 log lines a second during start-up
(SIM_LOG_RATE): its CPU use over the wait, its readiness lag, and how soon it notices an exit."""

from __future__ import annotations

import re
from typing import Any

from scripts.nimbench.context import Bench
from scripts.nimbench.progress import log
from scripts.nimbench.rows import Row, Target
from scripts.nimbench.simlog import ready_at

FIGURE = "7 waiting on a chatty NIM (3,000 log lines/s)"
LOG_RATE = "3000"
LOADING = "6"  # seconds of chatter before ready: long enough for a steady CPU figure
CPU_TARGET = Target(5.0, 5.0, "≤ 5% of one core")
LAG_TARGET = Target(50.0, 50.0, "≤ 50 ms")
EXIT_TARGET = Target(1000.0, 1000.0, "≤ 1 s")


def chatty_ready(bench: Bench) -> dict[str, Any]:
    """One start-up with chatter: CPU % between nimctl's first and last phase lines, and its lag."""
    name, port = bench.name("chatty"), bench.free_port()
    try:
        profile = bench.profile(SIM_STARTUP_DELAY=LOADING, SIM_LOG_RATE=LOG_RATE)
        result = bench.nimctl_up(name, port, profile, "--no-smoke", timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"nimctl up exited {result.returncode}: {result.tail()}")
        phase = rf"^• {re.escape(name)}: "
        cpu = result.cpu_share(phase + r"(starting|live)$", phase + r"ready$")
        said_ready = result.first(phase + r"ready$")
        text = bench.logs(name)
        became_ready = ready_at(text)
        if cpu is None or said_ready is None or became_ready is None:
            raise RuntimeError(f"no phase lines or ready_at_ms= line to measure by: {result.tail()}")
        lines = text.count("\n")
        if lines < int(LOG_RATE) * float(LOADING) / 2:  # an image without SIM_LOG_RATE measures nothing
            raise RuntimeError(f"the simulator printed only {lines} lines: is its image older than SIM_LOG_RATE?")
        return {"name": name, "cpu_percent": cpu, "lag_ms": (said_ready - became_ready) * 1000, "log_lines": lines}
    finally:
        bench.nimctl_down(name)


def chatty_crash(bench: Bench) -> float:
    """Seconds from the chatty simulator's exit (docker's die event) to nimctl's `error:` line."""
    name, port = bench.name("chatty-crash"), bench.free_port()
    try:
        profile = bench.profile(SIM_STARTUP_DELAY="60", SIM_LOG_RATE=LOG_RATE, SIM_CRASH_AFTER="4")
        result = bench.nimctl_up(name, port, profile, "--no-smoke", timeout=120)
        died, gave_up = bench.die_time(name), result.first(r"^error: ")
        if result.returncode == 0 or died is None or gave_up is None:
            raise RuntimeError(f"no crash to time (exit {result.returncode}): {result.tail()}")
        return gave_up - died
    finally:
        bench.nimctl_down(name)


def fig_chatty_wait(bench: Bench, reps: int) -> list[Row]:
    cpu = Row(FIGURE, "nimctl", "% core", target=CPU_TARGET, note="CPU over the wait, /proc/<pid>/stat")
    lag = Row(FIGURE + ": readiness lag", "nimctl", "ms", target=LAG_TARGET)
    exit_notice = Row(FIGURE + ": exit notice", "nimctl", "ms", target=EXIT_TARGET)
    for rep in range(reps):
        try:
            run = chatty_ready(bench)
            cpu.add(run["cpu_percent"], name=run["name"], log_lines=run["log_lines"])
            lag.add(run["lag_ms"], name=run["name"])
            log(f"fig 7 rep {rep + 1}/{reps}: {run['cpu_percent']:.1f}% of a core, lag {run['lag_ms']:.1f} ms")
        except Exception as exc:  # noqa: BLE001 - one failed run is a row error, not the end of the bench
            cpu.fail(str(exc))
            lag.fail(str(exc))
        try:
            seconds = chatty_crash(bench)
            exit_notice.add(seconds * 1000)
            log(f"fig 7 rep {rep + 1}/{reps}: exit noticed after {seconds * 1000:.0f} ms")
        except Exception as exc:  # noqa: BLE001
            exit_notice.fail(str(exc))
    return [cpu, lag, exit_notice]
