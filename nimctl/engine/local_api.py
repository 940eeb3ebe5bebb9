"""The engine's API over a local socket, without docker-py: the calls on `up`'s and `status`'s path.

`status` and an unchanged `up` only read: the engine's version, the container list, an inspect
or two, an image's id. A fresh `up` also creates and starts its container and follows its events
and log. On a local unix socket each is one HTTP request, which http.client makes in a
millisecond, while importing docker-py (with requests and urllib3) costs ~0.1 s of every command
(issue 17), and on a fresh `up` it was spent before the container was even created. The paths and
the API version are docker-py's (`/v<the engine's ApiVersion>/...`, as its version="auto" picks),
so the requests and answers are the same JSON.

Only the clear answers are taken here: 200 (201 for a create, 204/304 for a start), and 404 for
"no such container or image". Anything else (a refused connection, a 409, a 500, a timeout) raises
NoClearAnswer, and the caller repeats the call through docker-py, whose errors nimctl already turns
into its messages and exit codes: a create or start the engine refused changed nothing, so asking
again gives the same refusal.
"""

from __future__ import annotations

import codecs
import contextlib
import http.client
import io
import json
import socket
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlparse

COMPAT_CREATE_PATH = "/containers/create"
PATH_SAFE = "/:"  # what docker-py leaves unquoted in a path argument (an image's registry and tag)


def engine_filters(filters: dict[str, Any]) -> dict[str, list[str]]:
    """Filters as the engine takes them: every value a list of text (docker-py's convert_filters)."""
    converted = {}
    for key, value in filters.items():
        values = value if isinstance(value, list | tuple) else [value]
        converted[key] = [("true" if item else "false") if isinstance(item, bool) else str(item) for item in values]
    return converted


class NoClearAnswer(Exception):
    """Not a clear answer: repeat the call through docker-py for its error."""


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def socket_path(url: str) -> str | None:
    """The socket file of a `unix://` engine URL (or a bare path), else None (tcp, ssh, npipe)."""
    if url.startswith("/"):
        return url
    parsed = urlparse(url)
    if parsed.scheme in ("unix", "http+unix"):
        return (parsed.netloc + parsed.path) or None
    return None


def demultiplexed(body: bytes) -> bytes:
    """The payloads of the engine's multiplexed output (frames of an 8-byte header: stream 0-2,
    three zero bytes, the size), joined as docker-py joins them; a body that is not framed that
    way (a TTY's raw output) as it is."""
    parts: list[bytes] = []
    at = 0
    while at < len(body):
        header = body[at : at + 8]
        size = int.from_bytes(header[4:8], "big")
        if len(header) < 8 or header[0] > 2 or header[1:4] != b"\0\0\0" or at + 8 + size > len(body):
            return body
        parts.append(body[at + 8 : at + 8 + size])
        at += 8 + size
    return b"".join(parts)


class LocalStream:
    """A streamed answer (engine events, a followed log) on its own connection; `close()` ends it
    from any thread, as docker-py's CancellableStream does (a shutdown wakes a blocked read)."""

    def __init__(self, conn: UnixConnection, response: http.client.HTTPResponse):
        self._conn = conn
        self.response = response

    @property
    def buffered(self) -> io.BufferedReader:
        """The response's bytes as they come off the socket (chunk sizes and frame headers included)."""
        return self.response.fp  # type: ignore[return-value]

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives (HTTP chunking undone), until the engine ends it or it is closed."""
        while data := self.response.read1(65536):
            yield data

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The JSON objects of the stream (engine events), as docker-py's `decode=True` gives them."""
        return json_objects(self.chunks())

    def interrupt(self) -> None:
        """End the stream without waiting for its reader: a shutdown wakes a blocked read, which
        then sees the end (closing the connection too would wait for that read to let go of it)."""
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.interrupt()
        self._conn.close()


