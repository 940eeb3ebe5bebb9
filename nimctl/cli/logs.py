"""`nimctl logs`: the NIM container's log, optionally followed."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from nimctl.cli import options as opt
from nimctl.errors import ConfigError


def logs(
    name: opt.Name = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[Optional[int], typer.Option("--tail", help="Only the last N lines.", min=0)] = None,
    profile: opt.Profile = None,
    engine_url: opt.EngineUrl = None,
) -> None:
    """Print the NIM container's log (stdout and stderr, as the engine keeps it)."""
    from nimctl.engine import connect
    from nimctl.settings import load_settings
    from nimctl.targets import target_name

    engine = connect(load_settings({"engine_url": engine_url}, profile=profile))
    target = target_name(engine, name, profile)
    info = engine.inspect(target)
    if info is None or not info.managed:
        raise ConfigError(f"no nimctl container named {target!r}", hint="`nimctl status` lists them")
    for chunk in engine.follow_logs(info.id, tail="all" if tail is None else tail, follow=follow):
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
