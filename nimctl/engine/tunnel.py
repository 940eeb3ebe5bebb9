"""A local port forwarded to the remote engine host's loopback, for as long as a command needs it.

A NIM has no auth, so on a remote engine its port stays bound to that host's 127.0.0.1; readiness
probes, `status` and `smoke` reach it through this tunnel. It rides on the SSH connection
docker-py's paramiko transport already holds (same user, keys, known_hosts), one `direct-tcpip`
channel per accepted local connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from nimctl.errors import EngineUnreachable

CHUNK = 65536


def _transport(api: Any) -> Any:
    adapter = getattr(api, "_custom_adapter", None)
    client = getattr(adapter, "ssh_client", None)
    if client is None:
        raise EngineUnreachable("the engine connection is not an SSH one", hint="use DOCKER_HOST=ssh://user@host")
    if client.get_transport() is None or not client.get_transport().is_active():
        adapter._connect()  # docker-py reconnects the same way before a request
    return client.get_transport()


def _pump(source: Any, target: Any) -> None:
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass  # either side closed
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.close()


def _serve(listener: socket.socket, transport: Any, remote: tuple[str, int], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            local, peer = listener.accept()
        except OSError:
            return  # listener closed: the tunnel is over
        try:
            channel = transport.open_channel("direct-tcpip", remote, peer, timeout=10)
        except Exception:  # noqa: BLE001 - paramiko raises several kinds; the client sees a closed connection
            local.close()
            continue
        for source, target in ((local, channel), (channel, local)):
            threading.Thread(target=_pump, args=(source, target), daemon=True).start()


@contextlib.contextmanager
def ssh_tunnel(api: Any, url: str) -> Iterator[str]:
    """Yield `url` rewritten to a local ephemeral port that forwards to its host:port as the engine's host sees it."""
    parsed = urlparse(url)
    remote = (parsed.hostname or "127.0.0.1", parsed.port or 80)  # as seen from the engine's host
    transport = _transport(api)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    server = threading.Thread(target=_serve, args=(listener, transport, remote, stop), daemon=True)
    server.start()
    try:
        yield f"{parsed.scheme}://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        server.join(timeout=2)
