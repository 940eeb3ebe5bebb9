"""Issue 17: each command's start-up import budget. What a command imports (read from
`python -X importtime`, in a fresh interpreter) must leave out what it does not need; the time this
saves is measured by the benchmark (scripts/nimbench, figure 5), not asserted here.

Commands that need the engine are pointed at a socket that does not exist: they load what they
need up to their first engine call, then fail (which is the path that matters for start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nimctl.cli.app import COMMANDS
from nimctl.env_names import without_settings_variables

# Never needed to print help, nor by the everyday commands (the smoke suite, k8s and pretty
# rendering load on their own paths).
NEVER = {
    "openai",  # the smoke suite's client
    "httpx",
    "yaml",  # k8s manifests
    "prometheus_client",
    "rich.live",  # status --watch, the pull board
    "markdown_it",  # typer's help imports rich.markdown: nimctl.cli.lazy_rich defers it
    "rich.pretty",  # ... and rich.traceback (pretty tracebacks are off)
    "pygments",
    "paramiko.client",  # docker-py's ssh transport, kept out by nimctl/engine/docker_shims.py (ssh:// uses the ssh binary)
    "nimctl.smoketest",
    "nimctl.k8s",
}
HELP = NEVER | {
    "docker",
    "requests",
    "urllib3",
    "pydantic_settings",
    "tenacity",
    "nimctl.settings",
    "nimctl.engine",
    "nimctl.engine.client",
    "nimctl.deploy",
}
TOP_HELP = HELP | {"pydantic"}  # (a command's own help builds typer's pydantic adapters for its options)
WATCH = {"nimctl.engine.watch"}  # the log follower
# typer's pydantic adapters are built only for options given (nimctl.cli.lazy_coercion): `status`
# and `status --json` give none
STATUS = NEVER | WATCH | {"tenacity", "nimctl.deploy", "typer._adapters"}
LOGS = NEVER | WATCH | {"tenacity", "nimctl.deploy"}
DOWN = NEVER | WATCH
UP = NEVER | {
    "tenacity",
    "nimctl.diagnosis",
    "nimctl.registry",
}  # a pull retries, a NIM not ready at once is waited for, a failed start diagnosed, a missing image asked after
# Off a terminal (here stderr is a pipe) text and styled lines are printed without rich
# (nimctl/plain_console.py); only a table loads it.
PLAIN = {"rich.text", "rich.console"}


def others(command: str) -> set[str]:
    """The other commands' modules: `nimctl COMMAND` registers COMMAND alone (nimctl/cli/app.py)."""
    return {entry.module for name, entry in COMMANDS.items() if name != command}


def imported(args: list[str], tmp_path: Path) -> set[str]:
    return reported(run(args, tmp_path).stderr)


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`python -X importtime -m nimctl ARGS`, stderr a pipe."""
    env = without_settings_variables(dict(os.environ))
    env.update(
        {
            "NIMCTL_ENGINE_URL": f"unix://{tmp_path / 'no-engine.sock'}",  # nothing there: fails at the first call
            "XDG_RUNTIME_DIR": str(tmp_path),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "COLUMNS": "120",
        }
    )
    env.pop("DOCKER_HOST", None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nimctl", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "nimctl.cli.app" in reported(done.stderr), done.stderr[-2000:]  # the command really ran
    return done


def reported(stderr: str) -> set[str]:
    """The modules `python -X importtime` reported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def over_budget(names: set[str], forbidden: set[str]) -> list[str]:
    return sorted(name for name in names if name in forbidden or name.split(".", 1)[0] in forbidden)


def test_nimctl_help(tmp_path: Path) -> None:
    names = imported(["--help"], tmp_path)
    assert over_budget(names, TOP_HELP) == []
    assert {entry.module for entry in COMMANDS.values()} <= names  # it lists every command


@pytest.mark.parametrize("command", ["up", "status", "down", "logs"])
def test_a_commands_help(tmp_path: Path, command: str) -> None:
    names = imported([command, "--help"], tmp_path)
    assert over_budget(names, HELP | others(command)) == []
    assert COMMANDS[command].module in names


@pytest.mark.parametrize(
    ("args", "forbidden"),
    [
        (["status"], STATUS),
        (["status", "--json"], STATUS),
        (["logs", "--name", "budget-test"], LOGS),
        (["down", "--name", "budget-test"], DOWN),
        (["up", "--profile", "sim", "--name", "budget-test", "--no-smoke"], UP),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_command_loads_only_what_it_needs(tmp_path: Path, args: list[str], forbidden: set[str]) -> None:
    """Up to the engine that is not there, then the error: `error:` and `hint:` lines, without rich."""
    done = run(args, tmp_path)
    assert done.returncode == 3 and "\nerror: cannot reach the engine" in done.stderr, done.stderr[-2000:]
    names = reported(done.stderr)
    assert over_budget(names, forbidden | others(args[0]) | PLAIN) == []
    assert COMMANDS[args[0]].module in names


def test_the_budget_check_can_fail(tmp_path: Path) -> None:
    """What a command does import is reported, its submodules too."""
    over = over_budget(imported(["--help"], tmp_path), {"typer"})
    assert "typer" in over and "typer.main" in over


def test_a_module_loaded_on_first_use_is_reported() -> None:
    """nimctl.lazy imports the way the import statement does: `importlib.import_module` is not
    reported by -X importtime, and a budget would then miss the module itself."""
    code = "from nimctl import lazy; lazy.module('fractions').Fraction; lazy.import_module('colorsys')"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert {"fractions", "colorsys"} <= reported(done.stderr)
