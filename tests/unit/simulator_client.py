"""Shared by the simulator's unit tests: request builders, answer readers, and an httpx client whose
transport calls `handle()` directly (no sockets), as httpx's MockTransport allows."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable

import httpx

from nimctl.simulator.sim import DEFAULT_MODEL, SimConfig, SimState, Stream, handle
from nimctl.simulator.sim.imaging import png

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


def respond_with(state: SimState) -> Callable[[httpx.Request], httpx.Response]:
    """`handle()` as an httpx transport handler: the same bytes the HTTP layer would send."""

    def respond(request: httpx.Request) -> httpx.Response:
        reply = handle(state, request.method, request.url.raw_path.decode(), request.read())
        if reply is None:  # SIM_BREAK=hang: a real client would time out
            raise httpx.ReadTimeout("no answer", request=request)
        if isinstance(reply, Stream):
            body = b"".join(reply.events())
            return httpx.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=body)
        return httpx.Response(reply.status, headers={"content-type": reply.content_type}, content=reply.body)

    return respond


def ready_state(cfg: SimConfig) -> SimState:
    state = SimState(cfg)
    state.ready.set()
    return state


def handle_client(state: SimState) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(respond_with(state)), base_url="http://sim.test", timeout=10)


# -- SIM_BREAK: one check per name, True while the behaviour works --------------------------------


def behaves_models(http: httpx.Client) -> bool:
    return [m["id"] for m in http.get("/v1/models").json()["data"]] == [MODEL]


def behaves_text(http):
    return bool(message_of(chat(http, [user("hello")]))["content"])


def behaves_stream(http):
    return len(deltas(sse_chunks(chat(http, [user("hello there friend")], stream=True)), "content")) > 1


def behaves_image_base64(http):
    return chat(http, [user("What?", data_url(png(2, 2)))]).status_code == 200


def behaves_image_format(http):
    return chat(http, [user("What?", data_url(BMP_BYTES))]).status_code == 400


def behaves_multi_turn(http):
    return chat(http, [user("a"), {"role": "assistant", "content": "b"}]).status_code == 400


def behaves_continue_final(http):
    messages = [user("a"), {"role": "assistant", "content": "b"}]
    return chat(http, messages, add_generation_prompt=False, continue_final_message=True).status_code == 200


def behaves_reasoning(http):
    return bool(deltas(sse_chunks(chat(http, [user("think")], reasoning_effort="high", stream=True)), "reasoning"))


def behaves_reasoning_none(http):
    return not deltas(sse_chunks(chat(http, [user("think")], reasoning_effort="none", stream=True)), "reasoning")


def behaves_tools(http):
    message = message_of(chat(http, [user("Weather in Rome?")], tools=[WEATHER_TOOL], tool_choice="auto"))
    return bool(message["tool_calls"])


def behaves_tool_args(http):
    message = message_of(chat(http, [user("Weather in Rome?")], tools=[WEATHER_TOOL], tool_choice="required"))
    try:
        json.loads(message["tool_calls"][0]["function"]["arguments"])
    except ValueError:
        return False
    return True


def behaves_function_role(http):
    return chat(http, [user("a"), {"role": "function", "name": "f", "content": "1"}]).status_code == 400


def behaves_max_images(http):
    return chat(http, [user("many", *[data_url(png(2, 2))] * 6)]).status_code == 400


def behaves_chat_template(http):
    return chat(http, [user("hi")], chat_template="{{ x }}").status_code == 400


def behaves_hang(http):
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
