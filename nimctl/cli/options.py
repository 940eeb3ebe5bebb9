"""The commands' setting options, generated from the one table (nimctl/options.py).

A command lists the settings it uses; `uses_settings` gives it one typer option per setting (flag,
help with `[env: ...]`, type) and passes their values to the command as `options`, a dict keyed by
option name (None: not given), ready for `settings_flags` or the API's keywords:

    @uses_settings("logs")
    def logs(options: SettingValues, follow: Annotated[bool, typer.Option("--follow")] = False) -> None:
        ...

The command's own options (not settings) are declared in the command as usual.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer

from nimctl.options import COMMAND_SETTINGS, SETTING_OPTIONS, SettingOption

SettingValues = dict[str, Any]  # option name -> the value given (None: not given)
F = TypeVar("F", bound=Callable[..., Any])


def command_group(help_text: str, **extra: Any) -> typer.Typer:
    """A typer app (the root or a command group) with plain help: click's own layout, without rich.

    typer renders help with rich when rich is installed; its rich_utils and the rendering were
    about 80 ms of every `--help` (issue 17: at most 150 ms). Help texts are therefore plain text,
    never markup.
    """
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None, **extra)


def typer_annotation(option: SettingOption, help_text: str | None = None) -> Any:
    """`Annotated[Optional[type], typer.Option(...)]` for one setting option."""
    text = f"{help_text or option.help} {option.env_help()}"
    extra: dict[str, Any] = {}
    if option.cli_type is bool:
        extra["show_default"] = False
    else:  # argparse's way, `--cache-dir CACHE_DIR`, unless the table names it
        extra["metavar"] = option.metavar or option.flags[0].lstrip("-").replace("-", "_").upper()
    return Annotated[Optional[option.cli_type], typer.Option(*option.flags, help=text, **extra)]  # noqa: UP045


def uses_settings(command: str, **help_for: str) -> Callable[[F], F]:
    """Add the setting options `COMMAND_SETTINGS[command]` lists to the command's signature (first,
    in the table's order) and hand their values to it as `options`. `help_for` words a setting's
    help for this command (k8s render's GPUs are per replica)."""
    names = COMMAND_SETTINGS[command]

    def decorate(func: F) -> F:
        hints = typing.get_type_hints(func, include_extras=True)
        own = [
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(parameter.name, Any))
            for parameter in inspect.signature(func).parameters.values()
            if parameter.name != "options"
        ]
        settings = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=typer_annotation(SETTING_OPTIONS[name], help_for.get(name)),
            )
            for name in names
        ]

        @functools.wraps(func)
        def run(**kwargs: Any) -> Any:
            options = {name: kwargs.pop(name, None) for name in names}
            return func(options=options, **kwargs)

        parameters = [*settings, *own]
        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        run.setting_options = names  # type: ignore[attr-defined]
        return typing.cast(F, run)

    return decorate


Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout (humans still read stderr).")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also print the container's own output lines.")]
