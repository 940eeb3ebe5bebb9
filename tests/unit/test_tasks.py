"""One-off tasks (profiles, prefetch) on a fake engine: the container they ask for, and their exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from nimctl import tasks
from nimctl.container import OneOffResult
from nimctl.errors import ContainerExited, ExitCode, RegistryAuthError
from nimctl.reporter import Reporter
from nimctl.spec import LABEL_MANAGED, LABEL_ONEOFF, build_spec
from tests.unit.test_deploy_policy import FakeEngine, sim_settings

PROFILE_ID = "ab" * 32


def reporter() -> Reporter:
    return Reporter(Console(file=io.StringIO(), width=200))


def test_profiles_run_in_a_throwaway_copy_of_ups_container(tmp_path: Path) -> None:
    loaded = sim_settings(tmp_path)
    engine = FakeEngine()
    engine.oneoff_result = OneOffResult(
        0, ["MODEL PROFILES", "- Compatible with system and runnable:", f"  - {PROFILE_ID} (vllm-bf16-tp1-pp1)"]
    )
    seen: list[str] = []
    listing = tasks.list_profiles(loaded, reporter(), seen.append, connect=lambda: engine)
    assert [p.id for p in listing.runnable] == [PROFILE_ID] and len(seen) == 3

    spec = engine.oneoff_specs[0]
    up_spec = build_spec(loaded.settings, loaded.profile.name)
    assert spec.command == ("list-model-profiles",) and spec.ports == ()
    assert spec.labels[LABEL_ONEOFF] == "profiles" and LABEL_MANAGED not in spec.labels
    assert spec.name.startswith(up_spec.name + "-profiles-") and spec.name != up_spec.name
    same = ("image", "env", "runtime", "gpus", "shm_size", "mounts", "user", "secret_env")
    assert all(getattr(spec, field) == getattr(up_spec, field) for field in same)
    assert (tmp_path / "cache").is_dir()  # created like `up` does, for the mount


@pytest.mark.parametrize(
    ("model_profile", "all_profiles", "command"),
    [
        (None, False, ["download-to-cache"]),
        ("vllm-bf16-tp1-pp1", False, ["download-to-cache", "--profiles", "vllm-bf16-tp1-pp1"]),
        (None, True, ["download-to-cache", "--all"]),
    ],
)
def test_prefetch_command(model_profile: str | None, all_profiles: bool, command: list[str]) -> None:
    assert tasks.prefetch_command(model_profile, all_profiles) == command


def test_a_refused_download_fails_like_a_refused_login(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.oneoff_result = OneOffResult(1, ["ERROR x.py:1] Model download failed: 401 Unauthorized from NGC"])
    with pytest.raises(RegistryAuthError) as failure:
        tasks.prefetch(sim_settings(tmp_path), False, reporter(), lambda line: None, connect=lambda: engine)
    assert failure.value.exit_code == ExitCode.PULL_FAILED
    assert "NGC_API_KEY" in failure.value.hint and "401" in failure.value.details[-1]


def test_a_task_that_exits_nonzero_is_exit_5_with_the_known_cause(tmp_path: Path) -> None:
    engine = FakeEngine()
    line = "NIM_MODEL_PROFILE is set to nope, but no matching profile_id or profile description is found in manifest."
    engine.oneoff_result = OneOffResult(1, [line])
    with pytest.raises(ContainerExited) as failure:
        tasks.prefetch(sim_settings(tmp_path), False, reporter(), lambda line: None, connect=lambda: engine)
    assert "nimctl profiles" in failure.value.hint and "exited with code 1" in failure.value.message

    engine.oneoff_result = OneOffResult(2, ["something else"])
    with pytest.raises(ContainerExited) as unknown:
        tasks.prefetch(sim_settings(tmp_path), False, reporter(), lambda line: None, connect=lambda: engine)
    assert unknown.value.details[-1] == "something else"


@pytest.mark.parametrize(
    ("code", "line"),
    [
        (127, "/opt/nvidia/nvidia_entrypoint.sh: line 67: exec: download-to-cache: not found"),
        (1, 'exec: "download-to-cache": executable file not found in $PATH'),
        (127, "bash: download-to-cache: command not found"),
    ],
)
def test_an_image_without_the_utility_says_so_plainly(tmp_path: Path, code: int, line: str) -> None:
    engine = FakeEngine()
    engine.oneoff_result = OneOffResult(code, [line])
    with pytest.raises(ContainerExited) as failure:
        tasks.prefetch(sim_settings(tmp_path), False, reporter(), lambda line: None, connect=lambda: engine)
    assert failure.value.message.startswith("this image does not offer `download-to-cache`")
    assert "2.x" in failure.value.hint


def test_a_utility_that_ran_and_failed_is_not_called_missing(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.oneoff_result = OneOffResult(1, ["download-to-cache: profile vllm-x found, but the download failed"])
    with pytest.raises(ContainerExited) as failure:
        tasks.prefetch(sim_settings(tmp_path), False, reporter(), lambda line: None, connect=lambda: engine)
    assert "does not offer" not in failure.value.message
