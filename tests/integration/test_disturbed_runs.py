"""Issue 9.4: runs that die or are disturbed leave a state the next `up` converges from."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker.errors
import pytest

from tests.integration.harness import (
    RUN_ID,
    SIM_REPOSITORY,
    SIM_TAG,
    TEST_KEY,
    Registry,
    base_env,
    free_port,
    run_nimctl,
    write_profile,
)
from tests.integration.second_engine import SecondEngine, remove_second_engine, start_second_engine

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def running(docker_client, name: str) -> bool:
    try:
        return docker_client.api.inspect_container(name)["State"]["Running"]
    except docker.errors.NotFound:
        return False


def containers_named(docker_client, name: str) -> list:
    return docker_client.containers.list(all=True, filters={"name": f"^/{name}$"})


class GatedProxy(ThreadingHTTPServer):
    """Forwards to the test registry, holding every manifest request until `gate` is set:
    a pull that stays under way for as long as the test wants."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", free_port()), _ProxyHandler)
        self.upstream = upstream
        self.gate = threading.Event()
        self.manifest_asked = threading.Event()


class _ProxyHandler(BaseHTTPRequestHandler):
    server: GatedProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _forward(self) -> None:
        if "/manifests/" in self.path:
            self.server.manifest_asked.set()
            while not self.server.gate.wait(0.1):
                pass
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        host, port = self.server.upstream.split(":")
        upstream = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _forward  # noqa: N815 - http.server dispatches on these


@pytest.fixture
def gated_proxy(registry: Registry, registry_image: str) -> Iterator[GatedProxy]:
    proxy = GatedProxy(registry.address)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield proxy
    proxy.gate.set()
    proxy.shutdown()
    proxy.server_close()


