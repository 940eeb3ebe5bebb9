"""Issue 17: `nimctl CMD` imports and registers only CMD (nimctl/cli/app.py, `COMMANDS`); every other
command line, and `app` as tests import it, has every command. What the user sees is the same
either way: the help, the usage errors, completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from nimctl.cli.app import COMMANDS, app, build_app, commands_for, completing
from nimctl.env_names import without_settings_variables

ALL = list(COMMANDS)
# Every command's own help, and a group's subcommands' (the paths `nimctl ... --help` takes).
HELP_PATHS = [[name] for name in COMMANDS] + [
    ["cache", "ls"],
    ["cache", "prefetch"],
    ["config", "show"],
    ["k8s", "render"],
]


def nimctl(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m nimctl ARGS` (main(), as users run it) in a known environment: no setting from this machine."""
    environ = without_settings_variables(dict(os.environ))
    for name in list(environ):
        if name.endswith("_COMPLETE") or name in ("NO_COLOR", "FORCE_COLOR", "DOCKER_HOST", "DOCKER_CONTEXT"):
            del environ[name]
    environ |= {"COLUMNS": "80", **env}
    return subprocess.run(
        [sys.executable, "-m", "nimctl", *args], capture_output=True, text=True, env=environ, timeout=60
    )


def listed_commands(help_text: str) -> list[str]:
    """The command names of a help's "Commands:" section, in order."""
    section = help_text.split("\nCommands:\n", 1)[1]
    return [match.group(1) for match in re.finditer(r"^  (\S+)", section, re.MULTILINE)]


def test_the_table_is_the_full_apps_commands_in_order() -> None:
    assert list(typer.main.get_command(app).commands) == ALL
    assert ALL == ["up", "down", "status", "logs", "smoke", "doctor", "profiles", "cache", "config", "k8s"]


def test_the_root_help_lists_every_command_in_order() -> None:
    done = nimctl("--help")
    assert done.returncode == 0, done.stderr
    assert listed_commands(done.stdout) == ALL
    short = nimctl("-h")
    assert (short.returncode, short.stdout) == (0, done.stdout)


@pytest.mark.parametrize("path", HELP_PATHS, ids=" ".join)
def test_a_commands_help_is_the_same_registered_alone(path: list[str]) -> None:
    alone = CliRunner().invoke(build_app(commands_for(path, environ={})), [*path, "--help"])
    full = CliRunner().invoke(app, [*path, "--help"])
    assert (alone.exit_code, full.exit_code) == (0, 0)
    assert alone.output == full.output and "Usage: " in alone.output


