"""The simulator's API through `handle()` with no sockets: endpoints, the readiness gate, chat
semantics (text, streams, roles, images, reasoning, tools) and what each SIM_BREAK name breaks."""

from __future__ import annotations

import json

import pytest

from nimctl.simulator.sim import (
    BREAK_NAMES,
    ROUTES,
    Response,
    Route,
    SimState,
    Stream,
    handle,
    image_size,
    sniff_image_format,
)
from nimctl.simulator.sim.answers import example_value
from nimctl.simulator.sim.imaging import gif, jpeg, png
from tests.unit.simulator_client import (
    BEHAVIOURS,
    BMP_BYTES,
    MODEL,
    TIME_TOOL,
    WEATHER_TOOL,
    assert_bad_request,
    chat,
    data_url,
    deltas,
    fast_config,
    free_port,
    handle_client,
    message_of,
    ready_state,
    sse_chunks,
    streamed_text,
    user,
)


@pytest.fixture(scope="module")
def client():
    with handle_client(ready_state(fast_config())) as http:
        yield http


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
    assert sample.headers["content-type"] == "image/png" and sample.content == png(2, 2, (255, 0, 0))


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
        user("What is in this image?", data_url(png(4, 3))),
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
        (png(2, 2), "image/png", "a 2x2 PNG image"),
        (gif(1, 1), "image/gif", "a 1x1 GIF image"),
        (jpeg(16, 9), "image/jpeg", "a 16x9 JPEG image"),
    ],
)
def test_base64_images_are_described(client, data, mime, described):
    content = message_of(chat(client, [user("What is in this image?", data_url(data, mime))]))["content"]
    assert f"I see {described}" in content


def test_format_comes_from_the_bytes_not_the_mime_type(client):
    content = message_of(chat(client, [user("What?", data_url(gif(1, 1), "image/png"))]))["content"]
    assert "GIF" in content


@pytest.mark.parametrize("data", [BMP_BYTES, b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"plain text"])
def test_unsupported_image_formats_are_400_naming_the_accepted_ones(client, data):
    assert_bad_request(chat(client, [user("What?", data_url(data))]), "GIF", "JPG", "JPEG", "PNG")


def test_corrupt_png_is_400(client):
    assert_bad_request(chat(client, [user("What?", data_url(png(2, 2)[:12]))]))


@pytest.mark.parametrize("url", ["data:image/png;base64,@@@not-base64@@@", "data:image/png,rawbytes", "ftp://x/y.png"])
def test_bad_image_urls_are_400(client, url):
    assert_bad_request(chat(client, [user("What?", url)]))


def test_unreachable_image_url_is_400(client):
    assert_bad_request(chat(client, [user("What?", f"http://127.0.0.1:{free_port()}/img.png")]), "fetch")


def test_several_images_are_all_described(client):
    urls = [data_url(png(2, 2)), data_url(gif(1, 1), "image/gif")]
    content = message_of(chat(client, [user("Compare these", *urls)]))["content"]
    assert "2 images: a 2x2 PNG image and a 1x1 GIF image" in content


def test_image_limit_per_request(client):
    five = [data_url(png(2, 2))] * 5
    assert chat(client, [user("ok", *five)]).status_code == 200
    body = assert_bad_request(chat(client, [user("too many", *five, data_url(gif(1, 1), "image/gif"))]))
    assert body["message"] == "At most 5 image(s) may be provided in one request."


def test_image_limit_follows_the_setting():
    two_images = user("two", data_url(png(2, 2)), data_url(png(2, 2)))
    with handle_client(ready_state(fast_config(max_images_per_prompt=1))) as http:
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


def test_every_break_name_has_a_behaviour_check():
    assert set(BEHAVIOURS) == BREAK_NAMES


@pytest.mark.parametrize("broken", [None, *sorted(BREAK_NAMES - {"hang"})])
def test_break_breaks_exactly_one_behaviour(broken):
    breaks = {broken} if broken else set()
    with handle_client(ready_state(fast_config(breaks=breaks))) as http:
        results = {name: check(http) for name, check in BEHAVIOURS.items()}
    assert {name for name, ok in results.items() if not ok} == breaks


