"""docker-py, imported without its SSH transport until an ssh:// engine needs it.

`import docker` loads docker-py's ssh transport, and with it paramiko (~70 ms), whenever paramiko
is installed; every nimctl command would pay that, though only ssh:// engines use it. So the first
import here keeps paramiko out (for that one import only, leaving anyone else's imports alone),
and `enable_ssh()` loads the transport on the first ssh:// connect.
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any


class _ParamikoLater(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "paramiko" or name.startswith("paramiko."):
            raise ImportError(f"{name}: loaded only for ssh:// engines (nimctl.engine.docker_shims.enable_ssh)")
        return None


def _import_docker() -> Any:
    deferring = "docker" not in sys.modules and "paramiko" not in sys.modules
    finder = _ParamikoLater()
    if deferring:
        sys.meta_path.insert(0, finder)
    try:
        import docker
        import docker.errors
        import docker.types
    finally:
        if deferring:
            sys.meta_path.remove(finder)
    return docker


docker = _import_docker()


def enable_ssh() -> None:
    """docker-py's ssh:// transport (paramiko), if the import above left it out."""
    import docker.api.client
    import docker.transport

    if getattr(docker.transport, "SSHHTTPAdapter", None) is not None:
        return
    from docker.transport.sshconn import SSHHTTPAdapter

    docker.transport.SSHHTTPAdapter = SSHHTTPAdapter
    docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter  # the name APIClient looks up for ssh:// URLs