def test_sigkill_during_the_pull_then_up_converges(make_deployment, gated_proxy: GatedProxy, docker_client) -> None:
    image = f"127.0.0.1:{gated_proxy.server_address[1]}/{SIM_REPOSITORY}:{SIM_TAG}"
    deployment = make_deployment(image)
    first = deployment.spawn_up("--no-smoke", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert gated_proxy.manifest_asked.wait(60), "the pull never started"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert containers_named(docker_client, deployment.name) == []
    gated_proxy.gate.set()
    started = time.monotonic()
    again = deployment.up("--no-smoke", "--json", timeout=120)
    assert again.returncode == 0, repr(again)
    assert "another nimctl" not in again.stderr  # no stale lock
    assert json.loads(again.stdout)["ready"] is True
    assert len(containers_named(docker_client, deployment.name)) == 1
    assert time.monotonic() - started < 60


def test_sigkill_during_the_wait_then_up_converges(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image, env={"SIM_STARTUP_DELAY": "4"})
    first = deployment.spawn_up("--no-smoke", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: running(docker_client, deployment.name), 60, "the container to run")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    before = docker_client.api.inspect_container(deployment.name)["Id"]
    again = deployment.up("--no-smoke", "--json", timeout=120)
    assert again.returncode == 0, repr(again)
    assert "another nimctl" not in again.stderr
    summary = json.loads(again.stdout)
    assert summary["action"] == "noop" and summary["ready"] is True  # waited on it, did not duplicate it
    [only] = containers_named(docker_client, deployment.name)
    assert only.id == before


def test_down_during_the_wait_ends_up_within_two_seconds(make_deployment, registry_image: str, docker_client) -> None:
    deployment = make_deployment(registry_image, env={"SIM_STARTUP_DELAY": "60"})
    waiting = deployment.spawn_up("--no-smoke", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: running(docker_client, deployment.name), 60, "the container to run")
        time.sleep(0.5)  # `up` subscribed to the container's events before starting it: it waits now
        down_result = deployment.nimctl("down", "--name", deployment.name)
        down_done = time.monotonic()
        _, stderr = waiting.communicate(timeout=10)
        elapsed = time.monotonic() - down_done
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert down_result.returncode == 0, repr(down_result)
    assert waiting.returncode == 5, stderr
    assert re.search(r"was (stopped|removed) by another command", stderr) and "Traceback" not in stderr
    assert "hint:" in stderr
    # `up` reacts to the stop request itself (the kill event), so it is gone by the time down returns,
    # or within 2 s of it at worst
    assert elapsed < 2.0, elapsed
    assert containers_named(docker_client, deployment.name) == []


def test_unready_after_ready_shows_live_not_ready_and_up_waits_instead_of_recreating(
    make_deployment, registry_image: str, docker_client
) -> None:
    deployment = make_deployment(registry_image, env={"SIM_UNREADY_AFTER": "1", "SIM_UNREADY_FOR": "5"})
    first = deployment.up("--no-smoke", check=True)
    before = docker_client.api.inspect_container(deployment.name)["Id"]

    def row() -> dict:
        [only] = json.loads(deployment.nimctl("status", "--name", deployment.name, "--json", check=True).stdout)
        return only

    wait_until(lambda: row()["ready"] is False, 15, "the NIM to turn unready")
    unready = row()
    assert unready["live"] is True and unready["state"] == "running", unready
    again = deployment.up("--no-smoke", "--json", timeout=120)
    assert again.returncode == 0, repr(again)
    summary = json.loads(again.stdout)
    assert summary["action"] == "noop" and summary["ready"] is True
    assert f"{deployment.name}: live" in again.stderr  # it waited through the unready spell
    assert docker_client.api.inspect_container(deployment.name)["Id"] == before
    assert first.returncode == 0


@pytest.fixture
def second_engine(docker_client, sim_image: str) -> Iterator[SecondEngine]:
    engine = start_second_engine(sim_image, docker_client)
    yield engine
    remove_second_engine(engine)


@pytest.mark.parametrize("how", ["killed", "shut down"])
def test_engine_gone_during_the_wait_exits_3_then_up_converges(
    tmp_path, second_engine: SecondEngine, sim_image: str, how: str
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    profile = write_profile(
        tmp_path / "engine-gone.toml",
        sim_image,
        cache_dir,
        gpus="none",
        runtime="",
        pull="never",
        env={"SIM_STARTUP_DELAY": "6", "NVIDIA_VISIBLE_DEVICES": "simulated"},
    )
    name = f"nimctl-it-engine-gone-{RUN_ID}"
    env = base_env(DOCKER_HOST=second_engine.host, NGC_API_KEY=TEST_KEY)
    args = ["up", "--profile", str(profile), "--name", name, "--port", str(free_port()), "--no-smoke"]
    waiting = subprocess.Popen([sys.executable, "-m", "nimctl", *args], env=env, text=True, stderr=subprocess.PIPE)
    client = second_engine.client()
    try:
        wait_until(lambda: running(client, name) or waiting.poll() is not None, 60, "the container to run")
        assert waiting.poll() is None, waiting.communicate()[1]
        time.sleep(0.5)  # up waits on it now
        killed = time.monotonic()
        threading.Thread(target=second_engine.kill if how == "killed" else second_engine.shut_down).start()
        _, stderr = waiting.communicate(timeout=20)
        elapsed = time.monotonic() - killed
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 3, stderr
    assert "the Docker engine went away" in stderr and "Traceback" not in stderr and "hint:" in stderr
    assert elapsed < 3.0, elapsed  # a shutdown first stops the container (SIGTERM, then the engine goes)

    wait_until(lambda: second_engine.process.poll() is not None, 60, "the engine's end")
    second_engine.start()
    again = run_nimctl(*args, "--json", env=env, timeout=120)
    assert again.returncode == 0, repr(again)
    summary = json.loads(again.stdout)
    assert summary["ready"] is True and summary["action"] in ("start", "noop"), summary
    assert len(second_engine.client().containers.list(all=True, filters={"name": f"^/{name}$"})) == 1
