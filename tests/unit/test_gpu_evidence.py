"""The GPU check's verdict from nvidia-smi output, and the simulator's stand-in nvidia-smi."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nimctl.preflight import FAIL, PASS, _gpu_verdict
from nimctl.simulator.sim import nvidia_smi

STAND_IN = Path(nvidia_smi.__file__)


def run_stand_in(visible: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NVIDIA_VISIBLE_DEVICES"}
    if visible is not None:
        env["NVIDIA_VISIBLE_DEVICES"] = visible
    return subprocess.run([sys.executable, str(STAND_IN), *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(("visible", "count"), [("all", 2), ("0", 1), ("1,3", 2), ("GPU-abc", 1)])
def test_stand_in_lists_the_gpus_it_was_given(visible: str, count: int) -> None:
    done = run_stand_in(visible, "-L")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == count and all(line.startswith(f"GPU {i}: ") for i, line in enumerate(lines))
    assert _gpu_verdict(done.returncode, done.stdout, "here", "hint").status == PASS


@pytest.mark.parametrize("visible", [None, "", "void", "none"])
def test_stand_in_without_gpus_fails_like_the_real_one(visible: str | None) -> None:
    done = run_stand_in(visible, "-L")
    assert done.returncode == nvidia_smi.NO_DEVICES_EXIT and "No devices were found" in done.stdout
    verdict = _gpu_verdict(done.returncode, done.stdout, "here", "the hint")
    assert verdict.status == FAIL and "No devices were found" in verdict.detail and verdict.hint == "the hint"


def test_exit_zero_without_gpu_lines_is_no_evidence() -> None:
    assert _gpu_verdict(0, "NVIDIA-SMI has failed\n", "here", "hint").status == FAIL
