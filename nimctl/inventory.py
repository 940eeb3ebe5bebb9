"""`nimctl status` as data: one row per nimctl container, with what its NIM says about itself.

The rows are what `status --json` prints (and `nimctl.status()` returns); every running NIM is
probed at once (nim_probe), through an SSH tunnel when the engine is remote.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nimctl.container import ContainerInfo
from nimctl.engine.port import EnginePort
from nimctl.nim_probe import NimReport, Target, probe_all
from nimctl.spec import MODEL_PROFILE_ENV


def status(engine: EnginePort, name: str | None = None) -> list[dict[str, Any]]:
    """One row per nimctl container (the rows of `nimctl status --json`); running NIMs probed live, all at once."""
    containers = engine.managed_containers(name)
    running = [info for info in containers if info.running and info.url]
    with contextlib.ExitStack() as tunnels:  # a remote engine's NIMs are probed through SSH tunnels
        targets = [_target(info, tunnels.enter_context(engine.reach(info.url))) for info in running]
        reports = dict(zip((info.id for info in running), probe_all(targets), strict=True))
    via = engine.kind.via
    return [_status_row(info, reports.get(info.id), via) for info in containers]


def _target(info: ContainerInfo, url: str) -> Target:
    return Target(url, info.readiness_path, info.env.get(MODEL_PROFILE_ENV) or None)


def _status_row(info: ContainerInfo, report: NimReport | None, via: str | None) -> dict[str, Any]:
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
    }
