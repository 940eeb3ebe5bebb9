"""The NIM simulator's server: looks, from a launcher's side, like the Mistral-Small-4-119B-2603 NIM
(or, by its settings, a NIM LLM 2.x: keyless, model-free, with fewer capabilities).

Standard library only and never imports nimctl: this package is copied into a FROM-scratch image and
run there as `python3.11 -u -m sim` on the bare Debian interpreter; tests import it in-process as
`nimctl.simulator.sim` (`start_in_thread`, or `handle` with no sockets). No model is loaded; answers
are deterministic text built from the request. Importing it starts nothing.

    config.py      SimConfig, env parsing, SIM_BREAK names
    imaging.py     PNG/JPEG/GIF/BMP encoders and header reading (shared with nimctl/smoketest/media.py)
    api_error.py   vLLM-shaped error answers
    rules.py       the chat-request rules (parsing, alternation, tools, images, limits)
    tokens.py      token counting
    image_urls.py  decode/fetch the images a request points to
    answers.py     the deterministic answers (text, reasoning, tool calls)
    bodies.py      response bodies (one usage helper)
    app.py         handle(state, method, path, body) -> Response | Stream | None, ROUTES, readiness gate
    httpd.py       the HTTP layer: read bodies, write JSON or SSE
    logs.py        logging with the NIM-shaped line formatter
    checks.py      the container's start-up checks
    model_source.py model-free NIM: the model source, the served name derived from it, obtaining it
    startup.py     the start-up sequence, SimHandle, start_in_thread
    __main__.py    the container entry point
"""

from .app import ROUTES, Response, Route, SimState, Stream, handle
from .checks import check_api_key, check_cache_writable, check_gpu, check_shm, first_startup_problem
from .config import BREAK_NAMES, CAPABILITIES, DEFAULT_MODEL, SimConfig
from .imaging import image_size, sniff_image_format
from .model_source import check_model_source, served_name
from .startup import SimHandle, start_in_thread

__all__ = [
    "BREAK_NAMES",
    "CAPABILITIES",
    "DEFAULT_MODEL",
    "ROUTES",
    "Response",
    "Route",
    "SimConfig",
    "SimHandle",
    "SimState",
    "Stream",
    "check_api_key",
    "check_cache_writable",
    "check_gpu",
    "check_model_source",
    "check_shm",
    "first_startup_problem",
    "handle",
    "served_name",
    "image_size",
    "sniff_image_format",
    "start_in_thread",
]
