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


class NimConnection:
    """Requests to one NIM over one kept-alive HTTP/1.1 connection, with the standard library
    (importing an HTTP client costs start-up time).

    The readiness probes and the /v1/models ask after them go over the same connection: a new
    connection costs a millisecond more per request (through the engine's port proxy and the
    NIM's accept), and the first request after the NIM turns ready is what `up` waits on. A
    connection the NIM closed while idle is noticed on its next GET, which is then sent once more
    on a new connection. `keep_alive=False` asks the NIM to close it after each answer.
    """

    # What a reused connection the NIM closed meanwhile raises before any answer came.
    STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

    def __init__(self, url: str, timeout: float = PROBE_TIMEOUT, *, keep_alive: bool = True):
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "localhost", parts.port or 80
        self._timeout = timeout
        self._keep_alive = keep_alive
        # Open only between answers: a failed exchange closes it, so an open one has carried an
        # answer already and may have gone stale since.
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, path: str, timeout: float | None = None, json_body: dict[str, Any] | None = None
    ) -> tuple[int | None, bytes]:
        """One GET (or, with `json_body`, one POST of it): (status, body). The status is None when
        nothing answered in time."""
        while True:
            reused = self._conn is not None
            try:
                return self._exchange(path, timeout, json_body)
            except self.STALE:
                self.close()
                if reused and json_body is None:  # only a GET is safe to send twice
                    continue  # once: the new connection is not a reused one
                return None, b""
            except (OSError, http.client.HTTPException):
                self.close()
                return None, b""

    def _exchange(self, path: str, timeout: float | None, json_body: dict[str, Any] | None) -> tuple[int, bytes]:
        deadline = self._timeout if timeout is None else timeout
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=deadline)
        elif self._conn.sock is not None:
            self._conn.sock.settimeout(deadline)
        self._conn.timeout = deadline
        headers = {} if self._keep_alive else {"Connection": "close"}
        if json_body is None:
            self._conn.request("GET", path, headers=headers)
        else:
            headers["Content-Type"] = "application/json"
            self._conn.request("POST", path, body=json.dumps(json_body).encode(), headers=headers)
        response = self._conn.getresponse()
        body = response.read()
        if not self._keep_alive or response.will_close:
            self.close()
        return response.status, body

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> NimConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def fetch(
    url: str, path: str, timeout: float = PROBE_TIMEOUT, json_body: dict[str, Any] | None = None
) -> tuple[int | None, bytes]:
    """One request on a connection of its own, closed after the answer: (status, body)."""
    with NimConnection(url, timeout, keep_alive=False) as nim:
        return nim.request(path, json_body=json_body)


def probe(url: str, path: str, timeout: float = PROBE_TIMEOUT) -> Probe:
    return Probe(fetch(url, path, timeout)[0])


def wait_until_ready(
    nim: NimConnection,
    path: str,
    signals: Signals,
    timeout: float,
    on_phase: Callable[[str], None] = lambda phase: None,
    interval: float = PROBE_INTERVAL,
) -> float:
    """Block until the NIM answers 200 on `path`; return the seconds it took.

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
        result = Probe(nim.request(path)[0])
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
