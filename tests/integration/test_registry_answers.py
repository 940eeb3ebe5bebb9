"""Issue 9.2: each registry answer produced for real, and what `up` makes of it.

The htpasswd test registry gives the authentication answers; a tiny registry on 127.0.0.1 (stdlib
http.server) answers /v2/ like a registry and the manifest with 429, 503 or a dropped connection,
and the engine really talks to it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.harness import free_port

ERROR_BODIES = {
    429: {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down", "detail": None}]},
    503: {"errors": [{"code": "UNAVAILABLE", "message": "service unavailable", "detail": None}]},
}


class FaultyRegistry(ThreadingHTTPServer):
    """Answers GET /v2/ like a registry; every manifest request gets `answer` (a status, or "reset")."""

    daemon_threads = True

    def __init__(self, port: int, answer: int | str):
        super().__init__(("127.0.0.1", port), _Handler)
        self.answer = answer
        self.manifest_requests = 0


class _Handler(BaseHTTPRequestHandler):
    server: FaultyRegistry

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rstrip("/") == "/v2":
            self._reply(200, {})
            return
        self.server.manifest_requests += 1
        if self.server.answer == "reset":
            self.close_connection = True
            self.connection.shutdown(2)  # the peer sees the connection drop without an answer
            return
        assert isinstance(self.server.answer, int)
        self._reply(self.server.answer, ERROR_BODIES[self.server.answer])

    do_HEAD = do_GET  # noqa: N815 - http.server dispatches on this name


@pytest.fixture
def faulty_registry(request) -> Iterator[FaultyRegistry]:
    server = FaultyRegistry(free_port(), request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("faulty_registry", "words"),
    [(429, "rate limiting"), (503, "503"), ("reset", "registry error")],
    indirect=["faulty_registry"],
)
def test_passing_faults_are_retried_bounded(make_deployment, faulty_registry: FaultyRegistry, words: str) -> None:
    port = faulty_registry.server_address[1]
    deployment = make_deployment(f"127.0.0.1:{port}/nim/flaky:1", needs_ngc_key=False)
    result = deployment.up("--no-smoke", timeout=120)
    assert result.returncode == 4, repr(result)
    assert words in error_line(result.stderr)
    assert result.stderr.count("retry ") == 3  # PULL_ATTEMPTS - 1 retries, then it gives up
    assert faulty_registry.manifest_requests >= 4


def test_no_credentials_is_permanent_and_says_the_key_is_missing(make_deployment, registry_image: str) -> None:
    deployment = make_deployment(registry_image, key=None, needs_ngc_key=False)
    result = deployment.up("--pull", "always", "--no-smoke")
    assert result.returncode == 4, repr(result)
    assert "the registry needs credentials: NGC_API_KEY is not set" in error_line(result.stderr)
    assert "retry" not in result.stderr and "transient" not in result.stderr
