"""Shared test settings: a clean environment, so the machine's variables never leak in.

CONTAINER_NAME, for one, is set on some CI machines for their own purposes; nimctl honours it
(NVIDIA's docs use it), so tests that build settings must start from a known environment.
"""

from __future__ import annotations

import os

import pytest

from nimctl.env_names import is_settings_variable


@pytest.fixture(autouse=True)
def _clean_nimctl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if is_settings_variable(name):
            monkeypatch.delenv(name, raising=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
