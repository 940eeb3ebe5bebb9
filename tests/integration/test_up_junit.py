"""`nimctl up --junit-xml`: the smoke suite's report as a JUnit file, also (above all) when a check fails."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.integration.harness import RUN_ID, base_env, free_port, run_nimctl


def up_sim(tmp_path: Path, sim_image: str, *extra: str):
    name = f"nimctl-it-junit-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    env = base_env(NIMCTL_CACHE_DIR=str(tmp_path / "cache"), NIMCTL_LOG_DIR=str(tmp_path / "logs"))
    args = ("up", "--profile", "sim", "--image", sim_image, "--name", name, "--port", str(free_port()), *extra)
    return name, env, run_nimctl(*args, env=env)


def suite_of(path: Path) -> ET.Element:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def test_up_writes_the_smoke_report_as_junit(tmp_path: Path, sim_image: str) -> None:
    report = tmp_path / "reports" / "smoke.xml"
    report.parent.mkdir()  # nimctl writes the report; it does not create its directory (exit 2, issue 20)
    name, env, result = up_sim(tmp_path, sim_image, "--smoke", "quick", "--junit-xml", str(report))
    try:
        assert result.returncode == 0, repr(result)
        suite = suite_of(report)
        assert int(suite.get("tests")) >= 2 and suite.get("failures") == "0"
        assert f"written to {report}" in result.stderr
    finally:
        run_nimctl("down", "--name", name, env=env)


def test_a_failed_check_still_leaves_its_junit_report(tmp_path: Path, sim_image: str) -> None:
    report = tmp_path / "smoke.xml"
    name, env, result = up_sim(tmp_path, sim_image, "--env", "SIM_BREAK=text", "--junit-xml", str(report))
    try:
        assert result.returncode == 7, repr(result)  # the smoke test failed; the NIM stays up
        suite = suite_of(report)
        failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
        assert failed == ["text"], failed
    finally:
        run_nimctl("down", "--name", name, env=env)


def test_a_junit_report_needs_a_smoke_suite(tmp_path: Path, sim_image: str) -> None:
    name, env, result = up_sim(tmp_path, sim_image, "--no-smoke", "--junit-xml", str(tmp_path / "x.xml"))
    assert result.returncode == 2, repr(result)
    assert "needs a smoke suite" in result.stderr and "hint:" in result.stderr
    assert not (tmp_path / "x.xml").exists()
