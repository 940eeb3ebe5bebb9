"""A local port forwarded to the remote engine host's loopback, for as long as a command needs it.

A NIM has no auth, so on a remote engine its port stays bound to that host's 127.0.0.1; readiness
probes, `status` and `smoke` reach it through this tunnel: `ssh -N -L 127.0.0.1:LPORT:HOST:PORT`
to the engine's host, the same `ssh` binary and ~/.ssh/config the engine connection uses
(docker_shims.ssh_command), so host keys, ProxyJump, Port, User and IdentityFile apply alike.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlparse

from nimctl.engine.docker_shims import SshProcess, ssh_command
from nimctl.errors import EngineUnreachable

READY_SECONDS = 40.0  # ssh's ConnectTimeout (30 s) plus the forward's set-up
PORT_ATTEMPTS = 3  # a port picked free may be taken before ssh binds it: pick again


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _start(ssh_url: str, remote: tuple[str, int]) -> tuple[SshProcess, int]:
    complaint = ""
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        host = f"[{remote[0]}]" if ":" in remote[0] else remote[0]
        forward = f"127.0.0.1:{port}:{host}:{remote[1]}"
        ssh = SshProcess(ssh_command(ssh_url, "-N", "-o", "ExitOnForwardFailure=yes", "-L", forward))
        deadline = time.monotonic() + READY_SECONDS
        while ssh.proc.poll() is None and time.monotonic() < deadline:
            if _listening(port):
                return ssh, port
            time.sleep(0.05)
        complaint = ssh.complaint(wait=0.5) if ssh.proc.poll() is not None else "the forward did not open in time"
        ssh.stop()
        if "address already in use" not in complaint.lower():
            break
    raise EngineUnreachable(f"cannot open an ssh tunnel to {ssh_url}: {complaint}", hint=tunnel_hint(complaint))


def tunnel_hint(complaint: str) -> str:
    if "host key verification failed" in complaint.lower():
        return "the engine host's key is not trusted: add it (`ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts`)"
    return "check `ssh -N -L` works to the engine's host (AllowTcpForwarding in its sshd_config)"


@contextlib.contextmanager
def ssh_tunnel(ssh_url: str, url: str) -> Iterator[str]:
    """Yield `url` rewritten to a local port that forwards, over ssh to `ssh_url`'s host, to the
    host:port `url` names as that host sees it."""
    parsed = urlparse(url)
    remote = (parsed.hostname or "127.0.0.1", parsed.port or 80)
    ssh, port = _start(ssh_url, remote)
    try:
        yield f"{parsed.scheme}://127.0.0.1:{port}"
    finally:
        ssh.stop()
