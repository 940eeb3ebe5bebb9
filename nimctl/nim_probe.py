"""What `status` asks a running NIM: ready?, its release (/v1/version), its model profile and a
summary of its Prometheus metrics (/v1/metrics, else /metrics). Every request of every
deployment runs at once, each with a short deadline, so `status` stays quick with many NIMs.

`status --deep` also asks each ready NIM for a one-token completion of its served model (the id
/v1/models gives): a vLLM server can answer its health route while the engine behind it is dead
(vllm-project/vllm#11996, #7633, #4867). The deep asks run concurrently too, each with its own
deadline (DEEP_DEADLINE: a completion takes the GPU's time, more than a health route's).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nimctl import lazy
from nimctl.readiness import fetch

if TYPE_CHECKING:
    import prometheus_client.parser as prometheus_parser
else:
    prometheus_parser = lazy.module("prometheus_client.parser")  # loaded when a NIM's metrics are read

PROBE_DEADLINE = 0.4  # seconds per request: a NIM that answers slower shows "-" this time
DEEP_DEADLINE = 5.0  # seconds for /v1/models and for the one-token completion of `status --deep`
SERVED_MODEL_TIMEOUT = 10.0  # seconds for /v1/models once `up` saw the NIM ready
METRICS_PATHS = ("/v1/metrics", "/metrics")  # NIMs serve the first; plain vLLM the second

# summary key -> vLLM metric names, newest first (vLLM's V1 engine renamed the KV-cache gauge)
VLLM_METRICS: dict[str, tuple[str, ...]] = {
    "requests_running": ("vllm:num_requests_running",),
    "requests_waiting": ("vllm:num_requests_waiting",),
    "kv_cache_usage": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    "prompt_tokens_total": ("vllm:prompt_tokens_total",),
    "generation_tokens_total": ("vllm:generation_tokens_total",),
}


@dataclass(frozen=True)
class Target:
    """One deployment to probe."""

    url: str
    readiness_path: str
    model_profile: str | None  # NIM_MODEL_PROFILE it was started with, if any
    model: str | None = None  # the served model name it was started with (when /v1/models names none)


@dataclass(frozen=True)
class NimReport:
    live: bool  # its readiness path answered at all
    ready: bool  # ... with 200
    version: str | None = None
    model_profile: str | None = None
    metrics: dict[str, float] | None = None
    serving: bool | None = None  # answered a one-token completion (status --deep); None: not asked
    model: str | None = None  # the id /v1/models lists first: the name the NIM serves


def summarize_metrics(text: str) -> dict[str, float] | None:
    """The vLLM figures `status` shows, summed over label sets (one per served model); None if none is there."""
    samples: dict[str, float] = {}
    try:
        for family in prometheus_parser.text_string_to_metric_families(text):
            for sample in family.samples:
                samples[sample.name] = samples.get(sample.name, 0.0) + sample.value
    except ValueError:  # not the exposition format
        return None
    summary = {}
    for key, names in VLLM_METRICS.items():
        found = next((name for name in names if name in samples), None)
        if found is not None:
            summary[key] = samples[found]
    return summary or None


def _json(status: int | None, body: bytes) -> dict[str, Any]:
    if status != 200:
        return {}
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def version_of(url: str, timeout: float) -> str | None:
    release = _json(*fetch(url, "/v1/version", timeout)).get("release")
    return str(release) if release else None


def reported_profile(url: str, timeout: float) -> str | None:
    """The model profile the NIM says it runs (/v1/metadata `profile`: its name, else its id)."""
    profile = _json(*fetch(url, "/v1/metadata", timeout)).get("profile")
    if isinstance(profile, dict):
        profile = profile.get("name") or profile.get("id")
    return str(profile) if profile else None


def served_model(url: str, timeout: float) -> str | None:
    """The model id the NIM serves: the first one /v1/models lists (None if it lists none or fails)."""
    return served_model_of(fetch(url, "/v1/models", timeout))


def served_model_of(answer: tuple[int | None, bytes]) -> str | None:
    """The first model id in an answer of /v1/models ((status, body)); never taken from a profile.
    None if it lists none (the smoke `models` check, when it runs, says why)."""
    data = _json(*answer).get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("id"):
        return str(data[0]["id"])
    return None


def metrics_of(url: str, timeout: float) -> dict[str, float] | None:
    for path in METRICS_PATHS:
        status, body = fetch(url, path, timeout)
        if status == 200:
            return summarize_metrics(body.decode("utf-8", "replace"))
    return None


def serves(url: str, model: str | None, timeout: float = DEEP_DEADLINE) -> bool:
    """Does the NIM answer a one-token chat completion of its served model (200 with a choice)?"""
    name = served_model(url, timeout) or model
    if not name:
        return False
    ask = {"model": name, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1, "stream": False}
    choices = _json(*fetch(url, "/v1/chat/completions", timeout, json_body=ask)).get("choices")
    return isinstance(choices, list) and len(choices) > 0


def probe_all(
    targets: Sequence[Target],
    timeout: float = PROBE_DEADLINE,
    *,
    deep: bool = False,
    deep_timeout: float = DEEP_DEADLINE,
) -> list[NimReport]:
    """One report per target; all requests of all targets run concurrently. With `deep`, each NIM
    that answers ready is also asked for a one-token completion (`serving`), all at once as well."""
    if not targets:
        return []
    asks: list[dict[str, Future]] = []
    with (
        ThreadPoolExecutor(max_workers=min(64, 4 * len(targets))) as pool,
        ThreadPoolExecutor(max_workers=min(32, len(targets)) if deep else 1) as deep_pool,
    ):

        def ask(call: Callable[[str, float], Any], url: str) -> Future:
            return pool.submit(call, url, timeout)

        for target in targets:
            futures = {
                "ready": pool.submit(fetch, target.url, target.readiness_path, timeout),
                "version": ask(version_of, target.url),
                "metrics": ask(metrics_of, target.url),
                "model": ask(served_model, target.url),
            }
            if target.model_profile is None:
                futures["model_profile"] = ask(reported_profile, target.url)
            if deep:  # waits on this target's ready answer (in the other pool: no pool waits on itself)
                futures["serving"] = deep_pool.submit(_serving_if_ready, futures["ready"], target, deep_timeout)
            asks.append(futures)
    reports = []
    for target, futures in zip(targets, asks, strict=True):
        status = futures["ready"].result()[0]
        if status != 200:
            reports.append(NimReport(live=status is not None, ready=False, model_profile=target.model_profile))
            continue
        profile = target.model_profile or (futures["model_profile"].result() if "model_profile" in futures else None)
        reports.append(
            NimReport(
                live=True,
                ready=True,
                version=futures["version"].result(),
                model_profile=profile,
                metrics=futures["metrics"].result(),
                serving=futures["serving"].result() if "serving" in futures else None,
                model=futures["model"].result(),
            )
        )
    return reports


def _serving_if_ready(ready: Future, target: Target, timeout: float) -> bool | None:
    if ready.result()[0] != 200:
        return None  # not ready: not asked
    return serves(target.url, target.model, timeout)
