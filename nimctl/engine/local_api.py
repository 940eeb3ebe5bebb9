"""The engine's read-only answers over a local socket, without docker-py.

`status` and an unchanged `up` only read: the engine's version, the container list, an inspect
or two, an image's id. On a local unix socket each is one HTTP GET, which http.client does in a
millisecond, while importing docker-py (with requests and urllib3) costs ~0.1 s of every command
(issue 17). The paths and the API version are docker-py's (`/v<the engine's ApiVersion>/...`,
as its version="auto" picks), so the answers are the same JSON.

Only the clear answers are taken here: 200, and 404 for "no such container or image". Anything else
(a refused connection, a 500, a timeout) raises ReadFailed, and the caller repeats the call through
docker-py, whose errors nimctl already turns into its messages and exit codes.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote, urlencode, urlparse

PATH_SAFE = "/:"  # what docker-py leaves unquoted in a path argument (an image's registry and tag)


def engine_filters(filters: dict[str, Any]) -> dict[str, list[str]]:
    """Filters as the engine takes them: every value a list of text (docker-py's convert_filters)."""
    converted = {}
    for key, value in filters.items():
        values = value if isinstance(value, list | tuple) else [value]
        converted[key] = [("true" if item else "false") if isinstance(item, bool) else str(item) for item in values]
    return converted


class ReadFailed(Exception):
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


class LocalReads:
    """GETs of JSON on one local engine socket; `version()` first (it fixes the API version)."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self.prefix = ""  # "/v1.41" once the engine said its API version

    def version(self) -> dict[str, Any]:
        answer = self._get("/version")
        if answer is None or not answer.get("ApiVersion"):
            raise ReadFailed("/version")
        self.prefix = f"/v{answer['ApiVersion']}"
        return answer

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """`docker ps -a --filter ...`: the summaries of every container matching `filters`."""
        found = self._get(
            f"{self.prefix}/containers/json", {"all": "1", "filters": json.dumps(engine_filters(filters))}
        )
        if not isinstance(found, list):
            raise ReadFailed("containers")
        return found

    def inspect_container(self, ref: str) -> dict[str, Any] | None:
        """The container's inspect, or None when the engine has no such container."""
        return self._get(f"{self.prefix}/containers/{quote(ref, safe=PATH_SAFE)}/json")

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """The image's inspect, or None when the engine has no such image."""
        return self._get(f"{self.prefix}/images/{quote(ref, safe=PATH_SAFE)}/json")

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        conn = UnixConnection(self.path, self.timeout)
        try:
            conn.request("GET", f"{path}?{urlencode(params)}" if params else path)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ReadFailed(f"{path}: {exc}") from None
        finally:
            conn.close()
        if response.status == 404:
            return None
        if response.status != 200:
            raise ReadFailed(f"{path}: HTTP {response.status}")
        try:
            return json.loads(body)
        except ValueError:
            raise ReadFailed(f"{path}: not JSON") from None
