"""The engine layer: the only package that imports docker-py.

client.py (`Engine`), kind.py (which engine, how it takes GPUs), errors.py (docker-py's
exceptions → nimctl's), watch.py (the follower of a starting container), tunnel.py (the SSH
tunnel to a remote NIM), choice.py (which engine: `choose_engine`, as the docker CLI
chooses), simulator_build.py (the simulator image), docker_shims.py (docker-py imported, and its private corners),
port.py (`EnginePort`, the seam deploy/preflight use).

The names that need docker-py load it on first use, so importing the pure parts stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nimctl.engine.choice import EngineChoice, choose_engine
from nimctl.engine.kind import EngineKind, GpuMethod, cdi_devices
from nimctl.engine.port import ContainerWatch, EnginePort

if TYPE_CHECKING:
    from nimctl.engine.client import Engine, connect
    from nimctl.engine.errors import engine_errors

_LAZY = {"Engine": "nimctl.engine.client", "connect": "nimctl.engine.client", "engine_errors": "nimctl.engine.errors"}

__all__ = [
    "ContainerWatch",
    "Engine",
    "EngineChoice",
    "EngineKind",
    "EnginePort",
    "GpuMethod",
    "cdi_devices",
    "choose_engine",
    "connect",
    "engine_errors",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nimctl.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
