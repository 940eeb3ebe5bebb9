"""Progress lines on stderr (stdout carries only the markdown table)."""

from __future__ import annotations

import sys
import time


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