# -- handle() itself: what it returns, the route table, the readiness gate -------------------------


def chat_body(**params) -> bytes:
    return json.dumps({"model": MODEL, "messages": [user("hello there")], **params}).encode()


def test_handle_returns_a_json_response_and_ignores_the_query_string():
    reply = handle(ready_state(fast_config()), "GET", "/v1/health/live?probe=1", b"")
    assert isinstance(reply, Response) and reply.status == 200 and reply.content_type == "application/json"
    assert json.loads(reply.body) == {"object": "health.response", "message": "Service is live."}


def test_readiness_gate_holds_models_and_chat_until_ready():
    state = SimState(fast_config())
    gated = {("GET", "/v1/models"), ("POST", "/v1/chat/completions")}
    assert {key for key, route in ROUTES.items() if route.needs_ready} == gated
    for method, path in gated:
        reply = handle(state, method, path, chat_body())
        body = json.loads(reply.body)
        assert reply.status == 503 and body["type"] == "ServiceUnavailableError" and body["code"] == 503
    assert handle(state, "GET", "/v1/health/ready").status == 503
    assert handle(state, "GET", "/v1/health/live").status == 200 and handle(state, "GET", "/v1/metadata").status == 200
    state.ready.set()
    assert handle(state, "GET", "/v1/health/ready").status == 200
    assert handle(state, "GET", "/v1/models").status == 200


def test_every_route_answers_and_other_methods_are_405():
    state = ready_state(fast_config())
    for method, path in ROUTES:
        reply = handle(state, method, path, chat_body())
        assert isinstance(reply, Stream) or reply.status == 200, (method, path)
        other = "POST" if method == "GET" else "GET"
        assert handle(state, other, path).status == 405
    assert handle(state, "DELETE", "/v1/nothing").status == 404


def test_a_route_is_one_table_entry(monkeypatch):
    monkeypatch.setitem(ROUTES, ("GET", "/v1/extra"), Route(lambda state, body: Response(200, b"{}")))
    state = ready_state(fast_config())
    assert handle(state, "GET", "/v1/extra").status == 200
    assert handle(state, "POST", "/v1/extra").status == 405


def test_version_endpoint(client):
    assert client.get("/v1/version").json() == {"release": "1.7.0-variant", "api": "1.0.0"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/static/sample.png", ("PNG", 2, 2)),
        ("/static/sample.gif", ("GIF", 1, 1)),
        ("/static/sample.jpg", ("JPEG", 8, 8)),
    ],
)
def test_static_samples_are_the_images_they_claim(path, expected):
    reply = handle(ready_state(fast_config()), "GET", path)
    fmt = sniff_image_format(reply.body)
    assert (fmt, *image_size(reply.body, fmt)) == expected
    assert reply.content_type == f"image/{path.rsplit('.', 1)[1].replace('jpg', 'jpeg')}"


def test_streamed_chat_is_a_stream_paced_by_the_token_delay():
    reply = handle(ready_state(fast_config(token_delay=0.25)), "POST", "/v1/chat/completions", chat_body(stream=True))
    assert isinstance(reply, Stream) and reply.token_delay == 0.25
    events = list(reply.events())
    assert events[-1] == b"data: [DONE]\n\n" and all(e.startswith(b"data: {") for e in events[:-1])
    assert json.loads(events[0][len(b"data: ") :])["choices"][0]["delta"]["role"] == "assistant"


def test_hang_gives_no_answer_once_the_simulator_stops():
    state = ready_state(fast_config(breaks={"hang"}))
    state.stopping.set()  # otherwise handle() would wait for it
    assert handle(state, "POST", "/v1/chat/completions", chat_body()) is None


def test_usage_adds_the_completions_of_every_choice(client):
    whole = chat(client, [user("Tell me about GPUs")], n=2).json()
    assert [c["index"] for c in whole["choices"]] == [0, 1]
    per_choice = len(whole["choices"][0]["message"]["content"].split())
    assert whole["usage"]["completion_tokens"] == 2 * per_choice
    chunks = sse_chunks(
        chat(client, [user("Tell me about GPUs")], n=2, stream=True, stream_options={"include_usage": True})
    )
    assert chunks[-1]["usage"] == whole["usage"]
