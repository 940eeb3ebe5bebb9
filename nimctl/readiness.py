"""Wait until the NIM answers 200 on its readiness path, or fail as soon as its container exits.

Probing is cheap but not free for a loading NIM, so the wait probes about once a second and
otherwise reacts to the container's own signals (see `Signals`): a log line that hints at
readiness or the container's exit wake it at once.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from nimctl import lazy

if TYPE_CHECKING:
    import tenacity
else:
    tenacity = lazy.module("tenacity")  # `status` and an already ready NIM never load it

PROBE_INTERVAL = 1.0  # seconds between probes when nothing happens
PROBE_TIMEOUT = 2.0


class Signals(Protocol):
    """What the wait needs from the container (watch.ContainerSignals; a fake in unit tests)."""

    def wait(self, timeout: float) -> None:
        """Sleep up to `timeout`, returning early when something happened."""

    def exit_code(self) -> int | None:
        """The exit code once the container has exited, else None."""

    def disturbance(self) -> str | None:
        """What ended the wait from outside the NIM, if anything: one of DISTURBANCES."""


# Why a wait can end other than by the NIM's own exit: another command stopped or removed the
# container (`nimctl down`), or the Docker engine went away.
STOPPED, REMOVED, ENGINE_GONE = "stopped", "removed", "engine gone"
DISTURBANCES = (STOPPED, REMOVED, ENGINE_GONE)


class Disturbed(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class ExitedDuringStartup(Exception):
    def __init__(self, exit_code: int):
        super().__init__(f"container exited with code {exit_code}")
        self.exit_code = exit_code


class NotReadyInTime(Exception):
    def __init__(self, phase: str, waited: float):
        super().__init__(f"not ready after {waited:.0f}s (last phase: {phase})")
        self.phase = phase
        self.waited = waited


@dataclass
class Probe:
    status: int | None  # HTTP status, None when nothing answered

    @property
    def phase(self) -> str:
        if self.status is None:
            return "starting"
        return "ready" if self.status == 200 else "live"


def fetch(
    url: str, path: str, timeout: float = PROBE_TIMEOUT, json_body: dict[str, Any] | None = None
) -> tuple[int | None, bytes]:
    """One GET (or, with `json_body`, one POST of it) with the standard library (importing an HTTP
    client costs start-up time): (status, body). The status is None when nothing answered in time.
    """
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        if json_body is None:
            conn.request("GET", path, headers={"Connection": "close"})
        else:
            headers = {"Content-Type": "application/json", "Connection": "close"}
            conn.request("POST", path, body=json.dumps(json_body).encode(), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None, b""
    finally:
        conn.close()


def probe(url: str, path: str, timeout: float = PROBE_TIMEOUT) -> Probe:
    return Probe(fetch(url, path, timeout)[0])


def wait_until_ready(
    url: str,
    path: str,
    signals: Signals,
    timeout: float,
    on_phase: Callable[[str], None] = lambda phase: None,
    interval: float = PROBE_INTERVAL,
) -> float:
    """Block until `url + path` answers 200; return the seconds it took.

    Raises ExitedDuringStartup the moment the container exits, Disturbed when another command or
    the engine's end stops the wait, NotReadyInTime at the timeout.
    """
    started = time.monotonic()
    last_phase = ""

    def check() -> bool:
        nonlocal last_phase
        if (what := signals.disturbance()) is not None:  # before the exit: a stop also ends in one
            raise Disturbed(what)
        code = signals.exit_code()
        if code is not None:
            raise ExitedDuringStartup(code)
        result = probe(url, path)
        if result.phase != last_phase:
            last_phase = result.phase
            on_phase(result.phase)
        return result.status == 200

    if check():  # already ready (an unchanged `up`): the first probe is the whole wait
        return time.monotonic() - started
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_fixed(interval),
        sleep=signals.wait,  # wakes early on the container's signals
        retry=tenacity.retry_if_result(lambda ready: not ready),
        reraise=True,
    )
    try:
        retrying(check)
    except tenacity.RetryError:
        raise NotReadyInTime(last_phase or "starting", time.monotonic() - started) from None
    return time.monotonic() - started
