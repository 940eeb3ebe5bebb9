"""nimctl/engine/create_request.py: the create request of a spec, as plain data.

The compat body must be exactly what docker-py's `create_container` sends for the options nimctl
used to pass it (tests/create_oracle.py): the same request goes over the local socket (local_api) or
through docker-py. The libpod body is Podman < 5.4's GPU path. The real engines take both in
tests/integration/test_local_api.py and test_podman.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import SecretStr

from nimctl.engine.create_request import compat_body, libpod_body, uses_libpod
from nimctl.engine.kind import EngineKind
from nimctl.settings import load_settings
from nimctl.spec import ContainerSpec, build_spec, oneoff_spec
from tests.create_oracle import docker_py_body

DOCKER = EngineKind("docker", "27.0")
PODMAN_CDI_REQUEST = EngineKind("podman", "5.4.1")
PODMAN_LIBPOD = EngineKind("podman", "4.3.1")
PROBE = ["nvidia-smi", "-L"]


def spec_for(tmp_path: Path, **flags: object) -> ContainerSpec:
    base = {"cache_dir": tmp_path, "container_name": "nim", "image": "nvcr.io/nim/x/y:1.7.0", "runtime": "nvidia"}
    spec = build_spec(load_settings(base | flags, environ={}).settings, "test")
    return dataclasses.replace(spec, secret_env={"NGC_API_KEY": SecretStr("nvapi-secret")})


FLAGS = [
    {"gpus": "none"},
    {"gpus": "all"},
    {"gpus": "2"},
    {"gpus": "device=0,2"},
    {"gpus": "all", "runtime": ""},
    {"gpus": "1", "restart": "on-failure:3"},
    {"gpus": "none", "restart": "unless-stopped", "port": "9000", "host": "0.0.0.0"},
    {"gpus": "all", "env": {"NIM_MAX_MODEL_LEN": "8192", "EMPTY": ""}, "shm_size": "16GB"},
]


@pytest.mark.parametrize("kind", [DOCKER, PODMAN_CDI_REQUEST], ids=["docker", "podman-5.4"])
@pytest.mark.parametrize("flags", FLAGS, ids=lambda flags: ",".join(f"{k}={v}" for k, v in flags.items()))
def test_the_compat_body_is_what_docker_py_sends(tmp_path: Path, kind: EngineKind, flags: dict) -> None:
    spec = spec_for(tmp_path, **flags)
    name, expected = docker_py_body(spec, kind, None)
    assert name == "nim"
    assert compat_body(spec, kind) == expected


@pytest.mark.parametrize(
    "kind", [DOCKER, PODMAN_CDI_REQUEST, PODMAN_LIBPOD], ids=["docker", "podman-5.4", "podman-4.3"]
)
def test_one_off_containers_and_the_gpu_probe_match_docker_py_too(tmp_path: Path, kind: EngineKind) -> None:
    spec = spec_for(tmp_path, gpus="all", restart="always")
    task = oneoff_spec(spec, "profiles", ["list-model-profiles"])
    assert compat_body(task, kind) == docker_py_body(task, kind, None)[1]
    probe = dataclasses.replace(spec, env={}, secret_env={}, mounts=(), ports=(), command=())
    body = compat_body(probe, kind, entrypoint=PROBE)
    assert body == docker_py_body(probe, kind, PROBE)[1]
    assert body["HostConfig"]["NetworkMode"] == "none" and "RestartPolicy" not in body["HostConfig"]


def test_the_model_directory_is_mounted_read_only(tmp_path: Path) -> None:
    model = tmp_path / "weights"
    model.mkdir()
    (model / "config.json").write_text("{}")
    spec = spec_for(tmp_path, model_path=str(model))
    mounts = compat_body(spec, DOCKER)["HostConfig"]["Mounts"]
    assert mounts == docker_py_body(spec, DOCKER, None)[1]["HostConfig"]["Mounts"]
    assert [m["ReadOnly"] for m in mounts] == [False, True]


def test_the_key_is_in_the_environment_and_nowhere_else(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, gpus="all")
    body = compat_body(spec, DOCKER)
    assert "NGC_API_KEY=nvapi-secret" in body["Env"]
    body["Env"].remove("NGC_API_KEY=nvapi-secret")
    assert "nvapi-secret" not in repr(body)


@pytest.mark.parametrize(
    ("gpus", "devices"), [("all", ["nvidia.com/gpu=all"]), ("1,3", ["nvidia.com/gpu=1", "nvidia.com/gpu=3"])]
)
def test_older_podman_takes_gpus_as_cdi_devices_through_libpod(tmp_path: Path, gpus: str, devices: list[str]) -> None:
    spec = spec_for(tmp_path, gpus=gpus)
    assert (
        uses_libpod(spec, PODMAN_LIBPOD) and not uses_libpod(spec, PODMAN_CDI_REQUEST) and not uses_libpod(spec, DOCKER)
    )
    body = libpod_body(spec)
    assert body["devices"] == [{"path": device} for device in devices]
    assert body["portmappings"] == [
        {"host_ip": "127.0.0.1", "host_port": 8000, "container_port": 8000, "protocol": "tcp"}
    ]
    assert body["mounts"][0]["destination"] == "/opt/nim/.cache" and body["mounts"][0]["source"] == str(tmp_path)
    assert body["shm_size"] == 32 * 1024**3 and body["labels"]["io.nimctl.managed"] == "true"
    assert body["env"]["NGC_API_KEY"] == "nvapi-secret"
    assert "netns" not in body  # the NIM keeps its network; only one-off probes run without one
    probe = libpod_body(spec, entrypoint=PROBE)
    assert probe["netns"] == {"nsmode": "none"} and probe["entrypoint"] == PROBE and probe["command"] == []


def test_older_podman_without_gpus_uses_the_compat_api(tmp_path: Path) -> None:
    assert not uses_libpod(spec_for(tmp_path, gpus="none"), PODMAN_LIBPOD)


def test_a_restart_policy_reaches_libpod_as_its_name_and_tries(tmp_path: Path) -> None:
    body = libpod_body(spec_for(tmp_path, gpus="all", restart="on-failure:3"))
    assert (body["restart_policy"], body["restart_tries"]) == ("on-failure", 3)
    body = libpod_body(spec_for(tmp_path, gpus="all", restart="always"))
    assert body["restart_policy"] == "always" and "restart_tries" not in body
