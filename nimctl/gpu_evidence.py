"""The GPU check's evidence, kept between runs so a fresh `up` does not start a throwaway
`nvidia-smi -L` container (~0.6 s) every time.

Evidence is one passed probe, stored with what it depends on: the engine (its URL and the ID its
`info()` reports), the image id the probe ran in, and the GPU request (normalized, with the
runtime). It is used only when all of them match exactly; otherwise the check probes again and the
engine's entry is replaced (a pass) or dropped (anything else). A failed probe is never stored.
An engine without an ID (nothing to tell it from another) gets no evidence at all.

The file is `$XDG_CACHE_HOME/nimctl/gpu-evidence.json` (default `~/.cache/nimctl/...`), one entry
per engine. A file that cannot be read or written is no evidence, never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE_NAME = "gpu-evidence.json"
VERSION = 1


@dataclass(frozen=True)
class EvidenceKey:
    """What a probe's verdict depends on; evidence counts only for an identical key."""

    engine_url: str
    engine_id: str
    image_id: str
    gpus: str  # GpuRequest.normalized
    runtime: str  # "" for the engine's default

    @property
    def engine(self) -> str:
        """The entry's name in the file: one entry per engine."""
        return f"{self.engine_url} {self.engine_id}"


def make_key(engine_url: str | None, engine_id: str | None, image_id: str | None, gpus: str, runtime: str | None):
    """The key, or None when something that tells engines or images apart is missing (then: no evidence)."""
    if not engine_url or not engine_id or not image_id:
        return None
    return EvidenceKey(engine_url, engine_id, image_id, gpus.strip().lower(), (runtime or "").strip())


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "nimctl" / FILE_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("engines"), dict):
        return {}
    return data["engines"]


def _write(path: Path, engines: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # no cache dir to write to: the next run just probes again
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gpu-evidence-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"version": VERSION, "engines": engines}, handle, indent=1, sort_keys=True)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise


def lookup(key: EvidenceKey | None, path: Path | None = None) -> str | None:
    """The stored detail of a passed probe for exactly this key, else None."""
    if key is None:
        return None
    entry = _read(path or default_path()).get(key.engine)
    if not isinstance(entry, dict) or entry.get("key") != asdict(key) or not isinstance(entry.get("detail"), str):
        return None
    return entry["detail"]


def record(key: EvidenceKey | None, passed: bool, detail: str, path: Path | None = None) -> None:
    """After a probe: keep a pass for this key; anything else drops the engine's entry."""
    if key is None:
        return
    path = path or default_path()
    engines = _read(path)
    if passed:
        engines[key.engine] = {"key": asdict(key), "detail": detail}
    elif key.engine in engines:
        del engines[key.engine]
    else:
        return
    _write(path, engines)


def engine_url(engine: Any) -> str | None:
    """Where the engine is reached: the connection's choice (when it says), else docker-py's base URL
    (with the socket path for a unix socket, whose base URL is always http+docker://localhost)."""
    choice = getattr(engine, "choice", None)
    if getattr(choice, "url", None):
        return str(choice.url)
    api = getattr(engine, "api", None)
    base = getattr(api, "base_url", None)
    if not base:
        return None
    socket_path = getattr(getattr(api, "_custom_adapter", None), "socket_path", None)
    return f"{base}{socket_path}" if socket_path and "localhost" in base else str(base)
