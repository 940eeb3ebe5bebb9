"""nimctl.cli.lazy_coercion: typer builds an option's pydantic adapter only for a value given, and
a value given is checked exactly as typer checks it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.testing import CliRunner

from nimctl.cli.lazy_coercion import DeferredRuntimeParam, defer_option_coercion

seen: dict[str, object] = {}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def run(
        port: Annotated[Optional[int], typer.Option("--port")] = None,  # noqa: UP045 (typer's own style)
        path: Annotated[Optional[Path], typer.Option("--path")] = None,  # noqa: UP045
        tags: Annotated[Optional[list[str]], typer.Option("--tag")] = None,  # noqa: UP045
        interval: Annotated[float, typer.Option("--interval", min=0.1)] = 2.0,
    ) -> None:
        seen.update(port=port, path=path, tags=tags, interval=interval)

    @app.command()
    def other() -> None:
        pass

    return app


def test_the_seam_exists_in_this_typer() -> None:
    assert defer_option_coercion() is True


def test_options_left_out_build_no_adapter_and_keep_typers_values() -> None:
    defer_option_coercion()
    app = _app()
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    ctx = command.make_context("run", [])
    assert ctx.params == {"port": None, "path": None, "tags": (), "interval": 2.0}  # as typer: () for a multiple option
    for param in command.params:
        runtime = param._runtime_param
        assert isinstance(runtime, DeferredRuntimeParam)
        assert runtime._real is None, param.name  # no adapter built


def test_values_given_are_coerced_by_typer() -> None:
    defer_option_coercion()
    result = CliRunner().invoke(_app(), ["run", "--port", "8000", "--path", "x", "--tag", "a", "--interval", "0.5"])
    assert result.exit_code == 0, result.output
    assert seen == {"port": 8000, "path": Path("x"), "tags": ["a"], "interval": 0.5}


def test_a_bad_value_gets_typers_message() -> None:
    defer_option_coercion()
    result = CliRunner().invoke(_app(), ["run", "--port", "eighty"])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output
    result = CliRunner().invoke(_app(), ["run", "--interval", "0.01"])
    assert result.exit_code == 2
    assert "greater than or equal to 0.1" in result.output
