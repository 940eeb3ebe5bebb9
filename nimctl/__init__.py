"""nimctl: launch, wait for, smoke-test and manage NVIDIA NIM containers.

`nimctl.up/down/status/smoke` are the Python API (nimctl/api.py); they load on first use so
`import nimctl` and `nimctl --help` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "down", "smoke", "status", "up"]

if TYPE_CHECKING:
    from nimctl.api import down, smoke, status, up


def __getattr__(name: str) -> Any:
    if name in ("up", "down", "status"):
        from nimctl import api

        return getattr(api, name)
    if name == "smoke":  # the subpackage, callable as the API's smoke (see nimctl/smoke/__init__.py)
        import nimctl.smoke

        return nimctl.smoke
    raise AttributeError(f"module 'nimctl' has no attribute {name!r}")
