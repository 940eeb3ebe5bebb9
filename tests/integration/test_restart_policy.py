"""NIMs that stay up (issue 19) on the real engine: restart policies, crash loops, `status --deep`.

A start-up crash fails `up` under every policy with nothing left looping; a crash after ready is
restarted by the engine, counted and flagged in `status`; `status --deep` tells a NIM that answers
its health route but no completion (SIM_NOT_SERVING) from a serving one; an `up` on a container the
engine brought back is a noop.
"""

from __future__ import annotations

import json
import time

import pytest

import nimctl
from tests.integration.engines import containers_named
from tests.integration.harness import Deployment

STARTUP_CRASH = {"SIM_CRASH_AFTER": "1", "SIM_CRASH_CODE": "3", "SIM_STARTUP_DELAY": "60"}


def inspect(client, name: str) -> dict:
    return client.api.inspect_container(name)


def wait_for(condition, what: str, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.2)


def status_row(deployment: Deployment, *extra: str) -> tuple[int, dict]:
    result = deployment.nimctl("status", "--name", deployment.name, "--json", *extra)
    rows = json.loads(result.stdout)
    assert len(rows) == 1, repr(result)
    return result.returncode, rows[0]


@pytest.mark.parametrize("policy", ["no", "on-failure:3", "unless-stopped", "always"])
def test_a_startup_crash_fails_up_under_every_policy(
    make_deployment, registry_image: str, docker_client, policy: str
) -> None:
    deployment = make_deployment(registry_image, env=STARTUP_CRASH)
    result = deployment.up("--no-smoke", "--restart", policy)
    assert result.returncode == 5, repr(result)
    assert "exited with code 3 during start-up" in result.stderr
    assert "CUDA error" in result.stderr  # the log tail
    assert containers_named(docker_client, deployment.name) == []
    time.sleep(2)  # longer than the engine's first restart delays: nothing brings it back
    assert containers_named(docker_client, deployment.name) == []


def test_a_kept_startup_crash_is_not_restarted_in_the_background(
    make_deployment, registry_image: str, docker_client
) -> None:
    deployment = make_deployment(registry_image, env=STARTUP_CRASH)
    result = deployment.up("--no-smoke", "--restart", "always", "--keep-on-failure")
    assert result.returncode == 5, repr(result)
    attrs = inspect(docker_client, deployment.name)
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] in ("no", "")  # disarmed
    wait_for(lambda: inspect(docker_client, deployment.name)["State"]["Status"] == "exited", "the kept one to stop")
    count = inspect(docker_client, deployment.name)["RestartCount"]
    time.sleep(2.5)
    attrs = inspect(docker_client, deployment.name)
    assert attrs["State"]["Status"] == "exited" and attrs["RestartCount"] == count


def test_a_crash_after_ready_is_restarted_counted_and_the_give_up_shown(
    make_deployment, registry_image: str, docker_client
) -> None:
    deployment = make_deployment(registry_image)
    up = deployment.up("--no-smoke", "--restart", "on-failure:2", "--env", "SIM_EXIT_AFTER_READY=1", "--json")
    assert up.returncode == 0, repr(up)
    attrs = inspect(docker_client, deployment.name)
    assert attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}

    def gave_up() -> bool:
        state = inspect(docker_client, deployment.name)
        return state["State"]["Status"] == "exited" and state["RestartCount"] == 2

    wait_for(gave_up, "the engine to give up after two restarts")
    code, row = status_row(deployment)
    assert code == 0
    assert row["restarts"] == 2 and row["restart_policy"] == "on-failure:2"
    loop = row["crash_loop"]
    assert loop is not None and loop["reason"] == "gave up" and loop["last_exit_code"] == 3, row
    assert loop["restarts_recent"] == 2  # three deaths in the window, the last one not restarted
    human = deployment.nimctl("status", "--name", deployment.name)
    assert "crash loop: the engine gave up" in human.stderr, repr(human)


def test_a_container_restarting_again_and_again_is_flagged(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image)
    up = deployment.up("--no-smoke", "--restart", "always", "--env", "SIM_EXIT_AFTER_READY=0.5")
    assert up.returncode == 0, repr(up)
    wait_for(lambda: inspect(docker_client, deployment.name)["RestartCount"] >= 3, "three restarts")
    code, row = status_row(deployment)
    assert code == 0 and row["restarts"] >= 3
    loop = row["crash_loop"]
    assert loop is not None and loop["reason"] == "restarting" and loop["restarts_recent"] >= 3, row
    assert loop["last_exit_code"] == 3
    deployment.nimctl("down", "--name", deployment.name, check=True)


