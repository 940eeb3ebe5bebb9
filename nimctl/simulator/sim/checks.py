"""The container's start-up checks: what a NIM refuses to start without (key, writable cache, shared
memory, a GPU). Each returns a one-line problem or None; in-process simulators skip them."""

from __future__ import annotations

import os
import tempfile

from . import profiles
from .config import SimConfig


def check_api_key(cfg: SimConfig) -> str | None:
    """The key is needed to download the model; with the model in the cache it starts offline.

    A keyless release (SIM_KEYLESS, from 2.0.10 on) starts without it, and a model-free simulator
    asks for keys by its model source instead (model_source.check_model_source)."""
    if cfg.keyless or cfg.model_free:
        return None
    selected = profiles.select(cfg)
    if not cfg.ngc_api_key.strip() and not (selected and profiles.is_cached(cfg, selected)):
        return "NGC_API_KEY is not set: the NIM needs it to download the model (docker run -e NGC_API_KEY=...)"
    return None


def check_cache_writable(cfg: SimConfig) -> str | None:
    """Create and delete one probe file; nothing else in the cache is touched."""
    path = cfg.cache_path
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".nim-write-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return f"cache directory {path} is not writable by uid {os.getuid()}: {err.strerror or err}"
    return None


def check_shm(cfg: SimConfig, shm_path: str = "/dev/shm") -> str | None:
    try:
        stats = os.statvfs(shm_path)
        size = stats.f_frsize * stats.f_blocks
    except OSError:
        size = 0
    if size < cfg.shm_min_bytes:
        return (
            f"shared memory {shm_path} is {size / 2**20:.0f} MiB, at least {cfg.shm_min_bytes / 2**20:.0f} MiB "
            "is needed (docker run --shm-size)"
        )
    return None


def check_gpu(cfg: SimConfig) -> str | None:
    devices = (cfg.nvidia_visible_devices or "").strip()
    if not devices or devices == "void":
        return "no GPU is visible: NVIDIA_VISIBLE_DEVICES is not set (run with --gpus all / a GPU device request)"
    return None


def first_startup_problem(cfg: SimConfig, shm_path: str = "/dev/shm") -> str | None:
    for check in (check_api_key, check_cache_writable, lambda c: check_shm(c, shm_path), check_gpu):
        problem = check(cfg)
        if problem:
            return problem
    return None
