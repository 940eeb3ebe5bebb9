"""`up` converges as docker compose does: unchanged → nothing, changed → recreate, stopped → start."""

from __future__ import annotations

import json
import time

from tests.integration.harness import Deployment


def state_of(docker_client, name: str) -> dict:
    attrs = docker_client.api.inspect_container(name)
    return {
        "id": attrs["Id"],
        "started": attrs["State"]["StartedAt"],
        "restarts": attrs["RestartCount"],
        "env": attrs["Config"]["Env"],
    }


def test_unchanged_up_does_nothing_quickly(deployment: Deployment, docker_client) -> None:
    deployment.up("--no-smoke", check=True)
    before = state_of(docker_client, deployment.name)
    started = time.monotonic()
    again = deployment.up("--no-smoke", "--json")
    elapsed = time.monotonic() - started
    assert again.returncode == 0, repr(again)
    summary = json.loads(again.stdout)
    assert summary["action"] == "noop" and summary["ready"] is True
    assert deployment.url in again.stderr  # the endpoint is printed
    assert state_of(docker_client, deployment.name) == before  # same container, not restarted
    # generous bound for a loaded CI machine; the benchmark measures the real figure
    assert elapsed < 5, elapsed


def test_changed_config_recreates(deployment: Deployment, docker_client) -> None:
    deployment.up("--no-smoke", check=True)
    before = state_of(docker_client, deployment.name)
    changed = deployment.up("--no-smoke", "--json", "--max-images", "3")
    assert changed.returncode == 0, repr(changed)
    assert json.loads(changed.stdout)["action"] == "recreate"
    after = state_of(docker_client, deployment.name)
    assert after["id"] != before["id"]
    assert "NIM_MAX_IMAGES_PER_PROMPT=3" in after["env"]


def test_force_recreate(deployment: Deployment, docker_client) -> None:
    deployment.up("--no-smoke", check=True)
    before = state_of(docker_client, deployment.name)
    forced = deployment.up("--no-smoke", "--json", "--force-recreate")
    assert forced.returncode == 0, repr(forced)
    assert json.loads(forced.stdout)["action"] == "recreate"
    assert state_of(docker_client, deployment.name)["id"] != before["id"]


def test_stopped_container_is_started_again_reusing_the_cache(deployment: Deployment, docker_client) -> None:
    deployment.up("--no-smoke", check=True)
    marker = deployment.cache_dir / "downloaded.bin"
    marker.write_bytes(b"x" * 1024)
    before = state_of(docker_client, deployment.name)
    docker_client.api.stop(deployment.name, timeout=5)
    restarted = deployment.up("--no-smoke", "--json")
    assert restarted.returncode == 0, repr(restarted)
    assert json.loads(restarted.stdout)["action"] == "start"
    after = state_of(docker_client, deployment.name)
    assert after["id"] == before["id"] and after["started"] != before["started"]
    assert marker.read_bytes() == b"x" * 1024
