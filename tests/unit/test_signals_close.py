"""ContainerSignals.close ends the wait's streams without waiting on their readers: it interrupts
each (a local stream's socket shutdown) and the reader thread closes what it read from."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from nimctl.engine.watch import ContainerSignals


class BlockingStream:
    """A stream whose read blocks until it is interrupted, like a followed log on a quiet socket."""

    def __init__(self) -> None:
        self.ended = threading.Event()
        self.closed = threading.Event()
        self.closed_by: str | None = None

    def interrupt(self) -> None:
        self.ended.set()

    def close(self) -> None:
        self.closed_by = threading.current_thread().name
        self.ended.set()
        self.closed.set()

    def __iter__(self) -> Iterator[dict]:  # the log reader's too, when there is no socket to select on
        self.ended.wait()
        yield from ()


class Source:
    def __init__(self) -> None:
        self.event_stream = BlockingStream()
        self.log_stream = BlockingStream()
        self.asked_for_logs = threading.Event()

    def events(self, container_id: str) -> BlockingStream:
        return self.event_stream

    def follow_logs_since(self, container_id: str, since: float) -> BlockingStream:
        self.asked_for_logs.set()
        return self.log_stream

    def answers(self) -> bool:
        return True


def test_close_interrupts_and_each_reader_closes_its_own_stream() -> None:
    source = Source()
    signals = ContainerSignals(source, "c1")
    signals.follow_logs(0.0)
    assert source.asked_for_logs.wait(5)
    signals.close()
    assert source.event_stream.closed.wait(5) and source.log_stream.closed.wait(5)
    assert source.event_stream.closed_by == "nimctl-events"
    assert source.log_stream.closed_by == "nimctl-logs"
    assert signals.disturbance() is None  # our own close is not the engine going away


def test_a_log_stream_that_answers_after_the_close_is_closed_too() -> None:
    source = Source()
    release = threading.Event()
    asked = source.follow_logs_since

    def late(container_id: str, since: float) -> BlockingStream:
        release.wait(5)  # podman answers a follow request only at the container's next line
        return asked(container_id, since)

    source.follow_logs_since = late  # type: ignore[method-assign]
    signals = ContainerSignals(source, "c1")
    signals.follow_logs(0.0)
    signals.close()
    release.set()
    assert source.log_stream.closed.wait(5)
