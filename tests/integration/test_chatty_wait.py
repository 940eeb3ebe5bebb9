"""Issue 9.5: waiting on a NIM that prints 3,000 log lines a second costs nimctl little CPU, and it
still notices readiness and an exit at once. The exact targets are the benchmark's (scripts/nimbench
figure 7: lag ≤ 50 ms, exit notice ≤ 1 s; figure 1: ready line → `up` returned ≤ 5 ms median);
here the wall-clock bounds have a generous margin (a loaded shared machine) and the `timing` marker."""

from __future__ import annotations

import re
import sys
from datetime import datetime

import pytest

from scripts.nimbench.procs import Children
from tests.integration.harness import Deployment

CHATTY = {"SIM_LOG_RATE": "3000", "NVIDIA_VISIBLE_DEVICES": "simulated"}  # gpus none: no device request


def run_up(deployment: Deployment, *extra: str):
    command = [sys.executable, "-m", "nimctl", *deployment.up_args("--no-smoke", *extra)]
    return Children().run(command, env=deployment.env, timeout=120)


@pytest.mark.timing
def test_waiting_on_a_chatty_nim_is_cheap_and_still_quick(make_deployment, sim_image: str, docker_client) -> None:
    deployment = make_deployment(sim_image, gpus="none", runtime="", env={**CHATTY, "SIM_STARTUP_DELAY": "5"})
    result = run_up(deployment)
    assert result.returncode == 0, result.tail(20)
    phase = rf"^• {re.escape(deployment.name)}: "
    cpu = result.cpu_share(phase + r"(starting|live)$", phase + r"ready$")
    assert cpu is not None and cpu <= 5.0, cpu  # % of one core over the wait
    log = docker_client.api.logs(deployment.name).decode()
    assert log.count("Loading safetensors checkpoint shard") > 3000 * 5 / 2  # it did chatter
    ready_at = float(re.search(r"ready_at_ms=([\d.]+)", log).group(1)) / 1000
    lag_ms = (result.first(phase + r"ready$") - ready_at) * 1000
    assert lag_ms < 1000, lag_ms  # a hang, not a slow wake-up (the benchmark holds the 50 ms target)


@pytest.mark.timing
def test_an_exit_amid_the_chatter_is_noticed_within_a_second(make_deployment, sim_image: str, docker_client) -> None:
    deployment = make_deployment(
        sim_image, gpus="none", runtime="", env={**CHATTY, "SIM_STARTUP_DELAY": "60", "SIM_CRASH_AFTER": "3"}
    )
    result = run_up(deployment, "--keep-on-failure")
    assert result.returncode == 5, result.tail(20)
    assert "exited with code 3" in result.tail(60)  # SIM_CRASH_AFTER's crash, after 3 s of chatter
    finished = docker_client.api.inspect_container(deployment.name)["State"]["FinishedAt"]
    died = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", finished).replace("Z", "+00:00")).timestamp()
    assert result.first(r"^error: ") - died < 3.0  # the benchmark holds the 1 s target; margin for load
