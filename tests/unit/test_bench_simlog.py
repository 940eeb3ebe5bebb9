"""scripts/nimbench/simlog.py: the facts the benchmark reads from the simulator's log."""

from __future__ import annotations

from datetime import UTC, datetime

from scripts.nimbench.simlog import docker_time, finished_at, health_requests, live_at, ready_at

LOG = """\
2026-12-01T02:00:00.123456789Z INFO api_server.py:1750 Uvicorn running on http://0.0.0.0:8000
2026-12-01T02:00:00.2Z INFO h11_impl.py 172.17.0.1:5 - "GET /v1/health/ready HTTP/1.1" 503
2026-12-01T02:00:01.2Z INFO h11_impl.py 172.17.0.1:5 - "GET /v1/health/ready HTTP/1.1" 503
2026-12-01T02:00:02.0Z INFO api_server.py:1810 NIM is ready: ready_at_ms=1796090402000
2026-12-01T02:00:02.2Z INFO h11_impl.py 172.17.0.1:5 - "GET /v1/health/ready HTTP/1.1" 200
2026-12-01T02:00:03.2Z INFO h11_impl.py 172.17.0.1:5 - "GET /v1/health/ready HTTP/1.1" 200
"""


def test_ready_at_is_the_simulators_own_instant() -> None:
    assert ready_at(LOG) == 1796090402.0
    assert ready_at("NIM is ready: ready_at_ms=1796090402000.417") == 1796090402.000417  # to the microsecond
    assert ready_at("no such line") is None


def test_health_requests_count_up_to_the_first_200() -> None:
    assert health_requests(LOG) == (2, 3)
    assert health_requests("") == (0, 0)


def test_live_at_is_dockers_stamp_of_the_server_line() -> None:
    expected = datetime(2026, 12, 1, 2, 0, 0, 123456, tzinfo=UTC).timestamp()
    assert live_at(LOG) == expected


def test_docker_time_drops_nanoseconds_and_the_zero_time() -> None:
    assert (
        docker_time("2026-12-01T02:00:00.123456789Z") == datetime(2026, 12, 1, 2, 0, 0, 123456, tzinfo=UTC).timestamp()
    )
    assert docker_time("0001-01-01T00:00:00Z") is None
    assert finished_at({"State": {"FinishedAt": "0001-01-01T00:00:00Z"}}) is None
    assert finished_at(None) is None
