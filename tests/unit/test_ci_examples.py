"""The CI examples validate against the published GitHub workflow and GitLab CI schemas (shipped
with check-jsonschema, so offline) and contain the steps docs/ci.md promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
GITHUB = ["github-gpu.yml", "github-sim.yml"]


def validate(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", GITHUB)
def test_github_workflow_matches_the_schema(name):
    result = validate("vendor.github-workflows", EXAMPLES / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_ci_matches_the_schema():
    result = validate("vendor.gitlab-ci", EXAMPLES / "gitlab-ci.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    workflow = yaml.safe_load((EXAMPLES / "github-sim.yml").read_text())
    job = next(iter(workflow["jobs"].values()))
    del job["runs-on"]
    job["steps"][0]["run"] = "echo a step cannot both use an action and run a shell"
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(workflow))
    assert validate("vendor.github-workflows", broken).returncode != 0


def steps(name: str) -> list[dict]:
    workflow = yaml.safe_load((EXAMPLES / name).read_text())
    (job,) = workflow["jobs"].values()
    return job["steps"]


@pytest.mark.parametrize("name", GITHUB)
def test_github_workflow_has_the_documented_steps(name):
    runs = [step for step in steps(name) if "run" in step]
    commands = "\n".join(step["run"] for step in runs)
    for expected in ("nimctl doctor", "nimctl up", "--smoke full", "--junit-xml", "python -m pytest"):
        assert expected in commands, f"{name} lacks {expected!r}"
    last = steps(name)[-1]
    assert last.get("if") == "always()" and last["run"].startswith("nimctl down")
    uploads = [step for step in steps(name) if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0].get("if") == "always()"


def test_gitlab_jobs_stop_the_nim_in_after_script():
    pipeline = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    for job in ("nim-gpu", "nim-sim"):
        assert any("nimctl down" in line for line in pipeline[job]["after_script"])
        assert any(line.startswith("nimctl up") for line in pipeline[job]["script"])
    assert pipeline[".nimctl"]["artifacts"]["when"] == "always"
