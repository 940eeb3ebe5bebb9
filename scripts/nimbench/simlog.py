"""What the simulator's log and docker's container state say about a start-up."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

HEALTH_LINE = re.compile(r'"GET /v1/health/ready HTTP/1\.[01]" (\d{3})')
READY_AT = re.compile(r"ready_at_ms=(\d+(?:\.\d+)?)")  # to the microsecond; whole ms from images before it


def ready_at(log_text: str) -> float | None:
    """Epoch seconds of the simulator's `ready_at_ms=` line."""
    match = READY_AT.search(log_text)
    return float(match.group(1)) / 1000.0 if match else None


def health_requests(log_text: str) -> tuple[int, int]:
    """(GETs of /v1/health/ready answered "not ready" before the first 200, all of them up to it)."""
    not_ready = total = 0
    for line in log_text.splitlines():
        match = HEALTH_LINE.search(line)
        if match:
            total += 1
            if match.group(1) == "200":
                break
            not_ready += 1
    return not_ready, total


def live_at(timestamped_log: str) -> float | None:
    """When the simulator's HTTP server started (its "Uvicorn running on" line, docker's timestamp)."""
    for line in timestamped_log.splitlines():
        stamp, _, text = line.partition(" ")
        if "Uvicorn running on" in text:
            return docker_time(stamp)
    return None


def docker_time(text: str | None) -> float | None:
    """Docker's RFC 3339 nanosecond timestamps → epoch seconds (None for docker's zero time)."""
    if not text or text.startswith("0001-"):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def started_at(attrs: dict[str, Any] | None) -> float | None:
    return docker_time((attrs or {}).get("State", {}).get("StartedAt"))


def finished_at(attrs: dict[str, Any] | None) -> float | None:
    return docker_time((attrs or {}).get("State", {}).get("FinishedAt"))
