"""docker-py's exceptions → nimctl's errors (errors.py), in one place: `engine_errors`.

As httpx's `map_exceptions` or compose's `handle_connection_errors` do it: every engine call
runs inside `with engine_errors(action, what):`, which decides what the user is told from the
action (connect, login, pull, create, start, remove, query) and the engine's answer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import requests.exceptions
from pydantic import SecretStr

from nimctl.docker_client import docker
from nimctl.errors import (
    ConfigError,
    ContainerExited,
    EngineUnreachable,
    NimctlError,
    PreflightFailed,
    TransientPullError,
    redact,
)
from nimctl.pull import classify_registry_error, one_line

REGISTRY_ACTIONS = ("login", "pull")
UNREACHABLE_HINT = "start it (`sudo systemctl start docker`, or `dockerd &`) or point DOCKER_HOST at it"
SSH_HINT = (
    "check `ssh user@host docker version` works: the key, ~/.ssh/known_hosts (ssh-keyscan), the user's docker access"
)


def _ssh_errors() -> tuple[type[Exception], ...]:
    """paramiko's failures (ssh:// engines go through it; they are not docker-py's), once it is loaded."""
    if "paramiko" not in sys.modules:  # only an ssh:// connect loads it (docker_client.enable_ssh)
        return ()
    from paramiko.ssh_exception import NoValidConnectionsError, SSHException

    return (SSHException, NoValidConnectionsError)


@contextmanager
def engine_errors(action: str, what: str, secret: SecretStr | None = None) -> Iterator[None]:
    """Turn the engine's failures during `action` on `what` into the NimctlError a user can act on.

    `secret` (the NGC key) is cut out of any engine text that ends up in a message.
    """
    try:
        yield
    except docker.errors.APIError as exc:
        raise _api_error(action, what, exc, secret) from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise _connection_error(action, what, exc) from None
    except _ssh_errors() as exc:
        raise EngineUnreachable(f"cannot reach {what} over ssh: {one_line(str(exc), 160)}", hint=SSH_HINT) from None


def scrub(error: object, secret: SecretStr | None) -> str:
    """An engine error's text with the key cut out, in case an engine ever echoes it."""
    return redact(str(getattr(error, "explanation", None) or error), secret)


def _connection_error(action: str, what: str, exc: Exception) -> NimctlError:
    """The engine did not answer (or docker-py could not even build a client)."""
    if action == "login":
        return TransientPullError(f"cannot reach the engine while logging in to {what}: {one_line(str(exc))}")
    if action == "pull":
        return TransientPullError(f"connection to the engine broke during the pull: {one_line(str(exc))}")
    return EngineUnreachable(f"cannot reach the Docker engine: {one_line(str(exc), 160)}", hint=UNREACHABLE_HINT)


def _api_error(action: str, what: str, exc: docker.errors.APIError, secret: SecretStr | None) -> NimctlError:
    """The engine answered with an error."""
    if action in REGISTRY_ACTIONS:
        return classify_registry_error(scrub(exc, secret), what, key_sent=secret is not None)
    if action in ("connect", "query"):  # e.g. a proxy in front of the socket answering 5xx
        return _connection_error(action, what, exc)
    return container_error(action, what, exc)


def container_error(action: str, what: str, exc: docker.errors.APIError) -> NimctlError:
    """A refused create/start/remove → the setting to change, when the engine's text names one."""
    text = str(exc.explanation or exc)
    if "could not select device driver" in text:
        return PreflightFailed(
            f"the engine cannot serve GPU requests ({one_line(text, 160)})",
            hint="install the NVIDIA Container Toolkit and restart dockerd, or use --gpus none",
        )
    if "CDI device" in text:  # podman: a GPU the host's CDI spec does not name
        return PreflightFailed(
            f"the engine cannot give the GPUs asked for ({one_line(text, 160)})",
            hint="generate the CDI spec on the engine host (nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml), "
            "or ask for GPUs it lists (`nvidia-ctk cdi list`)",
        )
    if "unknown or invalid runtime" in text or ("runtime" in text and "not found" in text):
        return PreflightFailed(
            f"the engine has no such runtime ({one_line(text, 160)})",
            hint='run `nvidia-ctk runtime configure --runtime=docker` and restart dockerd, or set runtime = ""',
        )
    if "bind source path does not exist" in text:  # a remote engine's cache dir is not created from here
        return ConfigError(
            f"cannot {action} container {what}: {one_line(text, 200)}",
            hint="create the cache directory on the engine's host, owned by the container's user (--cache-dir)",
        )
    if "port is already allocated" in text or "address already in use" in text:
        return PreflightFailed(f"the host port is taken ({one_line(text, 160)})", hint="choose another --port")
    if exc.status_code == 409:
        return PreflightFailed(f"cannot {action} {what}: {one_line(text, 200)}", hint="`nimctl status` shows what runs")
    if action == "start":  # e.g. the image's entrypoint is missing: the container never ran
        return ContainerExited(
            f"cannot start container {what}: {one_line(text, 200)}",
            hint="the engine refused to run it; check the image and the runtime settings",
        )
    if exc.status_code == 400:  # the engine rejected the container's configuration
        return ConfigError(
            f"cannot {action} container {what}: {one_line(text, 200)}", hint="check the profile's settings"
        )
    return NimctlError(f"cannot {action} container {what}: {one_line(text, 200)}", hint="see the engine's log")
