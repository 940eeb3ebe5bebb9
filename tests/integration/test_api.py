"""The Python API on the real engine: the README's example with the simulator, and errors that
carry the CLI's exit codes."""

from __future__ import annotations

import io
import uuid

import pytest
from rich.console import Console

import nimctl
from nimctl.errors import ContainerExited, ExitCode
from tests.integration.harness import RUN_ID, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def sim_name(docker_client, sim_image, tmp_path, monkeypatch):
    name = f"nimctl-it-api-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("NIMCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NIMCTL_LOG_DIR", str(tmp_path / "logs"))
    yield name
    import docker.errors

    try:
        docker_client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        pass


def test_up_smoke_status_down(sim_name, docker_client):
    port = free_port()
    progress = io.StringIO()
    result = nimctl.up("sim", name=sim_name, port=port, smoke="none", console=Console(file=progress))
    assert result.to_dict() | {"seconds": 0} == {
        "name": sim_name,
        "image": "nimctl-sim:latest",
        "url": f"http://127.0.0.1:{port}",
        "model": "mistralai/mistral-small-4-119b-2603",
        "state": "running",
        "ready": True,
        "action": "create",
        "seconds": 0,
        "smoke": None,
        "via": None,  # a local engine: no SSH tunnel
    }
    assert f"{sim_name}: ready" in progress.getvalue()
    again = nimctl.up("sim", name=sim_name, port=port, smoke="quick")  # quiet: no console
    assert again.action == "noop" and again.smoke["ok"] is True
    report = nimctl.smoke(name=sim_name, checks="quick")
    assert report.ok and report.to_dict()["failed"] == 0
    (row,) = nimctl.status(sim_name)
    assert (row["name"], row["state"], row["ready"], row["url"]) == (sim_name, "running", True, result.url)
    assert nimctl.down(sim_name) == [sim_name]
    assert nimctl.status(sim_name) == []


def test_a_failed_start_raises_with_the_exit_code_and_the_log_tail(sim_name, docker_client):
    crash = {"NVIDIA_VISIBLE_DEVICES": "simulated", "SIM_KEYLESS": "true", "SIM_CRASH_AFTER": "0.5"}
    with pytest.raises(ContainerExited) as caught:
        nimctl.up("sim", name=sim_name, port=free_port(), env=crash, smoke="none")
    assert caught.value.exit_code == ExitCode.CONTAINER_EXITED
    assert any("CUDA error: out of memory" in line for line in caught.value.details)
    assert nimctl.status(sim_name) == []  # removed, as the CLI does
