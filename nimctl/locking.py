"""One `nimctl up` at a time per container name, across processes (an advisory file lock)."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nimctl.errors import Busy


def lock_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/nimctl-{os.getuid()}"
    return Path(base) / "nimctl-locks"


@contextmanager
def deployment_lock(name: str, timeout: float, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold the lock for `name`; if another nimctl holds it, call on_wait once and wait up to `timeout`."""
    directory = lock_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock")
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    on_wait()
                    told = True
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"another nimctl is still starting {name!r}",
                        hint="wait for it, or see `nimctl status`; `nimctl down` stops it",
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
