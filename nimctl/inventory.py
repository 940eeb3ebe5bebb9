"""`nimctl status` as data: one row per nimctl container, with what its NIM says about itself.

The rows are what `status --json` prints (and `nimctl.status()` returns); every running NIM is
probed at once (nim_probe), through an SSH tunnel when the engine is remote.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from nimctl.container import ContainerInfo
from nimctl.diagnosis import diagnose
from nimctl.engine.port import EnginePort
from nimctl.errors import NimctlError
from nimctl.nim_probe import NimReport, Target, probe_all
from nimctl.restart import LOOP_WINDOW, crash_loop
from nimctl.spec import MODEL_PROFILE_ENV

LOG_TAIL_LINES = 50  # the lines the crash loop's cause is read from (as deploy's failure report)


def status(engine: EnginePort, name: str | None = None, *, deep: bool = False) -> list[dict[str, Any]]:
    """One row per nimctl container (the rows of `nimctl status --json`); running NIMs probed live, all at once.

    With `deep`, each ready NIM is also asked for a one-token completion (`serving`).
    """
    containers = engine.managed_containers(name)
    running = [info for info in containers if info.running and info.url]
    with contextlib.ExitStack() as tunnels:  # a remote engine's NIMs are probed through SSH tunnels
        targets = [_target(info, tunnels.enter_context(engine.reach(info.url))) for info in running]
        reports = dict(zip((info.id for info in running), probe_all(targets, deep=deep), strict=True))
    via = engine.kind.via
    return [_status_row(info, reports.get(info.id), via, _crash_loop(engine, info)) for info in containers]


def not_serving(rows: list[dict[str, Any]]) -> list[str]:
    """The names of the NIMs ready by their health route that did not answer a completion (status --deep)."""
    return [row["name"] for row in rows if row["ready"] and row.get("serving") is False]


def _target(info: ContainerInfo, url: str) -> Target:
    return Target(url, info.readiness_path, info.env.get(MODEL_PROFILE_ENV) or None, info.model or None)


def _crash_loop(engine: EnginePort, info: ContainerInfo) -> dict[str, Any] | None:
    """The row's `crash_loop`: None, or why (restart.crash_loop), the last exit code and the log's known cause.

    Only a container the engine restarted costs more than its inspect: its `die` events of the
    last ten minutes and its log tail.
    """
    if info.restart_count <= 0:
        return None
    now = time.time()
    try:
        deaths = engine.deaths(info.id, since=now - LOOP_WINDOW)
    except NimctlError:
        deaths = []  # an engine that keeps no events: the give-up of on-failure:N is still seen
    exit_code = info.exit_code
    if exit_code is None and deaths:
        exit_code = deaths[-1][1]  # running again: the exit code of its last death
    loop = crash_loop(
        info.restart_policy,
        restarts=info.restart_count,
        state=info.state,
        exit_code=exit_code if exit_code is not None else info.last_exit_code,
        recent_deaths=[when for when, _ in deaths],
        now=now,
    )
    if loop is None:
        return None
    cause = diagnose(engine.logs(info.id, tail=LOG_TAIL_LINES).splitlines())
    return {
        "reason": loop.reason,
        "restarts_recent": loop.restarts_recent,
        "last_exit_code": loop.last_exit_code,
        "cause": cause.cause if cause else None,
        "action": cause.action if cause else None,
        "summary": loop.describe(),
    }


def _status_row(
    info: ContainerInfo, report: NimReport | None, via: str | None, loop: dict[str, Any] | None = None
) -> dict[str, Any]:
    uptime = info.uptime()
    gpus = info.gpus
    return {
        "name": info.name,
        "profile": info.profile,
        "image": info.image,
        "state": info.state,
        "exit_code": info.exit_code,
        "live": report is not None and report.live,
        "ready": report is not None and report.ready,
        "url": info.url,
        "via": via,
        "model": report.model if report else None,  # what the NIM serves (/v1/models), never assumed
        "uptime_s": None if not info.running else round(uptime or 0.0, 1),
        "gpus": gpus.normalized if gpus is not None else None,
        "version": report.version if report else None,
        "model_profile": report.model_profile if report else info.env.get(MODEL_PROFILE_ENV) or None,
        "metrics": report.metrics if report else None,
        "serving": report.serving if report else None,  # status --deep: answered a one-token completion
        "restarts": info.restart_count,
        "restart_policy": str(info.restart_policy),
        "crash_loop": loop,
    }
