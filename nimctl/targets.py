"""Which deployment a command means: the endpoint of a running one, or the container `logs`/`down` act on.

Shared by the CLI and the Python API (not CLI-only: no typer here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from nimctl.container import ContainerInfo
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
def reach_endpoint(engine: EnginePort, name: str | None = None, *, profile: str | None = None) -> Iterator[Endpoint]:
    """The endpoint of a running nimctl container (the one named, else the only one running of
    `profile` if given, whatever its name, else the only one running), its URL one this process can
    open: through an SSH tunnel, open for the `with` block, on a remote engine."""
    running = [info for info in engine.managed_containers(name) if info.running]
    if profile is not None and not name:
        running = [info for info in running if info.profile == profile]
    if not running:
        raise ConfigError(
            "no running nimctl container"
            + (f" named {name!r}" if name else f" of profile {profile!r}" if profile is not None else ""),
            hint="start one with `nimctl up`, or give --url" + _running_hint(engine),
        )
    if len(running) > 1:
        raise ConfigError(
            f"{len(running)} nimctl containers are running: {describe(running)}",
            hint="choose one with --name, or give --url",
        )
    info = running[0]
    with engine.reach(info.url) as url:
        yield Endpoint(
            name=info.name, url=url, model=info.model, max_images=info.max_images, capabilities=info.capabilities
        )


def describe(infos: list[ContainerInfo]) -> str:
    """`name (profile P)`, ... for messages that list containers."""
    return ", ".join(f"{info.name} (profile {info.profile or '?'})" for info in infos)


def _running_hint(engine: EnginePort) -> str:
    running = [info for info in engine.managed_containers() if info.running]
    return f"; running: {describe(running)}" if running else ""


def target_name(engine: EnginePort, loaded: LoadedSettings, *, profile_given: bool) -> str:
    """Which container `logs`/`down` mean: --name, else the profile's, else the only one there is.

    After `nimctl up --profile sim`, a plain `nimctl logs` or `nimctl down` finds the simulator
    instead of looking for the default profile's container. With --profile P, P's container is
    found by its profile label, whatever its name (`up --profile sim --name x`, then `down --profile sim`).
    """
    configured = loaded.settings.container_name
    if loaded.sources.get("container_name") == "flag":
        return configured
    if profile_given:
        return _profile_container(engine, loaded.profile.name, configured)
    if engine.inspect(configured) is not None:
        return configured
    managed = engine.managed_containers()
    return managed[0].name if len(managed) == 1 else configured


def _profile_container(engine: EnginePort, profile: str, configured: str) -> str:
    """The container of `profile`: the configured name when it is one of them (or there is none),
    else the only one (the only running one among several)."""
    mine = [info for info in engine.managed_containers() if info.profile == profile]
    if not mine or any(info.name == configured for info in mine):
        return configured
    if len(mine) == 1:
        return mine[0].name
    running = [info for info in mine if info.running]
    if len(running) == 1:
        return running[0].name
    raise ConfigError(
        f"{len(mine)} nimctl containers of profile {profile!r}: {describe(mine)}",
        hint="choose one with --name",
    )
