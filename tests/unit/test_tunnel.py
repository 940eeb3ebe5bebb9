"""The SSH tunnel's forwarding, on a stand-in transport whose channels are plain TCP connections.

(tests/integration/test_ssh_engine.py runs it over a real sshd.)
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from nimctl.engine.tunnel import ssh_tunnel
from nimctl.errors import EngineUnreachable


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        body = f"hello from {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class FakeTransport:
    def __init__(self) -> None:
        self.opened: list[tuple[str, int]] = []

    def is_active(self) -> bool:
        return True

    def open_channel(self, kind: str, destination: tuple[str, int], origin: tuple, timeout: float) -> socket.socket:
        assert kind == "direct-tcpip"
        self.opened.append(destination)
        return socket.create_connection(destination, timeout=timeout)


def fake_api(transport: FakeTransport) -> SimpleNamespace:
    client = SimpleNamespace(get_transport=lambda: transport)
    return SimpleNamespace(_custom_adapter=SimpleNamespace(ssh_client=client))


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_requests_go_through_a_local_port_to_the_remote_address(server) -> None:
    remote_port = server.server_address[1]
    transport = FakeTransport()
    with ssh_tunnel(fake_api(transport), f"http://127.0.0.1:{remote_port}") as url:
        local_port = int(url.rsplit(":", 1)[1])
        assert local_port != remote_port
        for path in ("/v1/health/ready", "/v1/models"):
            with urllib.request.urlopen(url + path, timeout=5) as answer:
                assert answer.read() == f"hello from {path}".encode()
    assert transport.opened == [("127.0.0.1", remote_port)] * 2  # one channel per connection
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", local_port), timeout=1):
        pass  # closed with the block


def test_a_non_ssh_connection_has_no_tunnel() -> None:
    api = SimpleNamespace(_custom_adapter=None)
    with pytest.raises(EngineUnreachable), ssh_tunnel(api, "http://127.0.0.1:8000"):
        pass
