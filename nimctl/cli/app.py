"""The `nimctl` command: one module per command, each run through guard.guarded (exit codes).

`COMMANDS` names each command's module once; a module is imported only when its command is
registered. `main()` (the console script and `python -m nimctl`) registers only the command it is
about to run (`commands_for`), so `nimctl up` never imports `k8s` or `cache`. Every other command
line (no arguments, the root `--help`, `--version`, an unknown command, shell completion) gets
every command: the help lists them all, "No such command" suggests among them, completion offers
them. `app` (`CliRunner().invoke(app, ...)` in tests and docs) is the full app, built on first use.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from typer.core import TyperGroup

from nimctl import lazy
from nimctl.cli.guard import guarded, report_error
from nimctl.cli.options import command_group
from nimctl.errors import ConfigError, ExitCode, NimctlError
from nimctl.version import __version__

# click's exceptions as typer uses them (typer 0.29 vendors click as typer._click)
click_exceptions = sys.modules[typer.BadParameter.__module__]


class NimctlGroup(TyperGroup):
    """typer's group, with click's own parse errors (unknown option, missing or bad value, bad
    choice) reported as every other usage error is: `error:` and `hint:` lines on stderr, exit 2,
    instead of typer's boxed panel. `--help`, completion and the commands' exit codes are unchanged."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as bare:  # `nimctl`, `nimctl cache`: the help, on stderr
            bare.show()
            result = int(ExitCode.USAGE)
        except click_exceptions.ClickException as error:
            report_error(usage_error(error))
            result = int(ExitCode.USAGE)
        except typer.Abort:  # end of input at a prompt
            report_error(NimctlError("interrupted"))
            result = int(ExitCode.INTERRUPTED)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)  # non-standalone click returns Exit's code


def usage_error(error: Any) -> NimctlError:
    """click's message as nimctl's one line, with the command's --help as the hint."""
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "nimctl"
    return ConfigError(error.format_message(), hint=f"`{command} --help` lists its options")


class CommandEntry(NamedTuple):
    """Where a command is: its module (imported when the command is registered) and the name in it."""

    module: str
    attribute: str  # the command's function, or a group's typer app
    group: bool = False  # a command group (`cache ls`, `config show`, `k8s render`): a typer sub-app


# Every command, in the order the root help lists them.
COMMANDS: dict[str, CommandEntry] = {
    "up": CommandEntry("nimctl.cli.up", "up"),
    "down": CommandEntry("nimctl.cli.down", "down"),
    "status": CommandEntry("nimctl.cli.status", "status"),
    "logs": CommandEntry("nimctl.cli.logs", "logs"),
    "smoke": CommandEntry("nimctl.cli.smoke", "smoke"),
    "doctor": CommandEntry("nimctl.cli.doctor", "doctor"),
    "profiles": CommandEntry("nimctl.cli.profiles", "profiles"),
    "cache": CommandEntry("nimctl.cli.cache", "app", group=True),
    "config": CommandEntry("nimctl.cli.config", "app", group=True),
    "k8s": CommandEntry("nimctl.cli.k8s", "app", group=True),
}


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"nimctl {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print nimctl's version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """Launch, wait for, smoke-test and manage NVIDIA NIM containers."""


def build_app(names: Collection[str] = COMMANDS.keys()) -> typer.Typer:
    """The `nimctl` root with the commands `names` lists (in `COMMANDS`' order), each module imported now."""
    root = command_group(
        "Launch, wait for, smoke-test and manage NVIDIA NIM containers.",
        name="nimctl",
        cls=NimctlGroup,
        add_completion=True,  # --install-completion / --show-completion
        # Pretty tracebacks print local variables, and a local may hold the NGC key.
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root.callback()(_root)
    for name, command in COMMANDS.items():
        if name not in names:
            continue
        found = getattr(lazy.import_module(command.module), command.attribute)
        if command.group:
            root.add_typer(found, name=name)
        else:
            root.command(name)(guarded(found))
    return root


def completing(environ: Mapping[str, str] = os.environ) -> bool:
    """Shell completion is asking: click's `_<PROG>_COMPLETE` variable is set (PROG: `nimctl`, or
    however the program was started)."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") and value for name, value in environ.items())


def commands_for(args: Sequence[str], environ: Mapping[str, str] = os.environ) -> Collection[str]:
    """The commands `main` registers for a command line: the one named first, else all of them.

    Every root option (`--help`, `--version`, `--install-completion`, `--show-completion`) ends the
    run, so a command line that runs a command names it first; any other line (even `nimctl -- up`)
    gets every command, which is never wrong, only slower. tests/unit/test_cli_registration.py
    holds the root to these options.
    """
    if args and args[0] in COMMANDS and not completing(environ):
        return (args[0],)
    return COMMANDS.keys()


if TYPE_CHECKING:
    app: typer.Typer


def __getattr__(name: str) -> Any:
    """`app`: the full app, every command registered, built on first use (main builds its own)."""
    if name == "app":
        full = globals()["app"] = build_app()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"  # pinned by tests/unit/test_cli_registration.py


def without_pydantic_plugins() -> None:
    """No pydantic plugin in nimctl's own process (the CLI's; never a library user's).

    A plugin sees every value pydantic validates, the NGC key in Settings among them. And finding
    plugins imports importlib.metadata and scans every installed package's entry points (~15 ms of
    every command, issue 17). pydantic asks its loader module for the plugins; this one has none.
    """
    loader = types.ModuleType(PYDANTIC_PLUGIN_LOADER)
    loader.get_plugins = tuple  # type: ignore[attr-defined]  # get_plugins() -> () : no plugins
    sys.modules.setdefault(PYDANTIC_PLUGIN_LOADER, loader)


def main() -> None:
    from nimctl.cli.lazy_coercion import defer_option_coercion

    without_pydantic_plugins()
    defer_option_coercion()  # typer builds an option's pydantic adapter only when it is given
    try:
        build_app(commands_for(sys.argv[1:]))()
        code = 0
    except SystemExit as done:  # typer/click end every run this way
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    # Skip the interpreter's teardown (~60 ms): nothing is left to clean up, and the log and
    # event followers are daemon threads.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
