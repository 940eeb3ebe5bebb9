"""The smoke client against the in-process simulator: every check passes on a healthy NIM and
fails, with a reason that names the broken behaviour, when the simulator breaks that behaviour."""

from __future__ import annotations

import base64
import contextlib
import json
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from io import StringIO

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from nimctl.errors import ConfigError, ExitCode, SmokeFailed
from nimctl.simulator.sim import DEFAULT_MODEL, SimConfig, SimHandle, sniff_image_format, start_in_thread
from nimctl.smoketest import ALL_CHECKS, QUICK_CHECKS, CheckResult, SmokeReport, media, run_checks, select_checks
from nimctl.smoketest.report import render_table, write_junit
from nimctl.smoketest.runner import CAPABILITIES, capability_of

StartSim = Callable[..., SimHandle]


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    """Start in-process simulators (ready at once) with the given SIM_* variables; stop them after."""
    started: list[SimHandle] = []

    def start(**env: str) -> SimHandle:
        cfg = SimConfig.from_env({"SIM_LIVE_DELAY": "0", "SIM_STARTUP_DELAY": "0", **env})
        sim = start_in_thread(cfg, host="127.0.0.1", port=0)
        started.append(sim)
        sim.wait_ready(5)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def healthy_sim() -> Iterator[SimHandle]:
    sim = start_in_thread(SimConfig(live_delay=0, startup_delay=0), host="127.0.0.1", port=0)
    sim.wait_ready(5)
    yield sim
    sim.stop()


def only(report: SmokeReport, name: str) -> CheckResult:
    (result,) = [r for r in report.results if r.name == name]
    return result


# --- every check passes on a healthy NIM -------------------------------------------------------


def test_all_checks_pass_against_the_healthy_simulator(healthy_sim: SimHandle) -> None:
    report = run_checks(
        healthy_sim.base_url,
        checks=ALL_CHECKS,
        image_url=f"{healthy_sim.base_url}/static/sample.png",
        timeout=10,
    )
    assert report.ok, [(r.name, r.reason) for r in report.results]
    assert [r.name for r in report.results] == list(ALL_CHECKS)
    assert report.model == DEFAULT_MODEL  # read from /v1/models when not given
    assert all(r.passed and not r.skipped and r.reason is None for r in report.results)
    assert report.failure() is None


def test_streamed_checks_measure_ttft_and_throughput(healthy_sim: SimHandle) -> None:
    report = run_checks(healthy_sim.base_url, checks=["text", "reasoning", "chat-template"], timeout=10)
    text, reasoning, template = report.results
    assert text.ttft_s is not None and 0 < text.ttft_s < text.latency_s
    assert text.tokens_per_s is not None and text.tokens_per_s > 0  # the simulator reports usage
    assert reasoning.ttft_s is not None
    assert template.ttft_s is None and template.tokens_per_s is None  # its only request is refused


def test_quick_checks_are_the_quick_ones(healthy_sim: SimHandle) -> None:
    # how quick: the benchmark's figure 6 (run_checks(QUICK_CHECKS) ≤ 2 s), not a wall-clock assert here
    report = run_checks(healthy_sim.base_url, model=DEFAULT_MODEL, checks=QUICK_CHECKS, timeout=10)
    assert report.ok
    assert [r.name for r in report.results] == ["models", "text"]


def test_image_url_is_skipped_without_a_url(healthy_sim: SimHandle) -> None:
    report = run_checks(healthy_sim.base_url, checks=["image-url"], timeout=10)
    result = only(report, "image-url")
    assert result.skipped and not result.passed and "--image-url" in (result.reason or "")
    assert report.ok  # a skipped check does not fail the run
    assert report.to_dict()["skipped"] == 1


def test_max_images_follows_the_configured_limit(start_sim: StartSim) -> None:
    sim = start_sim(NIM_MAX_IMAGES_PER_PROMPT="2")
    assert run_checks(sim.base_url, checks=["max-images"], max_images=2, timeout=10).ok
    # Told the limit is 3 when it is 2: the third image is refused, and the check says so.
    report = run_checks(sim.base_url, checks=["max-images"], max_images=3, timeout=10)
    assert "3 images" in (only(report, "max-images").reason or "")


# --- every check fails when its behaviour is broken ----------------------------------------------

# SIM_BREAK name -> (the check that must catch it, words its reason must contain)
BREAKS = {
    "models": ("models", "does not list"),
    "text": ("text", "content is empty"),
    "stream": ("text", "single delta.content chunk"),
    "image-base64": ("image-base64", "Unsupported image format"),
    "image-format": ("image-base64", "BMP image"),
    "multi-turn": ("multi-turn", "ending with an assistant message was accepted"),
    "continue-final": ("multi-turn", "continue_final_message=true): HTTP 400"),
    "reasoning": ("reasoning", "no reasoning text arrived"),
    "reasoning-none": ("reasoning", 'reasoning_effort="none"'),
    "tools": ("tools", "instead of a tool call"),
    "tool-args": ("tools", "not valid JSON"),
    "function-role": ("tools", 'role "function" message was accepted'),
    "max-images": ("max-images", "6 images in one request (one over the limit of 5) was accepted"),
    "chat-template": ("chat-template", "chat_template request parameter was accepted"),
}


def test_every_break_name_is_covered() -> None:
    from nimctl.simulator.sim import BREAK_NAMES

    assert set(BREAKS) | {"hang"} == set(BREAK_NAMES)
    assert {check for check, _ in BREAKS.values()} == set(ALL_CHECKS) - {"image-url"}


@pytest.mark.parametrize("broken", sorted(BREAKS))
def test_each_check_fails_when_its_behaviour_is_broken(start_sim: StartSim, broken: str) -> None:
    check, words = BREAKS[broken]
    sim = start_sim(SIM_BREAK=broken)
    # The model is given: with SIM_BREAK=models the listing is the very thing that is wrong.
    # All four capabilities declared, as the Mistral profile does: a broken one fails, never skips.
    report = run_checks(sim.base_url, model=DEFAULT_MODEL, checks=[check], timeout=10, capabilities=CAPABILITIES)
    result = only(report, check)
    assert not result.passed and not result.skipped
    assert words in (result.reason or ""), result.reason
    assert not report.ok
    failure = report.failure()
    assert isinstance(failure, SmokeFailed) and failure.exit_code == ExitCode.SMOKE_FAILED
    assert failure.message == f"1 of 1 smoke checks failed: {check}"


def test_a_break_fails_only_the_checks_that_depend_on_it(start_sim: StartSim) -> None:
    # Breaking reasoning must not spill into the other checks' verdicts.
    sim = start_sim(SIM_BREAK="reasoning")
    report = run_checks(
        sim.base_url,
        checks=ALL_CHECKS,
        image_url=f"{sim.base_url}/static/sample.png",
        timeout=10,
        capabilities=CAPABILITIES,
    )
    assert [r.name for r in report.failed] == ["reasoning"]


def test_image_url_fails_when_the_nim_cannot_use_the_image(start_sim: StartSim) -> None:
    sim = start_sim()
    report = run_checks(sim.base_url, checks=["image-url"], image_url=f"{sim.base_url}/static/sample.txt", timeout=10)
    result = only(report, "image-url")
    assert not result.passed and not result.skipped
    assert "sample.txt: HTTP 400" in (result.reason or "")


@pytest.mark.timing
def test_a_hung_endpoint_fails_the_check_within_its_timeout(start_sim: StartSim) -> None:
    sim = start_sim(SIM_BREAK="hang")
    started = time.perf_counter()
    report = run_checks(sim.base_url, model=DEFAULT_MODEL, checks=["text"], timeout=0.5)
    elapsed = time.perf_counter() - started
    result = only(report, "text")
    assert not result.passed and result.timed_out
    assert "no answer within the 0.5 s check timeout" in (result.reason or "")
    assert elapsed < 0.5 + 5  # the timeout ended it, not the hang (a generous margin: the machine may be busy)


