"""reconcile(desired, observed) -> Plan: what `nimctl up` must do, decided on plain data.

As docker compose does it: a running container with the same config hash is left alone, a
stopped one is started again (its cache is reused), a changed one is recreated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RUNNING_STATES = ("running", "restarting")


class Action(str, Enum):
    NOOP = "noop"  # running with the same config: only wait for readiness
    START = "start"  # stopped, same config: start it again
    CREATE = "create"  # nothing there
    RECREATE = "recreate"  # remove the old container, then create
    CONFLICT = "conflict"  # a container of that name that nimctl did not create


@dataclass(frozen=True)
class Desired:
    name: str
    config_hash: str
    image_id: str | None  # the local image's id after any pull; None if not known yet
    profile: str | None = None  # the profile `up` runs; None: not known (no profile check)


@dataclass(frozen=True)
class Observed:
    name: str
    id: str
    state: str  # docker's State.Status: created, running, paused, restarting, exited, dead, removing
    managed: bool  # carries nimctl's label
    config_hash: str | None
    image_id: str | None
    exit_code: int | None = None
    profile: str | None = None  # the profile that created it (its label), None if unlabelled

    def runs_config(self, config_hash: str) -> bool:
        """nimctl's container, running with this configuration: `up` need not prepare anything."""
        return self.managed and self.state in RUNNING_STATES and self.config_hash == config_hash


@dataclass(frozen=True)
class Plan:
    action: Action
    reason: str
    remove_id: str | None = None  # the container RECREATE removes first

    @property
    def changes_anything(self) -> bool:
        return self.action not in (Action.NOOP, Action.CONFLICT)


def conflict(observed: Observed | None, profile: str | None = None, *, force_recreate: bool = False) -> str | None:
    """Why `up` for `profile` must not touch the container of that name, if it must not.

    Another profile's container is another model's NIM (maybe half an hour into loading): only
    --force-recreate replaces it. A container nimctl did not create is never touched.
    """
    if observed is None:
        return None
    if not observed.managed:
        return f"container {observed.name!r} exists and was not created by nimctl"
    if profile and observed.profile and observed.profile != profile and not force_recreate:
        return (
            f"container {observed.name!r} was created by profile {observed.profile!r}; "
            f"`up` for profile {profile!r} will not replace it"
        )
    return None


def conflict_hint(observed: Observed) -> str:
    """The ways out of a conflict, for the `hint:` line."""
    if not observed.managed:
        return "choose another --name, or remove that container yourself"
    return (
        f"choose another --name, remove it with `nimctl down --name {observed.name}`, "
        "or replace it with --force-recreate"
    )


def reconcile(desired: Desired, observed: Observed | None, *, force_recreate: bool = False) -> Plan:
    if observed is None:
        return Plan(Action.CREATE, "no container yet")
    if reason := conflict(observed, desired.profile, force_recreate=force_recreate):
        return Plan(Action.CONFLICT, reason)
    if observed.state in ("removing", "dead"):
        return Plan(Action.RECREATE, f"container is {observed.state}", remove_id=observed.id)
    if force_recreate:
        return Plan(Action.RECREATE, "--force-recreate", remove_id=observed.id)
    if observed.config_hash != desired.config_hash:
        return Plan(Action.RECREATE, "configuration changed", remove_id=observed.id)
    if desired.image_id and observed.image_id and desired.image_id != observed.image_id:
        return Plan(Action.RECREATE, "image changed", remove_id=observed.id)
    if observed.state in RUNNING_STATES:
        return Plan(Action.NOOP, "running with the same configuration")
    if observed.state == "paused":
        return Plan(Action.RECREATE, "container is paused", remove_id=observed.id)
    return Plan(Action.START, f"container is {observed.state} with the same configuration")
