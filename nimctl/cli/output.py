"""Humans read stderr (rich), data goes to stdout (plain JSON)."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