def test_up_help_through_main() -> None:
    done = nimctl("up", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: python -m nimctl up [OPTIONS]")
    assert "--no-smoke" in done.stdout and "--force-recreate" in done.stdout


def test_a_group_through_main() -> None:
    done = nimctl("cache", "ls", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: python -m nimctl cache ls [OPTIONS]")


@pytest.mark.parametrize("args", [[], ["cache"]], ids=["nimctl", "nimctl cache"])
def test_no_command_prints_the_help_on_stderr_and_exits_2(args: list[str]) -> None:
    done = nimctl(*args)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("Usage: python -m nimctl" + "".join(" " + arg for arg in args) + " [OPTIONS] COMMAND")
    if not args:
        assert listed_commands(done.stderr) == ALL


def test_an_unknown_command_is_a_usage_error_with_a_suggestion() -> None:
    done = nimctl("stauts")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "error: No such command 'stauts'. Did you mean 'status'?",  # suggested among every command
        "hint: `python -m nimctl --help` lists its options",
    ]


def test_an_unknown_option_of_a_command_names_the_command() -> None:
    done = nimctl("up", "--no-such-option")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "hint: `python -m nimctl up --help` lists its options"


def test_the_version() -> None:
    from nimctl.version import __version__

    done = nimctl("--version")
    assert (done.returncode, done.stdout) == (0, f"nimctl {__version__}\n")


def test_completion_offers_every_command_even_after_one() -> None:
    """Completion runs with the command line in variables; argv may still name a command."""
    script = Path(sys.executable).parent / "nimctl"  # completion is asked of the program by its name
    environ = without_settings_variables(dict(os.environ))
    environ |= {"_NIMCTL_COMPLETE": "complete_bash", "COMP_WORDS": "nimctl ", "COMP_CWORD": "1"}
    for args in ([], ["up"]):
        done = subprocess.run([str(script), *args], capture_output=True, text=True, env=environ, timeout=60)
        assert (done.returncode, done.stdout.split()) == (0, ALL), done.stderr


REGISTERED = [  # a command line and the commands main registers for it
    (["up"], ["up"]),
    (["up", "--help"], ["up"]),
    (["cache", "ls"], ["cache"]),
    (["k8s", "render", "--profile", "sim"], ["k8s"]),
    ([], ALL),
    (["--help"], ALL),
    (["-h"], ALL),
    (["-h", "up"], ALL),  # the root's help
    (["--version"], ALL),
    (["--show-completion", "bash"], ALL),
    (["--install-completion"], ALL),
    (["stauts"], ALL),
    (["--", "up"], ALL),
    (["UP"], ALL),
]


@pytest.mark.parametrize(
    ("args", "registered"),
    [pytest.param(args, registered, id=" ".join(args) or "no arguments") for args, registered in REGISTERED],
)
def test_which_commands_main_registers(args: list[str], registered: list[str]) -> None:
    assert list(commands_for(args, environ={})) == registered
    assert list(typer.main.get_command(build_app(commands_for(args, environ={}))).commands) == registered


def test_completion_is_recognised_by_its_variable() -> None:
    assert completing({"_NIMCTL_COMPLETE": "complete_zsh"})
    assert completing({"_PYTHON _M NIMCTL_COMPLETE": "bash_source"})  # `python -m nimctl`'s variable
    assert not completing({"_NIMCTL_COMPLETE": "", "NIMCTL_PROFILE": "sim", "PATH": "/bin"})
    assert list(commands_for(["up"], environ={"_NIMCTL_COMPLETE": "complete_bash"})) == ALL


def test_every_root_option_ends_the_run() -> None:
    """commands_for relies on it: an option before a command never lets that command run. A new
    root option (one that takes a value, or lets a command follow) must be handled there."""
    root = typer.main.get_command(app)
    params = root.get_params(root.make_context("nimctl", [], resilient_parsing=True))
    assert {param.name: sorted(param.opts) for param in params} == {
        "version": ["--version"],
        "install_completion": ["--install-completion"],
        "show_completion": ["--show-completion"],
        "help": ["--help", "-h"],
    }
    for param in params:  # each a flag whose callback prints and exits
        assert param.callback is not None and param.is_flag, param.name


def test_importing_the_module_loads_no_command_until_app_is_read() -> None:
    code = (
        "import sys\n"
        "import nimctl.cli.app as cli\n"
        "modules = [entry.module for entry in cli.COMMANDS.values()]\n"
        "print(sorted(m for m in modules if m in sys.modules))\n"
        "cli.app\n"
        "print(sorted(m for m in modules if m not in sys.modules))\n"
        "print(cli.app is cli.app)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["[]", "[]", "True"], done.stderr


def test_the_cli_process_loads_no_pydantic_plugin() -> None:
    # pydantic asks this module for its plugins (a private name: if it moves, this fails first)
    import inspect

    import pydantic.plugin._schema_validator as schema_validator

    from nimctl.cli.app import PYDANTIC_PLUGIN_LOADER

    assert "from ._loader import get_plugins" in inspect.getsource(schema_validator.create_schema_validator)
    assert schema_validator.__name__.rsplit(".", 1)[0] + "._loader" == PYDANTIC_PLUGIN_LOADER
    probe = (
        "import sys\n"
        "from nimctl.cli.app import without_pydantic_plugins\n"
        "without_pydantic_plugins()\n"
        "from nimctl.settings import load_settings\n"
        "loaded = load_settings({'container_name': 'probe'}, environ={'NGC_API_KEY': 'nvapi-x'})\n"
        "from pydantic.plugin._loader import get_plugins\n"
        "assert list(get_plugins()) == [] and loaded.settings.container_name == 'probe'\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr
