"""Issue 20: bad input never reaches the engine as a surprise, and text is printed as text.

Printers get `[`, `]`, `[/]` and `[bold]` in every user or engine value; click's own parse errors
come out as nimctl's `error:`/`hint:` lines; secrets arrive one way; `--profile` finds its
containers by label; `status --watch` off a terminal; one behaviour per intent. The CLI runs
through typer's CliRunner with the engine pointed at a socket that does not exist (any engine call
would be exit 3).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from nimctl import deploy
from nimctl.container import ContainerInfo
from nimctl.deploy import UpOptions
from nimctl.env_names import SECRET_ENV_NAMES, is_settings_variable
from nimctl.errors import ConfigError, GpuRefused, NimctlError
from nimctl.reporter import Reporter
from nimctl.secret_fingerprint import changed_secrets, fingerprints
from nimctl.spec import LABEL_PROFILE
from tests.unit.test_deploy_policy import FakeEngine, container, sim_settings, spec_labels

MARKUP = ["[", "]", "[/]", "[bold]", "x-[/]", "a[bold]b[/bold]c", "[red]", "\\[x]", "end\\"]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A known environment: no setting from this machine, the engine a socket that does not exist,
    every directory nimctl may write under tmp_path."""
    import os

    for name in list(os.environ):
        if is_settings_variable(name) or name in ("DOCKER_HOST", "DOCKER_CONTEXT", *SECRET_ENV_NAMES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NIMCTL_ENGINE_URL", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setenv("NIMCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NIMCTL_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    from nimctl.cli.app import app

    return CliRunner().invoke(app, list(args))


def recording() -> Console:
    return Console(file=io.StringIO(), width=400, force_terminal=False, no_color=True)


# --- 2. text is text ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", MARKUP)
def test_the_reporter_and_the_error_printer_print_text(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from nimctl.cli import guard

    out = recording()
    report = Reporter(out)
    report.step(f"name {text}")
    report.warn(f"engine said {text}")
    report.phase(f"n{text}", f"phase {text}")
    monkeypatch.setattr(guard, "console", lambda: out)
    guard.report_error(NimctlError(f"message {text}", hint=f"hint {text}", details=[f"log {text}"]))
    printed = out.file.getvalue()
    for expected in (
        f"• name {text}",
        f"warning: engine said {text}",
        f"• n{text}: phase {text}",
        f"error: message {text}",
        f"log {text}",
        f"hint: hint {text}",
    ):
        assert expected in printed


@pytest.mark.parametrize("text", MARKUP)
def test_the_status_table_the_smoke_table_and_the_pull_lines_print_text(text: str) -> None:
    from nimctl.cli.status import render
    from nimctl.pull import PullDisplay
    from nimctl.smoketest.report import CheckResult, SmokeReport, render_table

    row = {
        "name": f"n{text}",
        "profile": f"p{text}",
        "state": "running",
        "exit_code": None,
        "live": True,
        "ready": False,
        "url": f"http://h/{text}",
        "via": None,
        "gpus": None,
        "version": f"v{text}",
        "model_profile": f"m{text}",
        "metrics": None,
        "uptime_s": 1.0,
    }
    out = recording()
    out.print(render([row], None))
    report = SmokeReport(
        base_url=f"http://h/{text}",
        model=f"model{text}",
        results=[CheckResult(name=f"c{text}", passed=False, latency_s=0.1, reason=f"server said {text}")],
    )
    render_table(report, out)
    with PullDisplay(out, f"img{text}") as display:
        display({"id": "abc", "status": f"Downloading {text}"})
    printed = out.file.getvalue()
    for expected in (f"n{text}", f"p{text}", f"v{text}", f"m{text}", f"c{text}", f"server said {text}"):
        assert expected in printed
    assert f"pulling img{text}" in printed and f"abc Downloading {text}" in printed


@pytest.mark.parametrize("text", ["x-[/]", "x-[bold]y", "[", "a]"])
def test_a_name_with_brackets_is_exit_2_naming_it_exactly(cli_env: Path, text: str) -> None:
    result = run("up", "--profile", "sim", "--name", text)
    assert result.exit_code == 2, result.output
    assert repr(text) in result.stderr and "Traceback" not in result.output


def test_an_env_key_with_brackets_is_exit_2_naming_it_exactly(cli_env: Path) -> None:
    result = run("up", "--profile", "sim", "--env", "X[/]=1")
    assert result.exit_code == 2 and "'X[/]' is not an environment variable name" in result.stderr


def test_down_messages_print_names_as_text(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nimctl import api
    from nimctl.cli import down

    monkeypatch.setattr(api, "down", lambda **kwargs: ["gone-[/]", "x[bold]"])
    assert "removed gone-[/], x[bold]" in run("down", "--all").stderr
    monkeypatch.setattr(api, "down", lambda **kwargs: [])
    monkeypatch.setattr(down, "_what_runs", lambda options: "; there are: a[/] (profile [bold])")
    said = run("down", "--profile", "sim").stderr
    assert "nothing to remove: no nimctl container of profile 'sim'; there are: a[/] (profile [bold])" in said


# --- 3. one way to report usage errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["up", "--bogus"], "No such option: --bogus"),
        (["up", "--port"], "requires an argument"),
        (["down", "--timeout", "x"], "Invalid value for '--timeout'"),
        (["up", "--force-recreate=yes"], "does not take a value"),
        (["status", "--interval", "0"], "Invalid value for '--interval'"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_click_parse_errors_are_error_and_hint_lines(cli_env: Path, args: list[str], words: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and words in lines[0]
    assert lines[-1].startswith("hint: ") and "--help" in lines[-1]
    assert "╭" not in result.output and "Usage:" not in result.output


def test_help_and_version_still_exit_0(cli_env: Path) -> None:
    assert run("--help").exit_code == 0 and run("up", "--help").exit_code == 0
    assert run("--version").exit_code == 0
    assert run().exit_code == 2  # no command: the help, as before


# --- 1 (rest). an engine's refusal is what it is; --cache-dir "" ----------------------------------


class RefusingProbe:
    def __init__(self, error: NimctlError):
        self.error = error

    def list_gpus(self, spec):
        raise self.error

    class kind:  # noqa: N801 - stands in for EngineKind
        name = "docker"
        is_podman = False


def test_only_a_real_gpu_refusal_is_reported_as_a_gpu_problem(tmp_path: Path) -> None:
    from nimctl.preflight import FAIL, _gpus_in_container

    settings = sim_settings(tmp_path, gpus="1").settings
    check = _gpus_in_container(settings, RefusingProbe(GpuRefused("the engine cannot serve GPU requests (x)")))
    assert check.status == FAIL and "the engine refused the GPU request" in check.detail
    name_refused = ConfigError("cannot create container a b: Invalid container name")
    with pytest.raises(ConfigError) as raised:
        _gpus_in_container(settings, RefusingProbe(name_refused))
    assert raised.value is name_refused  # as what it is: exit 2, its own words


@pytest.mark.parametrize("command", [["up"], ["cache", "ls"], ["doctor"], ["profiles"]])
def test_an_empty_cache_dir_is_refused_not_taken_as_the_current_directory(cli_env: Path, command: list) -> None:
    result = run(*command, "--profile", "sim", "--cache-dir", "")
    assert result.exit_code == 2 and "invalid setting cache_dir (from flag): a path cannot be empty" in result.stderr


# --- 4. secrets arrive one way; a changed key is named -------------------------------------------


@pytest.mark.parametrize("key", SECRET_ENV_NAMES)
def test_a_secret_through_env_is_refused_on_the_command_line(cli_env: Path, key: str) -> None:
    result = run("up", "--profile", "sim", "--env", f"{key}=nvapi-not-echoed")
    assert result.exit_code == 2
    assert f"{key} is a secret" in result.stderr and f"hint: export {key}" in result.stderr
    assert "nvapi-not-echoed" not in result.output


def test_fingerprints_are_salted_and_compare_values_without_keeping_them() -> None:
    running = fingerprints({"NGC_API_KEY": "nvapi-old"})
    assert "nvapi-old" not in json.dumps(running) and len(running["NGC_API_KEY"]) == 64
    assert changed_secrets({"NGC_API_KEY": "nvapi-old"}, running) == []
    assert changed_secrets({"NGC_API_KEY": "nvapi-new"}, running) == ["NGC_API_KEY"]
    assert changed_secrets({}, running) == ["NGC_API_KEY"]
    assert changed_secrets({"HF_TOKEN": "hf_x", "NGC_API_KEY": "nvapi-old"}, running) == ["HF_TOKEN"]


def test_a_container_record_keeps_fingerprints_not_secrets() -> None:
    info = ContainerInfo.from_inspect(
        {
            "Id": "c1",
            "Name": "/n",
            "State": {"Status": "running"},
            "Config": {"Env": ["NGC_API_KEY=nvapi-in-container", "HF_TOKEN=hf_in_container", "A=1"], "Labels": {}},
        }
    )
    assert info.env == {"A": "1"} and set(info.secret_fingerprints) == {"NGC_API_KEY", "HF_TOKEN"}
    assert "nvapi-in-container" not in repr(info) and "hf_in_container" not in repr(info)


def _running_with_key(loaded, key: str) -> ContainerInfo:
    info = container("policy-test", spec_labels(loaded), state="running")
    return ContainerInfo(**{**info.__dict__, "secret_fingerprints": fingerprints({"NGC_API_KEY": key})})


@pytest.mark.parametrize(("old", "warned"), [("nvapi-old", True), ("nvapi-same", False)])
def test_up_names_force_recreate_when_the_running_containers_key_differs(
    tmp_path: Path, ready_nim, monkeypatch: pytest.MonkeyPatch, old: str, warned: bool
) -> None:
    port = int(ready_nim.url.rsplit(":", 1)[1])
    loaded = sim_settings(tmp_path, port=port, timeout=5)
    loaded = type(loaded)(
        settings=loaded.settings.model_copy(update={"ngc_api_key": __import__("pydantic").SecretStr("nvapi-same")}),
        profile=loaded.profile,
        sources=loaded.sources,
    )
    engine = FakeEngine(_running_with_key(loaded, old))
    out = recording()
    result = deploy.up(loaded, UpOptions(smoke="none"), Reporter(out), connect=lambda: engine)
    said = out.file.getvalue()
    assert result.action == "noop"  # the key is not part of the configuration
    assert ("NGC_API_KEY differs from the one policy-test was started with" in said) is warned
    assert ("--force-recreate" in said) is warned
    assert "nvapi-same" not in said and "nvapi-old" not in said
    assert fingerprints({"NGC_API_KEY": "nvapi-same"})["NGC_API_KEY"] not in said


# --- 5. --profile finds its containers whatever their names ---------------------------------------


def _info(name: str, profile: str, state: str = "running") -> ContainerInfo:
    return ContainerInfo(
        id=name + "-id",
        name=name,
        state=state,
        exit_code=None,
        image="nimctl-sim:latest",
        image_id="sha256:0",
        labels={"io.nimctl.managed": "true", LABEL_PROFILE: profile, "io.nimctl.url": "http://127.0.0.1:1"},
        started_at=None,
        env={},
    )


class Engine:
    def __init__(self, *infos: ContainerInfo):
        self.infos = infos

    def inspect(self, name: str) -> ContainerInfo | None:
        return next((i for i in self.infos if i.name == name), None)

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]:
        return [i for i in self.infos if name in (None, i.name)]

    def reach(self, url: str):
        return contextlib.nullcontext(url)


def _target(engine: Engine, profile: str | None, name: str | None = None) -> str:
    from nimctl.options import settings_flags
    from nimctl.settings import load_settings
    from nimctl.targets import target_name

    loaded = load_settings(settings_flags({"name": name}), profile=profile, environ={})
    return target_name(engine, loaded, profile_given=profile is not None)


def test_down_and_logs_with_a_profile_find_its_container_whatever_its_name() -> None:
    engine = Engine(_info("renamed-sim", "sim"), _info("other", "mistral-small-4-119b-2603"))
    assert _target(engine, "sim") == "renamed-sim"
    assert _target(Engine(_info("nimctl-sim", "sim"), _info("x", "sim")), "sim") == "nimctl-sim"
    assert _target(Engine(_info("a", "sim", "exited"), _info("b", "sim")), "sim") == "b"
    assert _target(engine, "sim", name="explicit") == "explicit"
    with pytest.raises(ConfigError, match="2 nimctl containers of profile 'sim': a \\(profile sim\\), b"):
        _target(Engine(_info("a", "sim"), _info("b", "sim")), "sim")


def test_smoke_with_a_profile_reaches_its_container_whatever_its_name() -> None:
    from nimctl.targets import reach_endpoint

    engine = Engine(_info("renamed-sim", "sim"), _info("other", "p2"))
    with reach_endpoint(engine, None, profile="sim") as endpoint:
        assert endpoint.name == "renamed-sim"
    with pytest.raises(ConfigError) as none, reach_endpoint(engine, None, profile="p3"):
        pass
    assert "of profile 'p3'" in none.value.message and "renamed-sim (profile sim)" in none.value.hint


# --- 6. status --watch off a terminal --------------------------------------------------------------


def _watch(monkeypatch: pytest.MonkeyPatch, *args: str):
    from nimctl.cli import status
    from nimctl.engine.kind import EngineKind

    class Fake:
        kind = EngineKind("docker", "fake")
        choice = type("Choice", (), {"source": "test"})()

    rows = [{"name": f"n{i}", "profile": "p", "state": "running", "exit_code": None, "live": True, "ready": True,
             "url": "u", "via": None, "gpus": None, "version": None, "model_profile": None, "metrics": None,
             "uptime_s": 1.0} for i in range(2)]  # fmt: skip
    sleeps = iter([None, KeyboardInterrupt])

    def sleep(seconds: float) -> None:
        if next(sleeps) is KeyboardInterrupt:
            raise KeyboardInterrupt

    monkeypatch.setattr("nimctl.engine.connect", lambda loaded: Fake())
    monkeypatch.setattr("nimctl.inventory.status", lambda engine, name, deep=False: rows)
    monkeypatch.setattr(status.time, "sleep", sleep)
    return run("status", "--watch", *args)


def test_watch_json_off_a_terminal_is_json_lines(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _watch(monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(json.loads(line)[1]["name"] == "n1" for line in lines)


def test_watch_off_a_terminal_writes_tables_to_stdout(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _watch(monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("n1") == 2 and "name" in result.stdout


# --- 7. one behaviour per intent -------------------------------------------------------------------


def test_logs_follow_ended_by_ctrl_c_exits_0(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        def inspect(self, name: str) -> ContainerInfo:
            return _info(name, "sim")

        def managed_containers(self, name=None):
            return []

        def follow_logs(self, container_id: str, tail, follow: bool) -> Iterator[bytes]:
            yield b"one line\n"
            raise KeyboardInterrupt

    monkeypatch.setattr("nimctl.engine.connect", lambda loaded: Fake())
    followed = run("logs", "-f", "--name", "nim")
    assert followed.exit_code == 0 and followed.stdout == "one line\n"
    assert run("logs", "--name", "nim").exit_code == 130  # without -f, Ctrl-C is an interruption


def test_the_smoke_suite_has_one_name_with_an_alias() -> None:
    from nimctl.settings import load_settings
    from nimctl.smoketest.runner import ALL_CHECKS, select_checks

    assert select_checks("full") == select_checks("all") == ALL_CHECKS
    assert load_settings({"smoke": "all"}, profile="sim", environ={}).settings.smoke == "full"
    assert load_settings({}, profile="sim", environ={"NIMCTL_SMOKE": "all"}).settings.smoke == "full"


@pytest.mark.parametrize("suite", ["full", "all"])
def test_smoke_checks_full_and_all_are_known(cli_env: Path, suite: str) -> None:
    result = run("smoke", "--checks", suite)  # then looks for a container: the engine is not there
    assert result.exit_code == 3, result.output


@pytest.mark.parametrize(
    "args", [["up", "--profile", "sim"], ["smoke", "--url", "http://127.0.0.1:1"]], ids=["up", "smoke"]
)
def test_junit_xml_into_a_missing_directory_is_exit_2(cli_env: Path, args: list[str]) -> None:
    result = run(*args, "--junit-xml", str(cli_env / "missing" / "report.xml"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (cli_env / "missing").exists()


def test_doctors_gpu_lines_stay_short_and_it_takes_share_gpus() -> None:
    from nimctl.domain import GpuRequest
    from nimctl.gpu_share import overlap

    assert overlap(GpuRequest.parse("999"), GpuRequest.parse("all")) == "GPUs 0-998"
    assert len(overlap(GpuRequest.parse(",".join(f"GPU-{i}" for i in range(500))), GpuRequest.parse("all"))) < 120
    help_text = run("doctor", "--help").stdout
    assert "--share-gpus" in help_text


# --- found by the fuzz test (test_cli_fuzz.py) ---------------------------------------------------


@pytest.mark.parametrize("host", ["\x80", "example.com", "localhost", "1.2.3", "[::1"])
def test_a_host_that_is_no_ip_address_is_exit_2(cli_env: Path, host: str) -> None:
    result = run("up", "--profile", "sim", "--host", host)
    assert result.exit_code == 2 and "is not an IP address to publish on" in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "[::1]", ""])
def test_ip_addresses_are_hosts(host: str) -> None:
    from nimctl.validation import host_address

    assert host_address(host) in ("127.0.0.1", "0.0.0.0", "::1", "")


@pytest.mark.parametrize("args", [["up", "--profile", "x" * 300], ["up", "--profile", "a\x00b.toml"]])
def test_a_profile_name_the_filesystem_refuses_is_exit_2(cli_env: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2 and result.stderr.startswith("error: profile ")


def test_a_junit_file_name_the_filesystem_refuses_is_exit_2(cli_env: Path) -> None:
    result = run("up", "--profile", "sim", "--junit-xml", "y" * 300)
    assert result.exit_code == 2 and "invalid --junit-xml" in result.stderr


@pytest.mark.parametrize("url", ["[$£", "R:\x06", "nope", "tcp://", "ssh://h:port", "unix:// x"])
def test_an_engine_url_that_does_not_parse_is_exit_2_before_any_engine_call(cli_env: Path, url: str) -> None:
    result = run("status", "--engine-url", url)
    assert result.exit_code == 2 and "invalid setting engine_url (from flag)" in result.stderr


def test_a_crowded_status_table_never_cuts_a_name_short() -> None:
    from nimctl.cli.status import render

    long = "nimctl-it-choice-docker-2850ef0a-679a73"
    row = {"name": long, "profile": "profile-" + "x" * 60, "state": "running", "exit_code": None, "live": True,
           "ready": True, "url": "http://127.0.0.1:41183", "via": None, "gpus": "all", "version": "1.7.0-variant",
           "model_profile": "vllm-bf16-tp1-pp1", "metrics": None, "uptime_s": 1.0}  # fmt: skip
    out = Console(file=io.StringIO(), width=120, force_terminal=False, no_color=True)
    out.print(render([row] * 3, None))
    assert out.file.getvalue().count(long) == 3
