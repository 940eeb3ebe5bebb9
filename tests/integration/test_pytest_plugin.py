"""The pytest plugin on the real engine: small test files that use `nim` / `nim_client`, run by
pytester in a subprocess against the simulator (`--nim-profile sim`), each with its own
container name, port, cache and log directory."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.harness import RUN_ID, base_env, free_port, run_nimctl

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]

RUN_TIMEOUT = 240

# A test file that records what it saw (one JSON file per test) and talks to the NIM.
USES_NIM = """
import json, os, pathlib, docker

def record(tag, nim):
    # the engine host is this machine (ssh:// tests reach it over loopback ssh): read its local socket
    container = docker.DockerClient(base_url="unix:///var/run/docker.sock").containers.get(nim.name)
    out = pathlib.Path(os.environ["PLUGIN_TEST_OUT"]) / f"{tag}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"
    out.write_text(json.dumps({"id": container.id, "started_at": container.attrs["State"]["StartedAt"],
                               "started": nim.started, "url": nim.url, "name": nim.name}))

def test_chat(nim, nim_client):
    answer = nim_client.chat.completions.create(
        model=nim.model, messages=[{"role": "user", "content": "Say hello"}], max_tokens=16)
    assert answer.choices[0].message.content
    record("chat", nim)

def test_models(nim, nim_client):
    assert [m.id for m in nim_client.models.list()] == [nim.model]
    record("models", nim)
"""

NO_NIM = """
import docker, os, pytest

