"""`nimctl logs`: the NIM container's log, optionally followed."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from nimctl.cli import options as opt
from nimctl.errors import ConfigError


@opt.uses_settings("logs")
def logs(
    options: opt.SettingValues,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[Optional[int], typer.Option("--tail", help="Only the last N lines.", min=0)] = None,
) -> None:
    """Print the NIM container's log (stdout and stderr, as the engine keeps it)."""
    from nimctl.engine import connect
    from nimctl.settings import load_options as load
    from nimctl.targets import target_name

    loaded = load("logs", options)
    engine = connect(loaded)
    target = target_name(engine, loaded, profile_given=options["profile"] is not None)
    info = engine.inspect(target)
    if info is None or not info.managed:
        raise ConfigError(f"no nimctl container named {target!r}", hint="`nimctl status` lists them")
    try:
        for chunk in engine.follow_logs(info.id, tail="all" if tail is None else tail, follow=follow):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
    except KeyboardInterrupt:
        if not follow:
            raise
        # Ctrl-C is how `logs -f` ends, as it ends `status --watch`: exit 0
