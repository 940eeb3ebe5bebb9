"""Issue 17: `status` and `up` call the engine over its local socket without docker-py
(nimctl/engine/local_api.py). The reads must give what docker-py gives, a container created and
started over the socket must be the one docker-py creates from the same options, its events and
log must stream, on Docker and on Podman, and the commands must really leave docker-py, requests
and urllib3 unloaded."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import docker.errors
import pytest

from nimctl.container import MANAGED_FILTER
from nimctl.engine.choice import LOCAL_SOCKET, EngineChoice
from nimctl.engine.client import Engine
from nimctl.engine.create_request import compat_body
from nimctl.engine.kind import EngineKind
from nimctl.engine.local_api import LocalApi, LocalStream, NoClearAnswer, socket_path
from nimctl.settings import load_settings
from nimctl.spec import ContainerSpec, build_spec
from tests.create_oracle import docker_py_body
from tests.integration.engines import PODMAN_URL
from tests.integration.harness import RUN_ID, free_port

HEAVY = ("docker", "requests", "urllib3", "pydantic_settings")
# pydantic's plugin discovery (entry-point scan): the CLI loads no plugin (cli/app.without_pydantic_plugins)
NOT_LOADED = {"importlib.metadata"}
# what an `up` that goes well never needs: a failed start's diagnosis, the registry's tag list, status' listing
NOT_FOR_UP = {"nimctl.diagnosis", "nimctl.registry", "nimctl.inventory"}


def imported(command: list[str], env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nimctl", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def heavy(names: set[str]) -> list[str]:
    return sorted(name for name in names if name.split(".", 1)[0] in HEAVY or name in NOT_LOADED)


def same_reads(reads: LocalApi, client, container: str, image: str) -> None:
    """Each read over the socket equals docker-py's answer to the same question."""
    ours = reads.inspect_container(container)
    theirs = client.api.inspect_container(container)
    assert ours is not None
    for key in ("Id", "Name", "Image", "RestartCount"):
        assert ours[key] == theirs[key], key
    for key in ("Labels", "Env", "Image"):
        assert ours["Config"][key] == theirs["Config"][key], key
    assert ours["HostConfig"]["RestartPolicy"] == theirs["HostConfig"]["RestartPolicy"]
    assert ours["NetworkSettings"]["Ports"] == theirs["NetworkSettings"]["Ports"]
    assert ours["State"]["Status"] == theirs["State"]["Status"]

    assert reads.inspect_image(image)["Id"] == client.api.inspect_image(image)["Id"]

    # the engine named from its /_ping headers is the one its /version answer names
    assert EngineKind.from_ping(reads.handshake()) == EngineKind.from_version(client.version())
    assert reads.prefix == f"/v{client.version()['ApiVersion']}"

    filters = {"label": MANAGED_FILTER}
    assert sorted(c["Id"] for c in reads.containers(filters)) == sorted(
        c["Id"] for c in client.api.containers(all=True, filters=filters)
    )
    assert reads.containers({"label": "io.nimctl.no-such-label=1"}) == []

    assert reads.inspect_container("nimctl-no-such-container") is None
    with pytest.raises(docker.errors.NotFound):
        client.api.inspect_container("nimctl-no-such-container")
    assert reads.inspect_image("nimctl-no-such-image:0") is None


def test_reads_match_docker_py_and_leave_it_unloaded(make_deployment, sim_image: str, docker_client) -> None:
    deployment = make_deployment(sim_image, pull="never")
    deployment.up("--no-smoke", check=True)

    path = socket_path(os.environ.get("DOCKER_HOST") or LOCAL_SOCKET)  # where the docker_client fixture goes
    assert path is not None, "these tests need the Docker engine on a local socket"
    reads = LocalApi(path, 10)
    assert reads.version()["ApiVersion"] == docker_client.version()["ApiVersion"]
    assert reads.prefix == f"/v{docker_client.version()['ApiVersion']}"
    same_reads(reads, docker_client, deployment.name, sim_image)

    rows = json.loads(deployment.nimctl("status", "--json", check=True).stdout)
    mine = [row for row in rows if row["name"] == deployment.name]
    assert len(mine) == 1 and mine[0]["ready"] and mine[0]["state"] == "running"

    assert heavy(imported(["status", "--json"], deployment.env)) == []
    unchanged = imported(deployment.up_args("--no-smoke"), deployment.env)  # a noop
    assert heavy(unchanged) == [] and not unchanged & NOT_FOR_UP
    # what does need docker-py still loads it: the container's log
    assert "docker" in imported(["logs", "--name", deployment.name], deployment.env)


