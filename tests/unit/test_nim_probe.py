"""status's probes of a running NIM, against the in-process simulator and a bare vLLM-like server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from nimctl.nim_probe import Target, metrics_of, probe_all, served_model, serves, summarize_metrics
from nimctl.simulator.sim import start_in_thread
from tests.unit.simulator_client import MODEL, fast_config, user

OLD_VLLM = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 2.0
vllm:num_requests_running{model_name="b"} 1.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="a"} 4.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="a"} 0.25
# TYPE vllm:prompt_tokens counter
vllm:prompt_tokens_total{model_name="a"} 1200.0
# TYPE vllm:generation_tokens counter
vllm:generation_tokens_total{model_name="a"} 345.0
"""


def test_summary_reads_vllms_names_and_sums_label_sets() -> None:
    assert summarize_metrics(OLD_VLLM) == {
        "requests_running": 3.0,
        "requests_waiting": 4.0,
        "kv_cache_usage": 0.25,
        "prompt_tokens_total": 1200.0,
        "generation_tokens_total": 345.0,
    }


def test_the_newer_kv_cache_name_wins() -> None:
    text = OLD_VLLM + '# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{model_name="a"} 0.5\n'
    assert summarize_metrics(text)["kv_cache_usage"] == 0.5


@pytest.mark.parametrize("text", ["", "# TYPE other gauge\nother 1\n", "this is { not prometheus"])
def test_no_vllm_metrics_is_none(text: str) -> None:
    assert summarize_metrics(text) is None


class PlainVllm:
    """A server with /metrics only (vLLM's own path), answering each request after `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                time.sleep(delay)
                body = OLD_VLLM.encode() if self.path == "/metrics" else b"{}"
                self.send_response(200 if self.path in ("/metrics", "/v1/health/ready") else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def plain_vllm() -> Iterator[PlainVllm]:
    server = PlainVllm()
    yield server
    server.server.shutdown()


def test_metrics_fall_back_to_slash_metrics(plain_vllm: PlainVllm) -> None:
    assert metrics_of(plain_vllm.url, 1.0)["prompt_tokens_total"] == 1200.0


@pytest.fixture
def sim():
    handle = start_in_thread(fast_config(), host="127.0.0.1", port=0)
    handle.wait_ready(10)
    yield handle
    handle.stop()


def test_a_ready_nim_reports_release_profile_and_moving_metrics(sim) -> None:
    target = Target(sim.base_url, "/v1/health/ready", model_profile=None)
    [before] = probe_all([target])
    assert before.ready and before.version and before.model_profile
    assert before.metrics["prompt_tokens_total"] == 0.0
    httpx.post(f"{sim.base_url}/v1/chat/completions", json={"model": MODEL, "messages": [user("hi")]}, timeout=10)
    [after] = probe_all([target])
    assert after.metrics["prompt_tokens_total"] > 0 and after.metrics["generation_tokens_total"] > 0


def test_the_profile_it_was_started_with_wins(sim) -> None:
    [report] = probe_all([Target(sim.base_url, "/v1/health/ready", model_profile="tensorrt_llm-h100-fp8-tp2")])
    assert report.model_profile == "tensorrt_llm-h100-fp8-tp2"


@pytest.mark.timing
def test_probes_of_many_nims_run_at_once() -> None:
    slow = [PlainVllm(delay=0.2) for _ in range(10)]
    try:
        started = time.monotonic()
        reports = probe_all([Target(server.url, "/v1/health/ready", None) for server in slow], timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        for server in slow:
            server.server.shutdown()
    assert all(report.ready and report.metrics for report in reports)
    assert elapsed < 3.0  # one after another would take 10 x 3 x 0.2 s (a generous margin for a busy machine)


def test_a_nim_that_does_not_answer_in_time_is_not_ready() -> None:
    slow = PlainVllm(delay=1.0)
    try:
        [report] = probe_all([Target(slow.url, "/v1/health/ready", None)], timeout=0.2)
    finally:
        slow.server.shutdown()
    assert not report.ready and report.version is None and report.metrics is None


# --- status --deep: a one-token completion of the served model ----------------------------------


def test_deep_asks_a_serving_nim_and_a_shallow_probe_does_not(sim) -> None:
    target = Target(sim.base_url, "/v1/health/ready", model_profile=None)
    [shallow] = probe_all([target])
    assert shallow.ready and shallow.serving is None
    [deep] = probe_all([target], deep=True)
    assert deep.ready and deep.serving is True
    assert deep.metrics is not None


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_deep_finds_a_ready_nim_whose_engine_is_dead(mode: str) -> None:
    handle = start_in_thread(fast_config(not_serving=mode), host="127.0.0.1", port=0)
    try:
        handle.wait_ready(10)
        [report] = probe_all([Target(handle.base_url, "/v1/health/ready", None)], deep=True, deep_timeout=3.0)
    finally:
        handle.stop()
    assert report.ready is True and report.serving is False


def test_deep_asks_no_nim_that_is_not_ready() -> None:
    nothing = PlainVllm()
    nothing.server.shutdown()
    nothing.server.server_close()
    [report] = probe_all([Target(nothing.url, "/v1/health/ready", None)], deep=True, deep_timeout=0.5)
    assert report.ready is False and report.serving is None


def test_the_served_model_is_asked_of_v1_models(sim) -> None:
    assert served_model(sim.base_url, 2.0) == MODEL
    server = PlainVllm()  # answers /v1/models with 404
    try:
        assert served_model(server.url, 2.0) is None
        assert serves(server.url, None, 2.0) is False  # no model to ask for: not serving
    finally:
        server.server.shutdown()
