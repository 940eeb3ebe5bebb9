"""The Python API's argument handling: it fails with nimctl's own errors (and exit codes) before
it touches the engine, and maps its keywords onto the settings the CLI flags set."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nimctl
from nimctl import api
from nimctl.errors import ConfigError, ExitCode
from nimctl.options import settings_flags


def no_engine():
    raise AssertionError("the engine must not be contacted for bad arguments")


@pytest.fixture
def engine_forbidden(monkeypatch):
    from nimctl.engine import Engine

    monkeypatch.setattr(Engine, "open", classmethod(lambda cls, *a, **k: no_engine()))


def test_keywords_become_the_settings_the_cli_flags_set():
    values = {"name": "n1", "max_images": 3, "port": 9000, "env": {"A": "1"}, "timeout": 5, "smoke": "none"}
    loaded = api.load("up", values, environ={})
    assert settings_flags(values) == {
        "container_name": "n1",
        "max_images_per_prompt": 3,
        "port": 9000,
        "env": {"A": "1"},
        "timeout": 5,
        "smoke": "none",
    }
    got = loaded.settings
    assert (got.container_name, got.max_images_per_prompt, got.port, got.timeout) == ("n1", 3, 9000, 5)
    assert all(loaded.sources[field] == "flag" for field in ("container_name", "max_images_per_prompt", "port"))


def test_other_settings_by_name_and_named_arguments_win():
    loaded = api.load("up", {"port": 9000}, settings={"stop_timeout": 3, "port": 1234}, environ={})
    assert (loaded.settings.stop_timeout, loaded.settings.port) == (3, 9000)


def test_a_command_reads_only_its_own_settings():
    # smoke's `timeout` is seconds per check, not the readiness timeout setting
    loaded = api.load("smoke", {"timeout": 5, "engine_url": "unix:///x.sock"}, environ={})
    assert loaded.settings.engine_url == "unix:///x.sock" and loaded.sources["timeout"] != "flag"


def test_the_engine_url_comes_from_the_environment_or_the_profile(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('engine_url = "unix:///from-profile.sock"\n')
    from_profile = api.load("status", {"profile": str(profile)}, environ={})
    assert from_profile.settings.engine_url == "unix:///from-profile.sock"
    from_env = api.load("status", {"profile": str(profile)}, environ={"NIMCTL_ENGINE_URL": "unix:///env.sock"})
    assert (from_env.settings.engine_url, from_env.sources["engine_url"]) == (
        "unix:///env.sock",
        "env NIMCTL_ENGINE_URL",
    )


def test_an_unknown_setting_is_a_usage_error():
    with pytest.raises(ConfigError, match="unknown setting colour") as caught:
        api.load("up", {}, settings={"colour": "green"})
    assert caught.value.exit_code == ExitCode.USAGE
    assert "README" in caught.value.hint


def test_up_rejects_a_bad_value_before_the_engine(engine_forbidden):
    with pytest.raises(ConfigError, match="invalid setting port") as caught:
        api.up("sim", port=99999, environ={})
    assert caught.value.exit_code == 2


def test_up_rejects_an_unknown_profile(engine_forbidden):
    with pytest.raises(ConfigError, match="no-such-profile"):
        api.up("no-such-profile", environ={})


def test_up_rejects_an_unknown_keyword():
    with pytest.raises(TypeError):
        api.up("sim", colour="green", environ={})


def test_down_name_and_everything_exclude_each_other(engine_forbidden):
    with pytest.raises(ConfigError, match="exclude each other"):
        api.down("x", everything=True)
    with pytest.raises(ConfigError, match="timeout"):
        api.down("x", timeout=-1)


def test_smoke_rejects_bad_arguments_before_any_lookup(engine_forbidden):
    with pytest.raises(ConfigError, match="unknown smoke check"):
        api.smoke(checks="text,telepathy")
    with pytest.raises(ConfigError, match="timeout"):
        api.smoke("http://127.0.0.1:9", timeout=0)
    with pytest.raises(ConfigError, match="max_images"):
        api.smoke("http://127.0.0.1:9", max_images=0)


def test_nimctl_smoke_is_the_api_function_even_after_the_smoke_test_package_loads(monkeypatch):
    import nimctl.smoketest.runner  # noqa: F401 - a subpackage import must not rebind nimctl.smoke

    calls = []
    monkeypatch.setattr(api, "smoke", lambda *a, **k: calls.append((a, k)) or "report")
    assert nimctl.smoke("http://h:1", checks="text") == "report"
    assert calls == [(("http://h:1",), {"checks": "text"})]
    assert "smoke" not in vars(nimctl)  # no submodule named smoke: nimctl.smoke is the function


def test_smoke_returns_the_report_and_raises_smoke_failed():
    from nimctl.errors import SmokeFailed
    from nimctl.simulator.sim import SimConfig, start_in_thread

    config = SimConfig.from_env({"SIM_STARTUP_DELAY": "0", "SIM_BREAK": "text"})
    sim = start_in_thread(config, host="127.0.0.1", port=0)
    try:
        sim.wait_ready(10)
        report = api.smoke(sim.base_url, checks="models,text", raise_on_failure=False)
        assert report.to_dict()["failed"] == 1 and report.to_dict()["passed"] == 1
        with pytest.raises(SmokeFailed) as caught:
            api.smoke(sim.base_url, checks="models,text")
        assert caught.value.exit_code == ExitCode.SMOKE_FAILED
    finally:
        sim.stop()


def test_the_package_exports_the_api_lazily():
    assert nimctl.up is api.up and nimctl.down is api.down
    assert nimctl.status is api.status
    with pytest.raises(AttributeError):
        nimctl.launch  # noqa: B018
    code = (
        "import sys, nimctl; "
        "print(sorted(m for m in ('docker', 'openai', 'pydantic', 'nimctl.api') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
