"""Issue 17: `status` and an unchanged `up` read the engine over its local socket without docker-py
(nimctl/engine/local_reads.py). The reads must give what docker-py gives, on Docker and on Podman,
and the commands must really leave docker-py, requests and urllib3 unloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import docker.errors
import pytest

from nimctl.container import MANAGED_FILTER
from nimctl.engine.choice import LOCAL_SOCKET
from nimctl.engine.local_reads import LocalReads, ReadFailed, socket_path
from tests.integration.engines import PODMAN_URL

HEAVY = ("docker", "requests", "urllib3", "pydantic_settings")


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
    return sorted(name for name in names if name.split(".", 1)[0] in HEAVY)


def same_reads(reads: LocalReads, client, container: str, image: str) -> None:
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
    reads = LocalReads(path, 10)
    assert reads.version()["ApiVersion"] == docker_client.version()["ApiVersion"]
    assert reads.prefix == f"/v{docker_client.version()['ApiVersion']}"
    same_reads(reads, docker_client, deployment.name, sim_image)

    rows = json.loads(deployment.nimctl("status", "--json", check=True).stdout)
    mine = [row for row in rows if row["name"] == deployment.name]
    assert len(mine) == 1 and mine[0]["ready"] and mine[0]["state"] == "running"

    assert heavy(imported(["status", "--json"], deployment.env)) == []
    assert heavy(imported(deployment.up_args("--no-smoke"), deployment.env)) == []  # unchanged: a noop
    # what does need docker-py still loads it: the container's log
    assert "docker" in imported(["logs", "--name", deployment.name], deployment.env)


def test_reads_on_podman_match_docker_py(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image, pull="never")  # GPUs through CDI, as test_podman
    deployment.up("--no-smoke", check=True)

    reads = LocalReads(socket_path(PODMAN_URL), 10)
    assert reads.version()["ApiVersion"] == podman_client.version()["ApiVersion"]
    same_reads(reads, podman_client, deployment.name, podman_sim_image)
    assert heavy(imported(["status", "--json"], deployment.env)) == []


def test_no_engine_behind_the_socket(tmp_path) -> None:
    with pytest.raises(ReadFailed):
        LocalReads(str(tmp_path / "none.sock"), 2).version()
