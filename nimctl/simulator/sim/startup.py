"""The start-up sequence, one path for the container and for in-process use: schedule the simulated
crash, (container only) print the banner and profile selection and wait SIM_LIVE_DELAY, listen (live),
then "load the model" for SIM_STARTUP_DELAY and turn ready. `SimHandle` is the running simulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from . import profiles
from .app import ENGINE_DEAD_LINE, SimState
from .config import SimConfig
from .httpd import SimHTTPServer
from .logs import SimLog
from .model_source import source_log_lines

BANNER = """\
===========================================
== NVIDIA Inference Microservice {kind} NIM ==
===========================================

NVIDIA Inference Microservice {kind} NIM Version {release}
Model: {model}
(nimctl NIM simulator: no model is loaded and no GPU is used)
"""


def log_profile_selection(cfg: SimConfig, log: SimLog) -> None:
    kind = "VLM" if cfg.can("vision") else "LLM"
    log.banner(BANNER.format(kind=kind, release=cfg.release, model=cfg.served_model_name))
    if cfg.model_free:
        for origin, message in source_log_lines(cfg):
            log.info(origin, message)
    devices = cfg.nvidia_visible_devices or "unset"
    model = cfg.served_model_name
    log.info("ngc_profile.py:360", f"Detected GPU(s) from NVIDIA_VISIBLE_DEVICES={devices}")
    for valid in profiles.runnable(cfg):
        log.info("ngc_profile.py:362", f"Valid profile: {valid.id(model)} ({valid.name}) on GPUs [0]")
    selected = profiles.select(cfg) or profiles.MANIFEST[0]
    pid = selected.id(model)
    log.info("ngc_profile.py:453", f"Selected profile: {pid} ({selected.name})")
    log.info("ngc_profile.py:455", f"Profile metadata: llm_engine: vllm, tp: {selected.tp}, pp: 1")
    if cfg.model_free:
        return
    log.info("ngc_injector.py:147", f"Downloading model files for profile {pid} to {cfg.cache_path}/ngc/hub")
    if profiles.is_cached(cfg, selected):
        offline = "" if cfg.ngc_api_key.strip() else "; no NGC_API_KEY: starting offline"
        log.info(
            "ngc_injector.py:170",
            f"Model files are already in the cache at {profiles.snapshot_dir(cfg, selected)}{offline}",
        )
    else:
        log.info("ngc_injector.py:170", "Model files are already in the cache (simulated: nothing downloaded)")


class SimHandle:
    """A simulator: its state, log, HTTP server, threads and timers.

    `on_exit(code)` is what a simulated crash does after logging it: the container passes a real
    process exit; in-process (the default) the simulator just stops serving and keeps the code.
    """

    def __init__(self, cfg: SimConfig, log: SimLog, on_exit: Callable[[int], None] | None = None):
        self.state = SimState(cfg)
        self.log = log
        self._on_exit = on_exit
        self.server: SimHTTPServer | None = None
        self.host = ""
        self.port = 0
        self.base_url = ""
        self.timers: list[threading.Timer] = []
        self._threads: list[threading.Thread] = []
        self._stop_lock = threading.Lock()
        self._stopped = False

    # -- the start-up sequence ------------------------------------------------------------------

    def start(self, host: str, port: int, *, announce: bool = False) -> SimHandle:
        """Listen on host:port and begin loading; returns at once (loading runs in a thread).

        `announce`: print the banner and profile selection and wait SIM_LIVE_DELAY first, as the
        container does. OSError if the address cannot be bound.
        """
        cfg = self.state.cfg
        if cfg.crash_after is not None:
            self._after(cfg.crash_after, self._crash_during_startup)
        if announce:
            log_profile_selection(cfg, self.log)
            time.sleep(cfg.live_delay)
        self.server = SimHTTPServer((host, port), self.state, self.log)
        self.host, self.port = host, self.server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        # a short poll interval makes stop() quick (shutdown waits for the next poll)
        self._spawn("nim-sim-http", self.server.serve_forever, poll_interval=0.05)
        self.log.info("api_server.py:1750", f"Uvicorn running on {self.base_url} (Press CTRL+C to quit)")
        self._spawn("nim-sim-startup", self._load_then_become_ready)
        return self

    def _load_then_become_ready(self) -> None:
        """From live to ready; with SIM_CRASH_AFTER set start-up never completes (the crash ends it)."""
        cfg, state, log = self.state.cfg, self.state, self.log
        delay = cfg.draw_startup_delay()
        log.info("model_runner.py:1120", f"Loading model weights for {cfg.served_model_name} ...")
        if cfg.log_rate > 0:
            self._spawn("nim-sim-chatter", self._chatter)
        if state.stopping.wait(delay):
            return
        if cfg.crash_after is not None:
            state.stopping.wait()
            return
        log.info("model_runner.py:1132", f"Loading model weights took {delay:.2f} s")
        log.info("api_server.py:1802", "Application startup complete.")
        if cfg.not_serving and cfg.not_serving_after == 0:
            self._engine_dies()  # dead before the first request can be answered
        # taken before the flag (a probe never sees 200 earlier), to the microsecond: the benchmark
        # measures lags of a few milliseconds from it
        ready_at_ms = round(time.time() * 1000, 3)
        state.ready_at_ms = ready_at_ms
        state.ready.set()
        log.info("api_server.py:1810", f"NIM is ready: ready_at_ms={ready_at_ms:.3f}")
        if cfg.exit_after_ready is not None:
            self._after(cfg.exit_after_ready, self._crash_after_ready)
        if cfg.unready_after is not None:
            self._after(cfg.unready_after, self._turn_unready)
        if cfg.not_serving and cfg.not_serving_after > 0:
            self._after(cfg.not_serving_after, self._engine_dies)

    def _engine_dies(self) -> None:
        """SIM_NOT_SERVING: the engine behind the HTTP server dies; health stays ready, completions fail."""
        if self.state.stopping.is_set():
            return
        self.log.error("core_client.py:564", ENGINE_DEAD_LINE)
        self.state.engine_dead.set()

    def _chatter(self) -> None:
        """SIM_LOG_RATE lines a second until ready, written in 20 ms batches."""
        rate, started, written = self.state.cfg.log_rate, time.monotonic(), 0
        while not self.state.ready.is_set() and not self.state.stopping.wait(0.02):
            due = int((time.monotonic() - started) * rate) - written
            if due > 0:
                lines = [f"Loading safetensors checkpoint shard {written + i} (simulated)" for i in range(due)]
                self.log.burst("weight_utils.py:412", lines)
                written += due

    def _turn_unready(self) -> None:
        """SIM_UNREADY_AFTER: ready answers 503 again (live stays 200), for SIM_UNREADY_FOR seconds."""
        if self.state.stopping.is_set():
            return
        self.state.ready.clear()
        self.log.error("engine_core.py:210", "Engine is overloaded: not ready (simulated)")
        self._after(self.state.cfg.unready_for, self._ready_again)

    def _ready_again(self) -> None:
        if not self.state.stopping.is_set() and self.state.exit_code is None:
            self.state.ready.set()
            self.log.info("api_server.py:1810", "NIM is ready again")

    def _crash_during_startup(self) -> None:
        if not self.state.ready.is_set() and not self.state.stopping.is_set():
            self._die("CUDA error: out of memory", "Engine core initialization failed. See root cause above.")

    def _crash_after_ready(self) -> None:
        if not self.state.stopping.is_set():
            self._die("CUDA error: out of memory", "EngineCore encountered a fatal error and died unexpectedly.")

    def _die(self, *error_lines: str) -> None:
        code = self.state.cfg.crash_code
        for line in error_lines:
            self.log.error("engine_core.py:532", line)
        self.state.ready.clear()
        self.state.exit_code = code
        if self._on_exit is not None:
            self._on_exit(code)
        else:
            self.stop()

    def _spawn(self, name: str, target: Callable[..., Any], **kwargs: Any) -> None:
        thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    # -- what callers read ----------------------------------------------------------------------

    @property
    def config(self) -> SimConfig:
        return self.state.cfg

    @property
    def ready(self) -> bool:
        return self.state.ready.is_set()

    @property
    def exit_code(self) -> int | None:
        """Set when the simulated process 'exited' (SIM_CRASH_AFTER / SIM_EXIT_AFTER_READY)."""
        return self.state.exit_code

    @property
    def ready_at_ms(self) -> float | None:
        return self.state.ready_at_ms

    @property
    def log_lines(self) -> list[str]:
        return self.log.lines

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once ready; TimeoutError if not ready in time, RuntimeError if it 'crashed' first."""
        deadline = time.monotonic() + timeout
        while not self.state.ready.wait(0.01):
            if self.exit_code is not None:
                raise RuntimeError(f"the simulator exited with code {self.exit_code} before it was ready")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the simulator was not ready within {timeout} s")
        return True

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.state.stopping.set()
        for timer in self.timers:
            timer.cancel()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    cfg: SimConfig, host: str = "127.0.0.1", port: int = 0, *, log_stream: TextIO | None = None
) -> SimHandle:
    """Serve in background threads of this process; skips the environment start-up checks.

    Log lines are kept on `handle.log_lines` (and echoed to `log_stream` if given). A simulated
    crash stops the server and sets `handle.exit_code` instead of exiting the process.
    """
    return SimHandle(cfg, SimLog(log_stream, keep=10000)).start(host, port)
