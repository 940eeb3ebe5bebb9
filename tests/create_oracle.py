"""The oracle for nimctl/engine/create_request.py: what docker-py's `create_container` sends for
the options nimctl passed it before it built the request itself (unit and integration tests)."""

from __future__ import annotations

import docker

from nimctl.engine.create_request import restart_policy
from nimctl.engine.kind import EngineKind, cdi_devices
from nimctl.spec import ContainerSpec


def docker_py_body(spec: ContainerSpec, kind: EngineKind, entrypoint: list[str] | None) -> tuple[str, dict]:
    """What docker-py sends for the options nimctl passed it before create_request existed."""
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    sent: dict = {}

    def create_container_from_config(config: dict, name: str | None = None, platform: str | None = None) -> dict:
        sent.update(name=name, body={key: value for key, value in config.items() if value is not None})  # _post_json
        return {"Id": "x"}

    api.create_container_from_config = create_container_from_config
    requests = []
    if spec.gpus.wanted and kind.gpu_method.value == "cdi-request":
        requests.append(docker.types.DeviceRequest(driver="cdi", device_ids=cdi_devices(spec.gpus)))
    elif spec.gpus.wanted:
        requests.append(
            docker.types.DeviceRequest(
                count=spec.gpus.count if not spec.gpus.device_ids else None,
                device_ids=list(spec.gpus.device_ids) or None,
                capabilities=[["gpu"]],
            )
        )
    host_config = api.create_host_config(
        runtime=None if kind.is_podman else spec.runtime,
        device_requests=requests or None,
        shm_size=spec.shm_size,
        mounts=[
            docker.types.Mount(target=m.target, source=str(m.source), type="bind", read_only=m.read_only)
            for m in spec.mounts
        ],
        port_bindings={p.container_port: (p.host_ip, p.host_port) for p in spec.ports},
        network_mode="none" if entrypoint else None,
        restart_policy=restart_policy(spec, entrypoint),
    )
    api.create_container(
        spec.image,
        name=spec.name,
        environment={**spec.env, **{k: v.get_secret_value() for k, v in spec.secret_env.items()}},
        labels=spec.labels,
        user=spec.user,
        ports=[p.container_port for p in spec.ports],
        host_config=host_config,
        command=list(spec.command) or None,
        entrypoint=entrypoint,
        detach=True,
    )
    return sent["name"], sent["body"]
