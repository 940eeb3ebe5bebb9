from __future__ import annotations

import io

from rich.console import Console

from nimctl.errors import (
    ImageNotFound,
    PullError,
    RegistryAuthError,
    TransientPullError,
)
from nimctl.pull import LayerBoard, PullDisplay, classify_registry_error

RECORDED = [
    {"status": "Pulling from nim/sim", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 100, "total": 1000}, "id": "aaa"},
    {"status": "Downloading", "progressDetail": {"current": 50, "total": -1}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 70}, "id": "bbb"},
    {"status": "Download complete", "progressDetail": {}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa"},
    {"status": "Already exists", "progressDetail": {}, "id": "ccc"},
    {"status": "Digest: sha256:0123"},
    {"status": "Status: Downloaded newer image for 127.0.0.1:5000/nim/sim:latest"},
]


def test_board_folds_a_recorded_pull() -> None:
    board = LayerBoard()
    for event in RECORDED:
        board.apply(event)
    assert board.layers["aaa"].total == 1000 and board.layers["aaa"].current == 1000
    assert board.layers["bbb"].total is None and board.layers["bbb"].current == 70  # -1 / missing totals
    assert board.finished_layers == 2
    assert any(message.startswith("Digest:") for message in board.messages)


def test_classify_registry_errors() -> None:
    auth = classify_registry_error("Get http://127.0.0.1:5000/v2/: unauthorized: authentication required", "img")
    assert isinstance(auth, RegistryAuthError) and "rejected the NGC key" in auth.message
    assert isinstance(
        classify_registry_error("manifest for 127.0.0.1:5000/x:nope not found: manifest unknown", "x:nope"),
        ImageNotFound,
    )
    assert isinstance(
        classify_registry_error("repository 127.0.0.1:5000/nope not found: name unknown", "nope"), ImageNotFound
    )
    assert isinstance(
        classify_registry_error("received unexpected HTTP status: 503 Service Unavailable", "x"), TransientPullError
    )
    assert isinstance(classify_registry_error("read: connection reset by peer", "x"), TransientPullError)
    other = classify_registry_error("invalid reference format", "x")
    assert type(other) is PullError


def show_pull(image: str, events: list[dict], *, terminal: bool) -> tuple[PullDisplay, str]:
    """Run a PullDisplay over `events` into a string, as a terminal or as a log."""
    sink = io.StringIO()
    with PullDisplay(Console(file=sink, width=120, force_terminal=terminal), image) as display:
        for event in events:
            display(event)
    return display, sink.getvalue()


def test_display_survives_events_without_totals() -> None:
    no_total = {"status": "Extracting", "progressDetail": {"current": 10, "total": 0}, "id": "ddd"}
    display, text = show_pull("127.0.0.1:5000/nim/sim:1", [*RECORDED, no_total], terminal=False)
    assert "pulling 127.0.0.1:5000/nim/sim:1" in text
    assert "aaa" in text and "bbb" in text and "ddd" in text
    assert display.board.layers["ddd"].total is None
    # not a terminal: one line per status change, not one per progress event
    assert text.count("bbb Downloading") == 1
    assert "aaa Pull complete" in text
    assert "pulled 127.0.0.1:5000/nim/sim:1: 2 of 4 layers done" in text


def test_live_display_on_a_terminal() -> None:
    _, text = show_pull("img:1", RECORDED, terminal=True)
    assert "aaa" in text and "Pull complete" in text
    assert "pulled img:1: 2 of 3 layers done" in text
