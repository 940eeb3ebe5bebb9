"""Each fault gives a one-line error with a hint and its documented exit code, leaves no running
container behind, and never touches what is in the cache."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.integration.harness import Deployment, Registry, free_port, read_until_waiting, run_nimctl, start_registry

CACHE_FILE = "weights/model.safetensors"


def seed_cache(deployment: Deployment) -> Path:
    path = deployment.cache_dir / CACHE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"precious weights")
    return path


def assert_cache_intact(path: Path) -> None:
    assert path.read_bytes() == b"precious weights"


def containers_named(docker_client, name: str) -> list:
    return docker_client.containers.list(all=True, filters={"name": f"^/{name}$"})


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_wrong_key_is_rejected_without_retries(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image, key="nvapi-WRONG-KEY")
    cache = seed_cache(deployment)
    started = time.monotonic()
    result = deployment.up("--pull", "always", "--no-smoke")
    assert result.returncode == 4, repr(result)
    assert "the registry rejected the NGC key" in error_line(result.stderr)
    assert "hint:" in result.stderr and "retry" not in result.stderr
    assert time.monotonic() - started < 10
    assert containers_named(docker_client, deployment.name) == []
    assert_cache_intact(cache)


def test_missing_tag_and_missing_repository_say_which(
    make_deployment, registry: Registry, registry_image: str, docker_client
) -> None:
    no_tag = make_deployment(registry.image(tag="9.9.9-nope"))
    result = no_tag.up("--no-smoke")
    assert result.returncode == 4, repr(result)
    assert "tag not found" in error_line(result.stderr) and "9.9.9-nope" in result.stderr
    assert "1.7.0-sim" in result.stderr  # the hint lists the tags that do exist

    no_repo = make_deployment(registry.image(repository="nim/no-such-model"))
    result = no_repo.up("--no-smoke")
    assert result.returncode == 4, repr(result)
    assert "no repository" in error_line(result.stderr) and "nim/no-such-model" in result.stderr
    assert containers_named(docker_client, no_repo.name) == []


def test_transient_registry_outage_is_retried_then_succeeds(
    make_deployment, registry_image: str, tmp_path: Path, docker_client
) -> None:
    from tests.integration.harness import TEST_KEY, push

    port = free_port()
    late_image = f"127.0.0.1:{port}/nim/late:1"
    deployment = make_deployment(late_image)
    registry_dir = tmp_path / "late-registry"
    registry_dir.mkdir()
    # Fill the registry, then stop it: nimctl's first attempts find nothing listening.
    filling = start_registry(registry_dir, TEST_KEY, port)  # returns once it answers
    push(docker_client, "nimctl-sim:latest", late_image, TEST_KEY)
    docker_client.images.remove(late_image)
    filling.terminate()
    filling.wait(timeout=10)
    holder: dict = {}

    def start_late() -> None:
        time.sleep(1.0)
        holder["process"] = start_registry(registry_dir, TEST_KEY, port)

    starter = threading.Thread(target=start_late)
    starter.start()
    try:
        result = deployment.up("--no-smoke", timeout=120)
        starter.join()
        assert result.returncode == 0, repr(result)
        assert "retry 1 of" in result.stderr
    finally:
        starter.join()
        if "process" in holder:
            holder["process"].terminate()


def test_unreachable_registry_fails_after_bounded_retries(make_deployment, docker_client) -> None:
    deployment = make_deployment(f"127.0.0.1:{free_port()}/nim/gone:1")
    result = deployment.up("--no-smoke", timeout=120)
    assert result.returncode == 4, repr(result)
    assert result.stderr.count("retry ") == 3
    assert "connection refused" in error_line(result.stderr)
    assert containers_named(docker_client, deployment.name) == []


def test_crash_during_startup_is_noticed_at_once(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(
        registry_image, env={"SIM_CRASH_AFTER": "1.5", "SIM_CRASH_CODE": "3", "SIM_STARTUP_DELAY": "60"}
    )
    cache = seed_cache(deployment)
    result = deployment.up("--no-smoke", "--timeout", "60")
    assert result.returncode == 5, repr(result)
    assert "exited with code 3 during start-up" in error_line(result.stderr)
    assert "CUDA error" in result.stderr  # the container's own last lines are shown
    log_path = Path(result.stderr.split("full log: ")[1].split(";")[0].split(" ")[0].rstrip(")"))
    assert "CUDA error" in log_path.read_text()
    assert containers_named(docker_client, deployment.name) == []
    assert_cache_intact(cache)


def test_crash_is_noticed_within_a_second_of_the_exit(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image, env={"SIM_CRASH_AFTER": "2", "SIM_STARTUP_DELAY": "60"})
    result = deployment.up("--no-smoke", "--keep-on-failure")
    finished_at = time.time()
    assert result.returncode == 5, repr(result)
    attrs = docker_client.api.inspect_container(deployment.name)  # kept, as asked
    assert attrs["State"]["Status"] == "exited"
    from nimctl.container import parse_time

    exited_at = parse_time(attrs["State"]["FinishedAt"]).timestamp()
    # nimctl's exit includes writing the log file and Python's shutdown; the notice itself is faster
    assert finished_at - exited_at < 1.5
    assert "--keep-on-failure" in result.stderr


def test_readiness_timeout_removes_the_container(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image, env={"SIM_STARTUP_DELAY": "120"})
    cache = seed_cache(deployment)
    started = time.monotonic()
    result = deployment.up("--no-smoke", "--timeout", "3")
    assert result.returncode == 6, repr(result)
    assert "was not ready after 3s" in error_line(result.stderr)
    assert "last phase: live" in result.stderr
    assert "full log:" in result.stderr
    assert time.monotonic() - started < 20
    assert containers_named(docker_client, deployment.name) == []
    assert_cache_intact(cache)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupt_during_the_wait_removes_the_container(
    make_deployment, registry_image: str, docker_client, sig: int
) -> None:
    deployment = make_deployment(registry_image, env={"SIM_STARTUP_DELAY": "120"})
    cache = seed_cache(deployment)
    process = deployment.spawn_up("--no-smoke", stderr=subprocess.PIPE)
    seen = read_until_waiting(process)
    process.send_signal(sig)
    rest = process.stderr.read()
    assert process.wait(timeout=30) == 130, seen + rest
    assert "interrupted" in rest
    assert containers_named(docker_client, deployment.name) == []
    assert_cache_intact(cache)


def test_interrupt_during_the_pull_leaves_nothing(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image)
    process = deployment.spawn_up("--no-smoke", "--pull", "always", stderr=subprocess.PIPE)
    for line in process.stderr:
        if "logging in" in line or "pulling" in line:
            break
    process.send_signal(signal.SIGTERM)
    process.stderr.read()
    assert process.wait(timeout=30) == 130
    assert containers_named(docker_client, deployment.name) == []


def test_container_dying_after_ready_shows_in_status_and_up_brings_it_back(
    deployment: Deployment, docker_client
) -> None:
    deployment.up("--no-smoke", "--env", "SIM_EXIT_AFTER_READY=1", check=True)
    deadline = time.monotonic() + 15
    while docker_client.api.inspect_container(deployment.name)["State"]["Status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    row = json.loads(deployment.nimctl("status", "--name", deployment.name, "--json", check=True).stdout)[0]
    assert row["state"] == "exited" and row["exit_code"] == 3 and row["ready"] is False
    human = deployment.nimctl("status", "--name", deployment.name, check=True)
    assert "exited (3)" in human.stderr

    first_id = docker_client.api.inspect_container(deployment.name)["Id"]
    again = deployment.up("--no-smoke", "--env", "SIM_EXIT_AFTER_READY=1", "--json")
    assert again.returncode == 0, repr(again)
    assert json.loads(again.stdout)["action"] == "start"
    assert docker_client.api.inspect_container(deployment.name)["Id"] == first_id  # started again, same container


def test_two_concurrent_ups_give_one_container(deployment: Deployment, docker_client) -> None:
    first, second = (
        deployment.spawn_up("--no-smoke", "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    )
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    actions = sorted(json.loads(out)["action"] for out, _ in outputs)
    assert actions == ["create", "noop"]
    assert any("another nimctl is starting" in err for _, err in outputs)
    assert len(containers_named(docker_client, deployment.name)) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--profile", "no-such-profile"], "profile 'no-such-profile' not found"),
        (["--gpus", "lots"], "invalid setting gpus"),
        (["--shm-size", "huge"], "invalid setting shm_size"),
        (["--port", "70000"], "invalid setting port"),
        (["--env", "NOEQUALS"], "is not KEY=VALUE"),
    ],
)
def test_bad_settings_fail_before_any_engine_call(args: list[str], needle: str) -> None:
    from tests.integration.harness import base_env

    # An engine address that cannot answer: a config error must come first, with exit 2.
    env = base_env(DOCKER_HOST="unix:///nonexistent/docker.sock")
    result = run_nimctl("up", *args, env=env)
    assert result.returncode == 2, repr(result)
    assert needle in error_line(result.stderr)
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_bad_profile_files(tmp_path: Path) -> None:
    from tests.integration.harness import base_env

    env = base_env(DOCKER_HOST="unix:///nonexistent/docker.sock")
    malformed = tmp_path / "malformed.toml"
    malformed.write_text('image = "x/y:1"\nport = 80 80\n')
    not_text = tmp_path / "binary.toml"
    not_text.write_bytes(b'image = "x/y:1"\n\xff\xfe = 1\n')
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'blue'\n")
    for profile, needle in (
        (malformed, f"{malformed}:2: not valid TOML"),
        (not_text, f"{not_text}:2: not UTF-8"),
        (unknown, "unknown key 'colour'"),
    ):
        result = run_nimctl("up", "--profile", str(profile), env=env)
        assert result.returncode == 2, repr(result)
        assert needle in error_line(result.stderr)


def test_engine_unreachable_has_its_own_exit_code() -> None:
    from tests.integration.harness import base_env

    env = base_env(DOCKER_HOST="unix:///nonexistent/docker.sock")
    for command in (["status"], ["down"], ["up", "--profile", "sim"]):
        result = run_nimctl(*command, env=env)
        assert result.returncode == 3, repr(result)
        assert "cannot reach the engine at unix:///nonexistent/docker.sock (from DOCKER_HOST)" in error_line(
            result.stderr
        )
        assert "DOCKER_HOST" in result.stderr


def test_engine_refusing_to_start_leaves_no_created_container(make_deployment, sim_image: str, docker_client) -> None:
    import io

    broken = "nimctl-test-broken-entrypoint:latest"
    dockerfile = f'FROM {sim_image}\nENTRYPOINT ["/no/such/binary"]\n'.encode()
    docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=broken, rm=True)
    try:
        deployment = make_deployment(broken)
        result = deployment.up("--no-smoke", "--pull", "never")
        assert result.returncode == 5, repr(result)
        assert "cannot start container" in error_line(result.stderr)
        assert containers_named(docker_client, deployment.name) == []
    finally:
        docker_client.images.remove(broken, force=True)


def test_smoke_failure_after_ready_exits_7_and_keeps_the_nim_up(
    make_deployment, registry_image: str, docker_client
) -> None:
    deployment = make_deployment(registry_image, env={"SIM_BREAK": "text"})
    result = deployment.up("--smoke", "quick")
    assert result.returncode == 7, repr(result)
    assert "smoke checks failed: text" in error_line(result.stderr)
    assert f"nimctl smoke --name {deployment.name}" in result.stderr
    assert docker_client.api.inspect_container(deployment.name)["State"]["Status"] == "running"
