"""`nimctl up`: start the NIM (or converge on the running one), wait until ready, smoke-test it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nimctl.cli import options as opt
from nimctl.errors import ConfigError


@opt.uses_settings("up")
def up(
    options: opt.SettingValues,
    no_smoke: Annotated[bool, typer.Option("--no-smoke", help="Same as --smoke none.")] = False,
    force_recreate: Annotated[
        bool, typer.Option("--force-recreate", help="Recreate the container even if its config is unchanged.")
    ] = False,
    keep_on_failure: Annotated[
        bool, typer.Option("--keep-on-failure", help="Keep a container that failed to start, for debugging.")
    ] = False,
    junit_xml: Annotated[
        Optional[Path],
        typer.Option("--junit-xml", help="Also write the smoke suite's report as a JUnit XML file.", dir_okay=False),
    ] = None,
    json_output: opt.Json = False,
) -> None:
    """Start the NIM like NVIDIA's `docker run`, wait until it is ready, then smoke-test it."""
    from nimctl.api import up as api_up
    from nimctl.cli.output import console, emit_json
    from nimctl.options import parse_env_pairs
    from nimctl.plain_console import print_parts

    smoke = options["smoke"]
    if no_smoke and smoke not in (None, "none"):
        raise ConfigError("--no-smoke contradicts --smoke " + smoke, hint="give one of them")
    out = console()
    result = api_up(
        **(options | {"env": parse_env_pairs(options["env"]), "smoke": "none" if no_smoke else smoke}),
        force_recreate=force_recreate,
        keep_on_failure=keep_on_failure,
        junit_xml=junit_xml,
        console=out,
    )
    where = f" (on the engine's host; nimctl reached it via {result.via})" if result.via else ""
    print_parts(  # rich is not loaded for it off a terminal
        out,
        ("ready", "bold green"),
        f" {result.name}: {result.url}/v1{where}  model ",
        (result.model or "(none listed)", "bold"),
        f" ({result.action}, {result.seconds:.1f}s)",
    )
    if json_output:
        emit_json(result.to_dict())
