"""The simulator's model manifest and utility commands: `python -m sim list-model-profiles` and
`download-to-cache`, NIM_MODEL_PROFILE accepted or refused, and the offline start from a filled cache."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nimctl.cache import list_cache
from nimctl.diagnosis import diagnose
from nimctl.model_profiles import parse_profile_listing
from nimctl.simulator.sim import profiles
from nimctl.simulator.sim.checks import first_startup_problem
from nimctl.simulator.sim.config import SimConfig
from tests.unit.test_simulator_process import MAIN_COMMAND, container_env


def run_sim(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MAIN_COMMAND, *args], env=env, capture_output=True, text=True, timeout=20, check=False)


@pytest.mark.parametrize(
    ("devices", "runnable"),
    [
        ("all", {"vllm-bf16-tp1-pp1", "vllm-bf16-tp1-pp1-lora"}),
        ("0,1", {"vllm-bf16-tp1-pp1", "vllm-bf16-tp1-pp1-lora", "vllm-fp8-tp2-pp1"}),
        ("0,1,2,3", {"vllm-bf16-tp1-pp1", "vllm-bf16-tp1-pp1-lora", "vllm-fp8-tp2-pp1", "vllm-bf16-tp4-pp1"}),
    ],
)
def test_the_listing_depends_on_the_gpus_given(tmp_path: Path, devices: str, runnable: set[str]) -> None:
    result = run_sim(container_env(tmp_path, NVIDIA_VISIBLE_DEVICES=devices, NGC_API_KEY=None), "list-model-profiles")
    assert result.returncode == 0, result.stderr
    listing = parse_profile_listing(result.stdout)
    assert {p.name for p in listing.runnable} == runnable
    assert len(listing.gpus["free"]) == len(devices.split(","))
    low = [p for p in listing.profiles if p.low_memory]
    assert [p.name for p in low] == ["vllm-bf16-tp1-pp1-256k"] and low[0].requires_gb_per_gpu == 96
    assert next(p for p in listing.profiles if p.name == "vllm-bf16-tp1-pp1-lora").lora


def test_no_gpu_lists_nothing_runnable() -> None:
    lines = profiles.listing_lines(SimConfig(nvidia_visible_devices=None))
    assert "- Free GPUs: <None>" in lines and "- Compatible with system and runnable: <None>" in lines


def test_download_to_cache_fills_the_cache_then_the_sim_starts_without_a_key(tmp_path: Path) -> None:
    env = container_env(tmp_path)
    cfg = SimConfig(cache_path=env["NIM_CACHE_PATH"], nvidia_visible_devices="all")
    assert first_startup_problem(cfg, shm_path="/") is not None  # no key, nothing cached: refused

    result = run_sim(env, "download-to-cache")
    assert result.returncode == 0, result.stderr
    assert "[4/4, 100%]" in result.stdout and "nvapi-test" not in result.stdout + result.stderr
    listing = list_cache(Path(env["NIM_CACHE_PATH"]))
    assert listing.entries[0].snapshots == ["vllm-bf16-tp1-pp1"] and listing.total_bytes > 2 * profiles.FILE_BYTES

    offline = SimConfig(cache_path=env["NIM_CACHE_PATH"], nvidia_visible_devices="all", shm_min_bytes=0)
    assert first_startup_problem(offline) is None
    pinned_elsewhere = SimConfig(
        cache_path=env["NIM_CACHE_PATH"], nvidia_visible_devices="all", model_profile="vllm-bf16-tp1-pp1-lora"
    )
    assert "NGC_API_KEY" in (first_startup_problem(pinned_elsewhere) or "")  # that profile is not cached


def test_download_to_cache_all_and_by_id(tmp_path: Path) -> None:
    env = container_env(tmp_path)
    lora_id = profiles.find(SimConfig(), "vllm-bf16-tp1-pp1-lora").id(SimConfig().served_model_name)
    assert run_sim(env, "download-to-cache", "--profiles", lora_id).returncode == 0
    assert list_cache(Path(env["NIM_CACHE_PATH"])).entries[0].snapshots == ["vllm-bf16-tp1-pp1-lora"]
    assert run_sim(env, "download-to-cache", "--all").returncode == 0
    assert len(list_cache(Path(env["NIM_CACHE_PATH"])).entries[0].snapshots) == len(profiles.MANIFEST)


def test_download_without_a_key_is_refused_like_ngc_refuses_it(tmp_path: Path) -> None:
    result = run_sim(container_env(tmp_path, NGC_API_KEY=None), "download-to-cache")
    assert result.returncode == 1
    cause = diagnose(result.stderr.splitlines())
    assert cause is not None and cause.key == "download-refused"


def test_an_unknown_model_profile_is_refused_with_the_nims_line(tmp_path: Path) -> None:
    result = run_sim(container_env(tmp_path, NIM_MODEL_PROFILE="vllm-bf16-tp8-pp1"))
    assert result.returncode == 1
    assert "no matching profile_id or profile description" in result.stderr
    cause = diagnose(result.stderr.splitlines())
    assert cause is not None and "nimctl profiles" in cause.action


def test_a_runnable_model_profile_is_selected(tmp_path: Path) -> None:
    cfg = SimConfig(nvidia_visible_devices="0,1", model_profile="vllm-fp8-tp2-pp1")
    assert profiles.select(cfg).name == "vllm-fp8-tp2-pp1"
    assert profiles.select(SimConfig(nvidia_visible_devices="0", model_profile="vllm-fp8-tp2-pp1")) is None
    assert profiles.select(SimConfig(nvidia_visible_devices="0")).name == "vllm-bf16-tp1-pp1"


def test_an_unknown_command_is_exit_2(tmp_path: Path) -> None:
    result = run_sim(container_env(tmp_path), "frobnicate")
    assert result.returncode == 2 and "unknown command" in result.stderr