def test_a_hung_endpoint_does_not_cost_every_checks_timeout(start_sim: StartSim) -> None:
    sim = start_sim(SIM_BREAK="hang")  # only chat hangs; /v1/models still answers
    report = run_checks(sim.base_url, checks=ALL_CHECKS, timeout=0.5)
    assert only(report, "models").passed
    # only these two waited out the timeout (the time it costs is the benchmark's, not asserted here)
    assert [r.name for r in report.results if r.timed_out] == ["text", "image-base64"]
    assert "not run: the endpoint stopped answering" in (only(report, "tools").reason or "")


def test_an_unreachable_endpoint_fails_every_check_with_the_cause() -> None:
    report = run_checks("http://127.0.0.1:9", checks=QUICK_CHECKS, timeout=2)  # port 9: discard, closed
    assert not report.ok and report.model is None
    assert "could not connect" in (only(report, "models").reason or "")
    assert "not run: the model id is unknown" in (only(report, "text").reason or "")


# --- check selection ---------------------------------------------------------------------------


def test_select_checks_keeps_the_canonical_order_and_expands_groups() -> None:
    assert select_checks("tools, models") == ("models", "tools")
    assert select_checks("quick") == QUICK_CHECKS
    assert select_checks(["all"]) == ALL_CHECKS


def test_unknown_check_names_are_a_config_error_listing_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        select_checks("text,txet")
    assert "txet" in caught.value.message
    assert "chat-template" in (caught.value.hint or "")
    with pytest.raises(ConfigError):
        run_checks("http://127.0.0.1:9", checks=["bogus"])


def test_the_check_registry_matches_the_public_names() -> None:
    from nimctl.smoketest.checks import CHECKS

    assert tuple(CHECKS) == ALL_CHECKS


def test_importing_the_cli_command_does_not_import_openai() -> None:
    code = "import sys, nimctl.cli.smoke, nimctl.smoketest; sys.exit('openai' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- pieces of the checks ----------------------------------------------------------------------


def test_schema_problems_checks_required_keys_types_and_enums() -> None:
    from nimctl.smoketest.checks import WEATHER_TOOL, schema_problems

    schema = WEATHER_TOOL["function"]["parameters"]
    assert schema_problems({"city": "Paris", "unit": "celsius"}, schema) == []
    assert schema_problems({"unit": "celsius"}, schema) == ["arguments lacks required key 'city'"]
    assert schema_problems({"city": 7}, schema) == ["arguments.city should be a string, got 7"]
    assert schema_problems({"city": "Paris", "unit": "kelvin"}, schema)[0].startswith("arguments.unit should be one of")
    assert schema_problems(["Paris"], schema) == ['arguments should be a object, got ["Paris"]']
    nested = {"type": "array", "items": {"type": "integer"}}
    assert schema_problems([1, True], nested) == ["arguments[1] should be a integer, got true"]


def test_reasoning_is_read_from_either_field_name() -> None:
    from openai.types.chat import ChatCompletionChunk

    from nimctl.smoketest.checks import reasoning_text

    def delta(**fields: str):
        chunk = {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": fields}],
        }
        return ChatCompletionChunk.model_validate(chunk).choices[0].delta

    assert reasoning_text(delta(reasoning="a")) == "a"
    assert reasoning_text(delta(reasoning_content="b")) == "b"
    assert reasoning_text(delta(content="c")) == ""


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    width, height = struct.unpack(">II", data[16:24])
    idat_length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    return width, height, zlib.decompress(data[41 : 41 + idat_length])


