"""`nimctl down`: stop and remove nimctl's containers; never the cache, never anyone else's container."""

from __future__ import annotations

from typing import Annotated

import typer

from nimctl.cli import options as opt
from nimctl.errors import ConfigError


def down(
    name: opt.Name = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every container nimctl created (with --profile: of that profile only).")
    ] = False,
    timeout: Annotated[
        int, typer.Option("--timeout", help="Seconds the NIM gets to stop before it is killed.", min=0)
    ] = 30,
    profile: opt.Profile = None,
    json_output: opt.Json = False,
    engine_url: opt.EngineUrl = None,
) -> None:
    """Stop and remove the NIM container (the model cache stays)."""
    from nimctl.cli.common import target_name
    from nimctl.cli.output import console, emit_json
    from nimctl.deploy import down as deploy_down
    from nimctl.engine import Engine
    from nimctl.settings import load_profile

    if name and all_:
        raise ConfigError("--name and --all exclude each other", hint="give one of them")
    engine = Engine.connect(url=engine_url)
    target = None if all_ else target_name(engine, name, profile)
    # the profile label holds the profile's name (a file's stem), as `up` wrote it
    profile_name = load_profile(profile).name if all_ and profile is not None else None
    removed = deploy_down(engine, target, everything=all_, timeout=timeout, profile=profile_name)
    out = console()
    if removed:
        out.print(f"removed {', '.join(removed)} (the model cache is kept)")
    elif all_:
        of_profile = f" of profile {profile_name!r}" if profile_name else ""
        out.print(f"nothing to remove: no nimctl containers{of_profile}")
    else:
        out.print(f"nothing to remove: no nimctl container named {target!r}")
    if json_output:
        emit_json({"removed": removed})
