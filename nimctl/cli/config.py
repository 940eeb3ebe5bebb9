"""`nimctl config show`: the effective settings and where each came from (the key masked)."""

from __future__ import annotations

from typing import Any

from nimctl.cli import options as opt
from nimctl.cli.guard import guarded

app = opt.command_group("Inspect nimctl's settings.")


def _shown(field: str, value: Any) -> Any:
    if field in ("ngc_api_key", "hf_token"):
        return "(set, hidden)" if value is not None else "(not set)"
    if isinstance(value, dict):
        return dict(value)
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


@app.command("show")
@guarded
@opt.uses_settings("config show")
def show(options: opt.SettingValues, json_output: opt.Json = False) -> None:
    """Print every setting, its value and its source (flag, env NAME, profile PATH, default)."""
    from nimctl.cli.output import console, emit_json
    from nimctl.settings import load_options as load

    loaded = load("config show", options)
    rows = [
        {"setting": field, "value": _shown(field, getattr(loaded.settings, field)), "source": loaded.sources[field]}
        for field in type(loaded.settings).model_fields
    ]
    rows.append({"setting": "image (effective)", "value": loaded.settings.image_reference, "source": "derived"})
    if json_output:
        emit_json({"profile": str(loaded.profile.path), "settings": rows})
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"profile {loaded.profile.name} ({loaded.profile.path})"), box=None, title_justify="left")
    for column in ("setting", "value", "source"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["setting"], Text(str(row["value"])), Text(row["source"]))
    console().print(table)
