"""`nimctl status`: each nimctl container, its state and live readiness (rows: deploy.status)."""

from __future__ import annotations

from nimctl.cli import options as opt


def _human_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def status(name: opt.Name = None, json_output: opt.Json = False, engine_url: opt.EngineUrl = None) -> None:
    """List nimctl's containers: name, profile, image, state, ready (checked live), url, uptime."""
    from nimctl.cli.output import console, emit_json
    from nimctl.deploy import status as status_rows
    from nimctl.engine import Engine

    engine = Engine.connect(url=engine_url)
    rows = status_rows(engine, name)
    if json_output:
        emit_json(rows)
        return
    out = console()
    out.print(f"engine: {engine.kind.describe()}", highlight=False)
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
            row["url"] + (f" (via {row['via']})" if row["via"] else ""),
            _human_uptime(row["uptime_s"]),
        )
    out.print(table)
