"""The docker CLI's own configuration: where it lives and which context is current.

Stdlib only, below the settings, so the settings (is the engine's host this machine?) and the
engine layer (which engine to connect to) read it the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from nimctl.errors import ConfigError


def docker_config_dir(environ: Mapping[str, str]) -> Path:
    """$DOCKER_CONFIG, else ~/.docker (HOME as the environment says, as the docker CLI reads it)."""
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"]).expanduser()
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker"


def current_context(config_dir: Path) -> str | None:
    """config.json's "currentContext", if any (an unreadable config is a ConfigError: the CLI refuses it too)."""
    path = config_dir / "config.json"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the docker config {path}: {exc.strerror}", hint="check DOCKER_CONFIG") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ConfigError(f"the docker config {path} is not valid JSON: {exc}", hint="fix or move the file") from None
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name or None
