"""Figure 1: lag from the simulator's `ready_at_ms=` line to each tool reporting ready (random
SIM_STARTUP_DELAY per run), and health requests per second while the server was live but loading."""

from __future__ import annotations

import random
from typing import Any

from scripts.nimbench.comparators import WAITERS, Comparator, Nimctl
from scripts.nimbench.context import Bench
from scripts.nimbench.progress import log
from scripts.nimbench.retry import retried
from scripts.nimbench.rows import Row, Target
from scripts.nimbench.simlog import health_requests, live_at, ready_at, started_at

LAG_TARGET = Target(5.0, 150.0, "median ≤ 5 ms, p95 ≤ 150 ms")  # issue 17
RATE_TARGET = Target(2.0, 2.0, "≤ 2 req/s")
RATE_FIGURE = "1 health req/s while loading"
EXITED_FIGURE = "1 ready line → nimctl exited"


def wait_run(bench: Bench, comparator: Comparator, delay: str, timeout: float = 120) -> dict[str, Any]:
    """One start-up, waited for by `comparator`: the instants and the container's log facts."""
    name = bench.name(comparator.tool.replace(".", ""))
    port = bench.free_port()
    try:
        outcome = comparator.start(bench, name, port, {"SIM_STARTUP_DELAY": delay}, timeout)
        if outcome.t_ready is None:
            raise RuntimeError(outcome.why or f"not ready within {timeout:.0f} s")
        out: dict[str, Any] = {"name": name, "delay": delay, "t_report": outcome.t_ready, **outcome.details}
        text = bench.logs(name, timestamps=True)
        out["ready_at"] = ready_at(text)
        out["requests_not_ready"], out["requests"] = health_requests(text)
        out["live_at"] = live_at(text)
        out["started_at"] = started_at(bench.inspect(name))
        if out["ready_at"] is None:
            raise RuntimeError("no ready_at_ms= line in the container's log")
        return out
    finally:
        comparator.remove(bench, name)


def add_rate(row: Row, run: dict[str, Any]) -> float:
    """Health requests per second while the server was live but not ready (its 503 answers)."""
    waited = run["ready_at"] - run["live_at"] if run.get("live_at") else 0.0
    if waited > 0:
        row.add(
            run["requests_not_ready"] / waited,
            requests_not_ready=run["requests_not_ready"],
            requests_total=run["requests"],
            live_but_loading_s=waited,
        )
    else:
        row.fail(f"no live/ready instants in the log of {run['name']}")
    return waited


def lag_details(run: dict[str, Any]) -> dict[str, Any]:
    details = {k: run.get(k) for k in ("name", "t_report", "ready_at", "t_phase_ready", "t_exit", "requests")}
    if run.get("t_phase_ready") is not None:
        details["phase_line_lag_ms"] = (run["t_phase_ready"] - run["ready_at"]) * 1000
    if run.get("t_exit") is not None:
        details["exit_lag_ms"] = (run["t_exit"] - run["ready_at"]) * 1000
    return details


def fig_readiness(bench: Bench, reps: int) -> list[Row]:
    fig = "1 readiness lag"
    delay = bench.args.delay_range
    waiters = [c for c in WAITERS if c.tool == "nimctl" or not bench.nimctl_only]
    tools = [c.tool for c in waiters]
    lag = {c.tool: Row(fig, c.tool, "ms", target=LAG_TARGET if c.tool == "nimctl" else None) for c in waiters}
    exited = Row(EXITED_FIGURE, "nimctl", "ms", note="informational: the interpreter's exit after `ready`")
    rate = {
        c.tool: Row(RATE_FIGURE, c.tool, "req/s", target=RATE_TARGET if c.tool == "nimctl" else None) for c in waiters
    }
    for rep in range(reps):
        order = list(waiters)
        random.shuffle(order)  # no tool always runs first or last
        for comparator in order:
            tool = comparator.tool
            try:
                run, failures = retried(lambda c=comparator: wait_run(bench, c, delay), f"fig 1 rep {rep + 1} {tool}")
                if failures:
                    lag[tool].extra.append({"retried_after": failures})
                    lag[tool].retries += 1
            except Exception as exc:  # noqa: BLE001
                log(f"fig 1 rep {rep + 1} {tool}: FAILED {exc}")
                lag[tool].fail(str(exc))
                rate[tool].fail(str(exc))
                continue
            value = (run["t_report"] - run["ready_at"]) * 1000
            details = lag_details(run)
            lag[tool].add(value, **details)
            if tool == "nimctl" and details.get("exit_lag_ms") is not None:
                exited.add(details["exit_lag_ms"], name=run["name"])
            waited = add_rate(rate[tool], run)
            log(
                f"fig 1 rep {rep + 1}/{reps} {tool:14s} lag {value:7.1f} ms, "
                f"{run['requests_not_ready']} 'not ready' answers over {waited:.1f} s live-but-loading"
            )
    rows = [lag[t] for t in tools] + ([exited] if "nimctl" in tools else []) + [rate[t] for t in tools]
    # a long wait: does nimctl keep to ~1 probe a second when nothing happens for a while?
    long_wait = bench.args.long_wait
    if long_wait > 0:
        row = Row(RATE_FIGURE, "nimctl", "req/s", target=RATE_TARGET, note=f"{long_wait:g} s wait")
        try:
            run, _ = retried(lambda: wait_run(bench, Nimctl(), f"{long_wait:g}"), "fig 1 long wait")
            waited = add_rate(row, run)
            log(f"fig 1 long wait: nimctl got {run['requests_not_ready']} 'not ready' answers in {waited:.1f} s")
        except Exception as exc:  # noqa: BLE001
            row.fail(str(exc))
        rows.append(row)
    return rows
