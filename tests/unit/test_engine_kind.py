"""Which engine answers and how it takes GPUs: decided from its version answer (no engine needed)."""

from __future__ import annotations

import pytest

from nimctl.domain import GpuRequest
from nimctl.engine.kind import EngineKind, GpuMethod, cdi_devices, version_tuple

DOCKER_VERSION = {"Version": "20.10.24+dfsg1", "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1"}]}


def podman_version(version: str) -> dict:
    return {"Version": version, "Components": [{"Name": "Podman Engine", "Version": version}, {"Name": "Conmon"}]}


def test_docker_is_told_from_its_components() -> None:
    kind = EngineKind.from_version(DOCKER_VERSION)
    assert (kind.name, kind.version, kind.is_podman) == ("docker", "20.10.24+dfsg1", False)
    assert kind.gpu_method is GpuMethod.DEVICE_REQUEST


@pytest.mark.parametrize(
    ("version", "method"),
    [
        ("4.3.1", GpuMethod.LIBPOD_CDI),
        ("5.3.2", GpuMethod.LIBPOD_CDI),
        ("5.4.0", GpuMethod.CDI_REQUEST),
        ("5.4.0-rc1", GpuMethod.CDI_REQUEST),
        ("6.0.0", GpuMethod.CDI_REQUEST),
    ],
)
def test_podman_gpu_method_by_version(version: str, method: GpuMethod) -> None:
    kind = EngineKind.from_version(podman_version(version))
    assert kind.is_podman and kind.version == version and kind.gpu_method is method


def test_version_tuple() -> None:
    assert version_tuple("4.3.1") == (4, 3, 1)
    assert version_tuple("5.4.0-dev") == (5, 4, 0)
    assert version_tuple("?") == ()


@pytest.mark.parametrize(
    ("url", "local", "ssh_host", "described"),
    [
        ("", True, None, "docker 1.0"),
        ("unix:///run/podman/podman.sock", True, None, "docker 1.0"),
        ("ssh://root@gpu-box:2222", False, "gpu-box", "docker 1.0 over ssh to gpu-box"),
        ("tcp://10.0.0.5:2376", False, None, "docker 1.0 at tcp://10.0.0.5:2376"),
    ],
)
def test_where_the_engine_is(url: str, local: bool, ssh_host: str | None, described: str) -> None:
    kind = EngineKind.from_version({"Version": "1.0"}, url)
    assert (kind.is_local, kind.ssh_host, kind.describe()) == (local, ssh_host, described)


@pytest.mark.parametrize(
    ("gpus", "devices"),
    [
        ("all", ["nvidia.com/gpu=all"]),
        ("2", ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]),  # a count N is devices 0..N-1
        ("1,3", ["nvidia.com/gpu=1", "nvidia.com/gpu=3"]),
        ("GPU-0123abcd", ["nvidia.com/gpu=GPU-0123abcd"]),
        ("none", []),
    ],
)
def test_cdi_device_names(gpus: str, devices: list[str]) -> None:
    assert cdi_devices(GpuRequest.parse(gpus)) == devices


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Server": "Docker/20.10.24+dfsg1 (linux)", "Api-Version": "1.41"}, EngineKind("docker", "20.10.24+dfsg1")),
        ({"Server": "Docker/27.0.3 (linux)"}, EngineKind("docker", "27.0.3")),
        ({"Server": "Libpod/4.3.1 (linux)", "Libpod-Api-Version": "4.3.1"}, EngineKind("podman", "4.3.1")),
        ({"Libpod-Api-Version": "5.4.1"}, EngineKind("podman", "5.4.1")),
        ({"Server": "nginx/1.25"}, None),  # not an engine that names itself: ask /version
        ({"Api-Version": "1.41"}, None),
        ({}, None),
    ],
)
def test_the_engine_is_named_by_its_ping_headers(headers: dict, expected: EngineKind | None) -> None:
    assert EngineKind.from_ping(headers) == expected
