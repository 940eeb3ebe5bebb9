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
        out.print(f"removed {', '.join(removed)} (the model cache is kept)", markup=False, highlight=False)
    else:
        if all_:
            what = "no nimctl containers" + (f" of profile {profile!r}" if profile else "")
        elif name:
            what = f"no nimctl container named {name!r}"
        else:
            what = "no nimctl container" + (f" of profile {profile!r}" if profile else "")
        out.print(f"nothing to remove: {what}{_what_runs(options)}", markup=False, highlight=False)
    if json_output:
        emit_json({"removed": removed})


def _what_runs(options: opt.SettingValues) -> str:
    """`; running: NAME (profile P), ...`: the nimctl containers there are, when `down` found none to remove."""
    from nimctl.engine import connect
    from nimctl.settings import load_options as load
    from nimctl.targets import describe

    others = connect(load("down", options)).managed_containers()
    return f"; there are: {describe(others)}" if others else ""
