"""Ask the registry itself which tags a repository has, to say whether the image or the tag is missing.

Used only after the engine reported "not found": the engine's message does not tell a missing
repository from a missing tag. Speaks the registry v2 API (basic auth, or the bearer-token
exchange nvcr.io uses), with the same credentials as the pull.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

TIMEOUT = 10.0


@dataclass(frozen=True)
class TagListing:
    repository_exists: bool
    tags: tuple[str, ...] = ()


def _scheme(registry: str) -> str:
    host = registry.rsplit(":", 1)[0]
    # docker talks plain HTTP to loopback registries; everything else is HTTPS
    return "http" if host in ("localhost", "::1") or host.startswith("127.") else "https"


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _bearer_token(challenge: str, username: str, password: str) -> str | None:
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", None)
    if not realm:
        return None
    request = urllib.request.Request(
        realm + "?" + urllib.parse.urlencode(params), headers={"Authorization": _basic(username, password)}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        body = json.load(response)
    return body.get("token") or body.get("access_token")


def list_tags(registry: str, repository: str, username: str | None, password: str | None) -> TagListing | None:
    """The repository's tags, `repository_exists=False` if it has none, or None when we can't tell."""
    url = f"{_scheme(registry)}://{registry}/v2/{repository}/tags/list"
    headers = {"Authorization": _basic(username, password)} if username and password else {}
    try:
        for _ in range(2):  # a second round after a bearer-token challenge
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT) as response:
                    return TagListing(True, tuple(json.load(response).get("tags") or ()))
            except urllib.error.HTTPError as exc:
                challenge = exc.headers.get("WWW-Authenticate", "")
                if exc.code == 401 and challenge.lower().startswith("bearer") and username and password:
                    token = _bearer_token(challenge, username, password)
                    if token is None:
                        return None
                    headers = {"Authorization": f"Bearer {token}"}
                    continue
                if exc.code == 404:
                    return TagListing(False)
                return None
    except (OSError, ValueError):
        return None
    return None