def test_media_builds_each_supported_format() -> None:
    formats = {label: sniff_image_format(image) for label, _, image in media.supported_images()}
    assert formats == {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF"}
    width, height, raw = _png_pixels(media.png())
    assert (width, height) == (media.SIDE, media.SIDE)
    assert raw == (b"\x00" + bytes(media.NVIDIA_GREEN) * width) * height
    assert media.jpeg().endswith(b"\xff\xd9")
    assert media.gif().endswith(b"\x00\x3b")
    assert sniff_image_format(media.bmp()) is None and media.bmp().startswith(b"BM")
    url = media.data_url(b"abc", "image/png")
    assert url == "data:image/png;base64," + base64.b64encode(b"abc").decode()


# --- report renderings --------------------------------------------------------------------------


def _mixed_report() -> SmokeReport:
    return SmokeReport(
        base_url="http://127.0.0.1:8000",
        model=DEFAULT_MODEL,
        results=[
            CheckResult("models", passed=True, latency_s=0.01),
            CheckResult("text", passed=True, latency_s=0.2, ttft_s=0.05, tokens_per_s=123.4),
            CheckResult("image-url", passed=False, latency_s=0.0, reason="no --image-url given", skipped=True),
            CheckResult("tools", passed=False, latency_s=0.3, reason='a role "function" message was [accepted]'),
        ],
    )


def test_junit_xml_is_readable_by_a_junit_parser(tmp_path) -> None:
    (tmp_path / "reports").mkdir()
    path = write_junit(_mixed_report(), tmp_path / "reports" / "smoke.xml")
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "4",
        "1",
        "1",
        "0",
    )
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["models", "text", "image-url", "tools"]
    assert cases["models"].find("failure") is None and cases["models"].find("skipped") is None
    assert cases["image-url"].find("skipped") is not None
    failure = cases["tools"].find("failure")
    assert failure is not None and failure.get("message") == 'a role "function" message was [accepted]'
    assert "ttft_s=0.050" in (cases["text"].findtext("system-out") or "")
    assert float(cases["tools"].get("time")) == pytest.approx(0.3)


def test_junit_xml_from_a_real_run(healthy_sim: SimHandle, tmp_path) -> None:
    report = run_checks(healthy_sim.base_url, checks=QUICK_CHECKS, timeout=10)
    suite = ET.parse(write_junit(report, tmp_path / "smoke.xml")).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"base_url": healthy_sim.base_url, "model": DEFAULT_MODEL}


