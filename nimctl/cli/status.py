"""`nimctl status`: each nimctl container, its state and live readiness."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nimctl.cli import options as opt


def _row(info: Any) -> dict[str, Any]:
    from nimctl.deploy import is_ready
    from nimctl.engine import uptime_seconds
    from nimctl.spec import LABEL_MODEL, LABEL_PROFILE, LABEL_READINESS_PATH, LABEL_URL

    url = info.labels.get(LABEL_URL, "")
    running = info.state == "running"
    return {
        "name": info.name,
        "profile": info.labels.get(LABEL_PROFILE, ""),
        "image": info.image,
        "state": info.state,
        "exit_code": info.exit_code,
        "ready": running and bool(url) and is_ready(url, info.labels.get(LABEL_READINESS_PATH, "/v1/health/ready")),
        "url": url,
        "model": info.labels.get(LABEL_MODEL, ""),
        "uptime_s": None if not running else round(uptime_seconds(info) or 0.0, 1),
    }


def _human_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def status(name: opt.Name = None, json_output: opt.Json = False) -> None:
    """List nimctl's containers: name, profile, image, state, ready (checked live), url, uptime."""
    from nimctl.cli.output import console, emit_json
    from nimctl.engine import Engine

    infos = Engine.connect().managed_containers(name)
    with ThreadPoolExecutor(max_workers=8) as pool:  # readiness probes in parallel
        rows = list(pool.map(_row, infos))
    if json_output:
        emit_json(rows)
        return
    out = console()
    if not rows:
        out.print("no nimctl containers" + (f" named {name!r}" if name else ""))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("name", "profile", "image", "state", "ready", "url", "uptime"):
        table.add_column(column)
    for row in rows:
        state = row["state"] + (f" ({row['exit_code']})" if row["exit_code"] is not None else "")
        table.add_row(
            row["name"],
            row["profile"],
            row["image"],
            state,
            "[green]yes[/]" if row["ready"] else "[red]no[/]",
            row["url"],
            _human_uptime(row["uptime_s"]),
        )
    out.print(table)
