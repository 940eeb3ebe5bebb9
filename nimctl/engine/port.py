"""The engine as `deploy` and `preflight` use it: an explicit seam (engine.Engine, or a fake in unit tests).

Docker, Podman and remote engines all sit behind engine.Engine; `kind` says which one answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import SecretStr

from nimctl.container import ContainerInfo, OneOffResult
from nimctl.engine.choice import EngineChoice
from nimctl.engine.kind import EngineKind
from nimctl.readiness import Signals
from nimctl.spec import ContainerSpec


class ContainerWatch(Signals, Protocol):
    """A starting container's exit and log lines (watch.ContainerSignals)."""

    @property
    def oom_killed(self) -> bool: ...

    def follow_logs(self, since: float) -> None: ...

    def close(self) -> None: ...


class EnginePort(Protocol):
    kind: EngineKind
    choice: EngineChoice  # which engine this is and how it was chosen (--engine-url, DOCKER_HOST, a context...)

    def inspect(self, name_or_id: str) -> ContainerInfo | None: ...

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]: ...

    def image_id(self, reference: str) -> str | None: ...

    def engine_info(self) -> dict[str, Any]: ...

    def version(self) -> str: ...

    def login(self, registry: str, key: SecretStr) -> dict[str, str]: ...

    def pull(self, reference: str, auth: dict[str, str] | None, on_event: Callable[[dict], None]) -> str: ...

    def build_simulator(self, reference: str) -> str: ...

    def reach(self, url: str) -> contextlib.AbstractContextManager[str]:
        """The URL to open for the NIM at `url` on the engine's host (a tunnel when remote)."""
        ...

    def list_gpus(self, spec: ContainerSpec) -> tuple[int, str]:
        """(exit code, output) of `nvidia-smi -L` in a throwaway container of spec's image and GPU request."""
        ...

    def create(self, spec: ContainerSpec) -> str: ...

    def start(self, container_id: str) -> None: ...

    def stop_and_remove(self, container_id: str, timeout: int) -> None: ...

    def run_oneoff(self, spec: ContainerSpec, on_line: Callable[[str], None]) -> OneOffResult:
        """Run a throwaway container (spec.oneoff_spec) to its end, streaming its lines; always removed."""
        ...

    def logs(self, container_id: str, tail: int | str = "all") -> str: ...

    def stop_restarts(self, container_id: str, timeout: int) -> None:
        """Set the container's restart policy to no and stop it (a failed start kept for debugging)."""
        ...

    def deaths(self, container_id: str, since: float) -> list[tuple[float, int | None]]:
        """The container's `die` events since `since` (epoch seconds): (time, exit code), oldest first."""
        ...

    def signals(self, container_id: str) -> ContainerWatch:
        """Subscribe to the container's events; call before starting it so no exit is missed."""
        ...
