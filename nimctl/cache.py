"""What the host model cache holds (`nimctl cache ls`): read-only, it never changes a file.

NIM images download into `<cache>/ngc/hub/models--<org>--<model>/` (one directory per model,
its `snapshots/` naming what was fetched); anything else at the top level is listed as it is.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HUB = Path("ngc") / "hub"
MODEL_PREFIX = "models--"


@dataclass
class CacheEntry:
    name: str
    path: str
    bytes: int
    files: int
    snapshots: list[str] = field(default_factory=list)


@dataclass
class CacheListing:
    path: str
    exists: bool
    total_bytes: int = 0
    unreadable: int = 0  # directories this user may not read (the NIM's uid owns them)
    entries: list[CacheEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _size(path: Path) -> tuple[int, int, int]:
    """(bytes, files, unreadable dirs) under `path`, symlinks not followed (hub snapshots link to blobs)."""
    if path.is_file() or path.is_symlink():
        return (0 if path.is_symlink() else path.stat().st_size), 1, 0
    total = files = 0
    unreadable: list[OSError] = []
    for root, _dirs, names in os.walk(path, onerror=unreadable.append):
        for name in names:
            file = Path(root) / name
            if not file.is_symlink():
                try:
                    total += file.stat().st_size
                except OSError:
                    continue
            files += 1
    return total, files, len(unreadable)


def _entry(name: str, path: Path, listing: CacheListing) -> CacheEntry:
    size, files, unreadable = _size(path)
    listing.total_bytes += size
    listing.unreadable += unreadable
    snapshots = sorted(p.name for p in (path / "snapshots").iterdir()) if (path / "snapshots").is_dir() else []
    return CacheEntry(name=name, path=str(path), bytes=size, files=files, snapshots=snapshots)


def list_cache(cache_dir: Path) -> CacheListing:
    listing = CacheListing(path=str(cache_dir), exists=cache_dir.is_dir())
    if not listing.exists:
        return listing
    hub = cache_dir / HUB
    models = sorted(hub.glob(MODEL_PREFIX + "*")) if hub.is_dir() else []
    for model in models:
        name = model.name.removeprefix(MODEL_PREFIX).replace("--", "/")
        listing.entries.append(_entry(name, model, listing))
    # Everything else, by its path from the cache dir: the hub's other entries, ngc's, the top level's.
    others = [p for p in sorted(hub.iterdir()) if p not in models] if models else []
    if models:
        others += [p for p in sorted(hub.parent.iterdir()) if p != hub]
    others += [p for p in sorted(cache_dir.iterdir()) if not (models and p == hub.parent)]
    for other in others:
        listing.entries.append(_entry(str(other.relative_to(cache_dir)), other, listing))
    return listing


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
