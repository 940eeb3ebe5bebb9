"""The GPU check tells the truth: GPUs only from `nvidia-smi -L` evidence, never from a runtime name.

The simulator image ships a stand-in nvidia-smi that lists the GPUs the engine gave its container
(NVIDIA_VISIBLE_DEVICES), so the check runs for real on this GPU-less machine's Docker engine.
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest


def gpu_check(result) -> dict:
    return {row["name"]: row for row in json.loads(result.stdout)}["gpu support"]


@pytest.mark.parametrize(("gpus", "listed"), [("all", 2), ("1", 1), ("0,1", 2)])  # all, a count, device ids
def test_gpus_are_listed_from_a_throwaway_container(
    make_deployment, sim_image: str, docker_client, gpus: str, listed: int
) -> None:
    deployment = make_deployment(sim_image, gpus=gpus)
    result = deployment.nimctl("doctor", "--profile", str(deployment.profile), "--port", str(deployment.port), "--json")
    assert result.returncode == 0, repr(result)
    check = gpu_check(result)
    assert check["status"] == "pass" and check["detail"].startswith(f"{listed} GPU(s) in a throwaway"), check
    assert f"{listed} × NVIDIA Simulated GPU" in check["detail"]  # the names nvidia-smi -L printed
    probes = docker_client.containers.list(all=True, filters={"label": "io.nimctl.gpu-probe"})
    assert [c.name for c in probes if c.name.startswith(deployment.name)] == []  # removed afterwards


def test_no_image_and_no_host_nvidia_smi_cannot_verify(make_deployment, registry) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this host has nvidia-smi: the host check applies instead")
    deployment = make_deployment(registry.image(tag=f"never-pulled-{uuid.uuid4().hex[:8]}"))  # not in the engine
    result = deployment.nimctl("doctor", "--profile", str(deployment.profile), "--port", str(deployment.port), "--json")
    assert result.returncode == 0, repr(result)  # a warning, not a failure...
    check = gpu_check(result)
    assert check["status"] == "warn" and check["detail"].startswith("cannot verify"), check  # ...and never a pass
    assert "warn  gpu support" in result.stderr and "hint:" in result.stderr
