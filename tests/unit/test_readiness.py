"""The readiness wait against a real little HTTP server, with the container's signals faked."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nimctl.readiness import (
    Disturbed,
    ExitedDuringStartup,
    NimConnection,
    NotReadyInTime,
    fetch,
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
    wait_until_ready(NimConnection(health.url), "/ready", signals, timeout=10, on_phase=phases.append, interval=5.0)
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
        wait_until_ready(NimConnection(health.url), "/ready", signals, timeout=30, interval=5.0)
    assert info.value.exit_code == 3
    assert time.monotonic() - started < 4.0  # its interval is 5 s; the margin is for a busy machine


def test_timeout(health: HealthServer) -> None:
    with pytest.raises(NotReadyInTime) as info:
        wait_until_ready(NimConnection(health.url), "/ready", FakeSignals(), timeout=0.6, interval=0.2)
    assert info.value.phase == "live"


def test_polls_without_nudges_at_the_interval(health: HealthServer) -> None:
    signals = FakeSignals()
    threading.Timer(0.5, lambda: setattr(health, "ready", True)).start()
    wait_until_ready(NimConnection(health.url), "/ready", signals, timeout=5, interval=0.2)
    assert 2 <= health.requests <= 6


@pytest.mark.parametrize("what", ["stopped", "removed", "engine gone"])
def test_a_disturbance_ends_the_wait_at_once_and_beats_the_exit(health: HealthServer, what: str) -> None:
    signals = FakeSignals()
    signals.code = 0  # a stop ends in an exit too: the disturbance is what the user must hear
    signals.disturbed = what
    with pytest.raises(Disturbed) as raised:
        wait_until_ready(NimConnection(health.url), "/ready", signals, timeout=30)
    assert raised.value.what == what and health.requests == 0  # at once: before the first probe


class KeepAliveServer:
    """An HTTP/1.1 server that keeps connections open (as uvicorn does) and counts them; it can
    drop every idle connection, as a server's keep-alive timeout does."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.connection_headers: list[str | None] = []
        self.open_sockets: list[object] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                outer.connections += 1
                outer.open_sockets.append(self.connection)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append((self.command, self.path))
                outer.connection_headers.append(self.headers.get("Connection"))
                body = b'{"data": [{"id": "m"}]}' if self.path == "/v1/models" else b""
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer  # noqa: N815
            do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def drop_idle_connections(self) -> None:
        import socket

        for sock in self.open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
        self.open_sockets.clear()
        time.sleep(0.05)  # the FIN reaches the client's socket


@pytest.fixture
def keep_alive() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer()
    yield server
    server.server.shutdown()


def test_the_probes_and_the_models_ask_share_one_connection(keep_alive: KeepAliveServer) -> None:
    with NimConnection(keep_alive.url) as nim:
        assert [nim.request("/ready")[0] for _ in range(3)] == [200, 200, 200]
        assert nim.request("/v1/models") == (200, b'{"data": [{"id": "m"}]}')
    assert keep_alive.connections == 1
    assert len(keep_alive.requests) == 4 and set(keep_alive.connection_headers) == {None}


def test_a_connection_the_nim_dropped_while_idle_is_asked_again_once(keep_alive: KeepAliveServer) -> None:
    with NimConnection(keep_alive.url) as nim:
        assert nim.request("/ready")[0] == 200
        keep_alive.drop_idle_connections()
        assert nim.request("/ready")[0] == 200  # not a "starting" phase: the GET went again, on a new connection
    assert keep_alive.connections == 2
    assert keep_alive.requests == [("GET", "/ready"), ("GET", "/ready")]


def test_a_post_on_a_dropped_connection_is_not_sent_twice(keep_alive: KeepAliveServer) -> None:
    with NimConnection(keep_alive.url) as nim:
        assert nim.request("/ready")[0] == 200
        keep_alive.drop_idle_connections()
        assert nim.request("/v1/chat/completions", json_body={"max_tokens": 1}) == (None, b"")
    assert keep_alive.requests == [("GET", "/ready")]


def test_a_one_off_fetch_asks_the_nim_to_close(keep_alive: KeepAliveServer) -> None:
    assert fetch(keep_alive.url, "/v1/models")[0] == 200
    assert keep_alive.connection_headers == ["close"]


def test_nothing_listening_is_no_answer_and_the_next_request_tries_again() -> None:
    with NimConnection("http://127.0.0.1:1", timeout=0.5) as nim:
        assert nim.request("/ready") == (None, b"")
        assert nim.request("/ready") == (None, b"")
