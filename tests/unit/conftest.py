"""Fixtures the unit modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.test_readiness import HealthServer


@pytest.fixture
def ready_nim() -> Iterator[HealthServer]:
    """A local health endpoint that answers ready (a running NIM, as far as `up` can tell)."""
    server = HealthServer()
    server.ready = True
    yield server
    server.server.shutdown()
