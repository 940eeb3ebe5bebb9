"""`nimctl profiles`, `nimctl cache prefetch/ls`, `--model-profile` and the offline start, on the real
engine with the simulator image of this checkout (the `sim_image` fixture)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.integration.harness import TEST_KEY, Deployment, run_nimctl

SIM_SETTINGS = {"gpus": "none", "runtime": ""}  # no GPU request: the simulator counts NVIDIA_VISIBLE_DEVICES


def sim_deployment(make_deployment, sim_image: str, devices: str = "0", key: str | None = None, **env) -> Deployment:
    return make_deployment(sim_image, key=key, **SIM_SETTINGS, env={"NVIDIA_VISIBLE_DEVICES": devices, **env})


def oneoff_containers(docker_client, deployment: Deployment) -> list:
    """The throwaway containers made with this test's profile (their label names it)."""
    labels = ["io.nimctl.oneoff", f"io.nimctl.profile={deployment.profile.stem}"]
    return docker_client.containers.list(all=True, filters={"label": labels})


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_profiles_lists_what_the_gpus_given_can_run(make_deployment, sim_image: str, docker_client) -> None:
    two = sim_deployment(make_deployment, sim_image, devices="0,1")
    result = two.nimctl("profiles", "--profile", str(two.profile), "--json")
    assert result.returncode == 0, repr(result)
    data = json.loads(result.stdout)
    runnable = {p["name"] for p in data["profiles"] if p["runnable"]}
    assert runnable == {"vllm-bf16-tp1-pp1", "vllm-fp8-tp2-pp1", "vllm-bf16-tp1-pp1-lora"}
    assert [gpu["index"] for gpu in data["gpus"]["free"]] == [0, 1]
    lora = next(p for p in data["profiles"] if p["name"] == "vllm-bf16-tp1-pp1-lora")
    assert lora["lora"] and lora["requires_gb_per_gpu"] == 76
    assert any(p["low_memory"] for p in data["profiles"])
    assert "vllm-fp8-tp2-pp1" in result.stderr  # the table, for humans
    assert oneoff_containers(docker_client, two) == []

    one = sim_deployment(make_deployment, sim_image, devices="0")
    data = json.loads(one.nimctl("profiles", "--profile", str(one.profile), "--json", check=True).stdout)
    assert "vllm-fp8-tp2-pp1" not in {p["name"] for p in data["profiles"] if p["runnable"]}


def test_prefetch_then_up_starts_offline_without_a_key(make_deployment, sim_image: str, docker_client) -> None:
    deployment = sim_deployment(make_deployment, sim_image)
    seeded = deployment.cache_dir / "weights/model.safetensors"
    seeded.parent.mkdir()
    seeded.write_bytes(b"precious weights")

    without_key = deployment.up("--no-smoke")
    assert without_key.returncode == 5, repr(without_key)  # nothing cached, no key: the NIM refuses

    with_key = {**deployment.env, "NGC_API_KEY": TEST_KEY}
    prefetched = deployment.nimctl("cache", "prefetch", "--profile", str(deployment.profile), env=with_key)
    assert prefetched.returncode == 0, repr(prefetched)
    assert "[4/4, 100%]" in prefetched.stderr and TEST_KEY not in prefetched.output
    assert oneoff_containers(docker_client, deployment) == []

    listing = json.loads(deployment.nimctl("cache", "ls", "--profile", str(deployment.profile), "--json").stdout)
    model = next(e for e in listing["entries"] if e["name"] == "nim/mistralai/mistral-small-4-119b-2603")
    assert model["snapshots"] == ["vllm-bf16-tp1-pp1"] and model["bytes"] > 100_000
    assert listing["total_bytes"] >= model["bytes"] + len(b"precious weights")

    offline = deployment.up("--no-smoke")  # no NGC_API_KEY anywhere in its environment
    assert offline.returncode == 0, repr(offline)
    log = deployment.nimctl("logs", "--name", deployment.name, check=True).stdout
    assert "starting offline" in log
    assert seeded.read_bytes() == b"precious weights"
    deployment.nimctl("down", "--name", deployment.name, check=True)


def test_prefetch_failures_exit_like_up(make_deployment, sim_image: str, docker_client) -> None:
    deployment = sim_deployment(make_deployment, sim_image)
    refused = deployment.nimctl("cache", "prefetch", "--profile", str(deployment.profile))
    assert refused.returncode == 4, repr(refused)  # the download was refused: as a refused registry login
    assert "download was refused" in error_line(refused.stderr) and "hint:" in refused.stderr

    with_key = {**deployment.env, "NGC_API_KEY": TEST_KEY}
    unknown = deployment.nimctl(
        "cache", "prefetch", "--profile", str(deployment.profile), "--model-profile", "no-such-profile", env=with_key
    )
    assert unknown.returncode == 5, repr(unknown)
    assert oneoff_containers(docker_client, deployment) == []


def test_ctrl_c_during_prefetch_removes_its_container(make_deployment, sim_image: str, docker_client) -> None:
    deployment = sim_deployment(make_deployment, sim_image, SIM_DOWNLOAD_DELAY="3")
    env = {**deployment.env, "NGC_API_KEY": TEST_KEY}
    command = [sys.executable, "-m", "nimctl", "cache", "prefetch", "--profile", str(deployment.profile)]
    process = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not oneoff_containers(docker_client, deployment) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        assert oneoff_containers(docker_client, deployment), "the prefetch container never appeared"
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert oneoff_containers(docker_client, deployment) == []


def test_a_model_profile_the_nim_cannot_run_ends_with_exit_5_and_the_profiles_hint(
    make_deployment, sim_image: str, docker_client
) -> None:
    deployment = sim_deployment(make_deployment, sim_image, key=TEST_KEY)
    result = deployment.up("--no-smoke", "--model-profile", "vllm-bf16-tp4-pp1")
    assert result.returncode == 5, repr(result)
    assert "matches no profile" in error_line(result.stderr)
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint:"))
    assert "nimctl profiles" in hint
    assert docker_client.containers.list(all=True, filters={"name": f"^/{deployment.name}$"}) == []

    pinned = deployment.up("--no-smoke", "--model-profile", "vllm-bf16-tp1-pp1-lora")
    assert pinned.returncode == 0, repr(pinned)
    log = run_nimctl("logs", "--name", deployment.name, env=deployment.env, check=True).stdout
    assert "Selected profile" in log and "(vllm-bf16-tp1-pp1-lora)" in log
    deployment.nimctl("down", "--name", deployment.name, check=True)
