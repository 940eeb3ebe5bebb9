"""deploy.down: which of nimctl's containers `down --all` removes, with and without --profile
(a fake engine: only the two calls down makes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nimctl.deploy import down
from nimctl.spec import LABEL_PROFILE


@dataclass
class Info:
    id: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)


class FakeEngine:
    def __init__(self, *containers: Info):
        self.containers = containers
        self.removed: list[str] = []

    def managed_containers(self, name: str | None = None) -> list[Info]:
        return [c for c in self.containers if name is None or c.name == name]

    def stop_and_remove(self, container_id: str, timeout: int) -> None:
        self.removed.append(container_id)


def engine() -> FakeEngine:
    return FakeEngine(
        Info("1", "mine-a", {LABEL_PROFILE: "run-123"}),
        Info("2", "mine-b", {LABEL_PROFILE: "run-123"}),
        Info("3", "theirs", {LABEL_PROFILE: "run-456"}),
    )


def test_all_with_a_profile_removes_only_that_profiles_containers() -> None:
    fake = engine()
    assert down(fake, None, everything=True, timeout=5, profile="run-123") == ["mine-a", "mine-b"]
    assert fake.removed == ["1", "2"]


def test_all_without_a_profile_still_means_every_nimctl_container() -> None:
    fake = engine()
    assert down(fake, None, everything=True, timeout=5) == ["mine-a", "mine-b", "theirs"]


def test_a_profile_nobody_used_removes_nothing() -> None:
    fake = engine()
    assert down(fake, None, everything=True, timeout=5, profile="sim") == []
    assert fake.removed == []
