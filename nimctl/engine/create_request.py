"""The request that creates a spec's container, as plain data: built once, sent by either transport.

Docker's compat API (`POST /containers/create?name=...`) takes the JSON docker-py's
`create_container` would send for the same options (tests/unit/test_create_request.py holds the
two equal); Podman before 5.4 takes GPUs only as CDI devices through its own libpod API. The body
holds the container's environment, secrets included: it goes to the engine and nowhere else (never
into a message or a log).
"""

from __future__ import annotations

from typing import Any

from nimctl.engine.kind import EngineKind, GpuMethod, cdi_devices
from nimctl.spec import ContainerSpec

LIBPOD_CREATE = "/libpod/containers/create"  # podman's own API; docker-py's /v1.41 prefix is accepted


def restart_policy(spec: ContainerSpec, entrypoint: list[str] | None) -> dict[str, Any] | None:
    """The engine's restart policy for `spec` (docker's HostConfig.RestartPolicy); None: no policy."""
    if entrypoint or not spec.restart.restarts:
        return None
    return {"Name": spec.restart.name, "MaximumRetryCount": spec.restart.max_retries}


def environment(spec: ContainerSpec) -> dict[str, str]:
    """The container's environment: the spec's variables and its secrets' values."""
    return {**spec.env, **{name: value.get_secret_value() for name, value in spec.secret_env.items()}}


def uses_libpod(spec: ContainerSpec, kind: EngineKind) -> bool:
    return spec.gpus.wanted and kind.gpu_method is GpuMethod.LIBPOD_CDI


def device_requests(spec: ContainerSpec, kind: EngineKind) -> list[dict[str, Any]]:
    """HostConfig.DeviceRequests: Docker's `--gpus`, or a CDI request on Podman >= 5.4."""
    if not spec.gpus.wanted:
        return []
    if kind.gpu_method is GpuMethod.CDI_REQUEST:
        driver, count, ids, capabilities = "cdi", 0, cdi_devices(spec.gpus), []
    else:
        ids = list(spec.gpus.device_ids)
        driver, count, capabilities = "", 0 if ids else (spec.gpus.count or 0), [["gpu"]]
    return [{"Driver": driver, "Count": count, "DeviceIDs": ids, "Capabilities": capabilities, "Options": {}}]


def compat_body(spec: ContainerSpec, kind: EngineKind, entrypoint: list[str] | None = None) -> dict[str, Any]:
    """The JSON body of Docker's `POST /containers/create` for `spec` (its name goes in the query).

    With `entrypoint` (a one-off command, e.g. the GPU probe) the container gets no network."""
    host: dict[str, Any] = {
        "ShmSize": spec.shm_size,
        "NetworkMode": "none" if entrypoint else "default",
        "PortBindings": {
            f"{p.container_port}/tcp": [{"HostIp": p.host_ip, "HostPort": str(p.host_port)}] for p in spec.ports
        },
        "Mounts": [
            {"Target": m.target, "Source": str(m.source), "Type": "bind", "ReadOnly": m.read_only} for m in spec.mounts
        ],
    }
    if policy := restart_policy(spec, entrypoint):
        host["RestartPolicy"] = policy
    if spec.runtime and not kind.is_podman:  # podman's GPUs are CDI devices; it would ignore a runtime
        host["Runtime"] = spec.runtime
    if requests := device_requests(spec, kind):
        host["DeviceRequests"] = requests
    body: dict[str, Any] = {
        "Image": spec.image,
        "Labels": spec.labels,
        "User": spec.user,
        "ExposedPorts": {f"{p.container_port}/tcp": {} for p in spec.ports},
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "NetworkDisabled": False,
        "HostConfig": host,
    }
    if env := environment(spec):
        body["Env"] = [f"{name}={value}" for name, value in env.items()]
    if spec.command:
        body["Cmd"] = list(spec.command)
    if entrypoint:
        body["Entrypoint"] = list(entrypoint)
    return body


def libpod_body(spec: ContainerSpec, entrypoint: list[str] | None = None) -> dict[str, Any]:
    """The JSON body of Podman's `POST /libpod/containers/create`: GPUs as CDI devices (Podman < 5.4)."""
    body: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "env": environment(spec),
        "labels": spec.labels,
        "user": spec.user,
        "devices": [{"path": device} for device in cdi_devices(spec.gpus)],
        "shm_size": spec.shm_size,
        "mounts": [
            {
                "destination": m.target,
                "source": str(m.source),
                "type": "bind",
                "options": ["ro" if m.read_only else "rw"],
            }
            for m in spec.mounts
        ],
        "portmappings": [
            {"host_ip": p.host_ip, "host_port": p.host_port, "container_port": p.container_port, "protocol": "tcp"}
            for p in spec.ports
        ],
    }
    if spec.command:
        body["command"] = list(spec.command)
    if policy := restart_policy(spec, entrypoint):
        body["restart_policy"] = policy["Name"]
        if policy["MaximumRetryCount"]:
            body["restart_tries"] = policy["MaximumRetryCount"]
    if entrypoint:
        body["entrypoint"], body["command"], body["netns"] = entrypoint, [], {"nsmode": "none"}
    return body
