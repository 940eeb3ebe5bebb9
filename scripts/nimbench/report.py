"""What the JSON report records besides the samples: the machine, its load, the git revision."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from typing import Any

from scripts.nimbench.context import REPO, Bench


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    info: dict[str, Any] = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        import docker

        info["docker_engine"] = docker.from_env().version().get("Version")
    except Exception as exc:  # noqa: BLE001
        info["docker_engine"] = f"unknown ({exc})"
    for package in ("nimctl", "testcontainers", "docker"):
        try:
            info[package] = pkg_version(package)
        except PackageNotFoundError:  # a missing version is not worth failing for
            pass
    return info


def load(bench: Bench) -> dict[str, Any]:
    """Noise indicators: load average and the containers of other users running right now."""
    try:
        names = [c["Names"][0].lstrip("/") for c in bench.client.api.containers(filters={"status": "running"})]
        others = [name for name in names if not name.startswith(bench.name_prefix)]
    except Exception:  # noqa: BLE001
        others = []
    return {"loadavg": os.getloadavg(), "foreign_running_containers": others, "at": time.time()}


def git_revision() -> str | None:
    """HEAD, marked dirty when nimctl/ (what is measured) has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], check=False, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--", "nimctl")
        return git("rev-parse", "HEAD") + ("-dirty(nimctl/)" if dirty else "")
    except Exception:  # noqa: BLE001
        return None