def test_plain():
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().containers.get(os.environ["NIMCTL_CONTAINER_NAME"])
"""


@dataclass
class PluginRun:
    name: str
    port: int
    out: Path

    def records(self) -> list[dict]:
        return [json.loads(path.read_text()) for path in sorted(self.out.glob("*.json"))]


@pytest.fixture
def plugin_env(pytester, monkeypatch, docker_client, sim_image, tmp_path):
    """Unique settings for the simulator in the environment the inner pytest inherits; every
    container of that name is removed afterwards."""
    name = f"nimctl-it-plugin-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    port = free_port()
    out = tmp_path / "records"
    out.mkdir()
    env = {
        "NIMCTL_CONTAINER_NAME": name,
        "NIMCTL_PORT": str(port),
        "NIMCTL_CACHE_DIR": str(tmp_path / "cache"),
        "NIMCTL_LOG_DIR": str(tmp_path / "logs"),
        "PLUGIN_TEST_OUT": str(out),
        "XDG_RUNTIME_DIR": os.environ.get("NIMCTL_TEST_RUNTIME_DIR", tempfile.gettempdir()),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield PluginRun(name=name, port=port, out=out)
    import docker.errors

    try:
        docker_client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        pass


def container(docker_client, name: str):
    import docker.errors

    try:
        return docker_client.containers.get(name)
    except docker.errors.NotFound:
        return None


def run_inner(pytester, *args: str):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=RUN_TIMEOUT)


def test_fresh_start_is_shared_by_the_session_and_removed_at_the_end(pytester, plugin_env, docker_client):
    pytester.makepyfile(test_uses_nim=USES_NIM, test_no_nim=NO_NIM)
    result = run_inner(pytester, "--nim-profile", "sim", "test_no_nim.py", "test_uses_nim.py")
    result.assert_outcomes(passed=3)
    # nimctl's progress reaches the terminal while the fixture waits, and the removal is told
    result.stdout.fnmatch_lines(
        [f"* {plugin_env.name}: ready", f"* {plugin_env.name}: removed (this test run started it*"]
    )
    records = plugin_env.records()
    assert len(records) == 2
    assert len({r["id"] for r in records}) == 1  # one container for the session
    assert all(r["started"] and r["name"] == plugin_env.name for r in records)
    assert records[0]["url"] == f"http://127.0.0.1:{plugin_env.port}/v1"
    assert container(docker_client, plugin_env.name) is None


def test_a_running_deployment_is_reused_and_left_running(pytester, plugin_env, docker_client):
    run_nimctl("up", "--profile", "sim", "--no-smoke", env=base_env(**_nimctl_env()), check=True)
    before = container(docker_client, plugin_env.name)
    pytester.makepyfile(test_uses_nim=USES_NIM)
    result = run_inner(pytester, "--nim-profile", "sim")
    result.assert_outcomes(passed=2)
    after = container(docker_client, plugin_env.name)
    assert after is not None and after.status == "running"
    assert after.id == before.id
    assert after.attrs["State"]["StartedAt"] == before.attrs["State"]["StartedAt"]  # not restarted
    assert [r["started"] for r in plugin_env.records()] == [False, False]
    assert "removed" not in result.stdout.str()


def test_nim_keep_leaves_what_it_started_running(pytester, plugin_env, docker_client):
    pytester.makepyfile(test_uses_nim=USES_NIM)
    result = run_inner(pytester, "--nim-profile", "sim", "--nim-keep")
    result.assert_outcomes(passed=2)
    kept = container(docker_client, plugin_env.name)
    assert kept is not None and kept.status == "running"
    assert {r["id"] for r in plugin_env.records()} == {kept.id}


def test_nim_url_uses_the_endpoint_without_any_lifecycle(pytester, plugin_env, docker_client):
    from nimctl.simulator.sim import SimConfig, start_in_thread

    sim = start_in_thread(SimConfig.from_env({"SIM_STARTUP_DELAY": "0"}), host="127.0.0.1", port=0)
    try:
        sim.wait_ready(10)
        pytester.makepyfile(
            test_url="""
            def test_chat(nim, nim_client):
                assert nim.name is None and nim.url.endswith("/v1")
                answer = nim_client.chat.completions.create(
                    model=nim.model, messages=[{"role": "user", "content": "hi"}], max_tokens=8)
                assert answer.choices[0].message.content
            """
        )
        result = run_inner(pytester, "--nim-url", sim.base_url, "--nim-profile", "sim")
    finally:
        sim.stop()
    result.assert_outcomes(passed=1)
    assert container(docker_client, plugin_env.name) is None  # nothing was started


def test_a_failed_start_errors_the_tests_that_use_nim_with_nimctls_report(
    pytester, plugin_env, docker_client, monkeypatch
):
    pytester.makepyfile(test_uses_nim=USES_NIM, test_no_nim=NO_NIM)
    crash = {"NVIDIA_VISIBLE_DEVICES": "simulated", "SIM_KEYLESS": "true", "SIM_CRASH_AFTER": "0.5"}
    monkeypatch.setenv("NIMCTL_ENV", json.dumps(crash))
    result = run_inner(pytester, "--nim-profile", "sim", "test_no_nim.py", "test_uses_nim.py")
    result.assert_outcomes(passed=1, errors=2)
    output = result.stdout.str()
    assert "exit code 5: the container exited during start-up" in output
    assert f"error: {plugin_env.name} exited with code 3 during start-up" in output
    assert "CUDA error: out of memory" in output  # the container's last log lines
    assert "hint: free the GPUs" in output and "; full log: " in output  # the diagnosis of the OOM, then the log
    assert "skipped" not in output.lower().split("short test summary")[-1]
    assert container(docker_client, plugin_env.name) is None


def test_xdist_workers_share_one_container_and_the_last_out_removes_it(pytester, plugin_env, docker_client):
    pytester.makepyfile(test_uses_nim=USES_NIM)
    result = run_inner(pytester, "--nim-profile", "sim", "-n", "2", "--dist", "each")
    result.assert_outcomes(passed=4)
    records = plugin_env.records()
    assert len(records) == 4 and {Path(p).stem.split("-")[-1] for p in map(str, plugin_env.out.glob("*.json"))} == {
        "gw0",
        "gw1",
    }
    assert len({r["id"] for r in records}) == 1  # both workers used the same container
    assert len({r["started_at"] for r in records}) == 1
    assert container(docker_client, plugin_env.name) is None


def _nimctl_env() -> dict[str, str]:
    """The plugin test's NIMCTL_* settings, for a `nimctl` run outside pytester."""
    return {key: value for key, value in os.environ.items() if key.startswith("NIMCTL_") or key == "XDG_RUNTIME_DIR"}


def test_nim_timeout_bounds_the_wait_for_readiness(pytester, plugin_env, docker_client, monkeypatch):
    slow = {"NVIDIA_VISIBLE_DEVICES": "simulated", "SIM_KEYLESS": "true", "SIM_STARTUP_DELAY": "60"}
    monkeypatch.setenv("NIMCTL_ENV", json.dumps(slow))
    pytester.makepyfile(test_uses_nim=USES_NIM)
    result = run_inner(pytester, "--nim-profile", "sim", "--nim-timeout", "3")
    result.assert_outcomes(errors=2)
    output = result.stdout.str()
    assert "exit code 6: the NIM was not ready in time" in output
    assert f"error: {plugin_env.name} was not ready after 3s" in output
    assert container(docker_client, plugin_env.name) is None


