"""Several NIMs on one host, on the real engine with the simulator: GPU requests by device, the
overlap refusal (exit 8 naming the holder) and --share-gpus, --port auto, and `status` showing
each deployment's GPUs, release, model profile and serving metrics, also with --watch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import docker.errors
import pytest

from nimctl.cli.status import COLUMNS
from tests.integration.harness import Deployment

MODEL = "mistralai/mistral-small-4-119b-2603"


@pytest.fixture
def sim_deployment_factory(make_deployment, sim_image: str):
    """Deployments of this checkout's simulator image (present locally: never pulled)."""
    return lambda **overrides: make_deployment(sim_image, pull="never", **overrides)


def status_rows(deployment: Deployment, *names: str) -> dict[str, dict]:
    result = deployment.nimctl("status", "--json")
    assert result.returncode == 0, repr(result)
    return {row["name"]: row for row in json.loads(result.stdout) if row["name"] in names}


def device_request(docker_client, name: str) -> dict:
    return docker_client.api.inspect_container(name)["HostConfig"]["DeviceRequests"][0]


def chat(url: str) -> dict:
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}]}).encode()
    request = urllib.request.Request(f"{url}/v1/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("wanted", ["0,1", "2", "all", '"device=0,1"'])
def test_overlapping_gpus_are_refused_naming_the_holder(sim_deployment_factory, docker_client, wanted: str) -> None:
    holder, newcomer = sim_deployment_factory(), sim_deployment_factory()
    # --share-gpus for the holder only: other checkouts' GPU containers may run on this engine
    first = holder.up("--no-smoke", "--gpus", "device=1", "--share-gpus")
    assert first.returncode == 0, repr(first)
    assert (
        device_request(docker_client, holder.name)["DeviceIDs"],
        device_request(docker_client, holder.name)["Count"],
    ) == (["1"], 0)

    refused = newcomer.up("--no-smoke", "--gpus", wanted, "--no-share-gpus")
    assert refused.returncode == 8, repr(refused)
    error, hint = refused.stderr.strip().splitlines()[-2:]
    assert error.startswith("error: preflight: gpus") and f"held by {holder.name} (gpus device=1)" in error
    assert hint.startswith("hint:") and "--share-gpus" in hint
    with pytest.raises(docker.errors.NotFound):  # refused before anything was created
        docker_client.api.inspect_container(newcomer.name)


def test_share_gpus_starts_it_and_status_shows_each_deployments_gpus(sim_deployment_factory, docker_client) -> None:
    holder, sharer = sim_deployment_factory(), sim_deployment_factory()
    assert holder.up("--no-smoke", "--gpus", "device=1", "--share-gpus").returncode == 0
    shared = sharer.up("--no-smoke", "--gpus", "device=0,1", "--share-gpus")
    assert shared.returncode == 0, repr(shared)
    assert device_request(docker_client, sharer.name)["DeviceIDs"] == ["0", "1"]
    rows = status_rows(holder, holder.name, sharer.name)
    assert rows[holder.name]["gpus"] == "device=1" and rows[sharer.name]["gpus"] == "device=0,1"
    table = holder.nimctl("status")
    holder_line = next(line for line in table.stderr.splitlines() if line.startswith(holder.name))
    assert " device=1 " in holder_line


def test_port_auto_picks_a_free_port_and_converging_keeps_it(sim_deployment_factory) -> None:
    deployment = sim_deployment_factory()
    up_auto = ["up", "--profile", str(deployment.profile), "--name", deployment.name, "--port", "auto", "--no-smoke"]
    first = deployment.nimctl(*up_auto, "--json")
    assert first.returncode == 0, repr(first)
    created = json.loads(first.stdout)
    port = int(created["url"].rsplit(":", 1)[1])
    assert created["action"] == "create" and port > 0 and f"port auto → {port}" in first.stderr
    with urllib.request.urlopen(f"{created['url']}/v1/health/ready", timeout=5) as ready:
        assert ready.status == 200
    assert status_rows(deployment, deployment.name)[deployment.name]["url"] == created["url"]

    again = deployment.nimctl(*up_auto, "--json")
    assert again.returncode == 0, repr(again)
    assert (json.loads(again.stdout)["action"], json.loads(again.stdout)["url"]) == ("noop", created["url"])


def test_status_shows_release_profile_and_metrics_that_move(sim_deployment_factory) -> None:
    deployment = sim_deployment_factory()
    assert deployment.up("--no-smoke").returncode == 0
    before = status_rows(deployment, deployment.name)[deployment.name]
    assert before["ready"] and before["version"] == "1.7.0-variant"
    assert before["model_profile"] == "vllm-bf16-tp1-pp1"  # what the simulator reports
    assert before["metrics"] == {
        "requests_running": 0.0,
        "requests_waiting": 0.0,
        "kv_cache_usage": 0.0,
        "prompt_tokens_total": 0.0,
        "generation_tokens_total": 0.0,
    }
    usage = chat(deployment.url)["usage"]
    after = status_rows(deployment, deployment.name)[deployment.name]["metrics"]
    assert after["prompt_tokens_total"] == usage["prompt_tokens"] > 0
    assert after["generation_tokens_total"] == usage["completion_tokens"] > 0


def test_status_shows_the_model_profile_it_was_started_with(sim_deployment_factory) -> None:
    deployment = sim_deployment_factory()
    assert deployment.up("--no-smoke", "--env", "NIM_MODEL_PROFILE=vllm-bf16-tp1-pp1-lora").returncode == 0
    assert status_rows(deployment, deployment.name)[deployment.name]["model_profile"] == "vllm-bf16-tp1-pp1-lora"


def test_status_watch_refreshes_until_ctrl_c(sim_deployment_factory) -> None:
    deployment = sim_deployment_factory()
    assert deployment.up("--no-smoke").returncode == 0
    command = [sys.executable, "-m", "nimctl", "status", "--watch", "--interval", "0.3", "--name", deployment.name]
    watcher = subprocess.Popen(command, env=deployment.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    chat(deployment.url)  # the next snapshot shows the served tokens
    time.sleep(1.5)
    watcher.send_signal(signal.SIGINT)
    out, err = watcher.communicate(timeout=15)
    assert watcher.returncode == 0, err
    # stdout is a pipe here: the snapshots go to stdout, one table after another
    snapshots = [line for line in out.splitlines() if line.startswith(deployment.name)]
    assert len(snapshots) >= 3 and "yes" in snapshots[0]
    tokens = COLUMNS.index("tokens in/out") - len(COLUMNS)  # counted from the right: the url cell has spaces
    assert snapshots[0].split()[tokens] == "0/0" and snapshots[-1].split()[tokens] != "0/0"  # tokens moved


def test_doctor_names_the_nim_that_holds_the_gpus(sim_deployment_factory) -> None:
    holder, newcomer = sim_deployment_factory(), sim_deployment_factory()
    assert holder.up("--no-smoke", "--gpus", "device=1", "--share-gpus").returncode == 0
    strict = {**newcomer.env, "NIMCTL_SHARE_GPUS": "false"}  # the harness shares GPUs by default
    result = newcomer.nimctl("doctor", "--profile", str(newcomer.profile), "--gpus", "device=1", "--json", env=strict)
    assert result.returncode == 8, repr(result)
    sharing = {row["name"]: row for row in json.loads(result.stdout)}["gpu sharing"]
    assert sharing["status"] == "fail" and "gpus device=1: GPU 1 held by" in sharing["detail"], sharing
    assert holder.name in sharing["detail"] and "--share-gpus" in sharing["hint"]
    free = newcomer.nimctl("doctor", "--profile", str(newcomer.profile), "--gpus", "device=7", "--json", env=strict)
    assert {row["name"]: row for row in json.loads(free.stdout)}["gpu sharing"]["status"] == "pass", repr(free)
