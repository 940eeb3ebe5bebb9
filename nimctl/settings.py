"""Settings: built-in defaults < profile TOML < environment < CLI flags.

A profile is one TOML file per model in configs/ (``--profile NAME``) or any TOML path. Each
setting can be set from the environment as ``NIMCTL_<FIELD>``; the names users already know
from NVIDIA's docs (``nimctl.env_names``) work too. ``load_settings`` also records where each
value came from, for ``nimctl config show``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from nimctl import restart as restart_policy
from nimctl import validation
from nimctl.docker_config import current_context, docker_config_dir
from nimctl.domain import (
    DEFAULT_LIVENESS_PATH,
    DEFAULT_MAX_IMAGES,
    DEFAULT_READINESS_PATH,
    GpuRequest,
    host_url,
    parse_size,
)
from nimctl.env_names import ENV_PREFIX, NVIDIA_ENV_NAMES, SECRET_ENV_NAMES, env_names
from nimctl.errors import ConfigError
from nimctl.options import COMMAND_SETTINGS, settings_flags
from nimctl.settings_sources import (
    DEFAULT_SOURCE,
    EnvironmentSource,
    RecordingSource,
    default_source,
    flag_source,
    merge,
    origins,
    profile_source,
)

DEFAULT_PROFILE = "mistral-small-4-119b-2603"
SECRET_HINT = "export {key} in the environment nimctl runs in (it reaches the container as a secret, never printed)"


class Settings(BaseModel):
    """Everything `nimctl up` needs; the defaults are NVIDIA's documented `docker run`."""

    # Each field's validation aliases are its environment names (read by EnvironmentSource);
    # profiles and flags use the field name (populate_by_name).
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
        protected_namespaces=(),  # model_path, model_profile are settings, not pydantic's model_* API
        alias_generator=AliasGenerator(validation_alias=lambda field: AliasChoices(*env_names(field))),
    )

    image: str | None = Field(None, description="Whole image reference; overrides image_repository and image_tag")
    image_repository: str = Field("nvcr.io/nim/mistralai/mistral-small-4-119b-2603", description="Image repository")
    image_tag: str = Field("1.7.0-variant", description="Image tag")
    container_name: str = Field(
        "mistralai-mistral-small-4-119b-2603",
        description="Container name (default: the profile's container_name, else nimctl-<profile name>)",
    )
    ngc_api_key: SecretStr | None = Field(
        None, description="NGC API key: registry login and the container's model download"
    )
    needs_ngc_key: bool = Field(
        True,
        description="The NIM needs NGC_API_KEY to download its model (NIM 1.x, any registry); false: the simulator",
    )
    cache_dir: Path = Field(Path("~/.cache/nim"), description="Host model cache, mounted at cache_mount")
    cache_mount: str = Field("/opt/nim/.cache", description="Cache path inside the container")
    max_images_per_prompt: int = Field(
        DEFAULT_MAX_IMAGES, description="NIM_MAX_IMAGES_PER_PROMPT passed to the NIM", ge=1, le=1000
    )
    model_profile: str | None = Field(
        None, description="NIM_MODEL_PROFILE passed to the NIM: a profile id or name from `nimctl profiles`"
    )
    served_model: str | None = Field(
        None,
        description="Model id the profile expects the NIM to serve (the smoke `models` check verifies it); "
        "what nimctl uses is always the id /v1/models reports",
    )
    model_path: str | None = Field(
        None,
        description="NIM_MODEL_PATH for a model-free / 2.x NIM: hf://org/model, ngc://org/model[:version], "
        "or a local directory holding config.json (mounted read-only)",
    )
    served_model_name: str | None = Field(
        None, description="NIM_SERVED_MODEL_NAME: the id the NIM serves (default: derived from the model source)"
    )
    hf_token: SecretStr | None = Field(
        None, description="Hugging Face token for gated hf:// models (from HF_TOKEN; never printed)"
    )
    capabilities: list[Literal["text", "vision", "tools", "reasoning"]] | None = Field(
        None,
        description="What the model does (text, vision, tools, reasoning): `smoke --checks all` runs the checks "
        "these cover; unset: a check refused for a missing capability is a skip",
    )
    shm_size: str = Field("32GB", description="Shared memory size (/dev/shm)")
    gpus: str = Field("all", description="GPUs: all | N (the first N) | device=1 | device=0,2 | id,id | none")
    share_gpus: bool = Field(False, description="Start even if another nimctl container holds one of these GPUs")
    runtime: str = Field("nvidia", description="Container runtime ('' for the engine's default)")
    host: str = Field("127.0.0.1", description="Host address the port is published on (a NIM has no auth)")
    port: int | Literal["auto"] = Field(8000, description="Host port, or auto: a free one picked at create time")
    engine_url: str | None = Field(
        None,
        description="Engine API URL (unix://, ssh://user@host, tcp://); unset: DOCKER_HOST, DOCKER_CONTEXT, "
        "the docker config's current context, else the local socket",
    )
    container_port: int = Field(8000, description="Port the NIM listens on in the container", ge=1, le=65535)
    readiness_path: str = Field(DEFAULT_READINESS_PATH, description="Readiness endpoint")
    liveness_path: str = Field(DEFAULT_LIVENESS_PATH, description="Liveness endpoint (the k8s liveness probe)")
    env: dict[str, str] = Field({}, description="Extra container environment (profile [env] table, --env KEY=VALUE)")
    user: str | None = Field(None, description="uid:gid the container runs as (default: yours)")
    pull: Literal["always", "missing", "never"] = Field("missing", description="When to pull the image")
    build: Literal["", "simulator"] = Field("", description="Build this image locally when missing instead of pulling")
    timeout: float = Field(1800.0, description="Seconds to wait for readiness (first start downloads ~100 GB)", gt=0)
    stop_timeout: int = Field(30, description="Seconds the NIM gets to stop before it is killed", ge=0)
    smoke: Literal["quick", "full", "none"] = Field("quick", description="Smoke suite `up` runs once ready")
    restart: str = Field("no", description="Restart policy: no | on-failure[:N] | unless-stopped | always")
    log_dir: Path = Field(Path("~/.cache/nimctl/logs"), description="Where failed start-up logs are saved")
    min_free_disk_gb: float = Field(150.0, description="Warn when the cache disk has less free space", ge=0)

    # The rules themselves live in nimctl.validation (README "Settings": what each setting accepts).
    @field_validator("container_name")
    @classmethod
    def _check_container_name(cls, value: str) -> str:
        return validation.container_name(value)

    @field_validator("image")
    @classmethod
    def _check_image(cls, value: str | None) -> str | None:
        return None if value is None else validation.image_reference(value)  # "" is an error, not the default

    @field_validator("image_repository")
    @classmethod
    def _check_image_repository(cls, value: str) -> str:
        return validation.image_repository(value)

    @field_validator("image_tag")
    @classmethod
    def _check_image_tag(cls, value: str) -> str:
        return validation.image_tag(value)

    @field_validator("shm_size")
    @classmethod
    def _check_shm_size(cls, value: str) -> str:
        validation.size(value)
        return value

    @field_validator("gpus")
    @classmethod
    def _check_gpus(cls, value: str) -> str:
        GpuRequest.parse(value)
        return value

    @field_validator("model_profile")
    @classmethod
    def _check_model_profile(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(ch.isspace() for ch in value.strip())):
            raise ValueError(f"{value!r} is not a profile id or name (see `nimctl profiles`)")
        return value.strip() if value is not None else None

    @field_validator("smoke", mode="before")
    @classmethod
    def _smoke_alias(cls, value: Any) -> Any:
        return "full" if value == "all" else value  # one suite, two names (as `smoke --checks` takes)

    @field_validator("port", mode="before")
    @classmethod
    def _check_port(cls, value: Any) -> int | str:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            port = int(value)
        except (TypeError, ValueError):
            port = 0
        if not 1 <= port <= 65535:
            raise ValueError(f"{value!r} is not a port (1-65535, or auto)")
        return port

    @field_validator("restart")
    @classmethod
    def _check_restart(cls, value: str) -> str:
        return restart_policy.normalized(value)

    @field_validator("engine_url")
    @classmethod
    def _check_engine_url(cls, value: str | None) -> str | None:
        return None if value is None else validation.engine_url(value)

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        return validation.host_address(value)

    @field_validator("user")
    @classmethod
    def _check_user(cls, value: str | None) -> str | None:
        return None if value is None else validation.user(value)

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"{key!r} is not an environment variable name")
            if key.upper() in SECRET_ENV_NAMES:  # secrets arrive one way: nimctl's own environment
                raise ValueError(
                    f"{key} is a secret, not taken from the env table: {SECRET_HINT.format(key=key.upper())}"
                )
        return {key: str(val) for key, val in value.items()}

    @field_validator("cache_dir", "log_dir", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():  # Path("") would be ".", the current directory
            raise ValueError("a path cannot be empty")
        return value

    @field_validator("cache_dir", "log_dir")
    @classmethod
    def _absolute_path(cls, value: Path) -> Path:
        # `~` expanded, relative to the current directory; load_settings then checks the filesystem
        return validation.absolute_path(value)

    @field_validator("model_path")
    @classmethod
    def _check_model_path(cls, value: str | None) -> str | None:
        return None if value is None else validation.model_source(value)

    @field_validator("served_model_name")
    @classmethod
    def _check_served_model_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(ch.isspace() or ord(ch) < 32 for ch in value)):
            raise ValueError(f"{validation.shown(value)} is not a model name (no spaces)")
        return value

    @field_validator("capabilities", mode="before")
    @classmethod
    def _capabilities_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # NIMCTL_CAPABILITIES=text,tools
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def secrets(self) -> tuple[SecretStr | None, ...]:
        """The values never shown: cut out of logs and error texts (errors.redact)."""
        return (self.ngc_api_key, self.hf_token)

    @property
    def local_model_dir(self) -> Path | None:
        """model_path when it is a local directory (no URI scheme), else None."""
        if self.model_path is None or validation.model_source_scheme(self.model_path):
            return None
        return Path(self.model_path)

    @property
    def needs_key(self) -> bool:
        """Whether the NIM needs NGC_API_KEY to get its model: with a model source, only an ngc:// one
        (hf://, a local directory: no); without one, what the profile says (`needs_ngc_key`)."""
        if self.model_path is not None:
            return validation.model_source_scheme(self.model_path) == "ngc"
        return self.needs_ngc_key

    @property
    def image_reference(self) -> str:
        return self.image if self.image is not None else f"{self.image_repository}:{self.image_tag}"

    @property
    def shm_size_bytes(self) -> int:
        return parse_size(self.shm_size)

    @property
    def gpu_request(self) -> GpuRequest:
        return GpuRequest.parse(self.gpus)

    @property
    def run_as(self) -> str:
        return self.user or f"{os.getuid()}:{os.getgid()}"

    @property
    def url(self) -> str:
        """Where the NIM answers; with port auto, only once `up` picked the port (`with_port`)."""
        return host_url(self.host, self.port)

    def with_port(self, port: int) -> Settings:
        """These settings with `port auto` resolved to the port `up` picked or reused."""
        return self.model_copy(update={"port": port})

    @classmethod
    def from_sources(cls, sources: tuple[RecordingSource, ...]) -> Settings:
        """Validate what `sources` supply, strongest first (settings_sources.merge). No .env or
        secrets-dir files are read: fewer places for a key to hide."""
        return cls.model_validate(merge(sources))


