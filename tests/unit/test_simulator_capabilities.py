"""SIM_CAPABILITIES (what the simulated model does: text, vision, tools, reasoning) and
SIM_NOT_SERVING (ready by its health routes, but the engine behind them is dead)."""

from __future__ import annotations

import json

import httpx
import pytest

from nimctl.simulator.sim import SimConfig, SimState, handle, start_in_thread
from nimctl.simulator.sim.config import CAPABILITIES
from nimctl.simulator.sim.imaging import png
from nimctl.simulator.sim.logs import SimLog
from nimctl.simulator.sim.startup import log_profile_selection
from tests.unit.simulator_client import (
    BEHAVIOURS,
    MODEL,
    WEATHER_TOOL,
    assert_bad_request,
    chat,
    data_url,
    deltas,
    fast_config,
    handle_client,
    message_of,
    ready_state,
    sse_chunks,
    user,
    wait_for,
)

TEXT_ONLY = ("text",)
AUTO_TOOL_CHOICE_400 = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


def client_for(*capabilities: str, **config) -> httpx.Client:
    return handle_client(ready_state(fast_config(capabilities=capabilities, **config)))


# -- the setting ------------------------------------------------------------------------------------


def test_the_default_is_all_four_capabilities() -> None:
    assert SimConfig.from_env({}).capabilities == set(CAPABILITIES) == {"text", "vision", "tools", "reasoning"}


def test_capabilities_from_env() -> None:
    cfg = SimConfig.from_env({"SIM_CAPABILITIES": "text, tools"})
    assert cfg.capabilities == {"text", "tools"} and cfg.can("tools") and not cfg.can("vision")


@pytest.mark.parametrize("value", ["text,audio", "vision,tools"], ids=["unknown", "no-text"])
def test_capabilities_are_checked(value: str) -> None:
    with pytest.raises(ValueError, match="SIM_CAPABILITIES"):
        SimConfig.from_env({"SIM_CAPABILITIES": value})


def test_with_every_capability_every_behaviour_works() -> None:
    """The default is today's simulator: each SIM_BREAK behaviour check passes."""
    with client_for(*CAPABILITIES) as http:
        assert all(check(http) for name, check in BEHAVIOURS.items() if name != "hang")


# -- vision ---------------------------------------------------------------------------------------------


def test_a_text_only_model_refuses_images_as_vllm_does() -> None:
    with client_for(*TEXT_ONLY) as http:
        refused = assert_bad_request(chat(http, [user("What is this?", data_url(png(2, 2)))]))
        assert refused["message"] == f"{MODEL} is not a multimodal model"
        # an image earlier in the conversation is refused too
        earlier = [user("Look", data_url(png(2, 2))), {"role": "assistant", "content": "ok"}, user("and?")]
        assert_bad_request(chat(http, earlier), "is not a multimodal model")
        assert message_of(chat(http, [user("Just text")]))["content"]


def test_the_refusal_names_the_served_model() -> None:
    with client_for(*TEXT_ONLY, model_path="hf://meta-llama/Llama-3.1-8B-Instruct") as http:
        body = {"model": "meta-llama/Llama-3.1-8B-Instruct", "messages": [user("?", data_url(png(2, 2)))]}
        answer = http.post("/v1/chat/completions", json=body)
        assert assert_bad_request(answer)["message"] == "meta-llama/Llama-3.1-8B-Instruct is not a multimodal model"


@pytest.mark.parametrize(("capabilities", "kind"), [(TEXT_ONLY, "LLM"), (CAPABILITIES, "VLM")])
def test_the_banner_says_llm_or_vlm(capabilities: tuple[str, ...], kind: str) -> None:
    log = SimLog(keep=100)
    log_profile_selection(fast_config(capabilities=capabilities), log)
    assert any(f"NVIDIA Inference Microservice {kind} NIM Version" in line for line in log.lines)


# -- reasoning ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("effort", ["low", "medium", "high", "none"])
def test_without_reasoning_the_effort_is_accepted_and_nothing_reasons(effort: str) -> None:
    with client_for("text", "vision", "tools") as http:
        message = message_of(chat(http, [user("Think hard")], reasoning_effort=effort))
        assert message["content"] and message["reasoning"] is None and message["reasoning_content"] is None
        chunks = sse_chunks(chat(http, [user("Think hard")], reasoning_effort=effort, stream=True))
        assert deltas(chunks, "reasoning") == [] and deltas(chunks, "content")


