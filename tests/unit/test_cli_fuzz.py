"""Issue 20, item 8: arbitrary text into every option of every command, through the CLI runner.

The click command tree is walked (the app's commands and its subgroups' commands), so a new option
is fuzzed without a line here. Each value goes in as `--option=VALUE`. The engine is a unix socket
that does not exist and every `connect` is recorded and refused (exit 3), so the test holds:

- the exit code is one the README documents for such a run (0, 2, 3; 8 for doctor, whose engine
  check fails), never 1 (an internal error);
- no traceback in the output;
- an invalid value (exit 2) is refused before any engine call.

Every directory nimctl may write is under a temporary directory, and values that would name a
path outside it (absolute, `~`, `..`) or a network host (`ssh://`, `tcp://`, `http://`...) are left
out: the test must not touch the machine or the network.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nimctl.cli.app import app
from nimctl.env_names import SECRET_ENV_NAMES, is_settings_variable
from nimctl.errors import EngineUnreachable

ROOT_ONLY = {"--install-completion", "--show-completion", "--help", "--version"}
NETWORK = ("ssh", "tcp", "http", "npipe", "fd:", "unix")
ALLOWED = {0, 2, 3}  # success (help, config show, k8s render, cache ls), usage, engine unreachable


def _commands() -> Iterator[tuple[tuple[str, ...], object]]:
    root = typer.main.get_command(app)

    def walk(command, path: tuple[str, ...]):
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path, command
            return
        for name, sub in sorted(subcommands.items()):
            yield from walk(sub, (*path, name))

    yield from walk(root, ())


def _options() -> list[tuple[tuple[str, ...], str]]:
    found = []
    for path, command in _commands():
        for param in command.params:
            flags = [flag for flag in param.opts if flag.startswith("--")]
            if not flags or flags[0] in ROOT_ONLY:
                continue
            found.append((path, flags[0]))
    return found


OPTIONS = _options()

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "[",
            "]",
            "[/]",
            "[bold]",
            "x-[/]",
            "X[/]=1",
            "a\nb",
            "\x00",
            "ü-ñ-日本",
            "-lead",
            "a b",
            "x/y",
            ".hidden",
            "_x",
            "0",
            "-1",
            "1e999",
            "nan",
            "inf",
            "99999999999999999999999",
            "auto",
            "all",
            "none",
            "device=",
            "=",
            "KEY=",
            "NGC_API_KEY=nvapi-fuzz",
            "HF_TOKEN=hf_fuzz",
            "Upper/Case:tag",
            "repo:tag:extra",
            "repo@sha256:xyz",
            "::",
            "x" * 300,
            "y" * 5000,
        ]
    ),
)


def _stays_here(option: str, value: str) -> bool:
    """Whether the value names nothing outside the temporary directory or off this machine."""
    lowered = value.strip().lower()
    if lowered.startswith(NETWORK) or "://" in lowered:
        return False
    return not (value.startswith(("/", "~")) or ".." in value or "\\" in value)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nimctl-fuzz-") as where:
        yield Path(where)


@pytest.fixture
def isolated(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No setting from this machine; every write under the sandbox; `connect` recorded and refused."""
    for name in list(os.environ):
        if is_settings_variable(name) or name in ("DOCKER_HOST", "DOCKER_CONTEXT", *SECRET_ENV_NAMES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NIMCTL_ENGINE_URL", f"unix://{sandbox}/no-engine.sock")
    for variable, sub in (
        ("NIMCTL_CACHE_DIR", "cache"),
        ("NIMCTL_LOG_DIR", "logs"),
        ("HOME", "home"),
        ("XDG_RUNTIME_DIR", "run"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("DOCKER_CONFIG", "docker-config"),
    ):
        monkeypatch.setenv(variable, str(sandbox / sub))
    work = sandbox / "a" / "b" / "c" / "work"  # `..` is left out of values; this is depth to spare
    work.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(work)

    calls: list[str] = []

    def refused(*args, **kwargs):
        calls.append("connect")
        raise EngineUnreachable("cannot reach the engine (fuzz: no engine)", hint="none here")

    import nimctl.api
    import nimctl.deploy
    import nimctl.engine
    import nimctl.tasks

    monkeypatch.setattr(nimctl.engine, "connect", refused)
    monkeypatch.setattr(nimctl.api, "connect", refused)
    monkeypatch.setattr(nimctl.deploy, "connect_engine", refused)
    monkeypatch.setattr(nimctl.tasks, "connect_engine", refused)
    return calls


def test_the_tree_is_walked() -> None:
    paths = {path for path, _ in OPTIONS}
    assert {("up",), ("down",), ("smoke",), ("cache", "ls"), ("config", "show"), ("k8s", "render")} <= paths
    assert (("up",), "--name") in OPTIONS and (("doctor",), "--share-gpus") in OPTIONS


@pytest.mark.parametrize(("path", "option"), OPTIONS, ids=[f"{' '.join(p)} {o}" for p, o in OPTIONS])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT)
def test_any_text_in_any_option(isolated: list[str], path: tuple[str, ...], option: str, value: str) -> None:
    assume(_stays_here(option, value))
    isolated.clear()
    result = CliRunner().invoke(app, [*path, f"{option}={value}"])
    allowed = ALLOWED | ({8} if path == ("doctor",) else set())
    assert result.exit_code in allowed, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert isolated == [], f"refused after an engine call: {result.output}"
        assert result.stderr.startswith("error: ") and "\nhint: " in result.stderr, result.output
