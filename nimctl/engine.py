"""The Docker engine, through docker-py: the only place a client is made and called.

Thin on purpose: it executes what plan/spec decided and reports what the engine says. Its
helpers: container.py (the inspect record), engine_errors.py (docker-py's exceptions →
nimctl's), watch.py (the events/logs follower of a starting container).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount
from pydantic import SecretStr

from nimctl.container import MANAGED_FILTER, ContainerInfo
from nimctl.engine_errors import engine_errors, scrub
from nimctl.errors import ConfigError, PullError
from nimctl.pull import classify_registry_error
from nimctl.spec import ContainerSpec, split_reference
from nimctl.watch import ContainerSignals

NGC_USERNAME = "$oauthtoken"  # nvcr.io's fixed user name for API-key logins


class Engine:
    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.api = client.api

    @classmethod
    def connect(cls, timeout: float = 15.0) -> Engine:
        with engine_errors("connect", "the Docker engine"):
            client = docker.from_env(timeout=int(timeout))
            client.ping()
        return cls(client)

    # --- observing -------------------------------------------------------------------------

    def inspect(self, name_or_id: str) -> ContainerInfo | None:
        try:
            return ContainerInfo.from_inspect(self.api.inspect_container(name_or_id))
        except docker.errors.NotFound:
            return None

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]:
        filters: dict[str, Any] = {"label": MANAGED_FILTER}
        if name:
            filters["name"] = f"^/{re.escape(name)}$"
        infos = []
        for summary in self.api.containers(all=True, filters=filters):
            info = self.inspect(summary["Id"])
            if info is not None:
                infos.append(info)
        return sorted(infos, key=lambda info: info.name)

    def image_id(self, reference: str) -> str | None:
        try:
            return self.api.inspect_image(reference)["Id"]
        except docker.errors.NotFound:  # ImageNotFound is one
            return None

    def engine_info(self) -> dict[str, Any]:
        with engine_errors("query", "the Docker engine"):
            return self.api.info()

    def version(self) -> str:
        with engine_errors("query", "the Docker engine"):
            return self.api.version().get("Version", "?")

    # --- images ----------------------------------------------------------------------------

    def login(self, registry: str, key: SecretStr) -> dict[str, str]:
        """Check the key against the registry; return the auth config for the pull.

        docker-py keeps it in memory only: nothing is written to ~/.docker/config.json.
        """
        auth = {"username": NGC_USERNAME, "password": key.get_secret_value(), "serveraddress": registry}
        with engine_errors("login", registry, key):
            self.api.login(username=NGC_USERNAME, password=key.get_secret_value(), registry=registry, reauth=True)
        return auth

    def pull(self, reference: str, auth: dict[str, str] | None, on_event: Callable[[dict], None]) -> str:
        """Pull with a live event stream; an errorDetail inside the stream is a failure."""
        repo, tag = split_reference(reference)
        secret = SecretStr(auth["password"]) if auth else None
        with engine_errors("pull", reference, secret):
            for event in self.api.pull(repo, tag=tag, stream=True, decode=True, auth_config=auth):
                if "errorDetail" in event or "error" in event:
                    detail = event.get("errorDetail", {}).get("message") or event.get("error", "")
                    raise classify_registry_error(scrub(detail, secret), reference, key_sent=auth is not None)
                on_event(event)
        image_id = self.image_id(reference)
        if image_id is None:
            raise PullError(f"the engine reported the pull of {reference} done but has no such image")
        return image_id

    def build_simulator(self, reference: str) -> str:
        from nimctl.simulator.image import ensure_simulator_image

        try:
            image = ensure_simulator_image(self.client, tag=reference)
        except RuntimeError as exc:
            raise ConfigError(f"cannot build the simulator image: {exc}", hint="apt-get install python3.11") from None
        return image.id

    # --- containers ------------------------------------------------------------------------

    def create(self, spec: ContainerSpec) -> str:
        device_requests = []
        if spec.gpus.wanted:
            device_requests.append(
                DeviceRequest(
                    count=spec.gpus.count if not spec.gpus.device_ids else None,
                    device_ids=list(spec.gpus.device_ids) or None,
                    capabilities=[["gpu"]],
                )
            )
        environment = {**spec.env, **{k: v.get_secret_value() for k, v in spec.secret_env.items()}}
        host_config = self.api.create_host_config(
            runtime=spec.runtime,
            device_requests=device_requests or None,
            shm_size=spec.shm_size,
            mounts=[
                DockerMount(target=m.target, source=str(m.source), type="bind", read_only=m.read_only)
                for m in spec.mounts
            ],
            port_bindings={p.container_port: (p.host_ip, p.host_port) for p in spec.ports},
        )
        with engine_errors("create", spec.name):
            created = self.api.create_container(
                spec.image,
                name=spec.name,
                environment=environment,
                labels=spec.labels,
                user=spec.user,
                ports=[p.container_port for p in spec.ports],
                host_config=host_config,
                detach=True,
            )
        return created["Id"]

    def start(self, container_id: str) -> None:
        with engine_errors("start", container_id[:12]):
            self.api.start(container_id)

    def stop_and_remove(self, container_id: str, timeout: int) -> None:
        try:
            self.api.stop(container_id, timeout=timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            pass  # already stopping, or stopped: removal below settles it
        with engine_errors("remove", container_id[:12]):
            try:
                self.api.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                pass  # gone already
            except docker.errors.APIError as exc:
                if "already in progress" not in str(exc):  # another removal of it is under way
                    raise

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        try:
            return self.api.logs(container_id, tail=tail).decode("utf-8", "replace")
        except docker.errors.NotFound:
            return ""

    def follow_logs(self, container_id: str, tail: int | str, follow: bool) -> Iterator[bytes]:
        return self.api.logs(container_id, stream=True, follow=follow, tail=tail)

    def signals(self, container_id: str) -> ContainerSignals:
        return ContainerSignals(self.client, container_id)
