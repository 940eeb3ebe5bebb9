"""Logging through the standard `logging` module, in NIM's line shape:
`INFO 2026-01-02 03:04:05.678 source.py:12] message`.

The source (the NIM file:line a real NIM would print) travels in the record's `extra`; a banner line
(`raw=True`) is printed as it is. Each simulator gets its own logger object, not one from the global
registry, so several in-process simulators never share handlers or lines.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import TextIO


def nim_line(level: str, created: float, source: str, message: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) + f".{int(created * 1000) % 1000:03d}"
    return f"{level} {stamp} {source}] {message}"


class NimFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "raw", False):
            return record.getMessage()
        return nim_line(record.levelname, record.created, getattr(record, "source", "?"), record.getMessage())


class KeepHandler(logging.Handler):
    """Keeps the last formatted lines in memory (`SimHandle.log_lines` in tests)."""

    def __init__(self, keep: int):
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class SimLog:
    """The simulator's logger: `info`/`error` take the NIM source name first; `banner` prints as is."""

    def __init__(self, stream: TextIO | None = None, keep: int = 0):
        self.logger = logging.Logger("nim-sim", logging.INFO)  # unregistered: private to this simulator
        self.logger.propagate = False
        self._kept: KeepHandler | None = None
        handlers: list[logging.Handler] = []
        if keep > 0:
            self._kept = KeepHandler(keep)
            handlers.append(self._kept)
        if stream is not None:
            handlers.append(logging.StreamHandler(stream))  # flushes after every line
        for handler in handlers:
            handler.setFormatter(NimFormatter())
            self.logger.addHandler(handler)

    @property
    def lines(self) -> list[str]:
        return list(self._kept.lines) if self._kept else []

    def info(self, source: str, message: str) -> None:
        self.logger.info(message, extra={"source": source})

    def error(self, source: str, message: str) -> None:
        self.logger.error(message, extra={"source": source})

    def burst(self, source: str, messages: list[str]) -> None:
        """Many INFO lines, each its own write as a NIM's logging does (SIM_LOG_RATE's chatter)."""
        now = time.time()
        for message in messages:
            self.logger.info(nim_line("INFO", now, source, message), extra={"raw": True})

    def banner(self, text: str) -> None:
        for line in text.splitlines():
            self.logger.info(line, extra={"raw": True})
