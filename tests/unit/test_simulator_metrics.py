"""The simulator's /v1/metrics through `handle()`: vLLM's names in the Prometheus text format,
counters that move as chat requests are served, the running gauge during a stream."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from nimctl.simulator.sim import Stream, handle
from tests.unit.simulator_client import MODEL, fast_config, ready_state, user


def samples(state) -> dict[str, float]:
    reply = handle(state, "GET", "/v1/metrics")
    assert reply.status == 200 and reply.content_type.startswith("text/plain")
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }


def chat_body(**params) -> bytes:
    return json.dumps({"model": MODEL, "messages": [user("Say hello")], **params}).encode()


def test_metrics_use_vllms_names_and_start_at_zero() -> None:
    values = samples(ready_state(fast_config()))
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:gpu_cache_usage_perc",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
    ):
        assert values[name] == 0.0, name


def test_a_served_request_adds_its_usage_to_the_token_totals() -> None:
    state = ready_state(fast_config())
    reply = handle(state, "POST", "/v1/chat/completions", chat_body())
    usage = json.loads(reply.body)["usage"]
    handle(state, "POST", "/v1/chat/completions", chat_body())
    values = samples(state)
    assert values["vllm:prompt_tokens_total"] == 2 * usage["prompt_tokens"] > 0
    assert values["vllm:generation_tokens_total"] == 2 * usage["completion_tokens"] > 0
    assert values["vllm:num_requests_running"] == 0.0


def test_a_stream_counts_as_running_until_its_last_chunk() -> None:
    state = ready_state(fast_config())
    stream = handle(state, "POST", "/v1/chat/completions", chat_body(stream=True))
    assert isinstance(stream, Stream)
    events = stream.events()
    next(events)  # the first chunk is on its way
    during = samples(state)
    assert during["vllm:num_requests_running"] == 1.0
    assert 0.0 < during["vllm:kv_cache_usage_perc"] <= 1.0
    assert during["vllm:prompt_tokens_total"] == 0.0  # counted once answered
    list(events)
    after = samples(state)
    assert after["vllm:num_requests_running"] == 0.0
    assert after["vllm:kv_cache_usage_perc"] == 0.0
    assert after["vllm:generation_tokens_total"] > 0


def test_a_rejected_request_moves_no_counter() -> None:
    state = ready_state(fast_config())
    reply = handle(state, "POST", "/v1/chat/completions", b"{not json")
    assert reply.status == 400
    assert samples(state)["vllm:prompt_tokens_total"] == 0.0


def test_version_names_the_release_and_api() -> None:
    reply = handle(ready_state(fast_config()), "GET", "/v1/version")
    body = json.loads(reply.body)
    assert set(body) == {"release", "api"} and body["release"]
