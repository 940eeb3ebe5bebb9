"""Issue 9.1: `up` for one profile never replaces the container another profile created."""

from __future__ import annotations

import docker.errors

from tests.integration.harness import RUN_ID, base_env, free_port, run_nimctl, write_profile


def test_up_with_another_profile_leaves_the_running_simulator_alone(tmp_path, docker_client, sim_image) -> None:
    name = f"nimctl-it-conflict-{RUN_ID}"
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    # CONTAINER_NAME is set for the machine's own purposes, as on the CI host
    env = base_env(
        CONTAINER_NAME=name,
        NIMCTL_PORT=str(free_port()),
        NIMCTL_CACHE_DIR=str(cache_dir),
        NIMCTL_LOG_DIR=str(tmp_path / "logs"),
    )
    other = write_profile(tmp_path / "other-model.toml", sim_image, cache_dir, gpus="none", runtime="")
    try:
        first = run_nimctl("up", "--profile", "sim", "--image", sim_image, "--no-smoke", env=env)
        assert first.returncode == 0, repr(first)
        assert first.stderr.lstrip().startswith("• name from $CONTAINER_NAME"), repr(first)
        before = docker_client.api.inspect_container(name)

        second = run_nimctl("up", "--profile", str(other), "--no-smoke", env=env)
        assert second.returncode == 2, repr(second)
        assert "name from $CONTAINER_NAME" in second.stderr.splitlines()[0]
        assert "'sim'" in second.stderr and "'other-model'" in second.stderr
        assert "--force-recreate" in second.stderr and f"nimctl down --name {name}" in second.stderr
        after = docker_client.api.inspect_container(name)
        assert after["Id"] == before["Id"] and after["State"]["Running"]
        assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
    finally:
        try:
            docker_client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass
