"""Every failure nimctl reports, each with its documented exit code (README: "Exit codes").

The CLI turns a `NimctlError` into one line on stderr (`error: <message>` then `hint: <hint>`)
and exits with its code. Messages must never contain the NGC key.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from pydantic import SecretStr

MASK = "**********"


def redact(text: str, *secrets: SecretStr | None) -> str:
    """`text` with the keys (NGC key, HF token) cut out, for anything that shows text nimctl did not write itself."""
    for secret in secrets:
        if secret is not None and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), MASK)
    return text


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2  # bad flag, profile or setting (typer's own usage errors use 2 as well)
    ENGINE_UNREACHABLE = 3
    PULL_FAILED = 4  # pull, image not found or registry auth
    CONTAINER_EXITED = 5  # the container exited during start-up, or another command stopped/removed it
    READINESS_TIMEOUT = 6
    SMOKE_FAILED = 7
    PREFLIGHT_FAILED = 8  # a doctor check failed (port taken, cache not writable, no GPU support...)
    BUSY = 9  # another nimctl is starting the same container and did not finish in time
    NOT_SERVING = 10  # status --deep: a NIM is ready by its health route but cannot answer a completion
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class NimctlError(Exception):
    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # extra lines shown under the message (e.g. the container's last log lines)
        self.details = details or []

    def but(self, *, message: str | None = None, hint: str | None = None, details: list[str] | None = None) -> Self:
        """A new error of the same kind with these parts changed (the caught one stays as it was)."""
        return type(self)(
            self.message if message is None else message,
            self.hint if hint is None else hint,
            details=list(self.details if details is None else details),
        )


class ConfigError(NimctlError):
    exit_code = ExitCode.USAGE


class EngineUnreachable(NimctlError):
    exit_code = ExitCode.ENGINE_UNREACHABLE


class PullError(NimctlError):
    exit_code = ExitCode.PULL_FAILED


class RegistryAuthError(PullError):
    pass


class ImageNotFound(PullError):
    pass


class TransientPullError(PullError):
    """A 5xx or a dropped connection: worth retrying a bounded number of times."""


class RateLimited(TransientPullError):
    """429 / toomanyrequests: retried with backoff, as the registry asks."""


class ContainerExited(NimctlError):
    exit_code = ExitCode.CONTAINER_EXITED


class StoppedElsewhere(NimctlError):
    """Another command (`nimctl down`, `docker rm`) stopped or removed the container `up` waited on."""

    exit_code = ExitCode.CONTAINER_EXITED


class ReadinessTimeout(NimctlError):
    exit_code = ExitCode.READINESS_TIMEOUT


class SmokeFailed(NimctlError):
    exit_code = ExitCode.SMOKE_FAILED


class PreflightFailed(NimctlError):
    exit_code = ExitCode.PREFLIGHT_FAILED


class GpuRefused(PreflightFailed):
    """The engine refused the GPU request itself (no GPU driver, an unknown CDI device, no such
    runtime, no nvidia-smi put in): the only engine refusal the GPU check reports as a GPU problem."""


class Busy(NimctlError):
    exit_code = ExitCode.BUSY


class NotServing(NimctlError):
    """`status --deep`: a NIM answers ready on its health route but not a one-token completion."""

    exit_code = ExitCode.NOT_SERVING


class Interrupted(NimctlError):
    exit_code = ExitCode.INTERRUPTED
