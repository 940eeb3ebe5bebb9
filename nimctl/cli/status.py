"""`nimctl status`: each nimctl container, its state and live readiness (rows: deploy.status)."""

from __future__ import annotations

from nimctl.cli import options as opt


def _human_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _yes_no(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def status(name: opt.Name = None, json_output: opt.Json = False) -> None:
    """List nimctl's containers: name, profile, image, state, live and ready (checked now), url, uptime."""
    from nimctl.cli.output import console, emit_json
    from nimctl.deploy import status as status_rows
    from nimctl.engine import Engine

    rows = status_rows(Engine.connect(), name)
    if json_output:
        emit_json(rows)
        return
    out = console()
    if not rows:
        out.print("no nimctl containers" + (f" named {name!r}" if name else ""))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("name", "profile", "image", "state", "live", "ready", "url", "uptime"):
        table.add_column(column)
    for row in rows:
        state = row["state"] + (f" ({row['exit_code']})" if row["exit_code"] is not None else "")
        table.add_row(
            row["name"],
            row["profile"],
            row["image"],
            state,
            _yes_no(row["live"]),
            _yes_no(row["ready"]),
            row["url"],
            _human_uptime(row["uptime_s"]),
        )
    out.print(table)
