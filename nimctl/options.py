"""The setting options, declared once: the CLI's flags, the Python API's keywords and the pytest
plugin's ini options are all drawn from `SETTING_OPTIONS`.

Standard library only (`nimctl --help` reads it without loading pydantic). Each entry names the
setting (a `Settings` field, or `profile`), the flags, the environment variables (from
`nimctl.env_names`), the help text, the value type the CLI reads and the one the API takes. The
order of the merge is `load_settings`': flag > environment > profile > default.

    settings_flags({"name": "n1", "max_images": 3})   # {"container_name": "n1", "max_images_per_prompt": 3}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nimctl.env_names import ENV_PREFIX, NVIDIA_ENV_NAMES
from nimctl.errors import ConfigError

PROFILE = "profile"  # not a Settings field: it picks the profile file the settings load from


def parse_env_pairs(pairs: Iterable[str] | None) -> dict[str, str] | None:
    """`--env KEY=VALUE` (repeatable) to a dict; a mapping is taken as it is."""
    if pairs is None:
        return None
    if isinstance(pairs, Mapping):
        return {str(key): str(value) for key, value in pairs.items()}
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env {pair!r} is not KEY=VALUE", hint="example: --env NIM_LOG_LEVEL=DEBUG")
        result[key] = value
    return result or None


@dataclass(frozen=True)
class SettingOption:
    """One setting as an option: `name` is the CLI parameter and the API keyword."""

    name: str
    setting: str  # the Settings field it sets (or "profile")
    flags: tuple[str, ...]  # long flag first, then the short one if any
    help: str
    cli_type: Any  # what typer reads (before None: every setting option defaults to "not given")
    api_type: Any  # what the Python API takes
    metavar: str | None = None
    multiple: bool = False  # repeatable flag (--env)
    to_setting: Callable[[Any], Any] | None = None  # CLI/API value -> the setting's value

    @property
    def env(self) -> tuple[str, ...]:
        """The environment variables that set it, NVIDIA's name first as users know it."""
        if self.setting == PROFILE:
            return (ENV_PREFIX + "PROFILE",)
        return (*NVIDIA_ENV_NAMES.get(self.setting, ()), ENV_PREFIX + self.setting.upper())

    @property
    def ini_name(self) -> str:
        """The pytest plugin's ini option (`nim_<name>` in pytest.ini / [tool.pytest.ini_options])."""
        return "nim_" + self.name

    def env_help(self) -> str:
        return f"[env: {', '.join(self.env)}]"


def _option(
    name: str,
    help: str,  # noqa: A002 - the field is the help text
    cli_type: Any = str,
    api_type: Any = None,
    *,
    setting: str | None = None,
    short: str | None = None,
    flag: str | None = None,
    **more: Any,
) -> SettingOption:
    long_flag = flag or "--" + name.replace("_", "-")
    flags = (long_flag, short) if short else (long_flag,)
    return SettingOption(
        name=name,
        setting=setting or name,
        flags=flags,
        help=help,
        cli_type=cli_type,
        api_type=cli_type if api_type is None else api_type,
        **more,
    )


