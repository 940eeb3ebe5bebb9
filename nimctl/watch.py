"""Follows one container while `up` waits for it: its exit (engine events) and its log lines.

A thread per stream, so the readiness wait (readiness.py) reacts within milliseconds to a
crash or a "ready" log line without polling the health endpoint fast.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nimctl.readiness import ENGINE_GONE, REMOVED, STOPPED

if TYPE_CHECKING:
    import docker


class ContainerSignals:
    """Watches one container for the readiness wait: its exit (engine events) and its log lines.

    `wait(timeout)` returns early when something happens that is worth a probe right away
    (a log line hinting at readiness, or the container's exit), so the wait reacts within
    milliseconds without polling the health endpoint fast.
    """

    # Lines a NIM (uvicorn/vLLM) prints when it starts serving. Access-log lines are skipped:
    # they mention /v1/health/ready and would make every probe trigger the next one.
    READY_HINT = re.compile(
        r"application startup complete|uvicorn running on|nim is ready|ready to serve|serving on|listening on",
        re.IGNORECASE,
    )
    ACCESS_LOG = re.compile(r'"(GET|POST|HEAD|PUT|DELETE) /')
    # A `kill` event with one of these is a stop request (docker stop, nimctl down), not a crash.
    STOP_SIGNALS = {"15", "9", "2", "3", "SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT"}

    def __init__(self, client: docker.DockerClient, container_id: str):
        self._client = client
        self._id = container_id
        self._nudge = threading.Event()
        self._exit_code: int | None = None
        self._oom = False
        self._disturbance: str | None = None
        self._closed = False
        self._streams: list[Any] = []
        # Subscribed before the container starts (the request completes here), so no exit is missed.
        events = client.api.events(
            decode=True, filters={"container": container_id, "event": ["die", "oom", "kill", "destroy"]}
        )
        self._streams.append(events)
        threading.Thread(target=self._follow_events, args=(events,), daemon=True, name="nimctl-events").start()

    def follow_logs(self, since: float) -> None:
        """Follow the log lines written from `since` (epoch seconds) on, not the whole history."""
        logs = self._client.api.logs(self._id, stream=True, follow=True, since=since)
        self._streams.append(logs)
        threading.Thread(target=self._follow_logs, args=(logs,), daemon=True, name="nimctl-logs").start()

    def _follow_events(self, events: Iterator[dict]) -> None:
        # Closing the stream at the end of the wait ends this loop with an error: nothing to report.
        with contextlib.suppress(Exception):
            for event in events:
                action = event.get("Action") or event.get("status")
                attributes = event.get("Actor", {}).get("Attributes", {})
                if action == "oom":
                    self._oom = True
                elif action == "kill" and str(attributes.get("signal", "")).upper() in self.STOP_SIGNALS:
                    self._disturbance = STOPPED
                    self._nudge.set()  # at once: the NIM may take its time to stop
                elif action == "destroy":
                    self._disturbance = REMOVED
                    break
                elif action == "die":
                    code = attributes.get("exitCode")
                    self._exit_code = int(code) if code is not None else -1
                    break
        if not self._closed and self._exit_code is None and self._disturbance is None and not self._engine_answers():
            self._disturbance = ENGINE_GONE  # the stream ended because the engine did
        self._nudge.set()

    def _engine_answers(self) -> bool:
        try:
            self._client.api.ping()
        except Exception:  # noqa: BLE001 - whatever the failure, the engine is not there
            return False
        return True

    def _follow_logs(self, logs: Iterator[bytes]) -> None:
        buffer = b""
        with contextlib.suppress(Exception):  # closed under us at the end of the wait, as above
            for chunk in logs:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for raw in complete:
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if self.READY_HINT.search(line) and not self.ACCESS_LOG.search(line):
                        self._nudge.set()

    def wait(self, timeout: float) -> None:
        self._nudge.wait(timeout)
        self._nudge.clear()

    def exit_code(self) -> int | None:
        return self._exit_code

    def disturbance(self) -> str | None:
        return self._disturbance

    @property
    def oom_killed(self) -> bool:
        return self._oom

    def close(self) -> None:
        self._closed = True
        for stream in self._streams:
            with contextlib.suppress(Exception):  # already closed by the engine, or broken: either way done
                stream.close()
