"""stream_lines: the log stream's chunks → lines, shared by the readiness watcher and run_oneoff."""

from __future__ import annotations

from nimctl.engine.watch import stream_lines


def test_chunks_split_mid_line_and_holding_several_lines() -> None:
    chunks = [b"MODEL PRO", b"FILES\r\n- Compatible:\n  - abc", b" (x)\n", b"tail without newline"]
    assert list(stream_lines(iter(chunks))) == [
        "MODEL PROFILES",
        "- Compatible:",
        "  - abc (x)",
        "tail without newline",
    ]


def test_bad_bytes_are_replaced_not_fatal() -> None:
    assert list(stream_lines(iter([b"ok \xff\n"]))) == ["ok \ufffd"]
