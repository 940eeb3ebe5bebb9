"""The `nimctl` command: one module per command, each run through guard.guarded (exit codes)."""

from __future__ import annotations

import typer

from nimctl.cli.guard import guarded

app = typer.Typer(
    name="nimctl",
    help="Launch, wait for, smoke-test and manage NVIDIA NIM containers.",
    no_args_is_help=True,
    add_completion=False,
    # Pretty tracebacks print local variables, and a local may hold the NGC key.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from nimctl.cli import config, doctor, down, logs, smoke, status, up

    app.command("up")(guarded(up.up))
    app.command("down")(guarded(down.down))
    app.command("status")(guarded(status.status))
    app.command("logs")(guarded(logs.logs))
    app.command("smoke")(guarded(smoke.smoke))
    app.command("doctor")(guarded(doctor.doctor))
    app.add_typer(config.app, name="config")


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