def json_objects(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a stream that sends one after another (engine events), however the
    chunks cut them."""
    decode = codecs.getincrementaldecoder("utf-8")("replace").decode
    decoder = json.JSONDecoder()
    text = ""
    for chunk in chunks:
        text += decode(chunk)
        while text := text.lstrip():
            try:
                found, end = decoder.raw_decode(text)
            except ValueError:
                break  # the rest of this object is still to come
            text = text[end:]
            if isinstance(found, dict):
                yield found


class LocalApi:
    """The engine calls `up` and `status` make, on one local socket; `handshake()` or `version()`
    first (either fixes the API version)."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self.prefix = ""  # "/v1.41" once the engine said its API version

    def version(self) -> dict[str, Any]:
        answer = self._get("/version")
        if answer is None or not answer.get("ApiVersion"):
            raise NoClearAnswer("/version")
        self.prefix = f"/v{answer['ApiVersion']}"
        return answer

    def handshake(self) -> dict[str, str]:
        """The headers of the engine's `/_ping` answer, which name the engine (kind.EngineKind.from_ping)
        and its API version, and cost the engine a millisecond where `/version` costs it ten."""
        status, _, headers = self._call("GET", "/_ping")
        if status != 200 or not headers.get("Api-Version"):
            raise NoClearAnswer(f"/_ping: HTTP {status}")
        self.prefix = f"/v{headers['Api-Version']}"
        return headers

    def ping(self) -> bool:
        """Whether the engine answers at all."""
        try:
            return self._call("GET", "/_ping")[0] == 200
        except NoClearAnswer:
            return False

    def info(self) -> dict[str, Any]:
        """`docker info`: the engine's id, runtimes, ..."""
        answer = self._get(f"{self.prefix}/info")
        if not isinstance(answer, dict):
            raise NoClearAnswer("info")
        return answer

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """`docker ps -a --filter ...`: the summaries of every container matching `filters`."""
        found = self._get(
            f"{self.prefix}/containers/json", {"all": "1", "filters": json.dumps(engine_filters(filters))}
        )
        if not isinstance(found, list):
            raise NoClearAnswer("containers")
        return found

    def inspect_container(self, ref: str) -> dict[str, Any] | None:
        """The container's inspect, or None when the engine has no such container."""
        return self._get(f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}/json")

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """The image's inspect, or None when the engine has no such image."""
        return self._get(f"{self.prefix}/images/{quote(ref, safe=PATH_SAFE)}/json")

    def create_container(self, name: str, body: dict[str, Any]) -> str:
        """Create a container from a compat create body (create_request.compat_body); its id."""
        path = f"{self.prefix}{COMPAT_CREATE_PATH}"
        status, answer, _ = self._call("POST", path, {"name": name}, body)
        if status != 201:
            raise NoClearAnswer(f"{path}: HTTP {status}")
        try:
            return str(json.loads(answer)["Id"])
        except (ValueError, KeyError, TypeError):
            raise NoClearAnswer(f"{path}: no id") from None

    def start_container(self, ref: str) -> None:
        path = f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}/start"
        status, _, _ = self._call("POST", path)
        if status not in (204, 304):  # 304: it runs already
            raise NoClearAnswer(f"{path}: HTTP {status}")

    def logs(self, ref: str) -> bytes:
        """A container's whole output so far (stdout and stderr as written), not followed."""
        path = f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}/logs"
        params = {"stdout": "1", "stderr": "1", "follow": "0", "timestamps": "0", "tail": "all"}
        status, body, _ = self._call("GET", path, params)
        if status != 200:
            raise NoClearAnswer(f"{path}: HTTP {status}")
        return demultiplexed(body)

    def stop(self, ref: str, timeout: int) -> bool:
        """Stop a container (SIGTERM, then SIGKILL after `timeout` s); False when there is no such container."""
        path = f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}/stop"
        status, _, _ = self._call("POST", path, {"t": str(timeout)}, wait=timeout + self.timeout)
        if status == 404:
            return False
        if status not in (204, 304):  # 304: stopped already
            raise NoClearAnswer(f"{path}: HTTP {status}")
        return True

    def remove(self, ref: str) -> None:
        """Remove a container (forced); one that is gone already is no error."""
        path = f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}"
        status, _, _ = self._call("DELETE", path, {"force": "1"})
        if status not in (204, 404):
            raise NoClearAnswer(f"{path}: HTTP {status}")

    def events(self, filters: dict[str, Any]) -> LocalStream:
        """The engine's events from now on that match `filters`, as they happen."""
        return self._stream(f"{self.prefix}/events", {"filters": json.dumps(engine_filters(filters))})

    def follow_logs(self, ref: str, since: float) -> LocalStream:
        """A container's output (stdout and stderr) written from `since` on (epoch seconds), followed."""
        params = {"stdout": "1", "stderr": "1", "follow": "1", "timestamps": "0", "tail": "all", "since": str(since)}
        return self._stream(f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}/logs", params)

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        status, body, _ = self._call("GET", path, params)
        if status == 404:
            return None
        if status != 200:
            raise NoClearAnswer(f"{path}: HTTP {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise NoClearAnswer(f"{path}: not JSON") from None

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: Any,
        *,
        stream: bool = False,
        wait: float | None = None,
    ) -> tuple[UnixConnection, http.client.HTTPResponse]:
        conn = UnixConnection(self.path, wait or self.timeout)
        target = f"{path}?{urlencode(params)}" if params else path
        try:
            if body is None:
                conn.request(method, target)
            else:
                conn.request(method, target, json.dumps(body).encode(), {"Content-Type": "application/json"})
            if stream and conn.sock is not None:
                # A stream may answer only when there is something to send (podman answers a followed
                # log at its next line) and then stay quiet: close() ends it, not a timeout.
                conn.sock.settimeout(None)
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise NoClearAnswer(f"{path}: {type(exc).__name__}") from None  # never the body: it holds secrets

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        *,
        wait: float | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        conn, response = self._send(method, path, params, body, wait=wait)
        try:
            return response.status, response.read(), {name.title(): value for name, value in response.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            raise NoClearAnswer(f"{path}: {type(exc).__name__}") from None
        finally:
            conn.close()

    def _stream(self, path: str, params: dict[str, str]) -> LocalStream:
        conn, response = self._send("GET", path, params, None, stream=True)
        if response.status != 200:
            conn.close()
            raise NoClearAnswer(f"{path}: HTTP {response.status}")
        return LocalStream(conn, response)