def test_table_shows_each_check_its_metrics_and_reason() -> None:
    out = StringIO()
    render_table(_mixed_report(), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for expected in (
        "models",
        "pass",
        "FAIL",
        "skip",
        "50 ms",
        "123.4",
        "message was [accepted]",
        "2 passed, 1 failed, 1 skipped",
    ):
        assert expected in text


def test_to_dict_is_json_and_counts_each_status() -> None:
    data = json.loads(json.dumps(_mixed_report().to_dict()))
    assert (data["ok"], data["passed"], data["failed"], data["skipped"]) == (False, 2, 1, 1)
    assert [c["status"] for c in data["checks"]] == ["pass", "pass", "skip", "fail"]
    assert _mixed_report().failure().message == "1 of 3 smoke checks failed: tools"  # skipped ones did not run


# --- the command -------------------------------------------------------------------------------


def _cli() -> typer.Typer:
    """The real `nimctl` app (the guard maps SmokeFailed to exit code 7)."""
    from nimctl.cli.app import app

    return app


def test_cli_prints_json_only_on_stdout_and_exits_0(healthy_sim: SimHandle, tmp_path) -> None:
    junit = tmp_path / "smoke.xml"
    result = CliRunner().invoke(
        _cli(), ["smoke", "--url", healthy_sim.base_url, "--checks", "quick", "--json", "--junit-xml", str(junit)]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # nothing but the one object
    assert data["ok"] and [c["name"] for c in data["checks"]] == ["models", "text"]
    assert "smoke checks" in result.stderr and "2 passed" in result.stderr
    assert ET.parse(junit).getroot().find("testsuite").get("tests") == "2"


def test_cli_exits_7_naming_the_failed_checks(start_sim: StartSim) -> None:
    sim = start_sim(SIM_BREAK="chat-template")
    result = CliRunner().invoke(_cli(), ["smoke", "--url", sim.base_url, "--checks", "text,chat-template", "--json"])
    assert result.exit_code == ExitCode.SMOKE_FAILED
    assert json.loads(result.stdout)["failed"] == 1
    assert "1 of 2 smoke checks failed: chat-template" in result.stderr
    assert "--checks chat-template" in result.stderr  # the hint


def test_cli_rejects_unknown_check_names_with_exit_2(healthy_sim: SimHandle) -> None:
    result = CliRunner().invoke(_cli(), ["smoke", "--url", healthy_sim.base_url, "--checks", "text,nope"])
    assert result.exit_code == ExitCode.USAGE
    assert "nope" in result.stderr and "valid checks:" in result.stderr
    assert result.stdout == ""


def test_cli_uses_the_deployment_endpoint_when_no_url_is_given(
    healthy_sim: SimHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nimctl import api
    from nimctl.targets import Endpoint

    asked = []

    @contextlib.contextmanager
    def fake_reach(engine: object, name: str | None, profile: str | None = None) -> Iterator[Endpoint]:
        asked.append((engine, name))
        yield Endpoint(name="nim", url=healthy_sim.base_url, model=DEFAULT_MODEL, max_images=5)

    monkeypatch.setattr(api, "connect", lambda loaded, environ=None: f"engine at {loaded.settings.engine_url}")
    monkeypatch.setattr(api, "reach_endpoint", fake_reach)
    result = CliRunner().invoke(
        _cli(), ["smoke", "--name", "nim", "--checks", "max-images", "--json", "--engine-url", "unix:///x.sock"]
    )
    assert result.exit_code == 0, result.stderr
    assert asked == [("engine at unix:///x.sock", "nim")]
    assert json.loads(result.stdout)["model"] == DEFAULT_MODEL


# --- capabilities (issue 18) --------------------------------------------------------------------


def test_each_check_covers_one_capability() -> None:
    assert {capability_of(name) for name in ALL_CHECKS} == set(CAPABILITIES)
    assert capability_of("image-base64") == "vision" and capability_of("tools") == "tools"
    assert capability_of("reasoning") == "reasoning" and capability_of("multi-turn") == "text"


def test_none_declared_a_text_only_model_turns_down_what_it_lacks_as_skips(start_sim: StartSim) -> None:
    sim = start_sim(SIM_CAPABILITIES="text")
    report = run_checks(sim.base_url, checks=ALL_CHECKS, image_url=f"{sim.base_url}/static/sample.png", timeout=10)
    statuses = {r.name: r.status for r in report.results}
    assert report.ok and report.failure() is None, report.to_dict()
    for name in ("image-base64", "image-url", "max-images", "reasoning", "tools"):
        assert statuses[name] == "skip", (name, statuses)
    for name in ("models", "text", "multi-turn", "chat-template"):
        assert statuses[name] == "pass", (name, statuses)
    reasons = {r.name: r.reason or "" for r in report.results}
    assert "not a multimodal model" in reasons["image-base64"] and "no vision capability" in reasons["image-base64"]
    assert "no reasoning capability" in reasons["reasoning"]
    assert "--enable-auto-tool-choice" in reasons["tools"]


def test_declared_capabilities_skip_the_others_and_a_declared_one_that_fails_fails(start_sim: StartSim) -> None:
    sim = start_sim(SIM_CAPABILITIES="text")
    report = run_checks(sim.base_url, checks=ALL_CHECKS, timeout=10, capabilities=["text", "vision"])
    statuses = {r.name: r.status for r in report.results}
    assert statuses["reasoning"] == "skip" and statuses["tools"] == "skip"
    assert "does not declare the tools capability" in (only(report, "tools").reason or "")
    assert statuses["image-base64"] == "fail" and statuses["max-images"] == "fail"
    failure = report.failure()
    assert isinstance(failure, SmokeFailed) and failure.exit_code == ExitCode.SMOKE_FAILED


def test_a_failure_that_is_no_missing_capability_still_fails_when_none_declared(start_sim: StartSim) -> None:
    sim = start_sim(SIM_BREAK="image-base64")  # a vision model that wrongly refuses base64 images
    report = run_checks(sim.base_url, checks=["image-base64"], timeout=10)
    assert only(report, "image-base64").status == "fail"


def test_the_models_check_wants_the_expected_id_too(start_sim: StartSim) -> None:
    sim = start_sim()
    report = run_checks(sim.base_url, checks=["models"], timeout=10, expected_model="meta/llama-3.1-8b-instruct")
    result = only(report, "models")
    assert result.status == "fail" and "does not list 'meta/llama-3.1-8b-instruct'" in (result.reason or "")
    assert run_checks(sim.base_url, checks=["models"], timeout=10, expected_model=DEFAULT_MODEL).ok
