"""Humans read stderr (rich), data goes to stdout (plain JSON)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TextIO

from nimctl import lazy
from nimctl.plain_console import PlainConsole

if TYPE_CHECKING:
    import json

    import rich.console as rich_console
else:  # neither is needed for `--help` (guard.py imports this module)
    json = lazy.module("json")
    rich_console = lazy.module("rich.console")


def plain_output(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """No colour and no live bars: the stream is not a terminal (a CI log, a pipe) or NO_COLOR is set.

    NO_COLOR follows no-color.org: present and not empty.
    """
    return not stream.isatty() or bool(environ.get("NO_COLOR"))


@lru_cache(maxsize=1)
def console() -> Any:
    # Piped into a CI log, rich would assume 80 columns and cut URLs and image names short.
    width = None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 200
    if plain_output(sys.stderr):
        # Text goes out as it is, without loading rich; a table loads it. force_terminal=False also
        # turns off spinners and PullDisplay's live bars (is_terminal).
        return PlainConsole(
            lambda: rich_console.Console(stderr=True, highlight=False, width=width, no_color=True, force_terminal=False)
        )
    return rich_console.Console(stderr=True, highlight=False, width=width)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
