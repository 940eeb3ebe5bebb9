"""Restart policies and crash loops, decided on plain data (standard library only).

`parse("on-failure:3")` reads the `restart` setting as docker's `--restart` does; `crash_loop(...)`
tells from what the engine reports (inspect's RestartCount, state and exit code, the `die` events
of the last ten minutes) whether a container is in a crash loop, and why.

    parse("on-failure:3")                         # RestartPolicy("on-failure", 3)
    crash_loop(policy, restarts=3, state="exited", exit_code=3, recent_deaths=[...], now=...)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

POLICIES = ("no", "on-failure", "unless-stopped", "always")
LOOP_WINDOW = 600.0  # seconds: "restarted three times or more in the last ten minutes"
LOOP_RESTARTS = 3
GAVE_UP, LOOPING = "gave up", "restarting"


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"  # one of POLICIES
    max_retries: int = 0  # on-failure's N; 0: no limit (docker's MaximumRetryCount 0)

    def __str__(self) -> str:
        return f"{self.name}:{self.max_retries}" if self.name == "on-failure" and self.max_retries else self.name

    @property
    def restarts(self) -> bool:
        return self.name != "no"

    @classmethod
    def from_engine(cls, host_config_policy: dict | None) -> RestartPolicy:
        """Inspect's HostConfig.RestartPolicy ({"Name": ..., "MaximumRetryCount": N}); "" is "no"."""
        policy = host_config_policy or {}
        name = policy.get("Name") or "no"
        if name not in POLICIES:
            name = "no"
        retries = int(policy.get("MaximumRetryCount") or 0) if name == "on-failure" else 0
        return cls(name, retries)


def parse(value: str) -> RestartPolicy:
    """`no | on-failure[:N] | unless-stopped | always` → RestartPolicy; ValueError says what is wrong."""
    text = str(value).strip().lower()
    name, sep, count = text.partition(":")
    if name not in POLICIES:
        raise ValueError(f"{value!r} is no restart policy: give one of no, on-failure[:N], unless-stopped, always")
    if not sep:
        return RestartPolicy(name)
    if name != "on-failure":
        raise ValueError(f"{value!r}: only on-failure takes a retry count (on-failure:N)")
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"{value!r}: the retry count of on-failure:N must be a whole number of 1 or more")
    return RestartPolicy(name, int(count))


def normalized(value: str) -> str:
    """The setting's value as nimctl keeps it (`On-Failure:3` → `on-failure:3`)."""
    return str(parse(value))


@dataclass(frozen=True)
class CrashLoop:
    reason: str  # LOOPING (restarted often, lately) or GAVE_UP (on-failure:N used up)
    restarts_recent: int  # restarts the engine made in the last LOOP_WINDOW seconds
    last_exit_code: int | None

    def describe(self) -> str:
        code = f" (last exit code {self.last_exit_code})" if self.last_exit_code is not None else ""
        if self.reason == GAVE_UP:
            return f"crash loop: the engine gave up restarting it{code}"
        return f"crash loop: restarted {self.restarts_recent} times in the last 10 minutes{code}"


def recent_restarts(deaths: Sequence[float], state: str, now: float, window: float = LOOP_WINDOW) -> int:
    """How many of the `die` events (epoch seconds) in the window the engine followed with a restart:
    each one, but the last when the container stays down."""
    recent = [t for t in deaths if now - window <= t <= now]
    if recent and state in ("exited", "dead", "created"):
        return len(recent) - 1
    return len(recent)


def crash_loop(
    policy: RestartPolicy,
    *,
    restarts: int,
    state: str,
    exit_code: int | None,
    recent_deaths: Sequence[float] = (),
    now: float,
) -> CrashLoop | None:
    """A crash loop, or None: the engine gave up an on-failure:N policy (exited with a failure after
    N restarts), or restarted it LOOP_RESTARTS times or more in the last ten minutes."""
    if restarts <= 0:
        return None
    down = state in ("exited", "dead")
    if policy.name == "on-failure" and policy.max_retries and down and restarts >= policy.max_retries and exit_code:
        return CrashLoop(GAVE_UP, recent_restarts(recent_deaths, state, now), exit_code)
    recent = recent_restarts(recent_deaths, state, now)
    if recent >= LOOP_RESTARTS:
        return CrashLoop(LOOPING, recent, exit_code)
    return None