SETTING_NAMES = tuple(Settings.model_fields)


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    values: dict[str, Any]


def configs_dir() -> Path:
    """configs/ of a source checkout, or the copy packed into the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "configs", here / "_configs"):
        if candidate.is_dir():
            return candidate
    return here.parent / "configs"


def available_profiles() -> list[str]:
    return sorted(path.stem for path in configs_dir().glob("*.toml"))


def load_profile(name_or_path: str) -> Profile:
    """A profile name from configs/ or a path to a TOML file; unknown keys are an error."""
    looks_like_path = name_or_path.endswith(".toml") or os.sep in name_or_path
    path = Path(name_or_path).expanduser() if looks_like_path else configs_dir() / f"{name_or_path}.toml"
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a name too long for the filesystem, a NUL byte
        raise ConfigError(
            f"profile {validation.shown(name_or_path)} cannot be looked up: {getattr(exc, 'strerror', None) or exc}",
            hint=f"use one of: {', '.join(available_profiles())}, or a path to a .toml file",
        ) from None
    if not exists:
        raise ConfigError(
            f"profile {name_or_path!r} not found ({path})",
            hint=f"use one of: {', '.join(available_profiles())}, or a path to a .toml file",
        )
    try:  # a regular file of bounded size, read no further than the bound
        data = validation.read_profile(path)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="a profile is a TOML file of settings (see configs/)") from None
    values = parse_profile_text(path, data)
    unknown = sorted(set(values) - set(SETTING_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in profile {path}",
            hint=f"known keys: {', '.join(SETTING_NAMES)}",
        )
    if "ngc_api_key" in values:
        raise ConfigError(
            f"profile {path} holds ngc_api_key",
            hint="keep the key out of files: export NGC_API_KEY instead",
        )
    if "hf_token" in values:
        raise ConfigError(f"profile {path} holds hf_token", hint="keep the token out of files: export HF_TOKEN instead")
    return Profile(name=path.stem, path=path, values=values)


_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")


def parse_profile_text(path: Path, data: bytes) -> dict[str, Any]:
    """A profile file's TOML; any flaw is a ConfigError naming the file and the line (`FILE:LINE: why`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"profile {path}:{line}: not UTF-8 text", hint="save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_AT.search(message)
        if where is not None and where.group(1):
            line = int(where.group(1))
        else:  # "at end of document", or a message without a position
            line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        reason = _TOML_AT.sub("", message)
        raise ConfigError(f"profile {path}:{line}: not valid TOML: {reason}", hint="fix the file's syntax") from None


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    profile: Profile
    sources: dict[str, str]  # setting -> "flag" | "env NAME" | "profile FILE" | "default"

    def env_variable(self, field: str) -> str | None:
        """The environment variable that supplied `field`, as spelled in the environment, or None."""
        source = self.sources.get(field, "")
        return source.removeprefix("env ") if source.startswith("env ") else None

    def nvidia_variable(self, field: str) -> str | None:
        """NVIDIA's generic name (CONTAINER_NAME, IMG_NAME...) when it supplied `field`, else None.

        Such variables are often set for other purposes, so messages say "name from $CONTAINER_NAME".
        """
        name = self.env_variable(field)
        return name if name is not None and name.upper() in NVIDIA_ENV_NAMES.get(field, ()) else None

    def generic_sources(self) -> list[tuple[str, str]]:
        """(what, variable) for each setting picking `up`'s target that a generic variable supplied."""
        found = [(label, self.nvidia_variable(field)) for field, label in TARGET_SETTINGS.items()]
        return [(label, variable) for label, variable in found if variable is not None]


