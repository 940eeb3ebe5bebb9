"""The setting options are declared once (nimctl/options.py): each command shows the ones it uses in
`--help` with their variables, and the Python API's keywords are held to the CLI commands."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from typing import Any

import click
import pytest
import typer.main
from typer.testing import CliRunner

from nimctl import api
from nimctl.cli.app import app
from nimctl.env_names import env_names
from nimctl.options import COMMAND_SETTINGS, PROFILE, SETTING_OPTIONS
from nimctl.settings import SETTING_NAMES
from nimctl.smoketest import SmokeReport

# The API function each CLI command is; what only one side has (output, presentation, the environment).
API_OF = {"up": api.up, "down": api.down, "status": api.status, "smoke": api.smoke}
CLI_ONLY = {
    "up": {"json_output", "no_smoke"},
    "down": {"json_output", "all_"},
    "status": {"json_output", "watch", "interval"},
    "smoke": {"json_output", "junit_xml"},
}
API_ONLY = {
    "up": {"settings", "console", "environ"},
    "down": {"environ", "everything"},
    "status": {"environ"},
    "smoke": {"raise_on_failure", "console", "environ", "on_check_start"},
}
RENAMED = {("down", "all_"): "everything"}  # `--all` is `everything=` (all is a builtin)
ENGINE_COMMANDS = ("up", "down", "status", "logs", "smoke", "doctor", "profiles", "cache prefetch")


def click_command(path: str) -> click.Command:
    command: Any = typer.main.get_command(app)
    for part in path.split():
        command = command.commands[part]
    return command


def cli_parameters(path: str) -> dict[str, click.Parameter]:
    return {param.name: param for param in click_command(path).params if param.name}


def union_members(annotation: Any) -> set[Any]:
    """The members of a (possibly nested) union, without None, as comparable types."""
    members: set[Any] = set()
    for member in typing.get_args(annotation) if _is_union(annotation) else (annotation,):
        if _is_union(member):
            members |= union_members(member)
        elif member is not type(None):
            members.add(member)
    return members


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType)


def test_every_option_sets_a_real_setting_and_lists_its_variables() -> None:
    for option in SETTING_OPTIONS.values():
        assert option.setting == PROFILE or option.setting in SETTING_NAMES, option
        if option.setting != PROFILE:
            assert set(option.env) == set(env_names(option.setting)), option
    for command, names in COMMAND_SETTINGS.items():
        assert set(names) <= set(SETTING_OPTIONS), command


@pytest.mark.parametrize("command", ENGINE_COMMANDS)
def test_every_engine_command_takes_engine_url_and_profile(command: str) -> None:
    params = cli_parameters(command)
    assert {"engine_url", "profile"} <= set(params)
    assert "--engine-url" in params["engine_url"].opts and "--profile" in params["profile"].opts


@pytest.mark.parametrize("command", sorted(COMMAND_SETTINGS.keys() - {"reach"}))
def test_each_command_has_exactly_its_setting_options_as_the_table_declares_them(command: str) -> None:
    params = cli_parameters(command)
    for name in COMMAND_SETTINGS[command]:
        option = SETTING_OPTIONS[name]
        param = params[name]
        assert set(option.flags[0].split("/")[:1] + list(option.flags[1:])) <= set(param.opts), (command, name)
        assert param.default is None, (command, name)  # not given unless given: the env and profile apply
        assert param.envvar is None  # the environment is read by load_settings, which records the source
        assert option.env_help().removeprefix("[") in (param.help or ""), (command, name)


@pytest.mark.parametrize("command", sorted(COMMAND_SETTINGS.keys() - {"reach"}))
def test_help_shows_each_setting_with_its_variables(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # click wraps help at 80 columns
    for name in COMMAND_SETTINGS[command]:
        assert SETTING_OPTIONS[name].env_help() in text, (command, name)


@pytest.mark.parametrize("command", sorted(API_OF))
def test_the_api_function_has_the_commands_options_and_no_other(command: str) -> None:
    function = API_OF[command]
    api_params = {
        name
        for name, param in inspect.signature(function).parameters.items()
        if param.kind is not inspect.Parameter.VAR_KEYWORD
    }
    assert not any(
        param.kind is inspect.Parameter.VAR_KEYWORD for param in inspect.signature(function).parameters.values()
    ), "no **options: every keyword is typed"
    cli = {RENAMED.get((command, name), name) for name in cli_parameters(command)} - {
        RENAMED.get((command, name), name) for name in CLI_ONLY[command]
    }
    assert cli == api_params - API_ONLY[command]


@pytest.mark.parametrize("command", sorted(API_OF))
def test_the_api_takes_each_setting_option_with_the_tables_type_defaulting_to_not_given(command: str) -> None:
    function = API_OF[command]
    # SmokeReport is imported for type checkers only (api.py loads the smoke client lazily)
    hints = typing.get_type_hints(function, localns={"SmokeReport": SmokeReport})
    parameters = inspect.signature(function).parameters
    for name in COMMAND_SETTINGS[command]:
        option = SETTING_OPTIONS[name]
        assert parameters[name].default is None, (command, name)
        assert union_members(hints[name]) == union_members(option.api_type), (command, name, hints[name])
        assert type(None) in typing.get_args(hints[name]), (command, name)


def test_reach_takes_the_engine_options() -> None:
    parameters = inspect.signature(api.reach).parameters
    assert set(COMMAND_SETTINGS["reach"]) <= set(parameters)


def test_env_pairs_reach_the_api_as_a_mapping() -> None:
    assert union_members(SETTING_OPTIONS["env"].api_type) == {Mapping[str, str]}


@pytest.mark.parametrize("command", ENGINE_COMMANDS)
@pytest.mark.parametrize("way", ["flag", "env", "profile"])
def test_every_engine_command_uses_the_engine_the_settings_name(command: str, way: str, tmp_path) -> None:
    """A socket that does not exist, chosen by flag, NIMCTL_ENGINE_URL or the profile: every engine
    command fails to reach it (exit 3; doctor's engine check fails) instead of using the local engine."""
    missing = f"unix://{tmp_path}/no-engine.sock"
    profile = tmp_path / "p.toml"
    profile.write_text(f'engine_url = "{missing}"\n' if way == "profile" else "")
    args = [*command.split(), "--profile", str(profile), *(["--engine-url", missing] if way == "flag" else [])]
    env = {"NIMCTL_ENGINE_URL": missing if way == "env" else None, "NIMCTL_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner().invoke(app, args, env=env)
    assert "cannot reach" in result.output, result.output
    assert result.exit_code == (8 if command == "doctor" else 3), result.output
