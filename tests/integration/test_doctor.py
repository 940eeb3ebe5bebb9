"""`nimctl doctor` and the preflight `up` runs: one line per check, a hint for each failure."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.integration.harness import Deployment, base_env, run_nimctl


def checks_of(result) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_doctor_passes_on_this_engine(deployment: Deployment) -> None:
    result = deployment.nimctl("doctor", "--profile", str(deployment.profile), "--port", str(deployment.port), "--json")
    assert result.returncode == 0, repr(result)
    checks = checks_of(result)
    assert set(checks) == {
        "docker engine",
        "gpu support",
        "ngc key",
        "cache dir",
        "host port",
        "free disk",
        "gpu sharing",
    }
    assert checks["docker engine"]["status"] == "pass"
    # the nvidia runtime is registered, but that is no evidence of a GPU: a pass needs nvidia-smi's
    # list from the image (if another test pulled it here), else it "cannot verify" (test_gpu_check.py)
    gpu = checks["gpu support"]
    assert (gpu["status"], "GPU(s)" in gpu["detail"]) in (("pass", True), ("warn", False)), gpu
    assert checks["ngc key"]["status"] == "pass"  # the key is set: a NIM needs it whatever the registry
    assert checks["host port"]["status"] == "pass"
    assert all(
        line.split()[0] in ("pass", "skip", "warn") for line in result.stderr.splitlines() if not line.startswith(" ")
    )


def test_doctor_reports_each_failure_with_a_hint(tmp_path: Path) -> None:
    locked = tmp_path / "locked-cache"
    locked.mkdir(mode=0o700)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = base_env()  # no NGC_API_KEY, default nvcr.io image
        result = run_nimctl(
            "doctor",
            "--port",
            str(port),
            "--cache-dir",
            str(locked),
            "--runtime",
            "no-such-runtime",
            "--json",
            env={**env, "NIMCTL_USER": "4321:4321"},
        )
    assert result.returncode == 8, repr(result)
    checks = checks_of(result)
    assert checks["ngc key"]["status"] == "fail" and "NGC_API_KEY" in checks["ngc key"]["hint"]
    assert checks["host port"]["status"] == "fail" and "--port" in checks["host port"]["hint"]
    assert checks["cache dir"]["status"] == "fail" and "chown" in checks["cache dir"]["hint"]
    assert checks["gpu support"]["status"] == "fail" and "no-such-runtime" in checks["gpu support"]["detail"]
    assert "hint:" in result.stderr


def test_doctor_gpus_none_skips_the_gpu_check() -> None:
    result = run_nimctl("doctor", "--profile", "sim", "--json", env=base_env())
    assert checks_of(result)["gpu support"]["status"] == "skip"


def test_up_runs_preflight_before_creating_anything(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", deployment.port))
        taken.listen()
        result = deployment.up("--no-smoke")
    assert result.returncode == 8, repr(result)
    assert "already in use" in result.stderr and "--port" in result.stderr
    assert docker_client.containers.list(all=True, filters={"name": f"^/{deployment.name}$"}) == []


def test_engine_down_in_doctor() -> None:
    result = run_nimctl("doctor", "--json", env=base_env(DOCKER_HOST="unix:///nonexistent.sock"))
    assert result.returncode == 8
    check = checks_of(result)["docker engine"]
    assert check["status"] == "fail" and "DOCKER_HOST" in check["hint"]


def test_low_disk_is_a_warning_not_a_failure(deployment: Deployment) -> None:
    env = {**deployment.env, "NIMCTL_MIN_FREE_DISK_GB": "1000000000"}
    result = deployment.nimctl(
        "doctor", "--profile", str(deployment.profile), "--port", str(deployment.port), "--json", env=env
    )
    assert result.returncode == 0, repr(result)
    check = checks_of(result)["free disk"]
    assert check["status"] == "warn" and "--cache-dir" in check["hint"]
    up = deployment.up("--no-smoke", env=env)
    assert up.returncode == 0, repr(up)
    assert "warning: free disk" in up.stderr


def test_failed_preflight_creates_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "not-yet" / "nim"
    result = run_nimctl("up", "--cache-dir", str(cache), env=base_env())  # no NGC key for nvcr.io
    assert result.returncode == 8, repr(result)
    assert "ngc key" in result.stderr
    assert not cache.exists() and not cache.parent.exists()


def test_up_creates_a_missing_cache_dir_for_the_containers_user(
    make_deployment, registry_image: str, docker_client
) -> None:
    import os

    deployment = make_deployment(registry_image)
    cache = deployment.cache_dir / "new" / "nim"
    result = deployment.up("--no-smoke", "--cache-dir", str(cache), "--user", "4321:4321")
    assert result.returncode == 0, repr(result)
    assert cache.is_dir()
    if os.getuid() == 0:
        assert (cache.stat().st_uid, cache.stat().st_gid) == (4321, 4321)
    assert docker_client.api.inspect_container(deployment.name)["Config"]["User"] == "4321:4321"


def test_no_key_with_an_empty_cache_fails_preflight_whatever_the_registry(
    make_deployment, registry_image: str, docker_client
) -> None:
    deployment = make_deployment(registry_image, key=None)  # a loopback registry, not nvcr.io
    result = deployment.up("--no-smoke")
    assert result.returncode == 8, repr(result)
    assert "ngc key" in result.stderr and "empty cache" in result.stderr and "hint:" in result.stderr
    assert docker_client.containers.list(all=True, filters={"name": f"^/{deployment.name}$"}) == []
    assert list(deployment.cache_dir.iterdir()) == []  # the cache is only looked at


def test_no_key_with_a_filled_cache_warns_and_starts_offline(make_deployment, sim_image: str) -> None:
    deployment = make_deployment(sim_image, key=None, gpus="none", runtime="")
    weights = deployment.cache_dir / "ngc" / "model.safetensors"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"precious weights")
    result = deployment.up("--no-smoke")
    # preflight let it through: the container was created (whether the simulator of this
    # checkout then starts without a key is the simulator's business, not preflight's)
    assert result.returncode != 8, repr(result)
    assert "warning: ngc key: NGC_API_KEY is not set: starting offline from the cache" in result.stderr
    assert f"{deployment.name}: create" in result.stderr
    assert weights.read_bytes() == b"precious weights"