def test_a_remote_engines_nim_is_reached_through_the_ssh_tunnel(pytester, plugin_env, ssh_engine, monkeypatch):
    """DOCKER_HOST=ssh://...: the NIM stays on the engine host's loopback; `nim.url` is the tunnel's end."""
    for key, value in ssh_engine.env().items():
        monkeypatch.setenv(key, value)
    Path(os.environ["NIMCTL_CACHE_DIR"]).mkdir()  # on the engine's host: nimctl never creates it remotely
    pytester.makepyfile(test_uses_nim=USES_NIM)
    result = run_inner(pytester, "--nim-profile", "sim", "test_uses_nim.py")
    result.assert_outcomes(passed=2)  # the chat went through the tunnel
    (record,) = [row for row in plugin_env.records() if row["name"] == plugin_env.name][:1]
    local_port = int(record["url"].rsplit(":", 1)[1].split("/", 1)[0])
    assert local_port != plugin_env.port  # not the published port: the tunnel's local end
    assert record["started"] is True


def _remove(docker_client, name: str) -> None:
    import docker.errors

    try:
        docker_client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        pass


def test_ini_options_set_the_nim_and_the_environment_wins_over_them(pytester, plugin_env, docker_client, monkeypatch):
    """`nim_*` in pytest.ini: the profile, name and keep come from it; NIMCTL_PORT beats its nim_port."""
    ini_name = plugin_env.name + "-ini"
    monkeypatch.delenv("NIMCTL_CONTAINER_NAME")
    pytester.makeini(
        f"""
        [pytest]
        nim_profile = sim
        nim_name = {ini_name}
        nim_port = 1
        nim_timeout = 120
        nim_keep = true
        """
    )
    pytester.makepyfile(test_uses_nim=USES_NIM)
    try:
        result = run_inner(pytester, "test_uses_nim.py")
        result.assert_outcomes(passed=2)
        kept = container(docker_client, ini_name)
        assert kept is not None and kept.status == "running"  # nim_keep = true
        assert {r["name"] for r in plugin_env.records()} == {ini_name}
        assert all(f":{plugin_env.port}/" in r["url"] for r in plugin_env.records())  # NIMCTL_PORT, not nim_port
    finally:
        _remove(docker_client, ini_name)


def test_pyproject_ini_options_are_read_too(pytester, plugin_env, docker_client):
    """[tool.pytest.ini_options]: a bad nim_timeout is refused naming the setting, before anything starts."""
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        nim_profile = "sim"
        nim_timeout = "soon"
        """
    )
    pytester.makepyfile(test_uses_nim=USES_NIM)
    result = run_inner(pytester, "test_uses_nim.py")
    result.assert_outcomes(errors=2)
    assert "invalid setting timeout (from flag)" in result.stdout.str()
    assert container(docker_client, plugin_env.name) is None


def test_a_conftest_overrides_nim_settings(pytester, plugin_env, docker_client):
    code_name = plugin_env.name + "-code"
    pytester.makeconftest(
        f"""
        import pytest

        @pytest.fixture(scope="session")
        def nim_settings():
            return {{"profile": "sim", "name": "{code_name}", "port": "auto", "timeout": 120.0}}
        """
    )
    pytester.makepyfile(test_uses_nim=USES_NIM)
    try:
        result = run_inner(pytester, "--nim-profile", "no-such-profile", "test_uses_nim.py")  # the fixture wins
        result.assert_outcomes(passed=2)
        records = plugin_env.records()
        assert {r["name"] for r in records} == {code_name} and all(r["started"] for r in records)
        assert container(docker_client, code_name) is None  # this run started it, so it removed it
    finally:
        _remove(docker_client, code_name)


SERVED_NAME = """
def test_nim_model_is_what_the_nim_serves(nim, nim_client):
    assert nim.model == "Qwen/Qwen2.5-0.5B-Instruct"  # derived from the source, not the profile's served_model
    assert [m.id for m in nim_client.models.list()] == [nim.model]
"""


def test_nim_model_is_the_name_the_nim_reports(pytester, plugin_env):
    # issue 18: a model-free source; the sim profile's served_model (Mistral) is no longer assumed
    pytester.makepyfile(test_served=SERVED_NAME)
    pytester.makeini("[pytest]\nnim_model_path = hf://Qwen/Qwen2.5-0.5B-Instruct\n")
    result = run_inner(pytester, "--nim-profile", "sim")
    result.assert_outcomes(passed=1)
