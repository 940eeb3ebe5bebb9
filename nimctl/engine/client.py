"""The container engine, through docker-py: the only place a client is made and called.

Docker or Podman (through its Docker-compatible API), local or over SSH (`ssh://user@host`,
through the `ssh` binary as the docker CLI does: docker_shims). `connect(loaded)` chooses the
engine as the docker CLI would (choice.py) and opens it. Thin on purpose: it executes what
plan/spec decided and reports what the engine says. Its helpers in this package: kind.py (which
engine, how it takes GPUs), errors.py (docker-py's exceptions → nimctl's), watch.py (the
events/logs follower of a starting container), tunnel.py (the SSH tunnel to a remote NIM),
simulator_build.py (the simulator image build).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from nimctl import lazy
from nimctl.container import MANAGED_FILTER, ContainerInfo, OneOffResult
from nimctl.engine import create_request
from nimctl.engine.choice import EngineChoice, TlsFiles, choose_engine
from nimctl.engine.errors import engine_errors, scrub
from nimctl.engine.kind import EngineKind
from nimctl.engine.local_api import LocalApi, NoClearAnswer, socket_path
from nimctl.errors import ConfigError, PullError, redact
from nimctl.pull import classify_registry_error
from nimctl.spec import ContainerSpec, split_reference

if TYPE_CHECKING:
    import docker

    from nimctl.engine import docker_shims, simulator_build, tunnel, watch
    from nimctl.engine.watch import ContainerSignals
    from nimctl.settings import LoadedSettings
    from nimctl.simulator import image as sim_recipe
else:
    watch = lazy.module("nimctl.engine.watch")  # only `up` waits and follows: status never loads it
    # docker-py (~0.1 s to import) is loaded by the first call local_api does not make: on a local
    # engine `status`, `down` and `up` (once the GPU probe's pass is kept) never load it.
    docker = lazy.module("docker", after=lazy.DOCKER_IMPORTER)
    docker_shims = lazy.module(lazy.DOCKER_IMPORTER)
    simulator_build = lazy.module("nimctl.engine.simulator_build")
    sim_recipe = lazy.module("nimctl.simulator.image")  # the simulator's recipe hash: a sim profile only
    tunnel = lazy.module("nimctl.engine.tunnel")

NGC_USERNAME = "$oauthtoken"  # nvcr.io's fixed user name for API-key logins
GPU_PROBE_LABEL = "io.nimctl.gpu-probe"
GPU_PROBE_COMMAND = ["nvidia-smi", "-L"]
INSPECT_WORKERS = 8  # below docker-py's 10 pooled connections per engine


def connect(loaded: LoadedSettings, *, environ: Mapping[str, str] | None = None, timeout: float = 15.0) -> Engine:
    """The engine the settings and the environment choose (choice.choose_engine), connected and asked its version.

    An engine that does not answer is EngineUnreachable (exit 3) naming its URL and how it was
    chosen; an unknown docker context is a ConfigError (exit 2).
    """
    environ = os.environ if environ is None else environ
    choice = choose_engine(loaded.settings.engine_url, loaded.sources.get("engine_url", "default"), environ)
    return Engine.open(choice, timeout=timeout)


def _tls_config(tls: TlsFiles | None) -> Any:
    if tls is None:
        return None
    return docker.tls.TLSConfig(client_cert=tls.client_cert, ca_cert=tls.ca_cert, verify=tls.verify)


class Engine:
    """One engine: the calls `up`, `status` and `down` make go over its local socket when it has
    one (`local`, local_api); everything else, and any call without a clear answer there, through
    docker-py's client, which is made at the first call that needs it (`connect_client`)."""

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        kind: EngineKind | None = None,
        choice: EngineChoice | None = None,
        *,
        local: LocalApi | None = None,
        connect_client: Callable[[], docker.DockerClient] | None = None,
    ):
        if client is None and connect_client is None:
            raise ValueError("an Engine needs a docker-py client or a way to make one")
        self._client = client
        self._connect_client = connect_client
        self.local = local
        self.kind = kind or EngineKind.from_version(self.api.version())
        self.choice = choice or EngineChoice(url=self.kind.url, source="given")

    @classmethod
    def open(cls, choice: EngineChoice, timeout: float = 15.0) -> Engine:
        """Connect to the engine `choice` names; ssh:// goes through the ssh binary (docker_shims)."""
        what = f"the engine at {choice.url} (from {choice.source})"
        hint = choice.unreachable_hint()

        def connect_client() -> docker.DockerClient:
            with engine_errors("connect", what, unreachable_hint=hint):
                return docker_shims.make_client(choice.url, _tls_config(choice.tls), timeout)

        path = socket_path(choice.url) if choice.tls is None else None
        if path is not None:
            local = LocalApi(path, timeout)
            with contextlib.suppress(NoClearAnswer):  # no clear answer: docker-py below says why
                kind = EngineKind.from_ping(local.handshake(), choice.url)
                kind = kind or EngineKind.from_version(local.version(), choice.url)
                return cls(None, kind, choice, local=local, connect_client=connect_client)
        client = connect_client()
        with engine_errors("connect", what, unreachable_hint=hint):
            answer = client.version()
        return cls(client, EngineKind.from_version(answer, choice.url), choice)

    @property
    def client(self) -> docker.DockerClient:
        """docker-py's client, made the first time a call needs it."""
        if self._client is None:
            assert self._connect_client is not None
            self._client = self._connect_client()
        return self._client

    @property
    def api(self) -> Any:
        return self.client.api

    # --- observing -------------------------------------------------------------------------

    def _read(self, call: str, ref: str) -> dict[str, Any] | None:
        """`inspect_container` or `inspect_image` of `ref`; None when the engine has no such object.
        Over the local socket when there is one; else, or without a clear answer there, docker-py."""
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return getattr(self.local, call)(ref)
        try:
            return getattr(self.api, call)(ref)
        except docker.errors.NotFound:  # ImageNotFound is one
            return None

    def inspect(self, name_or_id: str) -> ContainerInfo | None:
        answer = self._read("inspect_container", name_or_id)
        return ContainerInfo.from_inspect(answer) if answer is not None else None

    def _summaries(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return self.local.containers(filters)
        return self.api.containers(all=True, filters=filters)

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]:
        filters: dict[str, Any] = {"label": MANAGED_FILTER}
        if name:
            filters["name"] = f"^/?{re.escape(name)}$"  # podman matches names without the "/"
        ids = [summary["Id"] for summary in self._summaries(filters)]
        if len(ids) > 1 and self.kind.ssh_host is None:
            # One inspect per container, all at once (docker-py's pool holds 10 connections); over
            # SSH each connection is an ssh process, so those stay one at a time.
            with ThreadPoolExecutor(max_workers=min(INSPECT_WORKERS, len(ids))) as pool:
                found = list(pool.map(self.inspect, ids))
        else:
            found = [self.inspect(container_id) for container_id in ids]
        return sorted((info for info in found if info is not None), key=lambda info: info.name)

    def image_id(self, reference: str) -> str | None:
        answer = self._read("inspect_image", reference)
        return answer["Id"] if answer is not None else None

    def engine_info(self) -> dict[str, Any]:
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return self.local.info()
        with engine_errors("query", "the Docker engine"):
            return self.api.info()

    def version(self) -> str:
        return self.kind.describe()

    def reach(self, url: str) -> contextlib.AbstractContextManager[str]:
        """A URL this process can open for the NIM at `url` (as seen from the engine's host).

        Local engines: `url` itself. Over SSH: a local port tunnelled to the remote loopback,
        open for the `with` block.
        """
        if self.kind.ssh_host is None or not url:
            return contextlib.nullcontext(url)
        return tunnel.ssh_tunnel(self.kind.url, url)

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
        """The simulator image's id; built when missing or when its recipe changed (simulator_build)."""
        present = self._read("inspect_image", reference)
        labels = ((present or {}).get("Config") or {}).get("Labels") or {}
        if present is not None and sim_recipe.is_current(labels):
            return present["Id"]
        try:
            with engine_errors("build", reference):
                return simulator_build.build_simulator_image(self.client, tag=reference).id
        except RuntimeError as exc:
            raise ConfigError(f"cannot build the simulator image: {exc}", hint="apt-get install python3.11") from None

    # --- containers ------------------------------------------------------------------------

    def create(self, spec: ContainerSpec, entrypoint: list[str] | None = None) -> str:
        """Create (not start) the container; the GPU request goes the way this engine honours it.

        With `entrypoint` (a one-off command, e.g. the GPU probe) the container gets no network.
        The request is create_request's, over the local socket when there is one; an answer other
        than "created" there is asked again through docker-py, for its error.
        """
        if create_request.uses_libpod(spec, self.kind):
            with engine_errors("create", spec.name):
                response = self.api._post_json(
                    self.api._url(create_request.LIBPOD_CREATE), data=create_request.libpod_body(spec, entrypoint)
                )
                return self.api._result(response, json=True)["Id"]
        body = create_request.compat_body(spec, self.kind, entrypoint)
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return self.local.create_container(spec.name, body)
        with engine_errors("create", spec.name):
            return self.api.create_container_from_config(body, name=spec.name)["Id"]

    def list_gpus(self, spec: ContainerSpec) -> tuple[int, str]:
        """Run `nvidia-smi -L` in a throwaway container of the spec's image with its GPU request.

        Returns (exit code, output); the container is removed whatever happens. Engine errors
        (e.g. "could not select device driver", an unknown CDI device) propagate as nimctl errors.
        """
        probe = replace(
            spec,
            name=f"{spec.name}-gpu-probe-{uuid.uuid4().hex[:6]}",
            env={},
            secret_env={},
            labels={GPU_PROBE_LABEL: "true"},
            mounts=(),
            ports=(),
            command=(),
        )
        result = self.run_oneoff(probe, lambda line: None, entrypoint=GPU_PROBE_COMMAND)
        return result.exit_code, "\n".join(result.lines)

    def start(self, container_id: str) -> None:
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return self.local.start_container(container_id)
        with engine_errors("start", container_id[:12]):
            self.api.start(container_id)

    def stop_and_remove(self, container_id: str, timeout: int) -> None:
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):  # else docker-py below, for its error
                if self.local.stop(container_id, timeout):
                    self.local.remove(container_id)
                return
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

    def stop_restarts(self, container_id: str, timeout: int) -> None:
        """Set the restart policy to no, then stop: a kept failed container must not loop in the background.

        Docker updates the policy in place; an engine that cannot (older Podman) still stops it,
        and a stopped container is not restarted by on-failure or unless-stopped.
        """
        with contextlib.suppress(docker.errors.APIError):
            self.api.update_container(container_id, restart_policy={"Name": "no", "MaximumRetryCount": 0})
        with contextlib.suppress(docker.errors.APIError):
            self.api.stop(container_id, timeout=timeout)

    def deaths(self, container_id: str, since: float) -> list[tuple[float, int | None]]:
        """The container's `die` events from `since` until now (a bounded query: it ends by itself)."""
        now = time.time()
        found: list[tuple[float, int | None]] = []
        with engine_errors("query", container_id[:12]):
            # filtered by container only: podman answers an "event" filter plus another with nothing
            for event in self.api.events(
                since=int(since), until=int(now) + 1, decode=True, filters={"container": container_id}
            ):
                if (event.get("Action") or event.get("status")) != "die":
                    continue
                code = (event.get("Actor") or {}).get("Attributes", {}).get("exitCode")
                stamp = event.get("timeNano")
                when = stamp / 1e9 if stamp else float(event.get("time") or 0)
                found.append((when, int(code) if code not in (None, "") else None))
        return sorted(found)

    def run_oneoff(
        self, spec: ContainerSpec, on_line: Callable[[str], None], entrypoint: list[str] | None = None
    ) -> OneOffResult:
        """Run `spec` (see spec.oneoff_spec) to its end, passing each output line to `on_line`.

        The container is removed afterwards whatever happens: exit, failure, Ctrl-C.
        """
        secrets = tuple(spec.secret_env.values())  # the NGC key and the HF token, cut out of every line
        container_id = self.create(spec, entrypoint=entrypoint)
        lines: list[str] = []
        try:
            self.start(container_id)
            with engine_errors("query", spec.name):
                for line in watch.stream_lines(self.api.logs(container_id, stream=True, follow=True)):
                    line = redact(line, *secrets)
                    lines.append(line)
                    on_line(line)
                exit_code = int(self.api.wait(container_id).get("StatusCode", -1))
        finally:
            self.stop_and_remove(container_id, timeout=2)
        return OneOffResult(exit_code=exit_code, lines=lines)

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        if self.local is not None and tail == "all":
            with contextlib.suppress(NoClearAnswer):
                return self.local.logs(container_id).decode("utf-8", "replace")
        try:
            return self.api.logs(container_id, tail=tail).decode("utf-8", "replace")
        except docker.errors.NotFound:
            return ""

    def follow_logs(self, container_id: str, tail: int | str, follow: bool) -> Iterator[bytes]:
        return self.api.logs(container_id, stream=True, follow=follow, tail=tail)

    def signals(self, container_id: str) -> ContainerSignals:
        """Follow the container's exit and log while `up` waits (watch.ContainerSignals)."""
        return watch.ContainerSignals(self, container_id)

    # --- the streams ContainerSignals follows (watch.EventSource) ----------------------------

    def events(self, container_id: str) -> Any:
        """The container's engine events from now on, as dicts (closable)."""
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return self.local.events({"container": container_id})
        # filtered by container only: podman answers an "event" filter of two values with nothing at all
        return self.api.events(decode=True, filters={"container": container_id})

    def follow_logs_since(self, container_id: str, since: float) -> Any:
        """The container's output from `since` (epoch seconds) on, followed (closable)."""
        if self.local is not None:
            with contextlib.suppress(NoClearAnswer):
                return self.local.follow_logs(container_id, since)
        return self.api.logs(container_id, stream=True, follow=True, since=since)

    def answers(self) -> bool:
        """Whether the engine answers (a stream that ended: the engine's end, or only the stream's?)."""
        if self.local is not None:
            return self.local.ping()
        try:
            self.api.ping()
        except Exception:  # noqa: BLE001 - whatever the failure, the engine is not there
            return False
        return True
