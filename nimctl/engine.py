"""The Docker engine, through docker-py: the only module that imports `docker`.

Thin on purpose: it executes what plan/spec decided and reports what the engine says, turning
docker-py's exceptions into nimctl's (errors.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount
from pydantic import SecretStr

from nimctl.errors import (
    ConfigError,
    ContainerExited,
    EngineUnreachable,
    ImageNotFound,
    NimctlError,
    PreflightFailed,
    PullError,
    RegistryAuthError,
    TransientPullError,
    redact,
)
from nimctl.plan import Observed
from nimctl.spec import (
    LABEL_CONFIG_HASH,
    LABEL_MANAGED,
    ContainerSpec,
    split_reference,
)

NGC_USERNAME = "$oauthtoken"  # nvcr.io's fixed user name for API-key logins


@dataclass(frozen=True)
class ContainerInfo:
    """What `status` and `down` need to know about one of nimctl's containers."""

    id: str
    name: str
    state: str
    exit_code: int | None
    image: str
    image_id: str
    labels: dict[str, str]
    started_at: datetime | None
    env: dict[str, str]

    @property
    def observed(self) -> Observed:
        return Observed(
            name=self.name,
            id=self.id,
            state=self.state,
            managed=self.labels.get(LABEL_MANAGED) == "true",
            config_hash=self.labels.get(LABEL_CONFIG_HASH),
            image_id=self.image_id or None,
            exit_code=self.exit_code,
        )


def _parse_time(text: str | None) -> datetime | None:
    if not text or text.startswith("0001-"):
        return None
    # docker gives nanoseconds; datetime takes microseconds
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _info_from_attrs(attrs: dict[str, Any]) -> ContainerInfo:
    state = attrs.get("State", {})
    config = attrs.get("Config", {})
    env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    env.pop("NGC_API_KEY", None)  # never carried around, even in memory
    running_or_done = state.get("Status") in ("exited", "dead")
    return ContainerInfo(
        id=attrs["Id"],
        name=attrs["Name"].lstrip("/"),
        state=state.get("Status", "unknown"),
        exit_code=state.get("ExitCode") if running_or_done else None,
        image=config.get("Image", ""),
        image_id=attrs.get("Image", ""),
        labels=config.get("Labels") or {},
        started_at=_parse_time(state.get("StartedAt")),
        env=env,
    )


def classify_registry_error(message: str, image: str) -> PullError:
    """A registry/engine error text → the PullError a user can act on."""
    text = message.lower()
    registry_hint = "check the image reference; `nimctl config show` prints the one in use"
    if any(s in text for s in ("unauthorized", "authentication required", "401", "incorrect username or password")):
        return RegistryAuthError(
            f"the registry rejected the NGC key while pulling {image}",
            hint="check NGC_API_KEY (an NGC API key with access to this NIM); nvcr.io's user is $oauthtoken",
        )
    if any(s in text for s in ("manifest unknown", "name unknown", "repository does not exist", "not found", "404")):
        return ImageNotFound(f"image not found: {image}", hint=registry_hint)
    if "denied" in text:
        return RegistryAuthError(
            f"the registry denied access to {image}",
            hint="the NGC key was accepted but has no access to this image: check your NGC org and subscription",
        )
    if any(
        s in text
        for s in (
            "500",
            "502",
            "503",
            "504",
            "connection reset",
            "connection refused",
            "eof",
            "timeout",
            "toomanyrequests",
            "temporarily",
        )
    ):
        return TransientPullError(
            f"registry error while pulling {image}: {_one_line(message)}",
            hint="the registry or network had a transient fault; try again",
        )
    return PullError(f"pull of {image} failed: {_one_line(message)}", hint="check the image reference and the registry")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ContainerSignals:
    """Watches one container for the readiness wait: its exit (engine events) and its log lines.

    `wait(timeout)` returns early when something happens that is worth a probe right away
    (a log line hinting at readiness, or the container's exit), so the wait reacts within
    milliseconds without polling the health endpoint fast.
    """

    # Lines a NIM (uvicorn/vLLM) prints when it starts serving. Access-log lines are skipped:
    # they mention /v1/health/ready and would make every probe trigger the next one.
    READY_HINT = re.compile(
        r"application startup complete|uvicorn running on|nim is ready|ready to serve|serving on|listening on",
        re.IGNORECASE,
    )
    ACCESS_LOG = re.compile(r'"(GET|POST|HEAD|PUT|DELETE) /')

    def __init__(self, client: docker.DockerClient, container_id: str):
        self._client = client
        self._id = container_id
        self._nudge = threading.Event()
        self._exit_code: int | None = None
        self._oom = False
        self._streams: list[Any] = []
        # Subscribed before the container starts (the request completes here), so no exit is missed.
        events = client.api.events(decode=True, filters={"container": container_id, "event": ["die", "oom"]})
        self._streams.append(events)
        threading.Thread(target=self._follow_events, args=(events,), daemon=True, name="nimctl-events").start()

    def follow_logs(self, since: float) -> None:
        """Follow the log lines written from `since` (epoch seconds) on, not the whole history."""
        logs = self._client.api.logs(self._id, stream=True, follow=True, since=since)
        self._streams.append(logs)
        threading.Thread(target=self._follow_logs, args=(logs,), daemon=True, name="nimctl-logs").start()

    def _follow_events(self, events: Iterator[dict]) -> None:
        try:
            for event in events:
                action = event.get("Action") or event.get("status")
                if action == "oom":
                    self._oom = True
                elif action == "die":
                    code = event.get("Actor", {}).get("Attributes", {}).get("exitCode")
                    self._exit_code = int(code) if code is not None else -1
                    self._nudge.set()
                    return
        except Exception:  # noqa: S110 - the stream is closed under us at the end of the wait
            pass
        finally:
            self._nudge.set()

    def _follow_logs(self, logs: Iterator[bytes]) -> None:
        buffer = b""
        try:
            for chunk in logs:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for raw in complete:
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if self.READY_HINT.search(line) and not self.ACCESS_LOG.search(line):
                        self._nudge.set()
        except Exception:
            pass

    def wait(self, timeout: float) -> None:
        self._nudge.wait(timeout)
        self._nudge.clear()

    def exit_code(self) -> int | None:
        return self._exit_code

    @property
    def oom_killed(self) -> bool:
        return self._oom

    def close(self) -> None:
        for stream in self._streams:
            try:
                stream.close()
            except Exception:
                pass


