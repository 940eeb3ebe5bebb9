"""The NIM image's utility commands, as `docker run IMAGE <command>` runs them:
`list-model-profiles` and `download-to-cache [--profiles ID|NAME ...] [--all]`.

Each returns the process exit code; output goes to stdout, errors to stderr (NIM-shaped lines).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import profiles
from .checks import check_cache_writable
from .config import SimConfig
from .logs import SimLog
from .model_source import check_model_source


def list_model_profiles(cfg: SimConfig, argv: list[str], log: SimLog) -> int:
    # a NIM interleaves its own log lines with the listing
    log.info("profile_utils.py:879", f"Detected {profiles.gpu_count(cfg)} GPU(s) from NVIDIA_VISIBLE_DEVICES")
    for line in profiles.listing_lines(cfg):
        print(line, flush=True)
    return 0


def _wanted(cfg: SimConfig, args: argparse.Namespace, errors: SimLog) -> list[profiles.SimProfile] | None:
    if args.all:
        return list(profiles.MANIFEST)
    if args.profiles:
        found = [profiles.find(cfg, name) for name in args.profiles]
        missing = [name for name, profile in zip(args.profiles, found) if profile is None]
        if missing:
            errors.error("download_to_cache.py:61", f"Profile {missing[0]} is not in the model manifest")
            return None
        return [profile for profile in found if profile is not None]
    selected = profiles.select(cfg)
    if selected is None:
        errors.error("actions.py:120", profiles.no_match_line(cfg.model_profile or "<automatic>"))
        return None
    return [selected]


def _download(cfg: SimConfig, profile: profiles.SimProfile, log: SimLog) -> None:
    target = profiles.snapshot_dir(cfg, profile)
    os.makedirs(target, exist_ok=True)
    total = len(profiles.MODEL_FILES)
    for number, name in enumerate(profiles.MODEL_FILES, start=1):
        time.sleep(cfg.download_delay)
        data = profiles.file_bytes(profile, name)
        with open(os.path.join(target, name), "wb") as out:
            out.write(data)
        log.info(
            "ngc_injector.py:188", f"Downloaded {name} ({len(data)} bytes) [{number}/{total}, {100 * number // total}%]"
        )
    with open(os.path.join(target, profiles.COMPLETE_MARKER), "w") as marker:
        marker.write(profile.id(cfg.served_model_name) + "\n")


def download_to_cache(cfg: SimConfig, argv: list[str], log: SimLog) -> int:
    parser = argparse.ArgumentParser(prog="download-to-cache")
    parser.add_argument("--profiles", "-p", nargs="+", default=[])
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    errors = SimLog(sys.stderr)
    wanted = _wanted(cfg, args, errors)
    if wanted is None:
        return 1
    problem = check_cache_writable(cfg)
    if problem:
        errors.error("download_to_cache.py:70", f"PermissionError: {problem}")
        return 1
    if cfg.model_free:  # the model source decides which key it needs (HF_TOKEN, NGC_API_KEY, none)
        source_problem = check_model_source(cfg)
        if source_problem is not None:
            for line in source_problem.lines:
                errors.error(source_problem.origin, line)
            return 1
    missing = [profile for profile in wanted if not profiles.is_cached(cfg, profile)]
    if missing and not (cfg.ngc_api_key.strip() or cfg.keyless or cfg.model_free):
        errors.error("ngc_injector.py:201", "Model download failed: 401 Unauthorized: NGC_API_KEY is not set")
        return 1
    model = cfg.served_model_name
    for profile in wanted:
        if profile not in missing:
            log.info("ngc_injector.py:170", f"Profile {profile.id(model)} ({profile.name}) is already in the cache")
            continue
        log.info("ngc_injector.py:147", f"Downloading profile {profile.id(model)} ({profile.name}) to {cfg.cache_path}")
        _download(cfg, profile, log)
    log.info("download_to_cache.py:90", f"Model files of {len(wanted)} profile(s) are in {cfg.cache_path}")
    return 0


COMMANDS = {"list-model-profiles": list_model_profiles, "download-to-cache": download_to_cache}


def run_command(cfg: SimConfig, argv: list[str]) -> int | None:
    """Run `argv` if it names a utility command; None when it does not (then the server starts)."""
    if not argv:
        return None
    if argv[0] in COMMANDS:
        return COMMANDS[argv[0]](cfg, argv[1:], SimLog(sys.stdout))
    SimLog(sys.stderr).error("nim_cli.py:40", f"unknown command {argv[0]!r}: list-model-profiles, download-to-cache")
    return 2
