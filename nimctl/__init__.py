"""nimctl: launch, wait for, smoke-test and manage NVIDIA NIM containers.

`nimctl.up/down/status/smoke/reach` are the Python API (nimctl/api.py); they load on first use so
`import nimctl` and `nimctl --help` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nimctl.version import __version__

__all__ = ["__version__", "down", "reach", "smoke", "status", "up"]

if TYPE_CHECKING:
    from nimctl.api import down, reach, smoke, status, up

API_FUNCTIONS = ("up", "down", "status", "smoke", "reach")


def __getattr__(name: str) -> Any:
    if name in API_FUNCTIONS:
        from nimctl import api

        return getattr(api, name)
    raise AttributeError(f"module 'nimctl' has no attribute {name!r}")