def test_with_reasoning_the_effort_gives_reasoning() -> None:
    with client_for(*CAPABILITIES) as http:
        assert message_of(chat(http, [user("Think")], reasoning_effort="high"))["reasoning"]


# -- tools ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["auto", None], ids=["auto", "unset"])
def test_without_a_tool_parser_auto_tool_choice_is_400(choice: str | None) -> None:
    params = {"tools": [WEATHER_TOOL]} | ({"tool_choice": choice} if choice else {})
    with client_for("text", "vision", "reasoning") as http:
        refused = assert_bad_request(chat(http, [user("Weather in Rome?")], **params))
        assert refused["message"] == AUTO_TOOL_CHOICE_400


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}], ids=["required", "named"]
)
def test_without_a_tool_parser_forced_tool_calls_still_work(choice) -> None:
    with client_for("text", "vision", "reasoning") as http:
        message = message_of(chat(http, [user("Weather in Rome?")], tools=[WEATHER_TOOL], tool_choice=choice))
        assert message["tool_calls"][0]["function"]["name"] == "get_weather"
        assert json.loads(message["tool_calls"][0]["function"]["arguments"])["city"] == "Rome"


def test_without_a_tool_parser_tool_choice_none_answers_text() -> None:
    with client_for("text") as http:
        message = message_of(chat(http, [user("Weather in Rome?")], tools=[WEATHER_TOOL], tool_choice="none"))
        assert message["content"] and not message["tool_calls"]


# -- ready, but not serving -----------------------------------------------------------------------------


def dead_state(mode: str) -> SimState:
    state = ready_state(fast_config(not_serving=mode))
    state.engine_dead.set()  # what the start-up sequence does SIM_NOT_SERVING_AFTER seconds after ready
    return state


def chat_body() -> bytes:
    return json.dumps({"model": MODEL, "messages": [user("hi")], "max_tokens": 1}).encode()


def test_a_dead_engine_answers_500_on_chat_while_health_and_models_answer() -> None:
    state = dead_state("error")
    reply = handle(state, "POST", "/v1/chat/completions", chat_body())
    body = json.loads(reply.body)
    assert reply.status == 500 and body["type"] == "InternalServerError" and body["code"] == 500
    assert "EngineCore encountered an issue" in body["message"]
    assert handle(state, "GET", "/v1/health/ready").status == 200
    assert handle(state, "GET", "/v1/health/live").status == 200
    assert handle(state, "GET", "/v1/models").status == 200


def test_a_dead_engine_in_drop_mode_gives_no_answer() -> None:
    assert handle(dead_state("drop"), "POST", "/v1/chat/completions", chat_body()) is None


def test_not_serving_from_env() -> None:
    cfg = SimConfig.from_env({"SIM_NOT_SERVING": "drop", "SIM_NOT_SERVING_AFTER": "2.5"})
    assert (cfg.not_serving, cfg.not_serving_after) == ("drop", 2.5)
    assert SimConfig.from_env({}).not_serving == ""


def test_the_engine_is_dead_from_the_first_ready_answer() -> None:
    with start_in_thread(fast_config(not_serving="error")) as sim, httpx.Client(base_url=sim.base_url) as http:
        sim.wait_ready(5)
        assert http.get("/v1/health/ready").status_code == 200
        assert chat(http, [user("hi")]).status_code == 500
    assert any("ERROR" in line and "EngineCore encountered an issue" in line for line in sim.log_lines)


def test_the_engine_dies_some_time_after_ready() -> None:
    with start_in_thread(fast_config(not_serving="error", not_serving_after=0.3)) as sim:
        sim.wait_ready(5)
        with httpx.Client(base_url=sim.base_url) as http:
            assert chat(http, [user("hi")]).status_code == 200  # well before 0.3 s
            wait_for(lambda: chat(http, [user("hi")]).status_code == 500, 5, "the engine to die")
            assert http.get("/v1/health/ready").status_code == 200


def test_drop_mode_closes_the_connection_without_an_answer() -> None:
    with start_in_thread(fast_config(not_serving="drop")) as sim, httpx.Client(base_url=sim.base_url) as http:
        sim.wait_ready(5)
        with pytest.raises(httpx.RemoteProtocolError):
            chat(http, [user("hi")])
        assert http.get("/v1/health/ready").status_code == 200