SETTING_OPTIONS: dict[str, SettingOption] = {
    option.name: option
    for option in (
        _option(PROFILE, "Profile name from configs/ or a path to a TOML file.", short="-p", metavar="NAME|PATH"),
        _option("name", "Container name.", setting="container_name", short="-n"),
        _option("image", "Whole image reference."),
        _option("port", "Host port the NIM is published on, or auto (a free one).", str, int | Literal["auto"]),
        _option("host", "Host address to publish on; 127.0.0.1 by default since a NIM has no auth."),
        _option("gpus", "all | N (the first N) | device=1 | device=0,2 | id,id | none."),
        _option(
            "share_gpus",
            "Start even if another nimctl container holds one of these GPUs.",
            bool,
            flag="--share-gpus/--no-share-gpus",
        ),
        _option("runtime", "Container runtime ('' for the engine's default)."),
        _option("shm_size", "Shared memory, e.g. 32GB."),
        # str, not Path: typer turns "" into "." for a Path; the settings refuse ""
        _option("cache_dir", "Host model cache (never deleted).", str, str | Path),
        _option("max_images", "NIM_MAX_IMAGES_PER_PROMPT for the NIM.", int, setting="max_images_per_prompt"),
        _option(
            "env",
            "Extra container env KEY=VALUE (repeatable).",
            list[str],
            Mapping[str, str],
            short="-e",
            multiple=True,
            to_setting=parse_env_pairs,
        ),
        _option("pull", "always | missing | never.", str, Literal["always", "missing", "never"]),
        _option("user", "uid:gid for the container (default: yours)."),
        _option("model_profile", "NIM_MODEL_PROFILE for the NIM: a profile id or name from `nimctl profiles`."),
        _option(
            "model_path",
            "Model source for a model-free NIM: hf://org/model, ngc://org/model[:version], or a local "
            "directory with config.json (mounted read-only).",
            metavar="SOURCE",
        ),
        _option("served_model_name", "The model id the NIM serves (default: derived from the model source)."),
        _option(
            "engine_url",
            "Engine API: unix:///run/podman/podman.sock (Podman), ssh://user@host (remote); "
            "default DOCKER_HOST, else the local Docker socket.",
        ),
        _option("timeout", "Seconds to wait for readiness (default 1800: a first start downloads ~100 GB).", float),
        _option(
            "smoke",
            "Smoke suite once ready: quick | full (alias all) | none.",
            str,
            Literal["quick", "full", "all", "none"],
        ),
        _option(
            "restart",
            "Restart policy: no | on-failure[:N] | unless-stopped | always (default no; see docs/runbook.md).",
            metavar="POLICY",
        ),
    )
}

# Which setting options each command (and its API function) takes. Every command that talks to an
# engine takes profile and engine_url: the engine may be chosen in either.
ENGINE = ("profile", "engine_url")
IMAGE_RUN = ("image", "gpus", "runtime", "shm_size", "cache_dir", "env", "pull", "user", "model_path")
COMMAND_SETTINGS: dict[str, tuple[str, ...]] = {
    "up": (
        "profile",
        "name",
        "image",
        "port",
        "host",
        "gpus",
        "share_gpus",
        "runtime",
        "shm_size",
        "cache_dir",
        "max_images",
        "env",
        "pull",
        "user",
        "model_profile",
        "model_path",
        "served_model_name",
        "engine_url",
        "timeout",
        "smoke",
        "restart",
    ),
    "down": ("profile", "name", "engine_url"),
    "status": ENGINE,
    "logs": ("profile", "name", "engine_url"),
    "smoke": ENGINE,
    "reach": ENGINE,
    "doctor": (
        "profile",
        "name",
        "port",
        "host",
        "gpus",
        "share_gpus",
        "runtime",
        "cache_dir",
        "image",
        "model_path",
        "engine_url",
    ),
    "profiles": (*ENGINE, *IMAGE_RUN),
    "cache prefetch": (*ENGINE, "model_profile", *IMAGE_RUN),
    "cache ls": ("profile", "cache_dir"),
    "config show": ("profile",),
    "k8s render": ("profile", "name", "image", "gpus", "shm_size", "max_images", "env", "user"),
}


def settings_flags(values: Mapping[str, Any]) -> dict[str, Any]:
    """The setting options among `values` (CLI parameters, API keywords) as `load_settings` flags.

    None means "not given"; names that are no setting option (the command's own) are left out,
    and so is `profile` (it goes to load_settings' `profile=`).
    """
    flags: dict[str, Any] = {}
    for name, value in values.items():
        option = SETTING_OPTIONS.get(name)
        if option is None or option.setting == PROFILE or value is None:
            continue
        value = option.to_setting(value) if option.to_setting is not None else value
        if value is not None:
            flags[option.setting] = value
    return flags
