"""docker-py, imported without paramiko, and the corners of it nimctl relies on.

- `import docker` loads docker-py's ssh transport, and with it paramiko (~70 ms), whenever paramiko
  is installed. nimctl never uses it, so the import here keeps paramiko out (for that one import
  only, leaving anyone else's imports alone).
- ssh:// engines go through the `ssh` binary, as the docker CLI does (`ssh ... -- host docker system
  dial-stdio`), so the user's ~/.ssh/config, known_hosts and agent apply exactly as for `ssh`.
  docker-py's own shell-out mode (use_ssh_client=True) needs paramiko importable, starts an ssh per
  request and lets ssh's errors go to the terminal; `SshAdapter` keeps one ssh per pooled
  connection and puts ssh's complaint ("Host key verification failed.") into the error.

Every private docker-py name used here or elsewhere in the engine layer is pinned by
tests/unit/test_docker_shims.py, so a docker-py upgrade that moves one fails a unit test.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.abc
import io
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse


class _ParamikoLater(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "paramiko" or name.startswith("paramiko."):
            raise ImportError(f"{name}: nimctl's ssh:// engines use the ssh binary (nimctl.engine.docker_shims)")
        return None


def _import_docker() -> Any:
    deferring = "docker" not in sys.modules and "paramiko" not in sys.modules
    finder = _ParamikoLater()
    if deferring:
        sys.meta_path.insert(0, finder)
    try:
        import docker
        import docker.api.client
        import docker.errors
        import docker.tls
        import docker.transport.basehttpadapter
        import docker.types
    finally:
        if deferring:
            sys.meta_path.remove(finder)
    return docker


docker = _import_docker()

import requests.adapters  # noqa: E402 - after docker, which imports it anyway
import urllib3  # noqa: E402
import urllib3.connection  # noqa: E402
import urllib3.connectionpool  # noqa: E402

SSH_CONNECT_TIMEOUT = 30  # seconds, as the docker CLI passes it
STDERR_LINES = 20
DIAL_STDIO = "docker system dial-stdio"


def ssh_command(url: str, *options: str, remote: str | None = None) -> list[str]:
    """`ssh [-l user] [-p port] OPTIONS -- host [remote]`: what the URL names; the rest from ~/.ssh/config."""
    parsed = urlparse(url)
    args = ["ssh"]
    if parsed.username:
        args += ["-l", parsed.username]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    args += ["-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT}", "-T", *options, "--", parsed.hostname or ""]
    return [*args, remote] if remote else args


def ssh_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)  # as docker-py: a bundled-library path must not reach ssh
    env.pop("SSL_CERT_FILE", None)
    return env


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is nimctl's to handle, not ssh's


class SshProcess:
    """An `ssh` child with its stderr drained into a short tail, for the error when it fails."""

    def __init__(self, args: list[str]):
        self.args = args
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self.proc = subprocess.Popen(
            args,
            env=ssh_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_ignore_sigint,
        )
        self._drained = threading.Thread(target=self._drain, daemon=True, name="nimctl-ssh-stderr")
        self._drained.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.tail.append(line)

    def complaint(self, wait: float = 5.0) -> str:
        """ssh's own words once it ended (its last stderr lines), or "" while it runs."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=wait)
        self._drained.join(timeout=wait)
        return " / ".join(self.tail)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]


class SshFailed(ConnectionError):
    """ssh ended with an error (its message names why: host key, auth, name, port)."""


class _SshStdout(io.RawIOBase):
    """ssh's stdout; its end, when ssh failed, is an error carrying ssh's message (not a silent EOF).

    Closing it leaves ssh's pipe open, as closing a socket's makefile() leaves the socket: http.client
    closes each response's file, and the connection (the ssh) serves the next request.
    """

    def __init__(self, ssh: SshProcess):
        self._ssh = ssh
        self._fd = ssh.proc.stdout.fileno()  # type: ignore[union-attr]

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: Any) -> int:
        try:
            count = os.readv(self._fd, [buffer])
        except OSError:
            count = 0
        if count == 0:
            complaint = self._ssh.complaint()
            code = self._ssh.proc.returncode
            if code not in (0, None):
                raise SshFailed(f"ssh exited {code}: {complaint or 'no message'}")
        return count


