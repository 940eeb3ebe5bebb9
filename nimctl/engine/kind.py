"""Which engine answers (Docker or Podman, local or over SSH), and how it is given GPUs.

Pure: decided from the engine's `version()` answer and its URL, so it is unit-tested without one.
Podman's Docker-compatible API accepts a Docker GPU request and silently ignores it before 5.4
(the NIM would start without GPUs); Podman's GPUs are CDI devices instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlparse

from nimctl.domain import GpuRequest

PODMAN_COMPONENT = "Podman Engine"
SERVER_HEADER = re.compile(r"(?P<name>[A-Za-z]+)/(?P<version>\S+)")  # "Docker/27.0.3 (linux)"
PODMAN_CDI_REQUESTS = (5, 4)  # first podman whose compat API honours a DeviceRequest with driver "cdi"
CDI_GPU_KIND = "nvidia.com/gpu"


class GpuMethod(Enum):
    DEVICE_REQUEST = "device-request"  # Docker: DeviceRequests (+ the nvidia runtime)
    CDI_REQUEST = "cdi-request"  # Podman >= 5.4: a DeviceRequest with driver "cdi"
    LIBPOD_CDI = "libpod-cdi"  # older Podman: create through the libpod API with CDI `devices`


@dataclass(frozen=True)
class EngineKind:
    name: str  # "docker" | "podman"
    version: str
    url: str = ""  # the engine URL in use ("" = docker-py's default, the local socket)

    @classmethod
    def from_version(cls, answer: dict[str, Any], url: str = "") -> EngineKind:
        for component in answer.get("Components") or []:
            if component.get("Name") == PODMAN_COMPONENT:
                return cls("podman", str(component.get("Version") or answer.get("Version") or "?"), url)
        return cls("docker", str(answer.get("Version") or "?"), url)

    @classmethod
    def from_ping(cls, headers: Mapping[str, str], url: str = "") -> EngineKind | None:
        """From the headers of the engine's `/_ping` answer (`Server: Docker/27.0.3 (linux)`, podman's
        `Libpod-Api-Version: 4.3.1`), the same kind as `from_version`'s; None when they do not say."""
        server = SERVER_HEADER.match(headers.get("Server") or "")
        podman = headers.get("Libpod-Api-Version")
        if podman:
            return cls("podman", podman, url)
        if server is None or server["name"] != "Docker":
            return None
        return cls("docker", server["version"], url)

    @property
    def is_podman(self) -> bool:
        return self.name == "podman"

    @property
    def ssh_host(self) -> str | None:
        """The remote host when the engine is reached over SSH, else None."""
        parsed = urlparse(self.url)
        return parsed.hostname if parsed.scheme == "ssh" else None

    @property
    def via(self) -> str | None:
        """How nimctl reaches a NIM published on the engine's host: "ssh tunnel to HOST", or None (directly)."""
        return f"ssh tunnel to {self.ssh_host}" if self.ssh_host else None

    @property
    def is_local(self) -> bool:
        return self.url == "" or self.url.startswith(("unix://", "npipe://")) or self.url.startswith("/")

    @property
    def gpu_method(self) -> GpuMethod:
        if not self.is_podman:
            return GpuMethod.DEVICE_REQUEST
        if version_tuple(self.version) >= PODMAN_CDI_REQUESTS:
            return GpuMethod.CDI_REQUEST
        return GpuMethod.LIBPOD_CDI

    def describe(self) -> str:
        where = f" over ssh to {self.ssh_host}" if self.ssh_host else ("" if self.is_local else f" at {self.url}")
        return f"{self.name} {self.version}{where}"


def version_tuple(version: str) -> tuple[int, ...]:
    """'4.3.1' → (4, 3, 1); '5.4.0-rc1' → (5, 4, 0); anything unreadable → ()."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3])


def cdi_devices(gpus: GpuRequest) -> list[str]:
    """The CDI device names of a GPU request: all, ids as given, or a count N as devices 0..N-1."""
    if not gpus.wanted:
        return []
    if gpus.device_ids:
        return [f"{CDI_GPU_KIND}={device}" for device in gpus.device_ids]
    if gpus.count == -1:
        return [f"{CDI_GPU_KIND}=all"]
    return [f"{CDI_GPU_KIND}={index}" for index in range(gpus.count or 0)]
