"""How Engine.create hands a GPU request to each engine, captured before anything is sent.

The Engine here has no local socket, so it sends through a docker-py APIClient with a fixed API
version, whose sending methods are replaced by recorders (the bodies themselves, against
docker-py's own: test_create_request.py; the real engines: tests/integration/test_podman.py,
test_gpu_check.py and test_local_api.py).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import docker
import pytest

from nimctl.engine import Engine
from nimctl.engine.kind import EngineKind
from nimctl.settings import load_settings
from nimctl.spec import ContainerSpec, build_spec


def spec(tmp_path: Path, gpus: str) -> ContainerSpec:
    flags = {"gpus": gpus, "runtime": "nvidia", "cache_dir": tmp_path, "container_name": "nim", "image": "nim:1"}
    return build_spec(load_settings(flags, environ={}).settings, "test")


def engine(kind: EngineKind) -> tuple[Engine, dict]:
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    sent: dict = {}

    def create_container_from_config(config: dict, name: str | None = None) -> dict:
        sent.update(name=name, host_config=config["HostConfig"], config=config)
        return {"Id": "compat-id"}

    def post_json(url: str, data: dict) -> dict:
        sent.update(url=url, body=data)
        return {}

    api.create_container_from_config = create_container_from_config
    api._post_json = post_json
    api._result = lambda response, json: {"Id": "libpod-id"}
    return Engine(SimpleNamespace(api=api), kind), sent


def podman(version: str) -> EngineKind:
    return EngineKind("podman", version)


def test_docker_gets_a_device_request_and_the_runtime(tmp_path: Path) -> None:
    docker_engine, sent = engine(EngineKind("docker", "27.0"))
    assert docker_engine.create(spec(tmp_path, "2")) == "compat-id"
    host = sent["host_config"]
    assert host["Runtime"] == "nvidia"
    assert host["DeviceRequests"] == [
        {"Driver": "", "Count": 2, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
    ]


def test_podman_from_5_4_gets_a_cdi_device_request(tmp_path: Path) -> None:
    podman_engine, sent = engine(podman("5.4.1"))
    assert podman_engine.create(spec(tmp_path, "2")) == "compat-id"
    host = sent["host_config"]
    assert "Runtime" not in host  # podman would accept and ignore it
    assert host["DeviceRequests"][0]["Driver"] == "cdi"
    assert host["DeviceRequests"][0]["DeviceIDs"] == ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]


@pytest.mark.parametrize(
    ("gpus", "devices"), [("all", ["nvidia.com/gpu=all"]), ("1,3", ["nvidia.com/gpu=1", "nvidia.com/gpu=3"])]
)
def test_older_podman_creates_through_libpod_with_cdi_devices(tmp_path: Path, gpus: str, devices: list[str]) -> None:
    podman_engine, sent = engine(podman("4.3.1"))
    assert podman_engine.create(spec(tmp_path, gpus)) == "libpod-id"
    assert sent["url"].endswith("/v1.41/libpod/containers/create")
    body = sent["body"]
    assert body["devices"] == [{"path": device} for device in devices]
    assert body["portmappings"] == [
        {"host_ip": "127.0.0.1", "host_port": 8000, "container_port": 8000, "protocol": "tcp"}
    ]
    assert body["mounts"][0]["destination"] == "/opt/nim/.cache" and body["mounts"][0]["source"] == str(tmp_path)
    assert body["shm_size"] == 32 * 1024**3 and body["labels"]["io.nimctl.managed"] == "true"
    assert "netns" not in body  # the NIM keeps its network; only one-off probes run without one


def test_older_podman_without_gpus_uses_the_compat_api(tmp_path: Path) -> None:
    podman_engine, sent = engine(podman("4.3.1"))
    assert podman_engine.create(spec(tmp_path, "none")) == "compat-id"
    assert "DeviceRequests" not in sent["host_config"]


def test_the_gpu_probe_has_no_network(tmp_path: Path) -> None:
    podman_engine, sent = engine(podman("4.3.1"))
    podman_engine.create(spec(tmp_path, "all"), entrypoint=["nvidia-smi", "-L"])
    assert sent["body"]["netns"] == {"nsmode": "none"} and sent["body"]["entrypoint"] == ["nvidia-smi", "-L"]
    docker_engine, sent = engine(EngineKind("docker", "27.0"))
    docker_engine.create(spec(tmp_path, "all"), entrypoint=["nvidia-smi", "-L"])
    assert sent["host_config"]["NetworkMode"] == "none"
