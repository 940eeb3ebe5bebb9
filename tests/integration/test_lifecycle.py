"""up -> ready -> status -> logs -> down, with the simulator pulled from the private registry
(user $oauthtoken, the NGC key as password) and the real NIM's GPU settings."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from tests.integration.harness import TEST_KEY, Deployment, Registry, run_nimctl, untag


def inspect(docker_client, name: str) -> dict:
    return docker_client.api.inspect_container(name)


def test_up_pulls_with_login_and_runs_nvidias_docker_run(
    deployment: Deployment, docker_client, registry: Registry, registry_image: str
) -> None:
    untag(docker_client, registry_image)  # make this up pull, whatever ran before
    result = deployment.up("--no-smoke", "--json", "--max-images", "7", "--env", "NIM_LOG_LEVEL=INFO")
    assert result.returncode == 0, repr(result)

    summary = json.loads(result.stdout)  # stdout holds exactly one JSON object
    assert summary["name"] == deployment.name
    assert summary["image"] == registry_image
    assert summary["url"] == deployment.url
    assert summary["model"] == "mistralai/mistral-small-4-119b-2603"
    assert summary["state"] == "running" and summary["ready"] is True
    assert "pulling" in result.stderr and "ready" in result.stderr

    attrs = inspect(docker_client, deployment.name)
    host = attrs["HostConfig"]
    assert host["Runtime"] == "nvidia"
    assert [(r["Count"], r["Capabilities"]) for r in host["DeviceRequests"]] == [(-1, [["gpu"]])]
    assert host["ShmSize"] == 2 * 1024**3
    assert host["PortBindings"] == {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(deployment.port)}]}
    mounts = [(m["Type"], m["Source"], m["Destination"]) for m in attrs["Mounts"]]
    assert mounts == [("bind", str(deployment.cache_dir), "/opt/nim/.cache")]
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    assert env["NGC_API_KEY"] == TEST_KEY
    assert env["NIM_MAX_IMAGES_PER_PROMPT"] == "7"
    assert env["NIM_LOG_LEVEL"] == "INFO"
    assert attrs["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
    assert attrs["Config"]["Labels"]["io.nimctl.managed"] == "true"
    assert attrs["Config"]["Labels"]["io.nimctl.profile"] == deployment.profile.stem
    # the engine's GPU path ran: it gave the container NVIDIA_VISIBLE_DEVICES (the simulator checks it)
    # (in the main process's environment; an exec'd process only gets Config.Env)
    main_env = docker_client.containers.get(deployment.name).exec_run(
        ["/usr/bin/python3.11", "-c", "print(open('/proc/1/environ').read())"]
    )
    assert "NVIDIA_VISIBLE_DEVICES=" in main_env.output.decode()

    with urllib.request.urlopen(f"{deployment.url}/v1/health/ready", timeout=5) as response:
        assert response.status == 200

    # the pull's credentials went with the request only: no docker config file was written
    assert TEST_KEY not in _docker_config_text()


def _docker_config_text() -> str:
    path = os.path.expanduser("~/.docker/config.json")
    return open(path).read() if os.path.exists(path) else ""


def test_status_logs_down(deployment: Deployment, docker_client) -> None:
    deployment.up("--no-smoke", check=True)

    status = deployment.nimctl("status", "--name", deployment.name, "--json", check=True)
    rows = json.loads(status.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert {"name", "profile", "image", "state", "ready", "url", "uptime_s"} <= set(row)
    assert (row["name"], row["state"], row["ready"], row["url"]) == (deployment.name, "running", True, deployment.url)
    assert row["uptime_s"] >= 0

    human = deployment.nimctl("status", "--name", deployment.name, check=True)
    assert deployment.name in human.stderr and "running" in human.stderr

    logs = deployment.nimctl("logs", "--name", deployment.name, "--tail", "5", check=True)
    lines = logs.stdout.strip().splitlines()
    assert 0 < len(lines) <= 5
    assert "ready" in logs.stdout.lower()
    full = deployment.nimctl("logs", "--name", deployment.name, check=True)
    assert len(full.stdout.splitlines()) > len(lines)

    (deployment.cache_dir / "model.bin").write_bytes(b"weights")
    down = deployment.nimctl("down", "--name", deployment.name, check=True)
    assert deployment.name in down.stderr
    assert docker_client.containers.list(all=True, filters={"name": f"^/{deployment.name}$"}) == []
    assert (deployment.cache_dir / "model.bin").read_bytes() == b"weights"


def test_down_never_touches_a_foreign_container(
    docker_client, sim_image: str, make_deployment, registry_image: str
) -> None:
    # `--all` scoped by this run's own profile: the shared engine's other nimctl containers stay
    mine, other = make_deployment(registry_image), make_deployment(registry_image)
    foreign = docker_client.containers.create(
        sim_image, name=mine.name + "-foreign", labels={"io.nimctl.test-run": "x"}
    )
    try:
        result = mine.nimctl("down", "--name", foreign.name)
        assert result.returncode == 0
        assert "nothing to remove" in result.stderr
        foreign.reload()
        assert foreign.status == "created"

        mine.up("--no-smoke", check=True)
        other.up("--no-smoke", check=True)
        result = mine.nimctl("down", "--all", "--profile", str(mine.profile), check=True)
        assert f"removed {mine.name} " in result.stderr
        assert docker_client.containers.list(all=True, filters={"name": f"^/{mine.name}$"}) == []
        assert docker_client.containers.get(other.name).status == "running"  # another profile's
        foreign.reload()
        assert foreign.status == "created"
    finally:
        foreign.remove(force=True)


def test_up_refuses_to_replace_a_foreign_container(docker_client, sim_image: str, deployment: Deployment) -> None:
    foreign = docker_client.containers.create(sim_image, name=deployment.name)
    try:
        result = deployment.up("--no-smoke")
        assert result.returncode == 2, repr(result)
        assert "not created by nimctl" in result.stderr
        foreign.reload()
        assert foreign.id == docker_client.containers.get(deployment.name).id
    finally:
        foreign.remove(force=True)


def test_profile_sim_works_without_gpu_or_key(tmp_path, sim_image: str, docker_client) -> None:
    from tests.integration.harness import base_env, free_port

    name = f"nimctl-it-simprofile-{os.getpid()}"
    port = free_port()
    env = base_env(NIMCTL_CACHE_DIR=str(tmp_path / "cache"), NIMCTL_LOG_DIR=str(tmp_path / "logs"))
    try:
        result = run_nimctl("up", "--profile", "sim", "--name", name, "--port", str(port), "--json", env=env)
        assert result.returncode == 0, repr(result)
        summary = json.loads(result.stdout)
        assert summary["ready"] is True and summary["smoke"]["ok"] is True
        assert "smoke" in result.stderr
    finally:
        run_nimctl("down", "--name", name, env=env)
    assert docker_client.containers.list(all=True, filters={"name": f"^/{name}$"}) == []


def test_logs_follow_streams_new_lines(deployment: Deployment) -> None:
    import select
    import subprocess
    import sys
    import time

    deployment.up("--no-smoke", check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "nimctl", "logs", "--name", deployment.name, "-f", "--tail", "1"],
        env=deployment.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.strip()
        time.sleep(0.3)
        urllib.request.urlopen(f"{deployment.url}/v1/models", timeout=5).read()  # the NIM logs this request
        # other lines may come first (a readiness probe's access line written late): read on, bounded
        followed: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("/v1/models" in line for line in followed):
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            followed.append(process.stdout.readline())
        assert any("/v1/models" in line for line in followed), followed
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("gpus", "count", "device_ids", "visible"),
    [("2", 2, [], "0,1"), ("1", 1, [], "0"), ("0,1", 0, ["0", "1"], "0,1")],
)
def test_gpu_count_and_device_ids_reach_the_engine(
    deployment: Deployment, docker_client, gpus: str, count: int, device_ids, visible: str
) -> None:
    result = deployment.up("--no-smoke", "--gpus", gpus)
    assert result.returncode == 0, repr(result)
    request = docker_client.api.inspect_container(deployment.name)["HostConfig"]["DeviceRequests"][0]
    assert (request["Count"], request["DeviceIDs"], request["Capabilities"]) == (count, device_ids, [["gpu"]])
    main_env = docker_client.containers.get(deployment.name).exec_run(
        ["/usr/bin/python3.11", "-c", "print(open('/proc/1/environ').read())"]
    )
    assert f"NVIDIA_VISIBLE_DEVICES={visible}" in main_env.output.decode()
