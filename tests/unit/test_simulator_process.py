"""The simulator through real sockets: the container entry point as a process, the in-process
start-up sequence, streaming pauses, image URLs it fetches, the OpenAI SDK, and the hang break."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nimctl.simulator import sim as sim_package
from nimctl.simulator.sim import SimConfig, start_in_thread
from tests.unit.simulator_client import (
    MODEL,
    assert_bad_request,
    behaves_hang,
    behaves_models,
    chat,
    fast_config,
    free_port,
    message_of,
    sse_chunks,
    status_of,
    user,
    wait_for,
)

SIM_PARENT = Path(sim_package.__file__).parent.parent  # where `python -m sim` finds the package, as in the image


MAIN_COMMAND = [sys.executable, "-u", "-m", "sim"]


@pytest.fixture(scope="module")
def sim():
    handle = start_in_thread(fast_config(), host="127.0.0.1", port=0)
    handle.wait_ready(5)
    yield handle
    handle.stop()


@pytest.fixture()
def client(sim):
    with httpx.Client(base_url=sim.base_url, timeout=10) as http:
        yield http


# -- the container entry point (`python -m sim`) ---------------------------------------------------


def container_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SIM_PARENT),
        "NGC_API_KEY": "nvapi-test",
        "NVIDIA_VISIBLE_DEVICES": "all",
        "NIM_CACHE_PATH": str(tmp_path / "cache"),
        "SIM_SHM_MIN_BYTES": "0",
        "NIM_SERVER_PORT": str(free_port()),
        "SIM_LIVE_DELAY": "0",
        "SIM_STARTUP_DELAY": "0.3",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run_main(env: dict[str, str], timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(MAIN_COMMAND, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"NGC_API_KEY": None}, "NGC_API_KEY"),
        ({"NVIDIA_VISIBLE_DEVICES": None}, "NVIDIA_VISIBLE_DEVICES"),
        ({"SIM_SHM_MIN_BYTES": str(1 << 60)}, "/dev/shm"),
        ({"NIM_CACHE_PATH": "/dev/null/cache"}, "not writable"),
        ({"SIM_STARTUP_DELAY": "later"}, "SIM_STARTUP_DELAY"),
    ],
)
def test_main_refuses_to_start_with_a_one_line_reason(tmp_path, override, reason):
    env = container_env(tmp_path, **override)
    result = run_main(env)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "Refusing to start" in lines[0]
    assert "nvapi-test" not in result.stderr


def test_main_goes_live_then_ready_and_exits_0_on_sigterm(tmp_path):
    env = container_env(tmp_path, SIM_STARTUP_DELAY="0.6")
    base = f"http://127.0.0.1:{env['NIM_SERVER_PORT']}"
    process = subprocess.Popen(MAIN_COMMAND, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: status_of(base + "/v1/health/live") == 200, 10, "live")
        assert status_of(base + "/v1/health/ready") == 503
        wait_for(lambda: status_of(base + "/v1/health/ready") == 200, 10, "ready")
        seen_ready_ms = time.time() * 1000
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)  # a SIGTERM it ignored would time out here
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Selected profile" in out and "Downloading model files" in out and "Loading model weights" in out
    ready_lines = [line for line in out.splitlines() if "NIM is ready: ready_at_ms=" in line]
    assert len(ready_lines) == 1 and ready_lines[0].startswith("INFO ")
    ready_at_ms = float(ready_lines[0].rsplit("=", 1)[1])
    assert seen_ready_ms - 5000 < ready_at_ms <= seen_ready_ms
    assert list((tmp_path / "cache").iterdir()) == []  # the write probe was removed


def test_main_exits_0_on_sigterm_while_still_loading(tmp_path):
    env = container_env(tmp_path, SIM_STARTUP_DELAY="30")
    process = subprocess.Popen(MAIN_COMMAND, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: status_of(f"http://127.0.0.1:{env['NIM_SERVER_PORT']}/v1/health/live") == 200, 10, "live")
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=2)
    finally:
        process.kill()
    assert process.returncode == 0 and "NIM is ready" not in out


@pytest.mark.parametrize(
    ("override", "code"),
    [({"SIM_CRASH_AFTER": "0.2", "SIM_CRASH_CODE": "42"}, 42), ({"SIM_EXIT_AFTER_READY": "0.1"}, 3)],
)
def test_main_crashes_with_the_crash_code_and_a_cuda_error(tmp_path, override, code):
    result = run_main(container_env(tmp_path, **override))
    assert result.returncode == code
    assert "CUDA error: out of memory" in result.stdout
    became_ready = "NIM is ready" in result.stdout
    assert became_ready == ("SIM_EXIT_AFTER_READY" in override)


# -- lifecycle in-process --------------------------------------------------------------------


def test_live_before_ready_then_ready():
    with start_in_thread(fast_config(startup_delay=0.4)) as handle, httpx.Client(base_url=handle.base_url) as http:
        assert http.get("/v1/health/live").status_code == 200
        not_ready = http.get("/v1/health/ready")
        assert not_ready.status_code == 503
        early_chat = chat(http, [user("hi")])
        assert early_chat.status_code == 503 and early_chat.json()["object"] == "error"
        assert http.get("/v1/models").status_code == 503
        assert handle.wait_ready(5) is True
        observed_ms = time.time() * 1000
        assert http.get("/v1/health/ready").status_code == 200
        assert chat(http, [user("hi")]).status_code == 200
    assert handle.ready_at_ms <= observed_ms
    assert any(line.endswith(f"NIM is ready: ready_at_ms={handle.ready_at_ms:.3f}") for line in handle.log_lines)


def test_wait_ready_times_out():
    with start_in_thread(fast_config(startup_delay=5)) as handle, pytest.raises(TimeoutError):
        handle.wait_ready(0.1)


def test_crash_during_startup_in_process_stops_the_server():
    handle = start_in_thread(fast_config(crash_after=0.1, crash_code=9))
    with pytest.raises(RuntimeError, match="code 9"):
        handle.wait_ready(5)
    wait_for(lambda: status_of(handle.base_url + "/v1/health/live") is None, 5, "the server to stop")
    assert any("CUDA error: out of memory" in line for line in handle.log_lines)
    handle.stop()


def test_exit_after_ready_in_process():
    handle = start_in_thread(fast_config(exit_after_ready=0.1))
    handle.wait_ready(5)
    wait_for(lambda: handle.exit_code == 3, 5, "the simulated exit")
    wait_for(lambda: status_of(handle.base_url + "/v1/health/live") is None, 5, "the server to stop")
    handle.stop()
    handle.stop()  # idempotent


def test_token_delay_spaces_the_chunks():
    with start_in_thread(fast_config(token_delay=0.03)) as handle, httpx.Client(base_url=handle.base_url) as http:
        started = time.monotonic()
        chunks = sse_chunks(chat(http, [user("one two three four five")], stream=True))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.03 * (len(chunks) - 1) * 0.9


# -- image URLs the simulator fetches ------------------------------------------------------------


def test_image_from_a_loopback_url(client, sim):
    content = message_of(chat(client, [user("What is this?", sim.base_url + "/static/sample.png")]))["content"]
    assert "I see a 2x2 PNG image" in content


def test_image_url_that_is_not_an_image_is_400(client, sim):
    assert_bad_request(chat(client, [user("What?", sim.base_url + "/static/sample.txt")]), "PNG")


# -- the OpenAI SDK reads the simulator like the NIM -------------------------------------------


def test_openai_sdk_compatibility(sim):
    openai = pytest.importorskip("openai")
    sdk = openai.OpenAI(base_url=sim.base_url + "/v1", api_key="not-used", max_retries=0)
    assert [m.id for m in sdk.models.list()] == [MODEL]
    answer = sdk.chat.completions.create(model=MODEL, messages=[user("Say hi")], max_tokens=64)
    assert "Say hi" in answer.choices[0].message.content
    stream = sdk.chat.completions.create(model=MODEL, messages=[user("Say hi")], reasoning_effort="high", stream=True)
    reasoning, content = "", ""
    for chunk in stream:
        delta = chunk.choices[0].delta
        reasoning += getattr(delta, "reasoning", None) or ""
        content += delta.content or ""
    assert reasoning and content == answer.choices[0].message.content
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model=MODEL, messages=[{"role": "assistant", "content": "x"}])


@pytest.mark.timing
def test_hang_break_stops_chat_answers_only():
    # every chat check would time out under "hang", so it is checked on its own
    handle = start_in_thread(fast_config(breaks={"hang"}))
    handle.wait_ready(5)
    with httpx.Client(base_url=handle.base_url, timeout=10) as http:
        assert not behaves_hang(http)
        assert behaves_models(http)
        assert http.get("/v1/health/ready").status_code == 200
    started = time.monotonic()
    handle.stop()  # releases the hanging handler
    assert time.monotonic() - started < 10  # stop() releases the hanging handler (a generous margin)


def test_sim_break_from_env_reaches_the_server():
    with start_in_thread(SimConfig.from_env({"SIM_BREAK": "models", "SIM_STARTUP_DELAY": "0"})) as handle:
        handle.wait_ready(5)
        ids = [m["id"] for m in httpx.get(handle.base_url + "/v1/models").json()["data"]]
    assert ids != [MODEL]


# -- the HTTP layer: body reading, keep-alive, the access log ------------------------------------


def raw_exchange(sim, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection((sim.host, sim.port), timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_an_unreadable_content_length_is_400_and_closes_the_connection(sim):
    answer = raw_exchange(sim, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Invalid Content-Length" in body


def test_a_body_over_the_limit_is_413_without_reading_it(sim):
    request = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (65 * 2**20)
    head, _, body = raw_exchange(sim, request).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and json.loads(body)["code"] == 413


def test_keep_alive_serves_json_and_a_stream_on_one_connection(sim):
    connection = http.client.HTTPConnection(sim.host, sim.port, timeout=5)
    try:
        payload = json.dumps({"model": MODEL, "messages": [user("hi")], "stream": True})
        connection.request("POST", "/v1/chat/completions", payload, {"Content-Type": "application/json"})
        streamed = connection.getresponse()
        assert streamed.getheader("Transfer-Encoding") == "chunked" and streamed.read().endswith(b"data: [DONE]\n\n")
        connection.request("GET", "/v1/health/ready")
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_access_log_lines_are_nim_shaped(sim, client):
    client.get("/v1/health/live?probe=1")
    pattern = re.compile(
        r"^INFO \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} h11_impl\.py\] 127\.0\.0\.1:\d+ - "
        r'"GET /v1/health/live\?probe=1 HTTP/1\.1" 200$'
    )
    # written once the answer is sent, as uvicorn does: it may land a moment after the client has it
    wait_for(lambda: any(pattern.match(line) for line in sim.log_lines), 5, f"the access line in {sim.log_lines[-3:]}")
    assert any(
        re.match(r"^INFO .* api_server\.py:1750\] Uvicorn running on http://127\.0\.0\.1:\d+ ", line)
        for line in sim.log_lines
    )


def test_unready_after_ready_answers_503_on_ready_while_live_then_recovers():
    config = fast_config(unready_after=0.2, unready_for=0.4)
    with start_in_thread(config) as handle, httpx.Client(base_url=handle.base_url) as http:
        assert handle.wait_ready(5) is True
        wait_for(lambda: http.get("/v1/health/ready").status_code == 503, 3, "unready again")
        assert http.get("/v1/health/live").status_code == 200
        wait_for(lambda: http.get("/v1/health/ready").status_code == 200, 3, "ready again")


def test_log_rate_prints_that_many_lines_a_second_during_start_up():
    with start_in_thread(fast_config(startup_delay=0.5, log_rate=2000)) as handle:
        handle.wait_ready(5)
        shards = sum(line.count("Loading safetensors checkpoint shard") for line in handle.log_lines)
    assert 600 <= shards <= 1100, shards  # 2,000 a second for half a second, in 20 ms batches
    assert SimConfig.from_env({"SIM_LOG_RATE": "3000", "SIM_UNREADY_AFTER": "2"}).log_rate == 3000
