"""docker-py's exceptions → nimctl's errors (errors.py), in one place: `engine_errors`.

As httpx's `map_exceptions` or compose's `handle_connection_errors` do it: every engine call
runs inside `with engine_errors(action, what):`, which decides what the user is told from the
action (connect, login, pull, create, start, remove, query) and the engine's answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import SecretStr

from nimctl import lazy
from nimctl.errors import (
    ConfigError,
    ContainerExited,
    EngineUnreachable,
    GpuRefused,
    NimctlError,
    PreflightFailed,
    TransientPullError,
    redact,
)
from nimctl.pull import classify_registry_error, one_line

if TYPE_CHECKING:
    import docker
    import requests.exceptions

    from nimctl.engine import docker_shims
else:  # loaded when an error is to be told apart: reads over the local socket need no docker-py
    docker = lazy.module("docker", after=lazy.DOCKER_IMPORTER)
    requests = lazy.module("requests", after=lazy.DOCKER_IMPORTER)
    docker_shims = lazy.module(lazy.DOCKER_IMPORTER)

REGISTRY_ACTIONS = ("login", "pull")
GPU_PROBE_TOOL = "nvidia-smi"  # what the GPU check runs in its throwaway container (client.GPU_PROBE_COMMAND)
UNREACHABLE_HINT = "start it (`sudo systemctl start docker`, or `dockerd &`) or point DOCKER_HOST at it"
HOST_KEY_REFUSED = "host key verification failed"  # ssh's words for an unknown (or changed) host key
HOST_KEY_HINT = (
    "the engine host's key is not in your known_hosts: check it, then add it "
    "(`ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts`), as `ssh HOST` would ask you to"
)


@contextmanager
def engine_errors(
    action: str, what: str, secret: SecretStr | None = None, unreachable_hint: str = UNREACHABLE_HINT
) -> Iterator[None]:
    """Turn the engine's failures during `action` on `what` into the NimctlError a user can act on.

    `secret` (the NGC key) is cut out of any engine text that ends up in a message;
    `unreachable_hint` is what to check when the engine does not answer (it depends on how it was chosen).
    """
    try:
        yield
    except docker.errors.APIError as exc:
        raise _api_error(action, what, exc, secret, unreachable_hint) from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, docker_shims.SshFailed) as exc:
        raise _connection_error(action, what, exc, unreachable_hint) from None


def scrub(error: object, secret: SecretStr | None) -> str:
    """An engine error's text with the key cut out, in case an engine ever echoes it."""
    return redact(str(getattr(error, "explanation", None) or error), secret)


def _connection_error(action: str, what: str, exc: Exception, hint: str = UNREACHABLE_HINT) -> NimctlError:
    """The engine did not answer (or docker-py could not even build a client, or ssh failed)."""
    if action == "login":
        return TransientPullError(f"cannot reach the engine while logging in to {what}: {one_line(str(exc))}")
    if action == "pull":
        return TransientPullError(f"connection to the engine broke during the pull: {one_line(str(exc))}")
    text = str(exc)
    if HOST_KEY_REFUSED in text.lower():
        hint = HOST_KEY_HINT
    return EngineUnreachable(f"cannot reach {what}: {ssh_words(text) or one_line(text, 200)}", hint=hint)


_SSH_WORDS = re.compile(r"(ssh exited -?\d+: .*?)(?:['\"]\)|$)")


def ssh_words(text: str) -> str:
    """ssh's own message inside docker-py/requests' wrapping ("ssh exited 255: ..."), if there is one."""
    found = _SSH_WORDS.search(text)
    return one_line(found.group(1), 240) if found else ""


def _api_error(
    action: str, what: str, exc: docker.errors.APIError, secret: SecretStr | None, hint: str = UNREACHABLE_HINT
) -> NimctlError:
    """The engine answered with an error."""
    if action in REGISTRY_ACTIONS:
        return classify_registry_error(scrub(exc, secret), what, key_sent=secret is not None)
    if action in ("connect", "query"):  # e.g. a proxy in front of the socket answering 5xx
        return _connection_error(action, what, exc, hint)
    return container_error(action, what, exc)


def container_error(action: str, what: str, exc: docker.errors.APIError) -> NimctlError:
    """A refused create/start/remove → the setting to change, when the engine's text names one."""
    text = str(exc.explanation or exc)
    if "could not select device driver" in text:
        return GpuRefused(
            f"the engine cannot serve GPU requests ({one_line(text, 160)})",
            hint="install the NVIDIA Container Toolkit and restart dockerd, or use --gpus none",
        )
    if "CDI device" in text:  # podman: a GPU the host's CDI spec does not name
        return GpuRefused(
            f"the engine cannot give the GPUs asked for ({one_line(text, 160)})",
            hint="generate the CDI spec on the engine host (nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml), "
            "or ask for GPUs it lists (`nvidia-ctk cdi list`)",
        )
    if GPU_PROBE_TOOL in text and ("not found" in text or "no such file" in text.lower()):
        return GpuRefused(  # the runtime ran, but its hook left the probe without nvidia-smi
            f"the NVIDIA Container Toolkit did not put {GPU_PROBE_TOOL} into the container ({one_line(text, 160)})",
            hint="on the engine host, check the NVIDIA Container Toolkit: `nvidia-ctk runtime configure "
            "--runtime=docker` and restart dockerd (podman: `nvidia-ctk cdi generate`), then `nimctl doctor`",
        )
    if "unknown or invalid runtime" in text or ("runtime" in text and "not found" in text):
        return GpuRefused(
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
