"""Which deployment a command means: the endpoint of a running one, or the container `logs`/`down` act on.

Shared by the CLI and the Python API (not CLI-only: no typer here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from nimctl.engine.port import EnginePort
from nimctl.errors import ConfigError
from nimctl.settings import LoadedSettings


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    model: str  # the model id it was started expecting, or "" (what it serves: /v1/models)
    max_images: int
    capabilities: tuple[str, ...] | None = None  # declared by its profile; None: none declared


@contextlib.contextmanager
def reach_endpoint(engine: EnginePort, name: str | None = None) -> Iterator[Endpoint]:
    """The endpoint of a running nimctl container (the one named, or the only one running), its URL
    one this process can open: through an SSH tunnel, open for the `with` block, on a remote engine."""
    running = [info for info in engine.managed_containers(name) if info.running]
    if not running:
        raise ConfigError(
            "no running nimctl container" + (f" named {name!r}" if name else ""),
            hint="start one with `nimctl up`, or give --url",
        )
    if len(running) > 1:
        raise ConfigError(
            f"{len(running)} nimctl containers are running: {', '.join(i.name for i in running)}",
            hint="choose one with --name, or give --url",
        )
    info = running[0]
    with engine.reach(info.url) as url:
        yield Endpoint(
            name=info.name, url=url, model=info.model, max_images=info.max_images, capabilities=info.capabilities
        )


def target_name(engine: EnginePort, loaded: LoadedSettings, *, profile_given: bool) -> str:
    """Which container `logs`/`down` mean: --name, else the profile's, else the only one there is.

    After `nimctl up --profile sim`, a plain `nimctl logs` or `nimctl down` finds the simulator
    instead of looking for the default profile's container.
    """
    configured = loaded.settings.container_name
    if loaded.sources.get("container_name") == "flag" or profile_given or engine.inspect(configured) is not None:
        return configured
    managed = engine.managed_containers()
    return managed[0].name if len(managed) == 1 else configured
