"""`nimctl down`: stop and remove nimctl's containers; never the cache, never anyone else's container."""

from __future__ import annotations

from typing import Annotated

import typer

from nimctl.cli import options as opt


@opt.uses_settings("down")
def down(
    options: opt.SettingValues,
    all_: Annotated[
        bool, typer.Option("--all", help="Every container nimctl created (with --profile: of that profile only).")
    ] = False,
    timeout: Annotated[
        int, typer.Option("--timeout", help="Seconds the NIM gets to stop before it is killed.", min=0)
    ] = 30,
    json_output: opt.Json = False,
) -> None:
    """Stop and remove the NIM container (the model cache stays)."""
    from nimctl.api import down as api_down
    from nimctl.cli.output import console, emit_json

    removed = api_down(**options, everything=all_, timeout=timeout)
    name, profile = options["name"], options["profile"]
    out = console()
    if removed:
        out.print(f"removed {', '.join(removed)} (the model cache is kept)")
    elif all_:
        out.print("nothing to remove: no nimctl containers" + (f" of profile {profile!r}" if profile else ""))
    elif name:
        out.print(f"nothing to remove: no nimctl container named {name!r}")
    else:
        out.print("nothing to remove: no nimctl container" + (f" of profile {profile!r}" if profile else ""))
    if json_output:
        emit_json({"removed": removed})
