"""The same commands on Podman (its Docker-compatible API, scripts/setup-podman.sh's service).

GPUs on Podman are CDI devices: the test CDI spec only injects NVIDIA_VISIBLE_DEVICES, and the
simulator refuses to start without it, so a NIM that comes up proves the GPU request reached it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import uuid

import docker.errors

from tests.integration.engines import containers_named, env_of
from tests.integration.harness import read_until_waiting


def test_lifecycle_on_podman(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image)  # gpus = "all", runtime = "nvidia": the NIM's defaults
    up = deployment.up("--json")  # with the quick smoke suite
    assert up.returncode == 0, repr(up)
    summary = json.loads(up.stdout)
    assert summary["action"] == "create" and summary["ready"] is True and summary["smoke"]["ok"] is True
    assert env_of(podman_client, deployment.name)["NVIDIA_VISIBLE_DEVICES"] == "all"  # from the CDI spec

    status = deployment.nimctl("status", "--name", deployment.name)
    assert status.returncode == 0, repr(status)
    assert "engine: podman" in status.stderr and "yes" in status.stderr
    rows = json.loads(deployment.nimctl("status", "--name", deployment.name, "--json", check=True).stdout)
    assert rows[0]["ready"] is True and rows[0]["via"] is None

    smoke = deployment.nimctl("smoke", "--name", deployment.name, "--checks", "quick", "--json")
    assert smoke.returncode == 0, repr(smoke)
    assert json.loads(smoke.stdout)["base_url"] == deployment.url

    again = deployment.up("--no-smoke", "--json")  # convergence: unchanged → nothing
    assert again.returncode == 0, repr(again)
    assert json.loads(again.stdout)["action"] == "noop"

    down = deployment.nimctl("down", "--name", deployment.name, "--json")
    assert json.loads(down.stdout) == {"removed": [deployment.name]}, repr(down)
    assert containers_named(podman_client, deployment.name) == []


def test_a_gpu_count_maps_to_cdi_devices(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image, gpus="1")
    doctor = deployment.nimctl("doctor", "--profile", str(deployment.profile), "--port", str(deployment.port), "--json")
    assert doctor.returncode == 0, repr(doctor)
    checks = {row["name"]: row for row in json.loads(doctor.stdout)}
    assert checks["docker engine"]["detail"].startswith("reachable: podman ")
    gpu = checks["gpu support"]
    assert gpu["status"] == "pass" and gpu["detail"].startswith("1 GPU(s)") and "(podman)" in gpu["detail"]

    up = deployment.up("--no-smoke")
    assert up.returncode == 0, repr(up)
    assert env_of(podman_client, deployment.name)["NVIDIA_VISIBLE_DEVICES"] == "0"  # count 1 → nvidia.com/gpu=0
    assert not [c for c in podman_client.containers.list(all=True) if "gpu-probe" in c.name]  # throwaways removed


def test_gpus_podman_cannot_give_stop_before_anything_starts(
    make_podman_deployment, podman_sim_image: str, podman_client
) -> None:
    deployment = make_podman_deployment(podman_sim_image, gpus="7")  # the CDI spec has no nvidia.com/gpu=6
    result = deployment.up("--no-smoke")
    assert result.returncode == 8, repr(result)
    assert "gpu support" in result.stderr and "hint:" in result.stderr
    assert containers_named(podman_client, deployment.name) == []


def test_crash_is_noticed_at_once_on_podman(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image, env={"SIM_CRASH_AFTER": "1.5", "SIM_STARTUP_DELAY": "60"})
    started = time.monotonic()
    result = deployment.up("--no-smoke", "--timeout", "60")
    assert result.returncode == 5, repr(result)
    assert "exited with code 3 during start-up" in result.stderr  # the `die` event's exit code
    assert time.monotonic() - started < 20  # noticed by the event, not by the 60 s timeout
    assert containers_named(podman_client, deployment.name) == []


def test_ctrl_c_on_podman_removes_the_container(make_podman_deployment, podman_sim_image: str, podman_client) -> None:
    deployment = make_podman_deployment(podman_sim_image, env={"SIM_STARTUP_DELAY": "120"})
    process = deployment.spawn_up("--no-smoke", stderr=subprocess.PIPE)
    seen = read_until_waiting(process)
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=30) == 130, seen + rest
    assert containers_named(podman_client, deployment.name) == []


def test_unknown_gpus_stop_the_start_when_preflight_cannot_verify(make_podman_deployment, podman_client) -> None:
    """No image yet, so preflight can only warn; the engine's CDI refusal at start still stops `up` (exit 8)."""
    image = f"nimctl-sim-test-fresh:{uuid.uuid4().hex[:8]}"
    deployment = make_podman_deployment(image, gpus="7", build="simulator", pull="never")
    try:
        result = deployment.up("--no-smoke")
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            podman_client.images.remove(image)
    assert result.returncode == 8, repr(result)
    assert "warning: gpu support: cannot verify" in result.stderr
    assert "unresolvable CDI devices" in result.stderr and "nvidia-ctk cdi" in result.stderr
    assert containers_named(podman_client, deployment.name) == []
