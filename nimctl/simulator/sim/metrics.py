"""The serving counters a NIM exports on /v1/metrics, under vLLM's metric names, in Prometheus text format.

Counters move as chat requests are served: token totals once a request is answered, the running
gauge while a streamed answer is being sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator


class ServingMetrics:
    """Thread-safe counters: the HTTP layer serves requests on several threads."""

    def __init__(self, max_model_len: int):
        self._lock = threading.Lock()
        self._max_model_len = max_model_len
        self.running = 0
        self.running_prompt_tokens = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.requests_done = 0

    def served(self, prompt_tokens: int, generation_tokens: int) -> None:
        with self._lock:
            self.prompt_tokens += prompt_tokens
            self.generation_tokens += generation_tokens
            self.requests_done += 1

    def while_running(self, chunks: Iterator[dict], prompt_tokens: int, generation_tokens: int) -> Iterator[dict]:
        """`chunks`, counted as one running request from the first chunk until the last (or a hang-up)."""
        with self._lock:
            self.running += 1
            self.running_prompt_tokens += prompt_tokens
        try:
            yield from chunks
        finally:
            with self._lock:
                self.running -= 1
                self.running_prompt_tokens -= prompt_tokens
            self.served(prompt_tokens, generation_tokens)

    @property
    def kv_cache_usage(self) -> float:
        """Simulated: the running prompts' share of one context length (0..1)."""
        return min(1.0, self.running_prompt_tokens / self._max_model_len) if self._max_model_len else 0.0

    def exposition(self, model: str) -> bytes:
        """The Prometheus text format, as vLLM writes it (one `model_name` label)."""
        label = '{model_name="' + model.replace("\\", "\\\\").replace('"', '\\"') + '"}'
        with self._lock:
            kv_usage = self.kv_cache_usage
            rows = [
                ("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", self.running),
                ("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", 0),
                ("vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage.", kv_usage),
                ("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", kv_usage),
                ("vllm:prompt_tokens", "counter", "Number of prefill tokens processed.", self.prompt_tokens),
                ("vllm:generation_tokens", "counter", "Number of generation tokens processed.", self.generation_tokens),
                ("vllm:request_success", "counter", "Count of successfully processed requests.", self.requests_done),
            ]
        lines = []
        for name, kind, help_text, value in rows:
            sample = name + "_total" if kind == "counter" else name
            lines += [f"# HELP {sample} {help_text}", f"# TYPE {sample} {kind}", f"{sample}{label} {float(value)}"]
        return ("\n".join(lines) + "\n").encode()