# The settings that pick what `up` acts on, as `up`'s first line names them ("name from $CONTAINER_NAME").
TARGET_SETTINGS = {"container_name": "name", "image": "image", "port": "port", "cache_dir": "cache dir"}


def default_container_name(profile: Profile) -> str:
    """Each profile's own default name, so two profiles never collide by default."""
    return str(profile.values.get("container_name") or f"nimctl-{profile.name}")


def load_settings(
    flags: Mapping[str, Any] | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Merge defaults < profile < environment < flags, and say where each value came from.

    `flags` holds only the options the user actually gave (None means not given).
    Dict settings (env) merge across layers, so `--env` adds to the profile's [env] table.
    """
    environ = os.environ if environ is None else environ
    flags = {key: value for key, value in (flags or {}).items() if value is not None}
    unknown = set(flags) - set(SETTING_NAMES)
    if unknown:  # a programming error in a command module, not user input
        raise ValueError(f"unknown settings {sorted(unknown)}")
    profile_name = profile or environ.get(ENV_PREFIX + "PROFILE") or DEFAULT_PROFILE
    loaded_profile = load_profile(profile_name)

    layers = (
        flag_source(Settings, flags),
        EnvironmentSource(Settings, environ),
        profile_source(Settings, loaded_profile.values, loaded_profile.path.name),
        default_source(Settings, {"container_name": default_container_name(loaded_profile)}),
    )
    try:
        settings = Settings.from_sources(layers)
    except ValidationError as exc:
        raise _config_error(exc, origins(layers, SETTING_NAMES)) from None
    # The sources recorded each value's origin while pydantic called them.
    sources = origins(layers, SETTING_NAMES)
    if _host_paths_are_here(settings, environ):
        settings = _checked_directories(settings, sources)
        if settings.local_model_dir is not None:  # on a remote engine, the directory is on its host
            try:
                local = validation.local_model_directory(settings.local_model_dir)
            except ValueError as exc:
                raise _invalid("model_path", str(exc), sources) from None
            settings = settings.model_copy(update={"model_path": str(local)})
    return LoadedSettings(settings=settings, profile=loaded_profile, sources=sources)


HOST_DIRECTORIES = ("cache_dir", "log_dir")  # directories on the engine's host (the cache is mounted)


def _checked_directories(settings: Settings, sources: Mapping[str, str]) -> Settings:
    """The host directories as existing directories or ones that can be created, symlinks followed."""
    resolved: dict[str, Path] = {}
    for field in HOST_DIRECTORIES:
        try:
            resolved[field] = validation.directory(getattr(settings, field))
        except ValueError as exc:
            raise _invalid(field, str(exc), sources) from None
    return settings.model_copy(update=resolved)


def _host_paths_are_here(settings: Settings, environ: Mapping[str, str]) -> bool:
    """Whether the engine's host is this machine, as far as the settings say without connecting:
    a remote engine's cache dir is on its host, not checked from here.

    A local socket URL (--engine-url, else DOCKER_HOST) is here; any other URL, or a docker context
    other than the default, may not be. Settings sit below the engine layer, so this is a reading
    of the same docker config (`nimctl.docker_config`), not `choose_engine` itself.
    """
    url = settings.engine_url or environ.get("DOCKER_HOST") or ""
    if url:
        return url.startswith(("unix://", "npipe://", "/"))
    try:
        context = environ.get("DOCKER_CONTEXT") or current_context(docker_config_dir(environ))
    except ConfigError:  # an unreadable docker config: connecting says so (exit 2); here, the default
        context = None
    return context in (None, "", "default")


def _config_error(exc: ValidationError, sources: Mapping[str, str]) -> ConfigError:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"  # the sources key values by field name
    reason = first["msg"].removeprefix("Value error, ")
    secret, sep, hint = reason.partition(" is a secret, not taken from the env table: ")
    if sep:  # the hint says where a secret goes
        return _invalid(
            field, f"{secret} is a secret: not taken from --env, NIMCTL_ENV or a profile's [env]", sources, hint
        )
    return _invalid(field, reason, sources)


def _invalid(field: str, reason: str, sources: Mapping[str, str], hint: str | None = None) -> ConfigError:
    source = sources.get(field, "")
    where = f" (from {source})" if source and source != DEFAULT_SOURCE else ""
    return ConfigError(
        f"invalid setting {field}{where}: {reason}",
        hint=hint or "see `nimctl config show` and the settings table in the README",
    )


def load_options(
    command: str,
    values: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """The settings `command` runs with: its setting options (nimctl/options.py) among `values` (an
    API function's keywords, a CLI command's options), `settings` (any other setting by name; a named
    option wins), then the environment, the profile and the defaults."""
    extra = dict(settings or {})
    unknown = sorted(set(extra) - set(SETTING_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint="the settings table in the README lists every name",
        )
    given = {name: values.get(name) for name in COMMAND_SETTINGS[command]}
    return load_settings(extra | settings_flags(given), profile=given.get("profile"), environ=environ)


def checked_report_file(path: str | Path, option: str = "--junit-xml") -> Path:
    """A report file to write later (`--junit-xml`): its directory exists (it is not created), and it
    is no directory itself; else exit 2 before anything starts."""
    path = Path(path).expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    try:
        is_dir, parent_is_dir = str(path) in ("", ".") or path.is_dir(), parent.is_dir()
        if not is_dir and parent_is_dir:
            os.stat(path)  # a name the filesystem refuses (too long) fails here, not after the checks ran
    except FileNotFoundError:
        pass  # the file is written later
    except (OSError, ValueError) as exc:  # too long, a NUL byte
        raise ConfigError(
            f"invalid {option}: {validation.shown(str(path))}: {getattr(exc, 'strerror', None) or exc}",
            hint="give a writable file name, e.g. report.xml",
        ) from None
    if is_dir:
        raise ConfigError(
            f"invalid {option}: {validation.shown(str(path))} is a directory", hint="give a file name, e.g. report.xml"
        )
    if not parent_is_dir:
        raise ConfigError(
            f"invalid {option}: directory {str(parent)!r} does not exist",
            hint=f"create it first (mkdir -p {parent}), or write the report elsewhere",
        )
    return path


def checked_url(url: str, option: str = "--url") -> str:
    """A URL option that is not a setting (`smoke --url`): a well-formed http(s) URL, else exit 2."""
    try:
        return validation.http_url(url)
    except ValueError as exc:
        raise ConfigError(f"invalid {option}: {exc}", hint="give the server root, e.g. http://127.0.0.1:8000") from None
