"""The environment variables nimctl's settings are read from, listed once.

Stdlib only, so the CLI's option help texts, the tests and the bench can use it without loading
pydantic. Every setting is ``NIMCTL_<FIELD>``; a few also take the name NVIDIA's own
instructions use.
"""

from __future__ import annotations

ENV_PREFIX = "NIMCTL_"

# NVIDIA's names, accepted as they are (after NIMCTL_<FIELD>). They are generic enough to be set
# for other purposes (CI machines set CONTAINER_NAME), so callers may want to say which one applied.
NVIDIA_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "ngc_api_key": ("NGC_API_KEY",),
    "cache_dir": ("LOCAL_NIM_CACHE",),
    "max_images_per_prompt": ("NIM_MAX_IMAGES_PER_PROMPT",),
    "image": ("IMG_NAME",),
    "container_name": ("CONTAINER_NAME",),
    "model_profile": ("NIM_MODEL_PROFILE",),
    "model_path": ("NIM_MODEL_PATH",),
    "served_model_name": ("NIM_SERVED_MODEL_NAME",),
    "hf_token": ("HF_TOKEN",),
}

# Secrets reach the container one way only: from nimctl's own environment (NGC_API_KEY; HF_TOKEN
# once it is a setting), never from the env table (`--env`, NIMCTL_ENV, a profile's [env]).
SECRET_ENV_NAMES: tuple[str, ...] = ("NGC_API_KEY", "HF_TOKEN")

NVIDIA_VARIABLES: tuple[str, ...] = tuple(name for names in NVIDIA_ENV_NAMES.values() for name in names)


def env_names(field: str) -> tuple[str, ...]:
    """The environment variables that set `field`, strongest first."""
    return (ENV_PREFIX + field.upper(), *NVIDIA_ENV_NAMES.get(field, ()))


def is_settings_variable(name: str) -> bool:
    """Whether nimctl reads environment variable `name` (case-insensitive, as the lookup is)."""
    upper = name.upper()
    return upper.startswith(ENV_PREFIX) or upper in NVIDIA_VARIABLES


def without_settings_variables(environ: dict[str, str]) -> dict[str, str]:
    """`environ` less every variable nimctl reads: the start of a known environment for a child nimctl."""
    return {name: value for name, value in environ.items() if not is_settings_variable(name)}


def env_help(field: str) -> str:
    """The ``[env: ...]`` suffix of a flag's help text, NVIDIA's name first as users know it."""
    names = (*NVIDIA_ENV_NAMES.get(field, ()), ENV_PREFIX + field.upper())
    return f"[env: {', '.join(names)}]"
