"""The NIM simulator's HTTP API, in-process (no Docker): start-up, endpoints, chat semantics, SIM_BREAK."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from nimctl.simulator import server as sim_server
from nimctl.simulator.server import (
    BREAK_NAMES,
    DEFAULT_MODEL,
    SimConfig,
    check_api_key,
    check_cache_writable,
    check_gpu,
    check_shm,
    example_value,
    image_size,
    sniff_image_format,
    start_in_thread,
    tiny_gif,
    tiny_jpeg,
    tiny_png,
)

SERVER_PY = Path(sim_server.__file__)
MODEL = DEFAULT_MODEL
BMP_BYTES = b"BM" + b"\x00" * 60
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1},
                "verbose": {"type": "boolean"},
            },
            "required": ["city", "unit", "days"],
        },
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}


# -- helpers ---------------------------------------------------------------------------------


def fast_config(**overrides) -> SimConfig:
    return SimConfig(**{"startup_delay": 0, "token_delay": 0, **overrides})


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def user(text: str, *image_urls: str) -> dict:
    if not image_urls:
        return {"role": "user", "content": text}
    parts = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
    return {"role": "user", "content": parts}


def chat(client: httpx.Client, messages: list[dict], **params) -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": MODEL, "messages": messages, **params})


def sse_chunks(response: httpx.Response) -> list[dict]:
    """The chunks of an SSE chat stream; asserts the framing (data: lines, [DONE] last)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]", response.text[-200:]
    assert all(event.startswith("data: ") for event in events[:-1])
    return [json.loads(event[len("data: ") :]) for event in events[:-2]]


def deltas(chunks: list[dict], key: str) -> list[str]:
    return [c["choices"][0]["delta"][key] for c in chunks if c["choices"] and c["choices"][0]["delta"].get(key)]


def streamed_text(chunks: list[dict], key: str = "content") -> str:
    return "".join(deltas(chunks, key))


def message_of(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]


def assert_bad_request(response: httpx.Response, *fragments: str) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["object"] == "error" and body["type"] == "BadRequestError"
    assert body["code"] == 400 and body["param"] is None
    for fragment in fragments:
        assert fragment.lower() in body["message"].lower(), body["message"]
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


# -- configuration ---------------------------------------------------------------------------


def test_from_env_defaults_match_the_contract():
    cfg = SimConfig.from_env({})
    assert cfg.cache_path == "/opt/nim/.cache"
    assert cfg.served_model_name == "mistralai/mistral-small-4-119b-2603"
    assert cfg.max_images_per_prompt == 5
    assert cfg.port == 8000
    assert cfg.shm_min_bytes == 1073741824
    assert cfg.live_delay == 0.1
    assert cfg.startup_delay == (1.0, 1.0)
    assert cfg.crash_after is None and cfg.crash_code == 3 and cfg.exit_after_ready is None
    assert cfg.token_delay == 0.002
    assert cfg.breaks == frozenset()
    assert cfg.ngc_api_key == "" and cfg.nvidia_visible_devices is None


def test_from_env_reads_every_variable():
    cfg = SimConfig.from_env(
        {
            "NGC_API_KEY": "nvapi-secret",
            "NVIDIA_VISIBLE_DEVICES": "0,1",
            "NIM_CACHE_PATH": "/cache",
            "NIM_SERVED_MODEL_NAME": "my/model",
            "NIM_MAX_IMAGES_PER_PROMPT": "2",
            "NIM_SERVER_PORT": "9000",
            "SIM_SHM_MIN_BYTES": "123",
            "SIM_LIVE_DELAY": "0.5",
            "SIM_STARTUP_DELAY": "0.5-2",
            "SIM_CRASH_AFTER": "4",
            "SIM_CRASH_CODE": "7",
            "SIM_EXIT_AFTER_READY": "9",
            "SIM_TOKEN_DELAY": "0.01",
            "SIM_BREAK": "tools, hang",
        }
    )
    assert (cfg.ngc_api_key, cfg.nvidia_visible_devices, cfg.cache_path) == ("nvapi-secret", "0,1", "/cache")
    assert (cfg.served_model_name, cfg.max_images_per_prompt, cfg.port) == ("my/model", 2, 9000)
    assert (cfg.shm_min_bytes, cfg.live_delay, cfg.startup_delay) == (123, 0.5, (0.5, 2.0))
    assert (cfg.crash_after, cfg.crash_code, cfg.exit_after_ready) == (4.0, 7, 9.0)
    assert cfg.token_delay == 0.01
    assert cfg.breaks == {"tools", "hang"}
    assert all(0.5 <= cfg.draw_startup_delay() <= 2.0 for _ in range(50))
    assert "nvapi-secret" not in repr(cfg)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SIM_STARTUP_DELAY", "soon"), ("SIM_STARTUP_DELAY", "3-1"), ("SIM_BREAK", "nope"), ("NIM_SERVER_PORT", "x")],
)
def test_from_env_rejects_bad_values_naming_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        SimConfig.from_env({name: value})