class Engine:
    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.api = client.api

    @classmethod
    def connect(cls, timeout: float = 15.0) -> Engine:
        try:
            client = docker.from_env(timeout=int(timeout))
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise EngineUnreachable(
                f"cannot reach the Docker engine: {_one_line(str(exc), 160)}",
                hint="start it (`sudo systemctl start docker`, or `dockerd &`) or point DOCKER_HOST at it",
            ) from None
        return cls(client)

    # --- observing -------------------------------------------------------------------------

    def inspect(self, name_or_id: str) -> ContainerInfo | None:
        try:
            return _info_from_attrs(self.api.inspect_container(name_or_id))
        except docker.errors.NotFound:
            return None

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]:
        filters: dict[str, Any] = {"label": f"{LABEL_MANAGED}=true"}
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
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.NotFound:
            return None

    def engine_info(self) -> dict[str, Any]:
        return self.api.info()

    # --- images ----------------------------------------------------------------------------

    def login(self, registry: str, key: SecretStr) -> dict[str, str]:
        """Check the key against the registry; return the auth config for the pull.

        docker-py keeps it in memory only: nothing is written to ~/.docker/config.json.
        """
        auth = {"username": NGC_USERNAME, "password": key.get_secret_value(), "serveraddress": registry}
        try:
            self.api.login(username=NGC_USERNAME, password=key.get_secret_value(), registry=registry, reauth=True)
        except docker.errors.APIError as exc:
            raise classify_registry_error(_scrub(exc, key), registry) from None
        except requests.exceptions.RequestException as exc:
            raise TransientPullError(
                f"cannot reach the engine while logging in to {registry}: {_one_line(str(exc))}"
            ) from None
        return auth

    def pull(self, reference: str, auth: dict[str, str] | None, on_event: Callable[[dict], None]) -> str:
        """Pull with a live event stream; an errorDetail inside the stream is a failure."""
        repo, tag = split_reference(reference)
        secret = SecretStr(auth["password"]) if auth else None
        try:
            stream = self.api.pull(repo, tag=tag, stream=True, decode=True, auth_config=auth)
            for event in stream:
                if "errorDetail" in event or "error" in event:
                    detail = event.get("errorDetail", {}).get("message") or event.get("error", "")
                    raise classify_registry_error(_scrub(detail, secret), reference)
                on_event(event)
        except docker.errors.APIError as exc:
            raise classify_registry_error(_scrub(exc, secret), reference) from None
        except requests.exceptions.RequestException as exc:
            raise TransientPullError(f"connection to the engine broke during the pull: {_one_line(str(exc))}") from None
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
        try:
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
        except docker.errors.APIError as exc:
            raise self._container_error("create", spec.name, exc) from None
        return created["Id"]

    def start(self, container_id: str) -> None:
        try:
            self.api.start(container_id)
        except docker.errors.APIError as exc:
            raise self._container_error("start", container_id[:12], exc) from None

    def stop_and_remove(self, container_id: str, timeout: int) -> None:
        try:
            self.api.stop(container_id, timeout=timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            pass  # already stopping, or stopped: removal below settles it
        try:
            self.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
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

    @staticmethod
    def _container_error(action: str, what: str, exc: docker.errors.APIError) -> NimctlError:
        text = str(exc.explanation or exc)
        if "could not select device driver" in text:
            return PreflightFailed(
                f"the engine cannot serve GPU requests ({_one_line(text, 160)})",
                hint="install the NVIDIA Container Toolkit and restart dockerd, or use --gpus none",
            )
        if "unknown or invalid runtime" in text or ("runtime" in text and "not found" in text):
            return PreflightFailed(
                f"the engine has no such runtime ({_one_line(text, 160)})",
                hint='run `nvidia-ctk runtime configure --runtime=docker` and restart dockerd, or set runtime = ""',
            )
        if "port is already allocated" in text or "address already in use" in text:
            return PreflightFailed(f"the host port is taken ({_one_line(text, 160)})", hint="choose another --port")
        if exc.status_code == 409:
            return PreflightFailed(
                f"cannot {action} {what}: {_one_line(text, 200)}", hint="`nimctl status` shows what runs"
            )
        if action == "start":  # e.g. the image's entrypoint is missing: the container never ran
            return ContainerExited(
                f"cannot start container {what}: {_one_line(text, 200)}",
                hint="the engine refused to run it; check the image and the runtime settings",
            )
        if exc.status_code == 400:  # the engine rejected the container's configuration
            return ConfigError(
                f"cannot {action} container {what}: {_one_line(text, 200)}", hint="check the profile's settings"
            )
        return NimctlError(f"cannot {action} container {what}: {_one_line(text, 200)}", hint="see the engine's log")


def _scrub(error: object, secret: SecretStr | None) -> str:
    """An engine error's text with the key cut out, in case an engine ever echoes it."""
    return redact(str(getattr(error, "explanation", None) or error), secret)


def uptime_seconds(info: ContainerInfo, now: datetime | None = None) -> float | None:
    if info.state != "running" or info.started_at is None:
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (now - info.started_at).total_seconds())
