"""Which container `logs` and `down` act on when not told (a fake engine: only its two lookups)."""

from __future__ import annotations

from dataclasses import dataclass

from nimctl.options import settings_flags
from nimctl.settings import load_settings
from nimctl.targets import target_name as pick_target

DEFAULT = "mistralai-mistral-small-4-119b-2603"


@dataclass
class Info:
    name: str


class FakeEngine:
    def __init__(self, *names: str):
        self.names = names

    def inspect(self, name: str) -> Info | None:
        return Info(name) if name in self.names else None

    def managed_containers(self) -> list[Info]:
        return [Info(name) for name in self.names]


def target_name(engine: FakeEngine, name: str | None, profile: str | None, environ: dict | None = None) -> str:
    loaded = load_settings(settings_flags({"name": name}), profile=profile, environ=environ or {})
    return pick_target(engine, loaded, profile_given=profile is not None)


def test_name_wins() -> None:
    assert target_name(FakeEngine("nimctl-sim"), "other", None) == "other"


def test_profile_gives_its_container_name() -> None:
    assert target_name(FakeEngine(), None, "sim") == "nimctl-sim"


def test_default_container_when_it_exists() -> None:
    assert target_name(FakeEngine(DEFAULT, "nimctl-sim"), None, None) == DEFAULT


def test_the_only_container_when_the_default_is_absent() -> None:
    assert target_name(FakeEngine("nimctl-sim"), None, None) == "nimctl-sim"


def test_ambiguous_falls_back_to_the_default_name() -> None:
    assert target_name(FakeEngine("a", "b"), None, None) == DEFAULT


def test_a_name_from_the_environment_is_used_when_that_container_exists() -> None:
    assert target_name(FakeEngine("from-env", "b"), None, None, {"CONTAINER_NAME": "from-env"}) == "from-env"
