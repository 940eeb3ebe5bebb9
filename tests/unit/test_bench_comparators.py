"""scripts/nimbench/comparators.py without Docker: the runbook loop against a local HTTP server,
and how the nimctl comparator reads `nimctl up --json` (a fake Bench hands it a finished run)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts.nimbench.comparators import WAITERS, Nimctl, runbook_loop
from scripts.nimbench.procs import CmdResult


def test_the_comparators_and_their_row_labels() -> None:
    assert [c.tool for c in WAITERS] == ["nimctl", "runbook-1s", "runbook-5s", "testcontainers"]


@pytest.fixture
def health_server():
    """/v1/health/ready answers 503 twice, then 200."""
    answers = [503, 503]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/health/ready"
    server.shutdown()
    server.server_close()


def test_runbook_loop_probes_until_the_first_200(health_server: str) -> None:
    before = time.time()
    t_ready, requests = runbook_loop(health_server, 0.01, time.monotonic() + 10, threading.Event())
    assert requests == 3
    assert t_ready is not None and before <= t_ready <= time.time()


def test_runbook_loop_gives_up_at_its_bound_with_one_probe_per_interval() -> None:
    url = "http://127.0.0.1:9/v1/health/ready"  # the discard port: nothing answers
    t_ready, requests = runbook_loop(url, 0.05, time.monotonic() + 0.2, threading.Event())
    assert t_ready is None
    assert 2 <= requests <= 6


class FakeBench:
    def __init__(self, result: CmdResult):
        self.result = result
        self.calls: list[tuple] = []

    def profile(self, **env: str) -> Path:
        return Path(f"/tmp/profile-{env['SIM_STARTUP_DELAY']}.toml")

    def nimctl_up(self, name: str, port: int, profile: Path, *extra: str, timeout: float) -> CmdResult:
        self.calls.append((name, port, profile, extra))
        return self.result


def up_result(returncode: int, stderr: list[tuple[float, str]], summary: dict | None) -> CmdResult:
    stdout = json.dumps(summary, indent=2) if summary is not None else ""
    return CmdResult(["nimctl", "up"], returncode, 3.5, 100.0, 103.5, stderr, stdout)


SUMMARY = {"name": "n1", "url": "http://127.0.0.1:8000", "state": "running", "ready": True, "action": "create"}


def test_nimctl_ready_is_the_instant_its_ready_line_arrived() -> None:
    stderr = [(101.0, "• n1: create (not there)"), (102.9, "• n1: ready"), (103.0, "ready n1: http://x/v1  model m")]
    bench = FakeBench(up_result(0, stderr, SUMMARY))
    outcome = Nimctl().start(bench, "n1", 8000, {"SIM_STARTUP_DELAY": "3", "SIM_CRASH_AFTER": "2"}, 60)
    assert outcome.t_ready == 103.0 and outcome.t_gave_up is None
    assert outcome.details["t_phase_ready"] == 102.9 and outcome.details["action"] == "create"
    assert outcome.details["url"] == "http://127.0.0.1:8000" and outcome.details["wall_s"] == 3.5
    # the start-up delay went into the profile, the rest onto the command line
    assert bench.calls == [("n1", 8000, Path("/tmp/profile-3.toml"), ("--no-smoke", "--env", "SIM_CRASH_AFTER=2"))]


def test_nimctl_summary_for_another_name_is_not_ready() -> None:
    stderr = [(103.0, "ready n1: http://x/v1  model m")]
    outcome = Nimctl().start(
        FakeBench(up_result(0, stderr, {**SUMMARY, "name": "other"})), "n1", 1, {"SIM_STARTUP_DELAY": "1"}, 60
    )
    assert outcome.t_ready is None and "other" in (outcome.why or "")


def test_nimctl_giving_up_is_its_error_line() -> None:
    stderr = [(101.0, "• n1: create"), (102.5, "error: the NIM exited with code 1"), (102.6, "hint: see its log")]
    outcome = Nimctl().start(FakeBench(up_result(6, stderr, None)), "n1", 1, {"SIM_STARTUP_DELAY": "60"}, 60)
    assert outcome.t_ready is None
    assert outcome.t_gave_up == 102.5
    assert outcome.why is not None and outcome.why.startswith("nimctl up exited 6: ")
