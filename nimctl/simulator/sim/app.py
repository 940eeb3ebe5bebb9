"""The simulator as a plain function: `handle(state, method, path, body) -> Response | Stream | None`.

No sockets here: the HTTP layer (httpd.py) reads the body and writes what this returns, and unit
tests call `handle` directly. Adding an endpoint is one entry in ROUTES.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .answers import plan_answer
from .api_error import ApiError, bad_request
from .bodies import completion_body, metadata_body, models_body, stream_chunks, usage, version_body
from .config import SimConfig
from .image_urls import load_images
from .imaging import gif, jpeg, png
from .metrics import ServingMetrics
from .rules import parse_chat_request


@dataclasses.dataclass
class SimState:
    """What the endpoints read and the start-up sequence writes."""

    cfg: SimConfig
    ready: threading.Event = dataclasses.field(default_factory=threading.Event)
    # SIM_NOT_SERVING: set when the engine "dies" (startup.py); the health routes do not look at it
    engine_dead: threading.Event = dataclasses.field(default_factory=threading.Event)
    stopping: threading.Event = dataclasses.field(default_factory=threading.Event)
    ready_at_ms: float | None = None  # epoch milliseconds, to the microsecond
    exit_code: int | None = None
    created: int = dataclasses.field(default_factory=lambda: int(time.time()))
    metrics: ServingMetrics = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.metrics = ServingMetrics(self.cfg.max_model_len)


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"


SSE_DONE = b"data: [DONE]\n\n"


@dataclasses.dataclass(frozen=True)
class Stream:
    """A 200 server-sent-events answer: one `data:` event per chunk, then `data: [DONE]`."""

    chunks: Iterator[dict]
    token_delay: float  # seconds between chunks

    def events(self) -> Iterator[bytes]:
        """The SSE events, without the pauses (the HTTP layer sleeps between them)."""
        for chunk in self.chunks:
            yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
        yield SSE_DONE


# None: no answer at all (SIM_BREAK=hang); the HTTP layer closes the connection.
Reply = Response | Stream | None


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode())


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.body())


# -- endpoints ----------------------------------------------------------------------------------


def health_live(state: SimState, body: bytes) -> Reply:
    return json_response(200, {"object": "health.response", "message": "Service is live."})


def health_ready(state: SimState, body: bytes) -> Reply:
    if state.ready.is_set():
        return json_response(200, {"object": "health.response", "message": "Service is ready."})
    return json_response(503, {"object": "health.response", "message": "Service is not ready."})


def models(state: SimState, body: bytes) -> Reply:
    return json_response(200, models_body(state.cfg, state.created))


def metadata(state: SimState, body: bytes) -> Reply:
    return json_response(200, metadata_body(state.cfg))


def version(state: SimState, body: bytes) -> Reply:
    return json_response(200, version_body(state.cfg))


def metrics(state: SimState, body: bytes) -> Reply:
    # the content type Prometheus scrapers expect for the text format
    exposition = state.metrics.exposition(state.cfg.served_model_name)
    return Response(200, exposition, "text/plain; version=0.0.4; charset=utf-8")


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as err:
        raise bad_request(f"The request body is not valid JSON: {err}") from None


# vLLM's EngineDeadError: the API server is up, the engine process behind it is gone.
ENGINE_DEAD_LINE = "EngineCore encountered an issue. See stack trace (above) for the root cause."
ENGINE_DEAD = ApiError(500, ENGINE_DEAD_LINE, "InternalServerError")


def chat_completions(state: SimState, body: bytes) -> Reply:
    cfg = state.cfg
    if state.engine_dead.is_set():
        if cfg.not_serving == "drop":
            return None  # the connection is closed without an answer
        return error_response(ENGINE_DEAD)
    try:
        payload = _parse_json(body)
        if cfg.broken("hang"):
            state.stopping.wait()  # never answer; released only when the server stops
            return None
        request = parse_chat_request(payload, cfg)
        load_images(request, cfg)
        answers = [plan_answer(request, cfg) for _ in range(request.n)]
    except ApiError as err:
        return error_response(err)
    response_id = "chatcmpl-" + uuid.uuid4().hex
    counted = usage(answers)
    if request.stream:
        chunks = stream_chunks(request, answers, cfg, response_id)
        tracked = state.metrics.while_running(chunks, counted["prompt_tokens"], counted["completion_tokens"])
        return Stream(tracked, cfg.token_delay)
    state.metrics.served(counted["prompt_tokens"], counted["completion_tokens"])
    return json_response(200, completion_body(request, answers, cfg, response_id))


def static(data: Callable[[], bytes], content_type: str) -> Callable[[SimState, bytes], Reply]:
    """A sample file the simulator serves itself, so image-URL requests need no internet."""
    return lambda state, body: Response(200, data(), content_type)


@dataclasses.dataclass(frozen=True)
class Route:
    endpoint: Callable[[SimState, bytes], Reply]
    needs_ready: bool = False  # answered 503 until the model is "loaded"


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/v1/health/live"): Route(health_live),
    ("GET", "/v1/health/ready"): Route(health_ready),
    ("GET", "/v1/models"): Route(models, needs_ready=True),
    ("GET", "/v1/metadata"): Route(metadata),
    ("GET", "/v1/version"): Route(version),
    ("GET", "/v1/metrics"): Route(metrics),
    ("POST", "/v1/chat/completions"): Route(chat_completions, needs_ready=True),
    ("GET", "/static/sample.png"): Route(static(lambda: png(2, 2, (255, 0, 0)), "image/png")),
    ("GET", "/static/sample.gif"): Route(static(lambda: gif(1, 1, (255, 255, 255)), "image/gif")),
    ("GET", "/static/sample.jpg"): Route(static(lambda: jpeg(8, 8), "image/jpeg")),
    ("GET", "/static/sample.txt"): Route(static(lambda: b"not an image\n", "text/plain")),
}

NOT_READY = ApiError(503, "The model is still loading; the service is not ready yet.", "ServiceUnavailableError")


def handle(state: SimState, method: str, path: str, body: bytes = b"") -> Reply:
    """Answer one request; `path` may carry a query string (ignored)."""
    path = path.split("?", 1)[0]
    route = ROUTES.get((method, path))
    if route is None:
        if any(known == path for _, known in ROUTES):
            return json_response(405, {"detail": "Method Not Allowed"})
        return json_response(404, {"detail": "Not Found"})
    if route.needs_ready and not state.ready.is_set():
        return error_response(NOT_READY)
    return route.endpoint(state, body)
