"""Follows one container while `up` waits for it: its exit (engine events) and its log lines.

A thread per stream, so the readiness wait (readiness.py) reacts within milliseconds to a
crash or a "ready" log line without polling the health endpoint fast.
"""

from __future__ import annotations

import contextlib
import re
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from nimctl.readiness import ENGINE_GONE, REMOVED, STOPPED

# Lines a NIM (uvicorn/vLLM) prints when it starts serving, lower-case.
READY_HINTS = (
    b"application startup complete",
    b"uvicorn running on",
    b"nim is ready",
    b"ready to serve",
    b"serving on",
    b"listening on",
)
# Access-log lines never count: one naming a hint would make every probe trigger the next one.
ACCESS_LOG = re.compile(rb'"(get|post|head|put|delete) /')
CARRY_LIMIT = 8192  # bytes of an unfinished line kept for the next read
# The log reader blocks on the stream's socket and reads what is there as soon as something is.
# Under a flood (data already waiting when a read comes back at once) reads are spaced this far
# apart, so a NIM printing thousands of lines a second costs at most ~1/READ_SPACING wake-ups a
# second; after a quiet spell the next read follows at once, so a ready line is read without delay.
READ_SPACING = 0.004
READ_DEADLINE = 0.5  # the longest a read blocks before the reader looks whether the wait is over


def pause_before_next_read(waited: float, spacing: float = READ_SPACING) -> float:
    """Seconds to sleep before the next read, given how long the last read waited for its data.

    A read that waited at least `spacing` followed a quiet spell: the next one may come at once.
    One that came back sooner met data already waiting (a flood): the next read waits out the
    rest of `spacing`, and finds everything written meanwhile in one batch.
    """
    return 0.0 if waited >= spacing else spacing - waited


class HintScanner:
    """Finds a readiness hint in the raw log stream, bytes as the engine sends them.

    No decoding or splitting per line (a NIM may print thousands a second): each read is
    lower-cased and searched for the hints in C; only a hit's own line is looked at. The stream's
    framing (docker's 8-byte headers, HTTP chunk sizes) sits between lines and never holds a hint.
    """

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: bytes) -> bool:
        """True if a complete line in what arrived so far hints at readiness."""
        text = self._carry + data.lower()
        end = text.rfind(b"\n") + 1
        self._carry = text[end:][-CARRY_LIMIT:]
        complete = text[:end]
        for hint in READY_HINTS:
            at = complete.find(hint)
            while at != -1:
                line = complete[complete.rfind(b"\n", 0, at) + 1 : complete.find(b"\n", at)]
                if not ACCESS_LOG.search(line):
                    return True
                at = complete.find(hint, at + len(hint))
        return False


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


class Stream(Protocol):
    def close(self) -> None: ...


def interrupt(stream: Any) -> None:
    """End a stream from another thread at once: a local stream's shutdown, which its reader
    answers by closing it; a stream without one (docker-py's, on other transports) is closed."""
    end = getattr(stream, "interrupt", None) or stream.close
    end()


class EventSource(Protocol):
    """Where the signals come from: the engine (client.Engine, over its local socket or docker-py)."""

    def events(self, container_id: str) -> Any: ...  # a Stream that iterates over event dicts

    def follow_logs_since(self, container_id: str, since: float) -> Stream: ...

    def answers(self) -> bool: ...


