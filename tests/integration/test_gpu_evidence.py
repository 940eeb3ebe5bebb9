"""Issue 17: a fresh `up` reuses the GPU check's evidence (a passed `nvidia-smi -L` probe of the
same engine, image and GPU request) instead of starting a throwaway container every time; a changed
GPU request probes again. Probes are counted from the engine's own events. (A failed probe is
never kept: tests/unit/test_gpu_evidence_cache.py, with an engine whose probe fails.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

GPU_PROBE_LABEL = "io.nimctl.gpu-probe"


def probes_created(docker_client, name: str, since: float, until: float) -> list[str]:
    """Names of the gpu-probe containers of deployment `name` the engine created in [since, until]."""
    events = docker_client.api.events(
        since=int(since),
        until=int(until) + 1,
        decode=True,
        filters={"type": "container", "event": "create", "label": GPU_PROBE_LABEL},
    )
    names = [event.get("Actor", {}).get("Attributes", {}).get("name", "") for event in events]
    return [probe for probe in names if probe.startswith(f"{name}-gpu-probe-")]


def fresh_up(deployment, docker_client, *extra: str) -> list[str]:
    """A fresh `up` (nothing running yet), then `down`: the gpu-probe containers it created."""
    since = time.time() - 1
    up = deployment.up("--no-smoke", *extra)
    assert up.returncode == 0, repr(up)
    down = deployment.nimctl("down", "--name", deployment.name)
    assert down.returncode == 0, repr(down)
    return probes_created(docker_client, deployment.name, since, time.time())


def test_a_second_fresh_up_reuses_the_evidence_and_a_new_gpu_request_probes_again(
    make_deployment, sim_image: str, docker_client
) -> None:
    deployment = make_deployment(sim_image, gpus="1")
    evidence = Path(deployment.env["XDG_CACHE_HOME"]) / "nimctl" / "gpu-evidence.json"

    assert len(fresh_up(deployment, docker_client)) == 1  # no evidence yet: one probe
    kept = json.loads(evidence.read_text())["engines"]
    assert [entry["key"]["gpus"] for entry in kept.values()] == ["1"]

    assert fresh_up(deployment, docker_client) == []  # same engine, image and GPU request: reused

    assert len(fresh_up(deployment, docker_client, "--gpus", "all")) == 1  # another request: probed again
    kept = json.loads(evidence.read_text())["engines"]
    assert [entry["key"]["gpus"] for entry in kept.values()] == ["all"]  # one entry per engine, replaced
