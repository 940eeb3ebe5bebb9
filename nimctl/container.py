"""One container as nimctl sees it: a typed record built from the engine's inspect data.

As docker compose's `compose/container.py` wraps the inspect dict, this record is the only
reader of nimctl's labels (spec.py writes them); the CLI asks it for `url`, `model` and so on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from nimctl.domain import DEFAULT_MAX_IMAGES, DEFAULT_READINESS_PATH, GpuRequest
from nimctl.env_names import SECRET_ENV_NAMES
from nimctl.plan import Observed
from nimctl.restart import RestartPolicy
from nimctl.secret_fingerprint import fingerprints
from nimctl.spec import (
    LABEL_CAPABILITIES,
    LABEL_CONFIG_HASH,
    LABEL_GPUS,
    LABEL_MANAGED,
    LABEL_MAX_IMAGES,
    LABEL_MODEL,
    LABEL_PROFILE,
    LABEL_READINESS_PATH,
    LABEL_URL,
    LABEL_VERSION,
    NGC_KEY_ENV,
)

MANAGED_FILTER = f"{LABEL_MANAGED}=true"  # the engine's label filter for nimctl's containers


def parse_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 time (nanoseconds, `Z`) → an aware datetime; None for its zero time."""
    if not text or text.startswith("0001-"):
        return None
    # docker gives nanoseconds; datetime takes microseconds
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class ContainerInfo:
    """What `status`, `logs`, `doctor`, `down` and `up` need to know about one container."""

    id: str
    name: str
    state: str  # docker's State.Status
    exit_code: int | None  # only once it exited
    image: str
    image_id: str
    labels: dict[str, str]
    started_at: datetime | None
    env: dict[str, str]  # without the NGC key (or any other secret)
    # the secrets it was started with, as this process's salted fingerprints (secret_fingerprint)
    secret_fingerprints: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    restart_count: int = 0  # how often the engine restarted it (its restart policy)
    restart_policy: RestartPolicy = RestartPolicy()
    last_exit_code: int | None = None  # State.ExitCode even while it runs again (0 once docker restarts it)

    @classmethod
    def from_inspect(cls, attrs: dict[str, Any]) -> ContainerInfo:
        state = attrs.get("State", {})
        config = attrs.get("Config", {})
        plain_env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
        # the secrets are never carried around, even in memory: only their salted fingerprints
        secrets = {name: plain_env.pop(name) for name in {NGC_KEY_ENV, *SECRET_ENV_NAMES} if name in plain_env}
        finished = state.get("Status") in ("exited", "dead")
        return cls(
            id=attrs["Id"],
            name=attrs["Name"].lstrip("/"),
            state=state.get("Status", "unknown"),
            exit_code=state.get("ExitCode") if finished else None,
            image=config.get("Image", ""),
            image_id=attrs.get("Image", ""),
            labels=config.get("Labels") or {},
            started_at=parse_time(state.get("StartedAt")),
            env=plain_env,
            secret_fingerprints=fingerprints(secrets),
            restart_count=int(attrs.get("RestartCount") or 0),
            restart_policy=RestartPolicy.from_engine((attrs.get("HostConfig") or {}).get("RestartPolicy")),
            last_exit_code=state.get("ExitCode"),
        )

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def managed(self) -> bool:
        return self.labels.get(LABEL_MANAGED) == "true"

    @property
    def profile(self) -> str:
        return self.labels.get(LABEL_PROFILE, "")

    @property
    def url(self) -> str:
        return self.labels.get(LABEL_URL, "")

    @property
    def model(self) -> str:
        """The model id it was started expecting (--served-model-name, a 1.x profile's served_model), or ""."""
        return self.labels.get(LABEL_MODEL, "")

    @property
    def capabilities(self) -> tuple[str, ...] | None:
        """The capabilities its profile declared, or None when it declared none."""
        value = self.labels.get(LABEL_CAPABILITIES)
        return None if value is None else tuple(part for part in value.split(",") if part)

    @property
    def max_images(self) -> int:
        return int(self.labels.get(LABEL_MAX_IMAGES, DEFAULT_MAX_IMAGES))

    @property
    def config_hash(self) -> str | None:
        return self.labels.get(LABEL_CONFIG_HASH)

    @property
    def readiness_path(self) -> str:
        return self.labels.get(LABEL_READINESS_PATH, DEFAULT_READINESS_PATH)

    @property
    def gpus(self) -> GpuRequest | None:
        """The GPU request it was created with; None when it carries no such label (an older nimctl)."""
        label = self.labels.get(LABEL_GPUS)
        if label is None:
            return None
        try:
            return GpuRequest.parse(label)
        except ValueError:
            return None

    @property
    def host_port(self) -> int | None:
        """The host port its url label names (for `port auto`, reused on converge)."""
        return urlsplit(self.url).port if self.url else None

    @property
    def version(self) -> str:
        return self.labels.get(LABEL_VERSION, "")

    def uptime(self, now: datetime | None = None) -> float | None:
        """Seconds since it started, while it runs; None otherwise."""
        if not self.running or self.started_at is None:
            return None
        now = now or datetime.now(timezone.utc)
        return max(0.0, (now - self.started_at).total_seconds())

    @property
    def observed(self) -> Observed:
        return Observed(
            name=self.name,
            id=self.id,
            state=self.state,
            managed=self.managed,
            config_hash=self.config_hash,
            image_id=self.image_id or None,
            exit_code=self.exit_code,
            profile=self.profile or None,
        )


@dataclass(frozen=True)
class OneOffResult:
    """How a throwaway container (Engine.run_oneoff) ended."""

    exit_code: int
    lines: list[str]  # everything it printed (stdout and stderr), the key cut out
