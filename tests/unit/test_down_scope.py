"""deploy.down: which of nimctl's containers `down --all` removes, with and without --profile
(a fake engine: only the two calls down makes)."""

from __future__ import annotations

from nimctl.container import ContainerInfo
from nimctl.deploy import down
from nimctl.spec import LABEL_PROFILE


def Info(container_id: str, name: str, labels: dict[str, str]) -> ContainerInfo:  # noqa: N802 - reads as a record
    return ContainerInfo(
        id=container_id,
        name=name,
        state="running",
        exit_code=None,
        image="nimctl-sim:latest",
        image_id="sha256:0",
        labels=labels,
        started_at=None,
        env={},
    )


class FakeEngine:
    def __init__(self, *containers: Info):
        self.containers = containers
        self.removed: list[str] = []

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]:
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
