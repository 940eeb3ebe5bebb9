"""The tools compared: nimctl, NVIDIA's runbook loop, testcontainers, behind one small protocol.

Each starts the simulator under a name and port with some container env, waits for it the way
that tool does, and says when it reported ready or gave up; figures interpret the outcome.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from scripts.nimbench.context import CACHE_MOUNT, CONTAINER_PORT, PLACEHOLDER_KEY, READY_PATH, Bench


@dataclass
class Outcome:
    t_ready: float | None = None  # epoch seconds when the tool reported ready
    t_gave_up: float | None = None  # epoch seconds when it reported a failure
    why: str | None = None  # its failure, as text (None: it was still waiting at its bound)
    details: dict[str, Any] = field(default_factory=dict)  # kept in the JSON


class Comparator(Protocol):
    tool: str  # the row label, e.g. "runbook-1s"

    def start(self, bench: Bench, name: str, port: int, env: dict[str, str], timeout: float) -> Outcome:
        """Start the simulator with `env` and wait for it as the tool does, at most `timeout` s."""
        ...

    def remove(self, bench: Bench, name: str) -> None: ...


class Nimctl:
    """The real CLI: `nimctl up --json --no-smoke` as a subprocess, stderr timestamped live."""

    tool = "nimctl"

    def __init__(self, *flags: str, tool: str = "nimctl"):
        self.flags = flags  # more `up` flags, e.g. a GPU request
        self.tool = tool

    def start(self, bench: Bench, name: str, port: int, env: dict[str, str], timeout: float) -> Outcome:
        # the start-up delay goes into the (cached) profile, anything else onto the command line
        profile = bench.profile(SIM_STARTUP_DELAY=env["SIM_STARTUP_DELAY"])
        flags = [arg for key, value in env.items() if key != "SIM_STARTUP_DELAY" for arg in ("--env", f"{key}={value}")]
        result = bench.nimctl_up(name, port, profile, "--no-smoke", *self.flags, *flags, timeout=timeout)
        details: dict[str, Any] = {"t_exit": result.t_end, "wall_s": result.wall, "returncode": result.returncode}
        if result.returncode != 0:
            return Outcome(
                t_gave_up=result.first(r"^error: ") or result.t_end,
                why=f"nimctl up exited {result.returncode}: {result.tail()}",
                details=details,
            )
        summary = result.json()  # name/url/state from the data, not from human text
        details.update({key: summary.get(key) for key in ("name", "url", "state", "action", "ready")})
        if summary.get("name") != name or summary.get("ready") is not True:
            return Outcome(why=f"nimctl up reported {summary}", details=details)
        # the instant nimctl *said* ready: its human line, stamped when it arrived
        t_ready = result.first(rf"^ready {re.escape(name)}: ")
        details["t_phase_ready"] = result.first(rf"^• {re.escape(name)}: ready$")
        if t_ready is None:
            return Outcome(why=f"no 'ready {name}:' line on nimctl's stderr: {result.tail()}", details=details)
        return Outcome(t_ready=t_ready, details=details)

    def remove(self, bench: Bench, name: str) -> None:
        bench.nimctl_down(name)


class RunbookLoop:
    """NVIDIA's way: `docker run -d ...`, then
    `until [ "$(curl -s -o /dev/null -w '%{http_code}' $URL)" = 200 ]; do sleep N; done`."""

    def __init__(self, interval: float):
        self.interval = interval
        self.tool = f"runbook-{interval:g}s"

    def start(self, bench: Bench, name: str, port: int, env: dict[str, str], timeout: float) -> Outcome:
        started = bench.docker_run(name, port, bench.container_env(**env))
        if started.returncode != 0:
            raise RuntimeError(f"docker run exited {started.returncode}: {started.tail()}")
        url = f"http://127.0.0.1:{port}{READY_PATH}"
        t_ready, requests = runbook_loop(url, self.interval, time.monotonic() + timeout, bench.stop)
        return Outcome(t_ready=t_ready, details={"requests": requests})

    def remove(self, bench: Bench, name: str) -> None:
        bench.remove(name)


class Testcontainers:
    """testcontainers-python `DockerContainer` + `HttpWaitStrategy` (default 1 s poll), Ryuk off."""

    tool = "testcontainers"

    def start(self, bench: Bench, name: str, port: int, env: dict[str, str], timeout: float) -> Outcome:
        from testcontainers.core.config import ConnectionMode
        from testcontainers.core.config import testcontainers_config as config
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.wait_strategies import HttpWaitStrategy

        config.ryuk_disabled = True  # Ryuk is an image to pull; cleanup is ours
        config.tc_host_override = "127.0.0.1"  # traffic only to 127.0.0.1
        config.connection_mode_override = ConnectionMode.docker_host  # the published port, not a bridge IP
        container = DockerContainer(
            bench.image,
            name=name,
            env={"NGC_API_KEY": PLACEHOLDER_KEY, **bench.container_env(**env)},
            labels=bench.labels(),
            shm_size="2g",
            user=bench.uid_gid,
        )
        container.with_volume_mapping(str(bench.cache_dir), CACHE_MOUNT, "rw")
        container.ports[str(CONTAINER_PORT)] = ("127.0.0.1", port)  # docker-py's (ip, port) form
        container.waiting_for(HttpWaitStrategy(CONTAINER_PORT, READY_PATH).with_startup_timeout(timeout))
        bench.claim(name, bench.created_direct)
        try:
            container.start()
            return Outcome(t_ready=time.time())
        except TimeoutError:  # its own bound: still waiting, nothing noticed
            return Outcome()
        except Exception as exc:  # noqa: BLE001 - anything else is the tool giving up
            return Outcome(t_gave_up=time.time(), why=f"{type(exc).__name__}: {str(exc)[:160]}")

    def remove(self, bench: Bench, name: str) -> None:
        bench.remove(name)


def http_status(url: str, timeout: float = 10.0) -> int | None:
    """`curl -s -o /dev/null -w '%{http_code}' URL`: the status, or None when nothing answered."""
    parts = url.split("/", 3)
    host, _, port = parts[2].partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        conn.request("GET", "/" + parts[3], headers={"User-Agent": "curl/7.88.1", "Accept": "*/*"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def runbook_loop(url: str, interval: float, deadline: float, stop: threading.Event) -> tuple[float | None, int]:
    """The loop, bounded by `deadline` (monotonic): probe, then sleep the interval.

    Returns (epoch seconds when the loop ended with a 200, or None when the bound was hit; requests).
    """
    requests = 0
    while True:
        requests += 1
        if http_status(url) == 200:
            return time.time(), requests
        if time.monotonic() >= deadline or stop.is_set():
            return None, requests
        time.sleep(interval)


WAITERS: tuple[Comparator, ...] = (Nimctl(), RunbookLoop(1), RunbookLoop(5), Testcontainers())
