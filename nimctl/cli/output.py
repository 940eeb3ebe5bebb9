"""Humans read stderr (rich), data goes to stdout (plain JSON)."""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def console() -> Any:
    from rich.console import Console

    # Piped into a CI log, rich would assume 80 columns and cut URLs and image names short.
    width = None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 200
    return Console(stderr=True, highlight=False, width=width)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
