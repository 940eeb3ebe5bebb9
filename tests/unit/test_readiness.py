"""The readiness wait against a real little HTTP server, with the container's signals faked."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nimctl.readiness import (
    Disturbed,
    ExitedDuringStartup,
    NotReadyInTime,
    probe,
    wait_until_ready,
)


class HealthServer:
    def __init__(self) -> None:
        self.ready = False
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests += 1
                status = 200 if outer.ready else 503
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def health() -> Iterator[HealthServer]:
    server = HealthServer()
    yield server
    server.server.shutdown()


class FakeSignals:
    """Stands in for engine.ContainerSignals: a nudge event and an exit code."""

    def __init__(self) -> None:
        self.nudge = threading.Event()
        self.code: int | None = None
        self.disturbed: str | None = None

    def wait(self, timeout: float) -> None:
        self.nudge.wait(timeout)
        self.nudge.clear()

    def exit_code(self) -> int | None:
        return self.code

    def disturbance(self) -> str | None:
        return self.disturbed


def test_probe_phases(health: HealthServer) -> None:
    assert probe(health.url, "/ready").phase == "live"
    health.ready = True
    assert probe(health.url, "/ready").phase == "ready"
    assert probe("http://127.0.0.1:1", "/ready").phase == "starting"


@pytest.mark.timing
def test_a_nudge_makes_the_wait_react_at_once(health: HealthServer) -> None:
    signals = FakeSignals()
    phases: list[str] = []

    def turn_ready() -> None:
        time.sleep(0.3)
        health.ready = True
        signals.nudge.set()  # as a "ready" log line would

    threading.Thread(target=turn_ready).start()
    started = time.monotonic()
    wait_until_ready(health.url, "/ready", signals, timeout=10, on_phase=phases.append, interval=5.0)
    elapsed = time.monotonic() - started
    assert elapsed < 4.0, "the wait slept through the nudge"  # its interval is 5 s; the margin is for a busy machine
    assert phases == ["live", "ready"]
    assert health.requests <= 3


@pytest.mark.timing
def test_exit_stops_the_wait_at_once(health: HealthServer) -> None:
    signals = FakeSignals()

    def crash() -> None:
        time.sleep(0.2)
        signals.code = 3
        signals.nudge.set()

    threading.Thread(target=crash).start()
    started = time.monotonic()
    with pytest.raises(ExitedDuringStartup) as info:
        wait_until_ready(health.url, "/ready", signals, timeout=30, interval=5.0)
    assert info.value.exit_code == 3
    assert time.monotonic() - started < 4.0  # its interval is 5 s; the margin is for a busy machine


def test_timeout(health: HealthServer) -> None:
    with pytest.raises(NotReadyInTime) as info:
        wait_until_ready(health.url, "/ready", FakeSignals(), timeout=0.6, interval=0.2)
    assert info.value.phase == "live"


def test_polls_without_nudges_at_the_interval(health: HealthServer) -> None:
    signals = FakeSignals()
    threading.Timer(0.5, lambda: setattr(health, "ready", True)).start()
    wait_until_ready(health.url, "/ready", signals, timeout=5, interval=0.2)
    assert 2 <= health.requests <= 6


@pytest.mark.parametrize("what", ["stopped", "removed", "engine gone"])
def test_a_disturbance_ends_the_wait_at_once_and_beats_the_exit(health: HealthServer, what: str) -> None:
    signals = FakeSignals()
    signals.code = 0  # a stop ends in an exit too: the disturbance is what the user must hear
    signals.disturbed = what
    with pytest.raises(Disturbed) as raised:
        wait_until_ready(health.url, "/ready", signals, timeout=30)
    assert raised.value.what == what and health.requests == 0  # at once: before the first probe