# -- tiny images -----------------------------------------------------------------------------


def test_tiny_images_have_the_right_magic_and_size():
    assert sniff_image_format(tiny_png(3, 5)) == "PNG" and image_size(tiny_png(3, 5), "PNG") == (3, 5)
    assert sniff_image_format(tiny_gif()) == "GIF" and image_size(tiny_gif(), "GIF") == (1, 1)
    assert sniff_image_format(tiny_jpeg()) == "JPEG" and image_size(tiny_jpeg(), "JPEG") == (1, 1)
    assert image_size(tiny_jpeg(17, 9), "JPEG") == (17, 9)
    assert sniff_image_format(BMP_BYTES) is None
    assert image_size(b"\xff\xd8\xff\xe0\x00", "JPEG") is None  # truncated header


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="needs Debian's python3.11")
def test_server_py_imports_on_bare_python_with_stdlib_only_and_no_side_effects():
    script = (
        "import sys, threading; sys.path.insert(0, sys.argv[1]); import server; "
        "stdlib = sys.stdlib_module_names | {'__main__'}; "
        "extra = sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] not in stdlib); "
        "print(extra, threading.active_count())"
    )
    result = subprocess.run(
        ["/usr/bin/python3.11", "-I", "-S", "-c", script, str(SERVER_PY.parent)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['server'] 1"  # nothing but the stdlib, no threads started
    assert result.stderr == ""


# -- start-up checks (container only; tested as functions and through main()) ----------------


def test_check_api_key():
    assert "NGC_API_KEY" in check_api_key(SimConfig(ngc_api_key=""))
    assert check_api_key(SimConfig(ngc_api_key="nvapi-x")) is None


def test_check_cache_writable_probes_without_touching_other_files(tmp_path):
    existing = tmp_path / "model.bin"
    existing.write_bytes(b"weights")
    assert check_cache_writable(SimConfig(cache_path=str(tmp_path))) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]  # the probe is gone
    assert existing.read_bytes() == b"weights"


def test_check_cache_writable_reports_an_unwritable_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    problem = check_cache_writable(SimConfig(cache_path=str(blocker / "cache")))  # fails even for root
    assert "not writable" in problem and str(blocker / "cache") in problem


def test_check_shm_compares_the_filesystem_size(tmp_path):
    assert check_shm(SimConfig(shm_min_bytes=1), shm_path=str(tmp_path)) is None
    problem = check_shm(SimConfig(shm_min_bytes=1 << 60), shm_path=str(tmp_path))
    assert str(tmp_path) in problem and "shm-size" in problem
    assert "0 MiB" in check_shm(SimConfig(shm_min_bytes=1), shm_path=str(tmp_path / "missing"))


@pytest.mark.parametrize("devices", [None, "", "void"])
def test_check_gpu_needs_visible_devices(devices):
    assert "NVIDIA_VISIBLE_DEVICES" in check_gpu(SimConfig(nvidia_visible_devices=devices))


def test_check_gpu_accepts_devices():
    assert check_gpu(SimConfig(nvidia_visible_devices="all")) is None


def container_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
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
    return subprocess.run(
        [sys.executable, "-u", str(SERVER_PY)], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


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


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def status_of(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return None


def test_main_goes_live_then_ready_and_exits_0_on_sigterm(tmp_path):
    env = container_env(tmp_path, SIM_STARTUP_DELAY="0.6")
    base = f"http://127.0.0.1:{env['NIM_SERVER_PORT']}"
    process = subprocess.Popen(
        [sys.executable, "-u", str(SERVER_PY)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: status_of(base + "/v1/health/live") == 200, 10, "live")
        assert status_of(base + "/v1/health/ready") == 503
        wait_for(lambda: status_of(base + "/v1/health/ready") == 200, 10, "ready")
        seen_ready_ms = time.time() * 1000
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, err = process.communicate(timeout=5)
        assert time.monotonic() - started < 2
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Selected profile" in out and "Downloading model files" in out and "Loading model weights" in out
    ready_lines = [line for line in out.splitlines() if "NIM is ready: ready_at_ms=" in line]
    assert len(ready_lines) == 1 and ready_lines[0].startswith("INFO ")
    ready_at_ms = int(ready_lines[0].rsplit("=", 1)[1])
    assert seen_ready_ms - 5000 < ready_at_ms <= seen_ready_ms
    assert list((tmp_path / "cache").iterdir()) == []  # the write probe was removed


def test_main_exits_0_on_sigterm_while_still_loading(tmp_path):
    env = container_env(tmp_path, SIM_STARTUP_DELAY="30")
    process = subprocess.Popen(
        [sys.executable, "-u", str(SERVER_PY)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
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
    assert any(line.endswith(f"NIM is ready: ready_at_ms={handle.ready_at_ms}") for line in handle.log_lines)


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


# -- plain endpoints -------------------------------------------------------------------------


def test_unknown_path_is_404_json(client):
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_wrong_method_is_405(client):
    assert client.get("/v1/chat/completions").status_code == 405


def test_models_lists_the_served_model(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [MODEL]
    assert body["data"][0]["object"] == "model" and body["data"][0]["max_model_len"] > 0


def test_metadata_and_sample_png(client):
    assert client.get("/v1/metadata").json()["modelInfo"][0]["shortName"] == MODEL
    sample = client.get("/static/sample.png")
    assert sample.headers["content-type"] == "image/png" and sample.content == tiny_png(2, 2, (255, 0, 0))


# -- chat: text --------------------------------------------------------------------------------


def test_non_streamed_chat_echoes_the_question_with_usage(client):
    response = chat(client, [{"role": "system", "content": "Be brief."}, user("Plan a trip to Hanoi")])
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-") and body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert 'You asked: "Plan a trip to Hanoi"' in choice["message"]["content"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["reasoning"] is None
    usage = body["usage"]
    assert usage["completion_tokens"] == len(choice["message"]["content"].split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] and usage["prompt_tokens"] > 0


def test_answers_are_deterministic_and_depend_on_the_input(client):
    first = message_of(chat(client, [user("What is NIM?")]))["content"]
    again = message_of(chat(client, [user("What is NIM?")]))["content"]
    other = message_of(chat(client, [user("What is vLLM?")]))["content"]
    assert first == again and first != other


def test_unknown_model_is_404(client):
    response = client.post("/v1/chat/completions", json={"model": "other/model", "messages": [user("hi")]})
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "NotFoundError" and body["code"] == 404 and "other/model" in body["message"]


@pytest.mark.parametrize(
    "body", ["not json", json.dumps({"model": MODEL}), json.dumps({"model": MODEL, "messages": []})]
)
def test_malformed_requests_are_400(client, body):
    response = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert_bad_request(response)


def test_streamed_chat_has_role_chunk_several_content_chunks_and_a_finish(client):
    messages = [user("Create a detailed itinerary for a week in Vietnam")]
    chunks = sse_chunks(chat(client, messages, stream=True))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len(deltas(chunks, "content")) >= 5
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert "usage" not in chunks[-1]
    assert streamed_text(chunks) == message_of(chat(client, messages))["content"]


def test_stream_usage_chunk_when_asked(client):
    chunks = sse_chunks(chat(client, [user("hello there")], stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == len(deltas(chunks, "content"))
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]


def test_stream_options_without_stream_is_400(client):
    assert_bad_request(chat(client, [user("hi")], stream_options={"include_usage": True}), "stream")


def test_token_delay_spaces_the_chunks():
    with start_in_thread(fast_config(token_delay=0.03)) as handle, httpx.Client(base_url=handle.base_url) as http:
        started = time.monotonic()
        chunks = sse_chunks(chat(http, [user("one two three four five")], stream=True))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.03 * (len(chunks) - 1) * 0.9


def test_max_tokens_caps_the_answer(client):
    body = chat(client, [user("Tell me everything about GPUs")], max_tokens=3).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert len(body["choices"][0]["message"]["content"].split()) == 3
    assert body["usage"]["completion_tokens"] == 3
    chunks = sse_chunks(chat(client, [user("Tell me everything about GPUs")], max_tokens=3, stream=True))
    assert len(deltas(chunks, "content")) == 3 and chunks[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize("max_tokens", [0, -1, "ten", 10**9])
def test_bad_max_tokens_is_400(client, max_tokens):
    assert_bad_request(chat(client, [user("hi")], max_tokens=max_tokens))


# -- chat: roles and conversation rules --------------------------------------------------------


def test_function_role_is_rejected_pointing_to_tool(client):
    messages = [user("hi"), {"role": "function", "name": "f", "content": "{}"}]
    assert_bad_request(chat(client, messages), "function", "not supported", "tool")


@pytest.mark.parametrize(
    "messages",
    [
        [user("a"), user("b")],
        [{"role": "assistant", "content": "hello"}, user("a")],
        [user("a"), {"role": "assistant", "content": "x"}, {"role": "assistant", "content": "y"}, user("b")],
        [user("a"), {"role": "system", "content": "late"}],
        [{"role": "system", "content": "only system"}],
    ],
    ids=["user-user", "assistant-first", "assistant-assistant", "late-system", "no-user"],
)
def test_roles_must_alternate(client, messages):
    assert_bad_request(chat(client, messages))


def test_conversation_ending_with_assistant_is_rejected(client):
    messages = [user("Name a colour"), {"role": "assistant", "content": "Blue"}]
    assert_bad_request(chat(client, messages), "last message must be user")


def test_continue_final_message_continues_the_assistant_text(client):
    messages = [user("Name a colour"), {"role": "assistant", "content": "My favourite colour is"}]
    content = message_of(chat(client, messages, add_generation_prompt=False, continue_final_message=True))["content"]
    assert content.startswith(" ") and "My favourite colour is" in content


def test_continue_final_message_with_generation_prompt_is_rejected(client):
    messages = [user("a"), {"role": "assistant", "content": "b"}]
    assert_bad_request(chat(client, messages, continue_final_message=True), "add_generation_prompt")


def test_multi_turn_answer_knows_the_turn_and_the_earlier_image(client):
    messages = [
        user("What is in this image?", data_url(tiny_png(4, 3))),
        {"role": "assistant", "content": "A red square."},
        user("When was this made?"),
    ]
    content = message_of(chat(client, messages))["content"]
    assert "turn 2" in content and "a 4x3 PNG image" in content and "When was this made?" in content


def test_chat_template_parameter_is_rejected(client):
    assert_bad_request(chat(client, [user("hi")], chat_template="{{ messages }}"), "chat_template")


# -- chat: images ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime", "described"),
    [
        (tiny_png(2, 2), "image/png", "a 2x2 PNG image"),
        (tiny_gif(), "image/gif", "a 1x1 GIF image"),
        (tiny_jpeg(16, 9), "image/jpeg", "a 16x9 JPEG image"),
    ],
)
def test_base64_images_are_described(client, data, mime, described):
    content = message_of(chat(client, [user("What is in this image?", data_url(data, mime))]))["content"]
    assert f"I see {described}" in content


def test_format_comes_from_the_bytes_not_the_mime_type(client):
    content = message_of(chat(client, [user("What?", data_url(tiny_gif(), "image/png"))]))["content"]
    assert "GIF" in content


@pytest.mark.parametrize("data", [BMP_BYTES, b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"plain text"])
def test_unsupported_image_formats_are_400_naming_the_accepted_ones(client, data):
    assert_bad_request(chat(client, [user("What?", data_url(data))]), "GIF", "JPG", "JPEG", "PNG")


def test_corrupt_png_is_400(client):
    assert_bad_request(chat(client, [user("What?", data_url(tiny_png()[:12]))]))


@pytest.mark.parametrize("url", ["data:image/png;base64,@@@not-base64@@@", "data:image/png,rawbytes", "ftp://x/y.png"])
def test_bad_image_urls_are_400(client, url):
    assert_bad_request(chat(client, [user("What?", url)]))


def test_image_from_a_loopback_url(client, sim):
    content = message_of(chat(client, [user("What is this?", sim.base_url + "/static/sample.png")]))["content"]
    assert "I see a 2x2 PNG image" in content


def test_image_url_that_is_not_an_image_is_400(client, sim):
    assert_bad_request(chat(client, [user("What?", sim.base_url + "/static/sample.txt")]), "PNG")


def test_unreachable_image_url_is_400(client):
    assert_bad_request(chat(client, [user("What?", f"http://127.0.0.1:{free_port()}/img.png")]), "fetch")


def test_several_images_are_all_described(client):
    urls = [data_url(tiny_png(2, 2)), data_url(tiny_gif(), "image/gif")]
    content = message_of(chat(client, [user("Compare these", *urls)]))["content"]
    assert "2 images: a 2x2 PNG image and a 1x1 GIF image" in content


def test_image_limit_per_request(client):
    five = [data_url(tiny_png())] * 5
    assert chat(client, [user("ok", *five)]).status_code == 200
    body = assert_bad_request(chat(client, [user("too many", *five, data_url(tiny_gif(), "image/gif"))]))
    assert body["message"] == "At most 5 image(s) may be provided in one request."


def test_image_limit_follows_the_setting():
    two_images = user("two", data_url(tiny_png()), data_url(tiny_png()))
    with start_in_thread(fast_config(max_images_per_prompt=1)) as sim_1, httpx.Client(base_url=sim_1.base_url) as http:
        body = assert_bad_request(chat(http, [two_images]))
    assert body["message"] == "At most 1 image(s) may be provided in one request."


# -- chat: reasoning ---------------------------------------------------------------------------


@pytest.mark.parametrize("effort", ["high", "medium", "low"])
def test_reasoning_streams_before_content(client, effort):
    chunks = sse_chunks(chat(client, [user("When do the trains meet?")], reasoning_effort=effort, stream=True))
    # the kind of text each chunk carries, in stream order
    kinds = [key for c in chunks for key in ("reasoning", "content") if c["choices"][0]["delta"].get(key)]
    assert kinds.count("reasoning") >= 3 and "content" in kinds
    assert kinds == sorted(kinds, reverse=True)  # every "reasoning" chunk comes before any "content" chunk
    assert "When do the trains meet?" in streamed_text(chunks, "reasoning")


def test_reasoning_non_streamed_in_message(client):
    message = message_of(chat(client, [user("When do the trains meet?")], reasoning_effort="high"))
    assert message["reasoning"] and message["reasoning_content"] == message["reasoning"]
    assert message["content"] and message["content"] not in message["reasoning"]


@pytest.mark.parametrize("params", [{"reasoning_effort": "none"}, {}])
def test_no_reasoning_when_none_or_absent(client, params):
    chunks = sse_chunks(chat(client, [user("Quick answer")], stream=True, **params))
    assert deltas(chunks, "reasoning") == [] and streamed_text(chunks)
    assert message_of(chat(client, [user("Quick answer")], **params))["reasoning"] is None


def test_unknown_reasoning_effort_is_400(client):
    assert_bad_request(chat(client, [user("hi")], reasoning_effort="extreme"), "reasoning_effort")


def test_max_tokens_counts_reasoning_first(client):
    body = chat(client, [user("Think hard")], reasoning_effort="high", max_tokens=4).json()
    message = body["choices"][0]["message"]
    assert len(message["reasoning"].split()) == 4 and message["content"] == ""
    assert body["choices"][0]["finish_reason"] == "length"


# -- chat: tools -------------------------------------------------------------------------------


def test_tool_call_with_arguments_valid_for_the_schema(client):
    body = chat(client, [user("What's the weather in Paris today?")], tools=[WEATHER_TOOL, TIME_TOOL]).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    assert arguments == {"city": "Paris", "unit": "celsius", "days": 1}


def test_streamed_tool_call(client):
    messages = [user("What's the weather in Paris?")]
    chunks = sse_chunks(chat(client, messages, tools=[WEATHER_TOOL], tool_choice="auto", stream=True))
    tool_deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    assert tool_deltas[0]["id"].startswith("call_") and tool_deltas[0]["function"]["name"] == "get_weather"
    arguments = "".join(d["function"].get("arguments", "") for d in tool_deltas)
    assert json.loads(arguments)["unit"] == "celsius"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert streamed_text(chunks) == ""


def test_required_and_named_tool_choice(client):
    required = message_of(chat(client, [user("Time?")], tools=[TIME_TOOL, WEATHER_TOOL], tool_choice="required"))
    assert required["tool_calls"][0]["function"]["name"] == "get_time"
    assert json.loads(required["tool_calls"][0]["function"]["arguments"]) == {}
    named = {"type": "function", "function": {"name": "get_weather"}}
    message = message_of(chat(client, [user("Weather in Oslo")], tools=[TIME_TOOL, WEATHER_TOOL], tool_choice=named))
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"


def test_tool_choice_none_answers_with_text(client):
    message = message_of(chat(client, [user("Weather in Oslo?")], tools=[WEATHER_TOOL], tool_choice="none"))
    assert message["tool_calls"] == [] and message["content"]


def test_tool_result_gives_a_final_answer(client):
    call = {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        user("What's the weather in Paris?"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_abc123", "content": "18 degrees and sunny"},
    ]
    body = chat(client, messages, tools=[WEATHER_TOOL]).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    content = body["choices"][0]["message"]["content"]
    assert "get_weather" in content and "18 degrees and sunny" in content


def test_tool_message_with_unknown_call_id_is_400(client):
    call = {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        user("Weather?"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_other", "content": "sunny"},
    ]
    assert_bad_request(chat(client, messages), "tool_call_id")


def test_tool_message_without_a_tool_call_is_400(client):
    messages = [user("Weather?"), {"role": "tool", "tool_call_id": "call_x", "content": "sunny"}]
    assert_bad_request(chat(client, messages))


def test_tool_choice_without_tools_is_400(client):
    assert_bad_request(chat(client, [user("hi")], tool_choice="required"), "tools")


def test_example_value_fills_schemas():
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "when": {"type": "string", "format": "date"},
            "limit": {"type": "integer", "minimum": 10, "maximum": 20},
            "ratio": {"type": "number", "maximum": 0.5},
            "mode": {"anyOf": [{"type": "null"}, {"enum": ["fast", "slow"]}]},
            "nested": {"type": "object", "properties": {"flag": {"type": "boolean"}}, "required": ["flag"]},
            "code": {"type": "string", "minLength": 5},
            "optional": {"type": "string"},
        },
        "required": ["tags", "when", "limit", "ratio", "mode", "nested", "code"],
    }
    assert example_value(schema, "Oslo") == {
        "tags": ["Oslo", "Oslo"],
        "when": "2026-01-01",
        "limit": 10,
        "ratio": 0.5,
        "mode": "fast",
        "nested": {"flag": True},
        "code": "Oslox",
    }


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


# -- SIM_BREAK: each name breaks exactly its behaviour -----------------------------------------


def behaves_models(http: httpx.Client, base_url: str) -> bool:
    return [m["id"] for m in http.get("/v1/models").json()["data"]] == [MODEL]


def behaves_text(http, base_url):
    return bool(message_of(chat(http, [user("hello")]))["content"])


def behaves_stream(http, base_url):
    return len(deltas(sse_chunks(chat(http, [user("hello there friend")], stream=True)), "content")) > 1


def behaves_image_base64(http, base_url):
    return chat(http, [user("What?", data_url(tiny_png()))]).status_code == 200


def behaves_image_format(http, base_url):
    return chat(http, [user("What?", data_url(BMP_BYTES))]).status_code == 400


def behaves_multi_turn(http, base_url):
    return chat(http, [user("a"), {"role": "assistant", "content": "b"}]).status_code == 400


def behaves_continue_final(http, base_url):
    messages = [user("a"), {"role": "assistant", "content": "b"}]
    return chat(http, messages, add_generation_prompt=False, continue_final_message=True).status_code == 200


def behaves_reasoning(http, base_url):
    return bool(deltas(sse_chunks(chat(http, [user("think")], reasoning_effort="high", stream=True)), "reasoning"))


def behaves_reasoning_none(http, base_url):
    return not deltas(sse_chunks(chat(http, [user("think")], reasoning_effort="none", stream=True)), "reasoning")


def behaves_tools(http, base_url):
    message = message_of(chat(http, [user("Weather in Rome?")], tools=[WEATHER_TOOL], tool_choice="auto"))
    return bool(message["tool_calls"])


def behaves_tool_args(http, base_url):
    message = message_of(chat(http, [user("Weather in Rome?")], tools=[WEATHER_TOOL], tool_choice="required"))
    try:
        json.loads(message["tool_calls"][0]["function"]["arguments"])
    except ValueError:
        return False
    return True


def behaves_function_role(http, base_url):
    return chat(http, [user("a"), {"role": "function", "name": "f", "content": "1"}]).status_code == 400


def behaves_max_images(http, base_url):
    return chat(http, [user("many", *[data_url(tiny_png())] * 6)]).status_code == 400


def behaves_chat_template(http, base_url):
    return chat(http, [user("hi")], chat_template="{{ x }}").status_code == 400


def behaves_hang(http, base_url):
    try:
        body = {"model": MODEL, "messages": [user("hi")]}
        return http.post("/v1/chat/completions", json=body, timeout=0.5).is_success
    except httpx.TimeoutException:
        return False


BEHAVIOURS = {
    "models": behaves_models,
    "text": behaves_text,
    "stream": behaves_stream,
    "image-base64": behaves_image_base64,
    "image-format": behaves_image_format,
    "multi-turn": behaves_multi_turn,
    "continue-final": behaves_continue_final,
    "reasoning": behaves_reasoning,
    "reasoning-none": behaves_reasoning_none,
    "tools": behaves_tools,
    "tool-args": behaves_tool_args,
    "function-role": behaves_function_role,
    "max-images": behaves_max_images,
    "chat-template": behaves_chat_template,
    "hang": behaves_hang,
}


def test_every_break_name_has_a_behaviour_check():
    assert set(BEHAVIOURS) == BREAK_NAMES


@pytest.mark.parametrize("broken", [None, *sorted(BREAK_NAMES - {"hang"})])
def test_break_breaks_exactly_one_behaviour(broken):
    breaks = {broken} if broken else set()
    with start_in_thread(fast_config(breaks=breaks)) as handle, httpx.Client(base_url=handle.base_url) as http:
        handle.wait_ready(5)
        results = {name: check(http, handle.base_url) for name, check in BEHAVIOURS.items()}
    assert {name for name, ok in results.items() if not ok} == breaks


def test_hang_break_stops_chat_answers_only():
    # every chat check would time out under "hang", so it is checked on its own
    handle = start_in_thread(fast_config(breaks={"hang"}))
    handle.wait_ready(5)
    with httpx.Client(base_url=handle.base_url, timeout=10) as http:
        assert not behaves_hang(http, handle.base_url)
        assert behaves_models(http, handle.base_url)
        assert http.get("/v1/health/ready").status_code == 200
    started = time.monotonic()
    handle.stop()  # releases the hanging handler
    assert time.monotonic() - started < 3


def test_sim_break_from_env_reaches_the_server():
    with start_in_thread(SimConfig.from_env({"SIM_BREAK": "models", "SIM_STARTUP_DELAY": "0"})) as handle:
        handle.wait_ready(5)
        ids = [m["id"] for m in httpx.get(handle.base_url + "/v1/models").json()["data"]]
    assert ids != [MODEL]
