"""examples/ci/github-sim.yml cannot rot: each `run:` step's shell runs here on the real engine,
in step order with GitHub's bash flags, the repository as working directory and this venv first
on PATH. Only the install is skipped (NIMCTL_EXAMPLE_PREINSTALLED); the nimctl commands are real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.integration.harness import RUN_ID, base_env, free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "ci" / "github-sim.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def resolve(value: object, runner_temp: Path) -> str:
    """The only expression the example's env uses is runner.temp; any other would go unchecked."""

    def substitute(match: re.Match) -> str:
        assert match.group(1) == "runner.temp", f"the test cannot evaluate ${{{{ {match.group(1)} }}}}"
        return str(runner_temp)

    return EXPRESSION.sub(substitute, str(value))


def test_the_gpu_less_workflow_runs_on_the_real_engine(tmp_path, docker_client, sim_image):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    name = f"nimctl-it-ci-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    ours = {
        "NIMCTL_CONTAINER_NAME": name,
        "NIMCTL_PORT": str(free_port()),
        "NIMCTL_CACHE_DIR": str(tmp_path / "cache"),
        "RUNNER_TEMP": str(runner_temp),
        "NIMCTL_EXAMPLE_PREINSTALLED": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    ran: list[str] = []
    failed: str | None = None
    try:
        for step in job["steps"]:
            if "run" not in step or (failed and step.get("if") != "always()"):
                continue
            env = base_env()
            for key, value in {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}.items():
                env[key] = resolve(value, runner_temp)
            env.update(ours)
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            ran.append(step["name"])
            if completed.returncode != 0 and failed is None:
                failed = f"step {step['name']!r} -> {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
    finally:
        import docker.errors

        try:
            leftover = docker_client.containers.get(name)
        except docker.errors.NotFound:
            leftover = None
        if leftover is not None:
            leftover.remove(force=True)
    assert failed is None, failed
    assert len(ran) == 5 and ran[-1] == "Stop the simulator"  # install, doctor, up (+JUnit), tests, down
    assert leftover is None, "the always-run `nimctl down` step left the container behind"

    smoke = ET.parse(runner_temp / "reports" / "nim-smoke.xml").getroot().find("testsuite")
    assert int(smoke.get("tests")) >= 5 and smoke.get("failures") == "0" and smoke.get("errors") == "0"
    app = ET.parse(runner_temp / "reports" / "app-tests.xml").getroot().find("testsuite")
    assert (app.get("tests"), app.get("failures"), app.get("errors"), app.get("skipped")) == ("2", "0", "0", "0")
