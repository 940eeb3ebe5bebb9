"""The `nimctl` command: one module per command, each run through guard.guarded (exit codes)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from nimctl.cli import cache, config, doctor, down, k8s, logs, profiles, smoke, status, up
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
        except click_exceptions.NoArgsIsHelpError:  # typer printed the help already
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


app = command_group(
    "Launch, wait for, smoke-test and manage NVIDIA NIM containers.",
    name="nimctl",
    cls=NimctlGroup,
    add_completion=True,  # --install-completion / --show-completion
    # Pretty tracebacks print local variables, and a local may hold the NGC key.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"nimctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print nimctl's version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """Launch, wait for, smoke-test and manage NVIDIA NIM containers."""


def _register() -> None:
    app.command("up")(guarded(up.up))
    app.command("down")(guarded(down.down))
    app.command("status")(guarded(status.status))
    app.command("logs")(guarded(logs.logs))
    app.command("smoke")(guarded(smoke.smoke))
    app.command("doctor")(guarded(doctor.doctor))
    app.command("profiles")(guarded(profiles.profiles))
    app.add_typer(cache.app, name="cache")
    app.add_typer(config.app, name="config")
    app.add_typer(k8s.app, name="k8s")


_register()


def main() -> None:
    from nimctl.cli.lazy_coercion import defer_option_coercion

    defer_option_coercion()  # typer builds an option's pydantic adapter only when it is given
    try:
        app()
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
