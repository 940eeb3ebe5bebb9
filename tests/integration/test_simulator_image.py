"""The simulator image on the real Docker engine: offline build, start-up, API, refusals.

Traffic goes only to 127.0.0.1 (published ports). Every container is labelled
io.nimctl.test=simulator and removed by the `run_sim` fixture.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
import docker.types
import httpx
import pytest

from nimctl.diagnosis import diagnose
from nimctl.engine import simulator_build as build_module
from nimctl.engine.simulator_build import build_simulator_image, ensure_simulator_image
from nimctl.simulator import image as image_module
from nimctl.simulator.image import HASH_LABEL, SIM_IMAGE, recipe_hash
from nimctl.simulator.sim import DEFAULT_MODEL

pytestmark = pytest.mark.integration

TEST_LABEL = {"io.nimctl.test": "simulator"}
GPU_REQUEST = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
BUILD_BUDGET_S = 60


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def docker_client():
    try:
        client = docker.from_env()
        client.ping()
    except Exception as err:  # docker-py raises DockerException or requests' errors
        message = f"Docker engine unreachable: {err}"
        if in_ci():
            pytest.fail(message)  # CI must run these tests, not skip them
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(scope="module")
def sim_image(docker_client):
    started = time.monotonic()
    image = build_simulator_image(docker_client)
    elapsed = time.monotonic() - started
    print(f"\nsimulator image built in {elapsed:.1f} s, {image.attrs['Size'] / 1e6:.1f} MB")
    assert elapsed < BUILD_BUDGET_S
    return image


@pytest.fixture()
def cache_dir(tmp_path: Path) -> Path:
    cache = tmp_path / "nim-cache"
    cache.mkdir()
    cache.chmod(0o777)  # the simulator runs as uid 1000
    (cache / "existing-model.bin").write_bytes(b"weights")
    return cache


@pytest.fixture()
def run_sim(docker_client, sim_image, cache_dir) -> Callable[..., docker.models.containers.Container]:
    """Start a simulator container like `docker run --gpus all --shm-size 2g ...`; removed afterwards."""
    started: list = []

    def run(
        env: dict[str, str | None] | None = None,
        *,
        gpu: bool = True,
        shm_size: str = "2g",
        cache_mode: str = "rw",
        volumes: dict[str, dict[str, str]] | None = None,
        command: list[str] | None = None,
    ):
        environment = {"NGC_API_KEY": "nvapi-integration-test", "SIM_STARTUP_DELAY": "0.5", **(env or {})}
        container = docker_client.containers.run(
            sim_image.id,
            command=command,
            detach=True,
            environment={k: v for k, v in environment.items() if v is not None},
            shm_size=shm_size,
            runtime="nvidia",
            device_requests=GPU_REQUEST if gpu else None,
            volumes={str(cache_dir): {"bind": "/opt/nim/.cache", "mode": cache_mode}, **(volumes or {})},
            ports={"8000/tcp": ("127.0.0.1", None)},
            labels=TEST_LABEL,
        )
        started.append(container)
        return container

    yield run
    for container in started:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass


def host_url(container) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get("8000/tcp")
        if bindings:
            return f"http://127.0.0.1:{bindings[0]['HostPort']}"
        time.sleep(0.05)
    raise AssertionError(f"no published port; logs:\n{logs_of(container)}")


def logs_of(container) -> str:
    return container.logs(stdout=True, stderr=True).decode(errors="replace")


def status_of(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def wait_for_status(url: str, status: int, container, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status_of(url) == status:
            return
        container.reload()
        assert container.status in ("created", "running"), f"container exited:\n{logs_of(container)}"
        time.sleep(0.02)
    raise AssertionError(f"{url} never answered {status}; logs:\n{logs_of(container)}")


def test_image_is_non_root_scratch_with_labels(sim_image):
    config = sim_image.attrs["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["/usr/bin/python3.11", "-u", "-m", "sim"]
    assert "PYTHONPATH=/opt/nim-sim" in config["Env"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"] and "PYTHONUNBUFFERED=1" in config["Env"]
    assert sim_image.labels[HASH_LABEL] == recipe_hash()
    assert sim_image.labels["org.opencontainers.image.title"]
    assert SIM_IMAGE in sim_image.tags
    assert sim_image.attrs["Size"] < 100e6


def test_ensure_builds_only_when_missing_or_stale(docker_client, sim_image, monkeypatch):
    tag = "nimctl-sim:ensure-test"
    builds: list[str] = []
    real_build = build_module.build_simulator_image

    def counting_build(client, tag=SIM_IMAGE):
        builds.append(tag)
        return real_build(client, tag)

    monkeypatch.setattr(build_module, "build_simulator_image", counting_build)
    try:
        first = ensure_simulator_image(docker_client, tag)  # missing: builds
        again = ensure_simulator_image(docker_client, tag)  # up to date: reuses
        assert builds == [tag] and again.id == first.id
        monkeypatch.setattr(image_module, "recipe_hash", lambda: "another-recipe")
        rebuilt = ensure_simulator_image(docker_client, tag)  # label differs: rebuilds
        assert builds == [tag, tag] and rebuilt.labels[HASH_LABEL] == "another-recipe"
    finally:
        try:
            docker_client.images.remove(tag)
        except docker.errors.ImageNotFound:
            pass


def test_container_goes_live_then_ready_serves_and_stops_on_sigterm(run_sim, cache_dir):
    container = run_sim({"SIM_STARTUP_DELAY": "2"})
    base = host_url(container)
    wait_for_status(base + "/v1/health/live", 200, container)
    assert status_of(base + "/v1/health/ready") == 503  # live, still "loading the model"
    wait_for_status(base + "/v1/health/ready", 200, container)

    models = httpx.get(base + "/v1/models", timeout=5).json()
    assert [m["id"] for m in models["data"]] == [DEFAULT_MODEL]
    answer = httpx.post(
        base + "/v1/chat/completions",
        json={
            "model": DEFAULT_MODEL,
            "messages": [{"role": "user", "content": "Hello from the test"}],
            "max_tokens": 64,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert "Hello from the test" in answer.json()["choices"][0]["message"]["content"]

    started = time.monotonic()
    container.stop(timeout=10)  # SIGTERM
    assert time.monotonic() - started < 5
    assert container.wait(timeout=10)["StatusCode"] == 0
    logs = logs_of(container)
    assert "Selected profile" in logs and "NIM is ready: ready_at_ms=" in logs
    assert "nvapi-integration-test" not in logs
    # the cache probe was removed and nothing else in the cache was touched
    assert sorted(p.name for p in cache_dir.iterdir()) == ["existing-model.bin"]
    assert (cache_dir / "existing-model.bin").read_bytes() == b"weights"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ({"env": {"NGC_API_KEY": None}}, "NGC_API_KEY is not set"),
        ({"shm_size": "64m"}, "/dev/shm"),
        ({"gpu": False}, "NVIDIA_VISIBLE_DEVICES"),
        ({"cache_mode": "ro"}, "not writable"),
    ],
    ids=["no-key", "small-shm", "no-gpu", "read-only-cache"],
)
def test_container_refuses_to_start(run_sim, how, reason):
    container = run_sim(**how)
    status = container.wait(timeout=30)["StatusCode"]
    logs = logs_of(container)
    assert status == 1, logs
    assert reason in logs and "Refusing to start" in logs


def test_container_crash_during_startup(run_sim):
    container = run_sim({"SIM_CRASH_AFTER": "0.3", "SIM_CRASH_CODE": "3"})
    assert container.wait(timeout=30)["StatusCode"] == 3
    logs = logs_of(container)
    assert "CUDA error: out of memory" in logs and "NIM is ready" not in logs


# -- model-free (NIM LLM 2.x) ---------------------------------------------------------------------------

HF_TOKEN_VALUE = "hf_INTEGRATIONTEST0123456789abcd"  # recognisable: the logs must not contain it


def test_model_free_serves_a_mounted_local_directory_under_its_path(run_sim, tmp_path):
    model = tmp_path / "my-llama"
    model.mkdir()
    (model / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}')
    model.chmod(0o755)
    (model / "config.json").chmod(0o644)
    container = run_sim(
        {"NGC_API_KEY": None, "NIM_MODEL_PATH": "/models/my-llama", "SIM_CAPABILITIES": "text,tools"},
        volumes={str(model): {"bind": "/models/my-llama", "mode": "ro"}},
    )
    base = host_url(container)
    wait_for_status(base + "/v1/health/ready", 200, container)
    models = httpx.get(base + "/v1/models", timeout=5).json()
    assert [m["id"] for m in models["data"]] == ["/models/my-llama"]
    answer = httpx.post(
        base + "/v1/chat/completions",
        json={"model": "/models/my-llama", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 32},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    image = {"type": "image_url", "image_url": {"url": base + "/static/sample.png"}}
    refused = httpx.post(
        base + "/v1/chat/completions",
        json={"model": "/models/my-llama", "messages": [{"role": "user", "content": [image]}]},
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json()["message"] == "/models/my-llama is not a multimodal model"
    logs = logs_of(container)
    assert "LLM NIM Version 2.1.6" in logs and "Using the local model directory /models/my-llama" in logs


def test_model_free_gated_hf_repository_without_hf_token_fails_with_the_diagnosis(run_sim):
    container = run_sim(
        {"NGC_API_KEY": None, "SIM_HF_GATED": "meta-llama/*"}, command=["hf://meta-llama/Llama-3.1-8B-Instruct"]
    )
    status = container.wait(timeout=30)["StatusCode"]
    logs = logs_of(container)
    assert status == 1, logs
    assert "huggingface_hub.errors.GatedRepoError: 401 Client Error" in logs and "NIM is ready" not in logs
    found = diagnose(logs.splitlines())
    assert found is not None and found.key == "hf-gated" and "HF_TOKEN" in found.action


def test_model_free_gated_hf_repository_with_hf_token_starts_and_never_logs_it(run_sim):
    container = run_sim(
        {"NGC_API_KEY": None, "SIM_HF_GATED": "meta-llama/*", "HF_TOKEN": HF_TOKEN_VALUE},
        command=["hf://meta-llama/Llama-3.1-8B-Instruct"],
    )
    base = host_url(container)
    wait_for_status(base + "/v1/health/ready", 200, container)
    models = httpx.get(base + "/v1/models", timeout=5).json()
    assert [m["id"] for m in models["data"]] == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert HF_TOKEN_VALUE not in logs_of(container)