class SshSocket:
    """The socket http.client talks through: `ssh ... docker system dial-stdio`'s stdin and stdout."""

    def __init__(self, url: str):
        self.url = url
        self.ssh: SshProcess | None = None
        self._reader: io.BufferedReader | None = None

    def connect(self) -> None:
        self.ssh = SshProcess(ssh_command(self.url, remote=DIAL_STDIO))
        self._reader = self._new_reader()

    def _new_reader(self) -> io.BufferedReader:
        assert self.ssh is not None
        reader = io.BufferedReader(_SshStdout(self.ssh))
        reader.channel = self  # type: ignore[attr-defined] - docker-py's _get_raw_response_socket reads it
        return reader

    @property
    def alive(self) -> bool:
        return self.ssh is not None and self.ssh.proc.poll() is None

    def settimeout(self, timeout: float | None) -> None:
        pass  # a pipe has none; ssh's ConnectTimeout bounds the connection

    def setsockopt(self, *args: Any) -> None:
        pass

    def fileno(self) -> int:
        assert self.ssh is not None and self.ssh.proc.stdout is not None
        return self.ssh.proc.stdout.fileno()

    def sendall(self, data: bytes) -> None:
        assert self.ssh is not None and self.ssh.proc.stdin is not None
        try:
            self.ssh.proc.stdin.write(data)
            self.ssh.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise SshFailed(f"ssh exited: {self.ssh.complaint() or 'no message'}") from None

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        assert self._reader is not None
        return self._reader.read1(size)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        """A file of its own for each response, as a socket's makefile() (http.client closes it after)."""
        if self.ssh is None:
            self.connect()
        return self._new_reader()

    def close(self) -> None:
        if self.ssh is not None:
            self.ssh.stop()


class SshConnection(urllib3.connection.HTTPConnection):
    def __init__(self, url: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.ssh_url = url

    def connect(self) -> None:
        sock = SshSocket(self.ssh_url)
        sock.connect()
        self.sock = sock  # type: ignore[assignment]


class SshConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    scheme = "ssh"

    def __init__(self, url: str, timeout: float, maxsize: int):
        super().__init__("localhost", timeout=timeout, maxsize=maxsize)
        self.ssh_url = url

    def _new_conn(self) -> SshConnection:
        return SshConnection(self.ssh_url, self.timeout)

    def _get_conn(self, timeout: float | None = None) -> Any:
        """A pooled connection whose ssh still runs, else a new one (urllib3's own check polls a socket)."""
        conn = None
        try:
            conn = self.pool.get(block=self.block, timeout=timeout)  # type: ignore[union-attr]
        except AttributeError as exc:  # self.pool is None: closed
            raise urllib3.exceptions.ClosedPoolError(self, "Pool is closed.") from exc
        except queue.Empty:
            if self.block:
                raise urllib3.exceptions.EmptyPoolError(self, "Pool reached maximum size.") from None
        if conn is not None and conn.sock is not None and not conn.sock.alive:
            conn.close()
        return conn or self._new_conn()


class SshAdapter(docker.transport.basehttpadapter.BaseHTTPAdapter):
    """Stands in for docker-py's SSHHTTPAdapter (same constructor), always through the ssh binary."""

    __attrs__ = [*requests.adapters.HTTPAdapter.__attrs__, "pools", "timeout", "ssh_url", "max_pool_size"]

    def __init__(
        self, base_url: str, timeout: float = 60, pool_connections: int = 10, max_pool_size: int = 10, shell_out=True
    ):
        self.ssh_url = base_url
        self.timeout = timeout
        self.max_pool_size = max_pool_size
        self.ssh_client = None  # docker-py's name for its paramiko client: there is none
        self.pools = urllib3._collections.RecentlyUsedContainer(pool_connections, dispose_func=lambda p: p.close())
        super().__init__()

    def get_connection(self, url: str, proxies: Any = None) -> SshConnectionPool:
        with self.pools.lock:
            pool = self.pools.get(url)
            if pool is None:
                pool = SshConnectionPool(self.ssh_url, self.timeout, self.max_pool_size)
                self.pools[url] = pool
        return pool


_CONSTRUCTING = threading.Lock()


@contextlib.contextmanager
def ssh_through_openssh(url: str) -> Iterator[None]:
    """While a client for `url` is constructed, APIClient's ssh:// branch builds `SshAdapter` instead of its own.

    The adapter gets `url` as given: docker-py's parse_host adds port 22 to an ssh URL without one,
    which would override a `Port` in ~/.ssh/config (`ssh -p 22` wins over the config).
    """

    def adapter(base_url: str, *args: Any, **kwargs: Any) -> SshAdapter:
        return SshAdapter(url, *args, **kwargs)

    with _CONSTRUCTING:
        module = docker.api.client
        missing = object()
        before = getattr(module, "SSHHTTPAdapter", missing)
        module.SSHHTTPAdapter = adapter  # the name APIClient.__init__ looks up for ssh:// URLs
        try:
            yield
        finally:
            if before is missing:
                del module.SSHHTTPAdapter
            else:
                module.SSHHTTPAdapter = before


def make_client(url: str, tls: Any, timeout: float) -> Any:
    """A docker-py client for `url` (ssh:// through the ssh binary); it asks the engine's API version."""
    if url.startswith("ssh://"):
        with ssh_through_openssh(url):
            return docker.DockerClient(base_url=url, timeout=int(timeout), use_ssh_client=True)
    return docker.DockerClient(base_url=url, timeout=int(timeout), tls=tls or False)
