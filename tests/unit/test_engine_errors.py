"""engine_errors: docker-py's exceptions (real ones, built here) → the NimctlError a user is shown."""

from __future__ import annotations

import docker.errors
import pytest
import requests
from pydantic import SecretStr

from nimctl.engine.docker_shims import SshFailed
from nimctl.engine.errors import engine_errors
from nimctl.errors import (
    ConfigError,
    ContainerExited,
    EngineUnreachable,
    ExitCode,
    GpuRefused,
    ImageNotFound,
    NimctlError,
    PreflightFailed,
    RegistryAuthError,
    TransientPullError,
)

KEY = SecretStr("nvapi-engine-errors-test-key")


def api_error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(f"{status} error", response=response, explanation=explanation)


def translated(action: str, what: str, exc: Exception, secret: SecretStr | None = None) -> NimctlError:
    with pytest.raises(NimctlError) as caught, engine_errors(action, what, secret):
        raise exc
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no docker traceback chained
    return caught.value


def test_unreachable_engine_on_connect() -> None:
    error = translated("connect", "the Docker engine", docker.errors.DockerException("Error while fetching server"))
    assert isinstance(error, EngineUnreachable) and error.exit_code == ExitCode.ENGINE_UNREACHABLE
    assert error.message.startswith("cannot reach the Docker engine: Error while fetching server")
    assert "DOCKER_HOST" in error.hint


def test_an_engine_answering_errors_on_connect_is_unreachable_too() -> None:
    assert isinstance(translated("connect", "the Docker engine", api_error(502, "bad gateway")), EngineUnreachable)


def test_login_rejected_is_a_registry_auth_error_without_the_key() -> None:
    exc = api_error(401, f"unauthorized: incorrect username or password ({KEY.get_secret_value()})")
    error = translated("login", "nvcr.io", exc, KEY)
    assert isinstance(error, RegistryAuthError) and error.exit_code == ExitCode.PULL_FAILED
    assert KEY.get_secret_value() not in error.message + (error.hint or "")


def test_a_dropped_connection_during_login_or_pull_is_transient() -> None:
    broken = requests.exceptions.ConnectionError("Connection aborted")
    assert translated("login", "nvcr.io", broken).message.startswith("cannot reach the engine while logging in to")
    pulled = translated("pull", "nvcr.io/nim/x:1", broken)
    assert isinstance(pulled, TransientPullError) and "broke during the pull" in pulled.message


def test_pull_of_a_missing_image() -> None:
    error = translated("pull", "nvcr.io/nim/x:1", api_error(404, "manifest unknown"))
    assert isinstance(error, ImageNotFound) and error.message == "image not found: nvcr.io/nim/x:1"


@pytest.mark.parametrize(
    ("action", "status", "explanation", "expected", "words"),
    [
        ("create", 500, "could not select device driver with capabilities: [[gpu]]", GpuRefused, "GPU"),
        ("create", 400, "unknown or invalid runtime name: nvidia", GpuRefused, "runtime"),
        ("start", 500, "Bind for 127.0.0.1:8000 failed: port is already allocated", PreflightFailed, "port"),
        ("create", 409, "Conflict. The container name is already in use", PreflightFailed, "cannot create nim"),
        ("start", 500, "exec: /opt/nim/start.sh: no such file", ContainerExited, "cannot start container nim"),
        ("create", 400, "invalid mount config", ConfigError, "cannot create container nim"),
        ("remove", 500, "driver failed to remove root filesystem", NimctlError, "cannot remove container nim"),
    ],
)
def test_refused_container_operations(action: str, status: int, explanation: str, expected: type, words: str) -> None:
    error = translated(action, "nim", api_error(status, explanation))
    assert type(error) is expected and words in error.message and error.hint


def test_nimctl_errors_raised_inside_pass_through_untouched() -> None:
    mine = ImageNotFound("image not found: x")
    with pytest.raises(ImageNotFound) as caught, engine_errors("pull", "x"):
        raise mine
    assert caught.value is mine


def test_an_unknown_host_key_says_ssh_keyscan() -> None:
    # as docker-py wraps the ssh binary's failure (docker_shims.SshFailed) while asking the API version
    ssh = SshFailed("ssh exited 255: Host key verification failed.")
    wrapped = docker.errors.DockerException(
        f"Error while fetching server API version: ('Connection aborted.', {ssh!r})"
    )
    error = translated("connect", "the engine at ssh://gpu-box (from DOCKER_HOST)", wrapped)
    assert isinstance(error, EngineUnreachable) and error.exit_code == ExitCode.ENGINE_UNREACHABLE
    assert error.message == (
        "cannot reach the engine at ssh://gpu-box (from DOCKER_HOST): ssh exited 255: Host key verification failed."
    )
    assert "ssh-keyscan" in error.hint and "known_hosts" in error.hint


def test_other_ssh_failures_keep_the_hint_for_how_the_engine_was_chosen() -> None:
    with pytest.raises(EngineUnreachable) as caught, engine_errors("connect", "e", unreachable_hint="check X"):
        raise SshFailed("ssh exited 255: ssh: Could not resolve hostname gpu-box: Name or service not known")
    assert "Could not resolve hostname gpu-box" in caught.value.message and caught.value.hint == "check X"


def test_no_nvidia_smi_in_the_gpu_check_container_names_the_toolkit() -> None:
    text = (
        "failed to create task for container: OCI runtime create failed: runc create failed: unable to start "
        'container process: exec: "nvidia-smi": executable file not found in $PATH: unknown'
    )
    error = translated("start", "nim-gpu-probe", api_error(400, text))
    assert isinstance(error, PreflightFailed)
    assert error.message.startswith("the NVIDIA Container Toolkit did not put nvidia-smi into the container")
    assert "no such runtime" not in error.message and "nvidia-ctk" in error.hint
    podman = "executable file `nvidia-smi` not found in $PATH: No such file or directory: OCI runtime error"
    assert "NVIDIA Container Toolkit" in translated("start", "probe", api_error(500, podman)).message


def test_a_missing_bind_source_names_the_cache_directory() -> None:
    exc = api_error(400, 'invalid mount config for type "bind": bind source path does not exist: /srv/nim')
    error = translated("create", "nim", exc)
    assert isinstance(error, ConfigError) and "cache directory on the engine's host" in error.hint


def test_an_unresolvable_cdi_device_is_a_preflight_failure() -> None:
    exc = api_error(500, "setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=6")
    error = translated("start", "nim", exc)
    assert isinstance(error, PreflightFailed) and error.exit_code == 8 and "nvidia-ctk cdi" in error.hint