def test_reads_on_podman_match_docker_py(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image, pull="never")  # GPUs through CDI, as test_podman
    deployment.up("--no-smoke", check=True)

    reads = LocalApi(socket_path(PODMAN_URL), 10)
    assert reads.version()["ApiVersion"] == podman_client.version()["ApiVersion"]
    same_reads(reads, podman_client, deployment.name, podman_sim_image)
    assert heavy(imported(["status", "--json"], deployment.env)) == []


def test_no_engine_behind_the_socket(tmp_path) -> None:
    with pytest.raises(NoClearAnswer):
        LocalApi(str(tmp_path / "none.sock"), 2).version()


# Fields of an inspect that differ between two containers of the same options by nature.
OWN = {"Hostname", "Id", "Name", "Created", "State", "Path", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath"}


def docker_socket() -> str:
    path = socket_path(os.environ.get("DOCKER_HOST") or LOCAL_SOCKET)  # where the docker_client fixture goes
    assert path is not None, "these tests need the Docker engine on a local socket"
    return path


def sim_spec(image: str, cache, **flags: object) -> ContainerSpec:
    settings = {
        "image": image,
        "cache_dir": cache,
        "container_name": f"nimctl-it-local-{uuid.uuid4().hex[:8]}",
        "port": str(free_port()),
        "env": {"NVIDIA_VISIBLE_DEVICES": "simulated", "SIM_KEYLESS": "true", "SIM_STARTUP_DELAY": "0"},
        **flags,
    }
    spec = build_spec(load_settings(settings, environ={}).settings, "test")
    return dataclasses.replace(spec, labels={**spec.labels, "io.nimctl.test-run": RUN_ID})


def comparable(inspect: dict) -> dict:
    config = {key: value for key, value in inspect["Config"].items() if key not in OWN}
    config["Env"] = sorted(config.get("Env") or [])  # podman keeps them in a map: any order
    return {"Config": config, "HostConfig": inspect["HostConfig"]}


def same_container_either_way(local: LocalApi, client, kind: EngineKind, spec: ContainerSpec) -> None:
    """The container created over the socket from compat_body equals docker-py's from its own options,
    then it starts, and its events and log stream over the socket."""
    ours_name, theirs_name = spec.name, spec.name + "-docker-py"
    theirs_spec = dataclasses.replace(spec, name=theirs_name, ports=())  # one port can be published once
    try:
        ours = local.create_container(ours_name, compat_body(spec, kind))
        theirs = client.api.create_container_from_config(docker_py_body(theirs_spec, kind, None)[1], name=theirs_name)
        ours_inspect, theirs_inspect = client.api.inspect_container(ours), client.api.inspect_container(theirs["Id"])
        assert ours_inspect["Name"].lstrip("/") == ours_name
        expected = comparable(theirs_inspect)
        expected["HostConfig"] = {**expected["HostConfig"], "PortBindings": ours_inspect["HostConfig"]["PortBindings"]}
        assert comparable(ours_inspect) == expected
        assert list(ours_inspect["HostConfig"]["PortBindings"]) == ["8000/tcp"]

        events = local.events({"container": ours})
        seen: list[dict] = []
        reader = threading.Thread(target=lambda: seen.extend(_until_start(events)), daemon=True)
        reader.start()
        since = time.time() - 0.5
        local.start_container(ours)
        local.start_container(ours)  # running already: still a clear answer (304)
        reader.join(20)
        events.close()
        assert any((event.get("Action") or event.get("status")) == "start" for event in seen), seen

        logs = local.follow_logs(ours, since)
        try:
            assert _read_until(logs, b"application startup complete", 30), "no ready line on the followed log"
        finally:
            logs.close()
        assert local.ping()
        assert local.logs(ours) == client.api.logs(ours)  # the whole output, unframed as docker-py gives it
        assert b"application startup complete" in local.logs(ours).lower()
        assert local.stop(ours, 2) is True
        assert local.stop(ours, 2) is True  # stopped already: still done
        local.remove(ours)
        local.remove(ours)  # gone already: no error
        assert local.inspect_container(ours) is None and local.stop(ours, 1) is False
        assert local.info()["ServerVersion"] == client.info()["ServerVersion"]
    finally:
        for name in (ours_name, theirs_name):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(name, force=True)


def _until_start(events) -> list[dict]:
    got = []
    for event in events:
        got.append(event)
        if (event.get("Action") or event.get("status")) == "start":
            break
    return got


def _read_until(logs, needle: bytes, seconds: float) -> bool:
    deadline, seen = time.monotonic() + seconds, b""
    sock = logs.buffered.raw._sock
    sock.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            data = logs.buffered.read1(65536)
        except TimeoutError:
            continue
        if not data:
            return False
        seen += data.lower()
        if needle in seen:
            return True
    return False


@pytest.mark.parametrize("gpus", ["none", "all"])
def test_a_container_created_over_the_socket_is_docker_py_s(tmp_path, sim_image: str, docker_client, gpus: str) -> None:
    local = LocalApi(docker_socket(), 10)
    kind = EngineKind.from_version(local.version())
    spec = sim_spec(sim_image, tmp_path, gpus=gpus, runtime="nvidia" if gpus != "none" else "", restart="on-failure:2")
    same_container_either_way(local, docker_client, kind, spec)


def test_a_container_created_over_podman_s_socket_is_docker_py_s(
    tmp_path, podman_sim_image: str, podman_client
) -> None:
    local = LocalApi(socket_path(PODMAN_URL), 10)
    kind = EngineKind.from_version(local.version())
    spec = sim_spec(podman_sim_image, tmp_path, gpus="none", runtime="")
    same_container_either_way(local, podman_client, kind, spec)


def test_a_refused_create_is_no_clear_answer_and_creates_nothing(tmp_path, sim_image: str, docker_client) -> None:
    local = LocalApi(docker_socket(), 10)
    kind = EngineKind.from_version(local.version())
    spec = sim_spec(sim_image, tmp_path, gpus="none", runtime="")
    first = local.create_container(spec.name, compat_body(spec, kind))
    try:
        with pytest.raises(NoClearAnswer) as refused:  # 409: the name is taken; docker-py then says so
            local.create_container(spec.name, compat_body(spec, kind))
        assert "409" in str(refused.value) and "SIM_KEYLESS" not in str(refused.value)
        with pytest.raises(NoClearAnswer):
            local.create_container(
                spec.name + "-x", compat_body(dataclasses.replace(spec, image="nimctl-no-such:0"), kind)
            )
        assert local.inspect_container(spec.name + "-x") is None
        with pytest.raises(NoClearAnswer):
            local.start_container("nimctl-no-such-container")
    finally:
        docker_client.api.remove_container(first, force=True)


def test_a_fresh_up_leaves_docker_py_unloaded(make_deployment, sim_image: str) -> None:
    deployment = make_deployment(sim_image, pull="never")  # --gpus all --runtime nvidia (the stand-in GPU)
    deployment.up("--no-smoke", check=True)  # the GPU probe runs (through docker-py) and its pass is kept
    deployment.nimctl("down", "--name", deployment.name, check=True)
    # create, start, events and log followed, ready: all over the socket
    names = imported(deployment.up_args("--no-smoke"), deployment.env)
    assert heavy(names) == [] and not names & NOT_FOR_UP
    state = json.loads(deployment.nimctl("status", "--json", check=True).stdout)
    assert [row["ready"] for row in state if row["name"] == deployment.name] == [True]


def test_the_wait_s_streams_end_on_close_and_their_readers_close_them(make_deployment, sim_image: str) -> None:
    """`up` ends the wait's event and log streams without waiting on their readers (a shutdown of
    each socket): the blocked reads wake, and each reader thread closes its own connection."""
    deployment = make_deployment(sim_image, pull="never")
    deployment.up("--no-smoke", check=True)
    engine = Engine.open(EngineChoice(url=f"unix://{docker_socket()}", source="test"), timeout=10)
    assert engine.local is not None
    signals = engine.signals(deployment.name)
    signals.follow_logs(time.time())  # nothing new is written: the log reader blocks on its socket
    deadline = time.monotonic() + 10
    while len(signals._streams) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    streams = list(signals._streams)
    assert len(streams) == 2 and all(isinstance(stream, LocalStream) for stream in streams)
    assert not any(stream.response.isclosed() for stream in streams)
    signals.close()
    while not all(stream.response.isclosed() for stream in streams) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(stream.response.isclosed() for stream in streams), "a reader left its stream open"
    assert signals.disturbance() is None and signals.exit_code() is None
