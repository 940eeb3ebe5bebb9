"""Issue 9.5: the log follower finds readiness hints in raw stream bytes, cheaply."""

from __future__ import annotations

import struct

from nimctl.engine.watch import HintScanner


def frame(line: str) -> bytes:
    """One docker log frame (stdout), as the engine multiplexes a non-TTY container's output."""
    data = line.encode()
    return struct.pack(">BxxxL", 1, len(data)) + data


def test_a_hint_in_a_framed_chunk_is_found_case_insensitively() -> None:
    scanner = HintScanner()
    chatter = b"".join(frame(f"INFO loading shard {i}\n") for i in range(200))
    assert scanner.feed(chatter) is False
    assert scanner.feed(frame("INFO 2026 api_server.py:1802] Application startup complete.\n")) is True


def test_a_hint_split_across_reads_is_found_once_its_line_ends() -> None:
    scanner = HintScanner()
    assert scanner.feed(b"INFO Uvicorn run") is False
    assert scanner.feed(b"ning on http://0.0.0.0:8000") is False  # the line is not complete yet
    assert scanner.feed(b" (Press CTRL+C to quit)\n") is True


def test_access_log_lines_never_count() -> None:
    scanner = HintScanner()
    access = b'INFO 127.0.0.1:5555 - "GET /v1/health/ready?note=nim+is+ready HTTP/1.1" 503\n'
    assert scanner.feed(access * 50) is False
    assert scanner.feed(access + b"INFO NIM is ready: ready_at_ms=1\n") is True


def test_an_endless_line_keeps_the_carry_bounded() -> None:
    scanner = HintScanner()
    for _ in range(100):
        scanner.feed(b"x" * 10_000)
    assert len(scanner._carry) <= 8192


def test_a_read_after_a_quiet_spell_is_followed_at_once() -> None:
    from nimctl.engine.watch import READ_SPACING, pause_before_next_read

    assert pause_before_next_read(READ_SPACING) == 0.0  # the data came after a wait: no flood
    assert pause_before_next_read(2.5) == 0.0


def test_reads_under_a_flood_are_spaced() -> None:
    from nimctl.engine.watch import pause_before_next_read

    assert pause_before_next_read(0.0, spacing=0.004) == 0.004  # data was already waiting
    assert abs(pause_before_next_read(0.001, spacing=0.004) - 0.003) < 1e-9