def test_status_deep_on_a_serving_nim(make_deployment, registry_image: str) -> None:
    deployment = make_deployment(registry_image)
    deployment.up("--no-smoke", check=True)
    code, row = status_row(deployment)
    assert code == 0 and row["ready"] is True and row["serving"] is None  # not asked
    code, row = status_row(deployment, "--deep")
    assert code == 0 and row["serving"] is True, row


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_status_deep_finds_a_ready_nim_that_does_not_serve(make_deployment, registry_image: str, mode: str) -> None:
    deployment = make_deployment(registry_image, env={"SIM_NOT_SERVING": mode})
    deployment.up("--no-smoke", check=True)  # ready by its health route
    code, row = status_row(deployment)
    assert code == 0 and row["ready"] is True and row["serving"] is None
    code, row = status_row(deployment, "--deep")
    assert code == 10 and row["ready"] is True and row["serving"] is False, row
    human = deployment.nimctl("status", "--name", deployment.name, "--deep")
    assert human.returncode == 10, repr(human)
    assert "ready, not serving" in human.stderr and deployment.name in human.stderr
    [api_row] = nimctl.status(name=deployment.name, deep=True, environ=deployment.env)
    assert api_row["ready"] is True and api_row["serving"] is False  # the rows: the caller decides


def test_up_after_the_engine_restarted_it_is_a_noop(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image)
    first = json.loads(deployment.up("--no-smoke", "--restart", "unless-stopped", "--json", check=True).stdout)
    assert first["action"] == "create"
    container_id = inspect(docker_client, deployment.name)["Id"]
    docker_client.api.restart(deployment.name, timeout=5)  # as the engine does after a crash or a reboot
    again = json.loads(deployment.up("--no-smoke", "--restart", "unless-stopped", "--json", check=True).stdout)
    assert again["action"] == "noop"
    assert inspect(docker_client, deployment.name)["Id"] == container_id
    changed = json.loads(deployment.up("--no-smoke", "--restart", "always", "--json", check=True).stdout)
    assert changed["action"] == "recreate"  # the policy is part of the configuration


def test_a_crash_after_ready_brought_back_by_the_engine_then_up_is_a_noop(
    make_deployment, registry_image: str, docker_client
) -> None:
    deployment = make_deployment(registry_image)
    args = ("--no-smoke", "--restart", "on-failure:1", "--env", "SIM_EXIT_AFTER_READY=2", "--json")
    deployment.up(*args, check=True)
    container_id = inspect(docker_client, deployment.name)["Id"]

    def restarted_and_running() -> bool:
        state = inspect(docker_client, deployment.name)
        return state["RestartCount"] == 1 and state["State"]["Status"] == "running"

    wait_for(restarted_and_running, "the engine's restart")
    again = json.loads(deployment.up(*args, check=True).stdout)
    assert again["action"] == "noop"
    assert inspect(docker_client, deployment.name)["Id"] == container_id


def test_restart_policies_on_podman(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    crash = make_podman_deployment(podman_sim_image, env=STARTUP_CRASH)
    failed = crash.up("--no-smoke", "--restart", "always")
    assert failed.returncode == 5, repr(failed)
    assert containers_named(podman_client, crash.name) == []

    deployment = make_podman_deployment(podman_sim_image)
    up = deployment.up("--no-smoke", "--restart", "on-failure:2", "--json")
    assert up.returncode == 0, repr(up)
    policy = inspect(podman_client, deployment.name)["HostConfig"]["RestartPolicy"]
    assert policy["Name"] == "on-failure" and policy["MaximumRetryCount"] == 2
    again = deployment.up("--no-smoke", "--restart", "on-failure:2", "--json")
    assert json.loads(again.stdout)["action"] == "noop", repr(again)


def test_the_give_up_on_podman(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image)
    up = deployment.up("--no-smoke", "--restart", "on-failure:2", "--env", "SIM_EXIT_AFTER_READY=1")
    assert up.returncode == 0, repr(up)

    def gave_up() -> bool:
        state = inspect(podman_client, deployment.name)
        return state["State"]["Status"] == "exited" and state["RestartCount"] == 2

    wait_for(gave_up, "podman to give up after two restarts", timeout=60)
    code, row = status_row(deployment)
    assert code == 0 and row["restarts"] == 2 and row["restart_policy"] == "on-failure:2", row
    assert row["crash_loop"] is not None and row["crash_loop"]["reason"] == "gave up", row
    assert row["crash_loop"]["last_exit_code"] == 3
