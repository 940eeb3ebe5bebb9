"""The one place exceptions become exit codes (see errors.ExitCode and the README)."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable
from typing import Any

import typer

from nimctl.cli.output import console
from nimctl.errors import ExitCode, NimctlError
from nimctl.plain_console import print_parts


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def report_error(error: NimctlError) -> None:
    """`error: MESSAGE`, the details, `hint: HINT` on stderr; user and engine text is text, never markup."""
    out = console()
    print_parts(out, ("error:", "bold red"), " ", error.message, soft_wrap=True)
    for line in error.details:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if error.hint:
        print_parts(out, ("hint:", "bold"), " ", error.hint, soft_wrap=True)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command with nimctl's error contract: one line, a hint, the documented exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            return command(*args, **kwargs)
        except NimctlError as error:
            report_error(error)
            raise typer.Exit(int(error.exit_code)) from None
        except KeyboardInterrupt:
            report_error(NimctlError("interrupted"))
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # a bug: one line, no locals; NIMCTL_DEBUG=1 shows the traceback
            if os.environ.get("NIMCTL_DEBUG"):
                raise
            report_error(
                NimctlError(
                    f"internal error: {type(error).__name__}: {error}", hint="rerun with NIMCTL_DEBUG=1 and report it"
                )
            )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        finally:
            signal.signal(signal.SIGTERM, previous)

    return run
