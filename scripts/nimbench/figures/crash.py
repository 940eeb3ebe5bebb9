"""Figure 2: the simulator exits during start-up (SIM_CRASH_AFTER); the time from its exit to each
tool giving up, bounded by --crash-wait."""

from __future__ import annotations

import random
from typing import Any

from scripts.nimbench.comparators import WAITERS, Comparator
from scripts.nimbench.context import Bench
from scripts.nimbench.procs import parallel
from scripts.nimbench.progress import log
from scripts.nimbench.retry import retried
from scripts.nimbench.rows import Row, Target
from scripts.nimbench.simlog import finished_at

CRASH_TARGET = Target(1.0, 1.0, "≤ 1 s")
LOADING = "60"  # the simulator would load for a minute: only the crash ends the start-up


def crash_nimctl(bench: Bench, comparator: Comparator, crash_after: str) -> dict[str, Any]:
    """nimctl: its `error:` line (else its exit) against docker's die event."""
    name, port = bench.name("crash-nimctl"), bench.free_port()
    try:
        env = {"SIM_STARTUP_DELAY": LOADING, "SIM_CRASH_AFTER": crash_after}
        outcome = comparator.start(bench, name, port, env, timeout=120)
        died = bench.die_time(name)
        if died is None:
            raise RuntimeError(f"no die event for {name} ({outcome.why})")
        if outcome.t_gave_up is None:
            raise RuntimeError("nimctl up reported success although the simulator crashed")
        t_exit = outcome.details["t_exit"]
        return {
            "name": name,
            "died_at": died,
            "t_gave_up": outcome.t_gave_up,
            "t_exit": t_exit,
            "returncode": outcome.details["returncode"],
            "exit_after_die_s": t_exit - died,
        }
    finally:
        comparator.remove(bench, name)


def crash_other(bench: Bench, comparator: Comparator, crash_after: str, bound: float) -> dict[str, Any]:
    """A comparator: did it give up (not: report ready, not: wait out its bound)?"""
    name, port = bench.name("crash-" + comparator.tool.replace(".", "")), bench.free_port()
    budget = float(crash_after) + bound + 1.0  # from the start: covers the crash plus the bound
    try:
        outcome = comparator.start(
            bench, name, port, {"SIM_STARTUP_DELAY": LOADING, "SIM_CRASH_AFTER": crash_after}, budget
        )
        how = outcome.why
        if outcome.t_ready is not None:
            how = "reported ready although the container crashed"
        attrs = bench.inspect(name)
        return {
            "name": name,
            "died_at": finished_at(attrs),
            "die_event_at": bench.die_times.get(name),
            "exit_code": (attrs or {}).get("State", {}).get("ExitCode"),
            "t_gave_up": outcome.t_gave_up,
            "how": how,
            "requests": outcome.details.get("requests"),
        }
    finally:
        comparator.remove(bench, name)


def fig_crash(bench: Bench, reps: int) -> list[Row]:
    fig = "2 crash → gave up"
    bound = bench.args.crash_wait
    nimctl, *others = WAITERS
    if bench.nimctl_only:
        others = []
    waiters = [nimctl, *others]
    rows = {c.tool: Row(fig, c.tool, "s", target=CRASH_TARGET if c is nimctl else None, bound_s=bound) for c in waiters}
    for rep in range(reps):
        crash_after = f"{random.uniform(1.5, 3.5):.2f}"
        # nimctl alone (its timing matters); the comparators together (they only wait out the bound)
        try:
            run, failures = retried(lambda c=crash_after: crash_nimctl(bench, nimctl, c), f"fig 2 rep {rep + 1} nimctl")
            if failures:
                rows["nimctl"].retries += 1
                run["retried_after"] = failures
            value = run["t_gave_up"] - run["died_at"]
            rows["nimctl"].add(value, **run)
            log(f"fig 2 rep {rep + 1}/{reps} nimctl gave up {value:.3f} s after the exit (crash at {crash_after} s)")
        except Exception as exc:  # noqa: BLE001
            log(f"fig 2 rep {rep + 1} nimctl: FAILED {exc}")
            rows["nimctl"].fail(str(exc))
        results = parallel([lambda c=c, a=crash_after: crash_other(bench, c, a, bound) for c in others], workers=3)
        for comparator, run in zip(others, results):
            row = rows[comparator.tool]
            if isinstance(run, BaseException):
                if isinstance(run, KeyboardInterrupt):
                    raise run
                row.fail(str(run))
                log(f"fig 2 rep {rep + 1} {row.tool}: FAILED {run}")
                continue
            if run["died_at"] is None:
                row.fail(f"the container did not exit (state {run})")
                continue
            gave_up = run["t_gave_up"]
            if gave_up is not None and gave_up - run["died_at"] <= bound:
                row.add(gave_up - run["died_at"], **run)
                log(f"fig 2 rep {rep + 1}/{reps} {row.tool} gave up {gave_up - run['died_at']:.3f} s after the exit")
            else:
                row.not_noticed += 1
                row.extra.append({"not_noticed": True, **run})
                log(f"fig 2 rep {rep + 1}/{reps} {row.tool}: did not notice the exit within {bound:.0f} s")
    return list(rows.values())
