from __future__ import annotations

import pytest

from nimctl.plan import Action, Desired, Observed, conflict_hint, reconcile

DESIRED = Desired(name="nim", config_hash="h1", image_id="sha256:img1")


def observed(
    state: str = "running", config_hash: str | None = "h1", image_id: str | None = "sha256:img1", managed: bool = True
) -> Observed:
    return Observed(name="nim", id="c1", state=state, managed=managed, config_hash=config_hash, image_id=image_id)


def test_nothing_there_creates() -> None:
    assert reconcile(DESIRED, None).action is Action.CREATE


def test_running_same_config_is_noop() -> None:
    plan = reconcile(DESIRED, observed())
    assert plan.action is Action.NOOP and not plan.changes_anything


@pytest.mark.parametrize("state", ["exited", "created"])
def test_stopped_same_config_is_started_again(state: str) -> None:
    plan = reconcile(DESIRED, observed(state=state))
    assert plan.action is Action.START and plan.remove_id is None


def test_changed_config_recreates() -> None:
    plan = reconcile(DESIRED, observed(config_hash="h0"))
    assert plan.action is Action.RECREATE and plan.remove_id == "c1"
    assert "configuration" in plan.reason


def test_changed_image_recreates() -> None:
    plan = reconcile(DESIRED, observed(image_id="sha256:older"))
    assert plan.action is Action.RECREATE and "image" in plan.reason


def test_unknown_image_id_does_not_force_recreate() -> None:
    assert reconcile(Desired("nim", "h1", None), observed()).action is Action.NOOP


def test_force_recreate() -> None:
    plan = reconcile(DESIRED, observed(), force_recreate=True)
    assert plan.action is Action.RECREATE and plan.remove_id == "c1"


@pytest.mark.parametrize("state", ["dead", "removing", "paused"])
def test_broken_states_recreate(state: str) -> None:
    assert reconcile(DESIRED, observed(state=state)).action is Action.RECREATE


def test_foreign_container_is_a_conflict_even_with_force() -> None:
    plan = reconcile(DESIRED, observed(managed=False, config_hash=None), force_recreate=True)
    assert plan.action is Action.CONFLICT and "not created by nimctl" in plan.reason


def test_another_profiles_container_is_a_conflict_naming_both() -> None:
    desired = Desired("nim", "h1", "sha256:img1", profile="mistral-small-4-119b-2603")
    running = Observed("nim", "c1", "running", True, "h0", "sha256:img0", profile="sim")
    plan = reconcile(desired, running)
    assert plan.action is Action.CONFLICT
    assert "'sim'" in plan.reason and "'mistral-small-4-119b-2603'" in plan.reason
    hint = conflict_hint(running)
    assert "--name" in hint and "nimctl down --name nim" in hint and "--force-recreate" in hint


def test_force_recreate_replaces_another_profiles_container() -> None:
    desired = Desired("nim", "h1", None, profile="a")
    plan = reconcile(desired, Observed("nim", "c1", "running", True, "h0", None, profile="b"), force_recreate=True)
    assert plan.action is Action.RECREATE and plan.remove_id == "c1"


def test_same_profile_with_changed_config_still_recreates() -> None:
    desired = Desired("nim", "h1", None, profile="sim")
    plan = reconcile(desired, Observed("nim", "c1", "running", True, "h0", None, profile="sim"))
    assert plan.action is Action.RECREATE and "configuration" in plan.reason
