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

if TYPE_CHECKING:
    import docker


def stream_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """A log stream's lines: a chunk may hold several lines or end mid-line."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace").rstrip("\r")


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

    def __init__(self, client: docker.DockerClient, container_id: str):
        self._client = client
        self._id = container_id
        self._nudge = threading.Event()
        self._exit_code: int | None = None
        self._oom = False
        self._streams: list[Any] = []
        self._closed = False
        # Subscribed before the container starts (the request completes here), so no exit is missed.
        # Only the container is filtered: podman answers an "event" filter of two values with nothing at all.
        events = client.api.events(decode=True, filters={"container": container_id})
        self._streams.append(events)
        threading.Thread(target=self._follow_events, args=(events,), daemon=True, name="nimctl-events").start()

    def follow_logs(self, since: float) -> None:
        """Follow the log lines written from `since` (epoch seconds) on, not the whole history."""
        threading.Thread(target=self._follow_logs, args=(since,), daemon=True, name="nimctl-logs").start()

    def _follow_events(self, events: Iterator[dict]) -> None:
        # Closing the stream at the end of the wait ends this loop with an error: nothing to report.
        with contextlib.suppress(Exception):
            for event in events:
                action = event.get("Action") or event.get("status")
                if action == "oom":
                    self._oom = True
                elif action == "die":
                    code = event.get("Actor", {}).get("Attributes", {}).get("exitCode")
                    self._exit_code = int(code) if code is not None else -1
                    break
        self._nudge.set()

    def _follow_logs(self, since: float) -> None:
        with contextlib.suppress(Exception):  # closed under us at the end of the wait, as above
            # asked in this thread: podman answers a follow request only once a new line is written
            logs = self._client.api.logs(self._id, stream=True, follow=True, since=since)
            self._streams.append(logs)
            if self._closed:
                logs.close()
                return
            for line in stream_lines(logs):
                if self.READY_HINT.search(line) and not self.ACCESS_LOG.search(line):
                    self._nudge.set()

    def wait(self, timeout: float) -> None:
        self._nudge.wait(timeout)
        self._nudge.clear()

    def exit_code(self) -> int | None:
        return self._exit_code

    @property
    def oom_killed(self) -> bool:
        return self._oom

    def close(self) -> None:
        self._closed = True
        for stream in list(self._streams):
            with contextlib.suppress(Exception):  # already closed by the engine, or broken: either way done
                stream.close()
