"""Issue 9.2: registry answers are classified by what they mean (the exact texts engines print)."""

from __future__ import annotations

import pytest

from nimctl.errors import ImageNotFound, PullError, RateLimited, RegistryAuthError, TransientPullError
from nimctl.pull import classify_registry_error

MIRROR = "http://127.0.0.1:5000/v2/nim/x/manifests/1"  # a port with "500" in it must not look like a 5xx


@pytest.mark.parametrize(
    ("text", "key_sent"),
    [
        (f'Head "{MIRROR}": no basic auth credentials', False),
        (f'Head "{MIRROR}": no basic auth credentials', True),
        (f'Head "{MIRROR}": unauthorized: authentication required', False),
        ('Get "http://127.0.0.1:5000/v2/": received unexpected HTTP status: 401 Unauthorized', False),
    ],
)
def test_no_credentials_sent(text: str, key_sent: bool) -> None:
    error = classify_registry_error(text, "img", key_sent=key_sent)
    assert type(error) is RegistryAuthError and error.exit_code == 4
    assert "the registry needs credentials: NGC_API_KEY is not set" in error.message
    assert "transient" not in (error.message + (error.hint or "")).lower()


@pytest.mark.parametrize(
    "text",
    [
        f'Head "{MIRROR}": unauthorized: authentication required',
        'Get "http://127.0.0.1:5000/v2/": unauthorized: incorrect username or password',
        "received unexpected HTTP status: 401 Unauthorized",
    ],
)
def test_wrong_credentials(text: str) -> None:
    error = classify_registry_error(text, "img", key_sent=True)
    assert type(error) is RegistryAuthError and "rejected the NGC key" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "pull access denied for 127.0.0.1:5000/nim/x, repository does not exist or may require 'docker login'",
        "manifest for 127.0.0.1:5000/x:nope not found: manifest unknown: manifest unknown",
        "repository 127.0.0.1:5000/nope not found: name unknown: repository name not known to registry",
    ],
)
def test_not_found(text: str) -> None:
    assert type(classify_registry_error(text, "img")) is ImageNotFound


def test_access_denied() -> None:
    error = classify_registry_error("denied: requested access to the resource is denied", "img")
    assert type(error) is RegistryAuthError and "denied access" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating",
        "received unexpected HTTP status: 429 Too Many Requests",
    ],
)
def test_rate_limited_is_retried(text: str) -> None:
    error = classify_registry_error(text, "img")
    assert isinstance(error, RateLimited) and isinstance(error, TransientPullError)
    assert "rate limiting" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "received unexpected HTTP status: 503 Service Unavailable",
        "received unexpected HTTP status: 500 Internal Server Error",
        'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
        "read tcp 127.0.0.1:40000->127.0.0.1:5000: read: connection reset by peer",
        'Get "http://127.0.0.1:5000/v2/": EOF',
        "net/http: TLS handshake timeout",
        'Get "http://127.0.0.1:5000/v2/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
    ],
)
def test_transient_faults(text: str) -> None:
    error = classify_registry_error(text, "img")
    assert type(error) is TransientPullError


@pytest.mark.parametrize(
    "text",
    [
        f'Head "{MIRROR}": no basic auth credentials',
        "pull access denied for 127.0.0.1:5000/nim/x",
        "invalid reference format",
        "manifest for 127.0.0.1:5004/x:1 not found: manifest unknown",
    ],
)
def test_no_permanent_fault_is_called_transient(text: str) -> None:
    error = classify_registry_error(text, "127.0.0.1:5000/nim/x:1", key_sent=False)
    assert not isinstance(error, TransientPullError) and isinstance(error, PullError)
    assert "transient" not in (error.message + (error.hint or "")).lower()