class ContainerSignals:
    """Watches one container for the readiness wait: its exit (engine events) and its log lines.

    `wait(timeout)` returns early when something happens that is worth a probe right away
    (a log line hinting at readiness, or the container's exit), so the wait reacts within
    milliseconds without polling the health endpoint fast.
    """

    # A `kill` event with one of these is a stop request (docker stop, nimctl down), not a crash.
    STOP_SIGNALS = {"15", "9", "2", "3", "SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT"}

    def __init__(self, source: EventSource, container_id: str):
        self._source = source
        self._id = container_id
        self._nudge = threading.Event()
        self._exit_code: int | None = None
        self._oom = False
        self._disturbance: str | None = None
        self._closed = False
        self._streams: list[Any] = []
        # Subscribed before the container starts (the request completes here), so no exit is missed.
        # Only the container is filtered: podman answers an "event" filter of two values with nothing at all.
        events = source.events(container_id)
        self._streams.append(events)
        threading.Thread(target=self._follow_events, args=(events,), daemon=True, name="nimctl-events").start()

    def follow_logs(self, since: float) -> None:
        """Follow the log lines written from `since` (epoch seconds) on, not the whole history."""
        threading.Thread(target=self._follow_logs, args=(since,), daemon=True, name="nimctl-logs").start()

    def _follow_events(self, events: Any) -> None:
        # Ending the stream at the end of the wait ends this loop, maybe with an error: nothing to report.
        with contextlib.suppress(Exception), contextlib.closing(events):
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
                    # The first death during start-up is the failure, whatever the restart policy: the
                    # engine's restart after it (die, then start) is never waited for; `up` removes it.
                    code = attributes.get("exitCode")
                    self._exit_code = int(code) if code is not None else -1
                    self._nudge.set()
                    if self._disturbance is None:
                        break
                    # after a stop request, follow on: a removal (`nimctl down`) or the engine's own
                    # end (a shutdown stops its containers first) says who stopped it
        if not self._closed and self._disturbance in (None, STOPPED) and not self._engine_answers():
            self._disturbance = ENGINE_GONE  # the stream ended because the engine did
        self._nudge.set()

    def _engine_answers(self) -> bool:
        try:
            return self._source.answers()
        except Exception:  # noqa: BLE001 - whatever the failure, the engine is not there
            return False

    def _follow_logs(self, since: float) -> None:
        with contextlib.suppress(Exception):  # ended under us at the end of the wait, as above
            # asked in this thread: podman answers a follow request only once a new line is written
            logs = self._source.follow_logs_since(self._id, since)
            self._streams.append(logs)
            with contextlib.closing(logs):  # this thread closes it, however the loop ends
                self._read_logs(logs)

    def _read_logs(self, logs: Stream) -> None:
        scanner = HintScanner()
        read = _raw_reader(logs)
        while not self._closed:
            asked = time.monotonic()
            data = read()
            if data is None:
                continue  # nothing within READ_DEADLINE: look at _closed, then block again
            if not data:
                break  # the container stopped (its exit comes through the events)
            waited = time.monotonic() - asked
            if scanner.feed(data):
                self._nudge.set()
            pause = pause_before_next_read(waited)
            if pause:
                time.sleep(pause)

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
        """End the wait's streams; their reader threads close them (without `up` waiting on that)."""
        self._closed = True
        for stream in list(self._streams):
            with contextlib.suppress(Exception):  # already closed by the engine, or broken: either way done
                interrupt(stream)


def _raw_reader(logs: Any, deadline: float = READ_DEADLINE) -> Callable[[], bytes | None]:
    """Whatever bytes have arrived on the log stream, in one read (at most 64 KiB), unframed.

    The read blocks on the socket (select) for at most `deadline`: None when nothing came, b""
    at the stream's end. docker-py's iterator parses one frame (two socket reads) per log line;
    reading the response's buffered file directly costs one read per batch. Other transports (ssh)
    keep the iterator (a blocking read, ended by closing the stream).
    """
    try:
        # local_api's stream, or docker-py's: requests → urllib3 → http.client → BufferedReader
        buffered = logs.buffered if hasattr(logs, "buffered") else logs._response.raw._fp.fp
        read1 = buffered.read1
        sock = buffered.raw._sock
        sock.fileno()
    except AttributeError:
        frames = iter(logs)
        return lambda: next(frames, b"")
    first = True

    def read() -> bytes | None:
        nonlocal first
        # What parsing the response head left in the buffer is read first, without waiting. A
        # read1 of more than the buffer's size leaves it empty, so from then on the socket says
        # whether there is something to read.
        if not first and not select.select([sock], [], [], deadline)[0]:
            return None
        first = False
        return read1(65536)

    return read
