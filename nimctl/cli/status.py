"""`nimctl status`: each nimctl container, its state, GPUs, live readiness, release, model profile and
serving metrics (rows: inventory.status); `--watch` refreshes them in place until Ctrl-C."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from nimctl import lazy
from nimctl.cli import options as opt

if TYPE_CHECKING:
    import rich.table as rich_table
    import rich.text as rich_text
else:
    rich_table = lazy.module("rich.table")  # loaded when a table is drawn, not for `--help`
    rich_text = lazy.module("rich.text")

COLUMNS = (
    "name",
    "profile",
    "state",
    "live",
    "ready",
    "url",
    "gpus",
    "release",
    "model profile",
    "run/wait",
    "kv",
    "tokens in/out",
    "restarts",
    "uptime",
)


def _human_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _yes_no(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def _metric_cells(metrics: dict[str, float] | None) -> tuple[str, str, str]:
    """(running/waiting, KV-cache %, prompt/generation tokens) for the table."""
    if not metrics:
        return "-", "-", "-"
    get = metrics.get
    kv = get("kv_cache_usage")
    return (
        f"{_count(get('requests_running'))}/{_count(get('requests_waiting'))}",
        "-" if kv is None else f"{kv * 100:.0f}%",
        f"{_count(get('prompt_tokens_total'))}/{_count(get('generation_tokens_total'))}",
    )


def _ready_cell(row: dict[str, Any]) -> str:
    if row["ready"] and row.get("serving") is False:
        return "[red]ready, not serving[/]"  # status --deep: the health route lies (a dead engine behind it)
    return _yes_no(row["ready"])


def _state_cell(row: dict[str, Any]) -> Any:
    state = rich_text.Text(row["state"] + (f" ({row['exit_code']})" if row["exit_code"] is not None else ""))
    if row.get("crash_loop"):
        state.append(" crash loop", style="red")
    return state


def _crash_loop_lines(rows: list[dict[str, Any]]) -> list[Any]:
    """One line per container in a crash loop, under the table: why, the last exit code, the log's cause."""
    lines = []
    for row in rows:
        loop = row.get("crash_loop")
        if not loop:
            continue
        text = f"{row['name']}: {loop['summary']}"
        if loop.get("cause"):
            text += f"; the log says: {loop['cause']} ({loop['action']})"
        lines.append(rich_text.Text(text, style="red"))
    return lines


def _none_found(name: str | None) -> str:
    return "no nimctl containers" + (f" named {name!r}" if name else "")


def render(rows: list[dict[str, Any]], name: str | None) -> Any:
    """The rows as a rich renderable (a table, or a line when there is nothing)."""
    if not rows:
        return rich_text.Text(_none_found(name))
    table = rich_table.Table(box=None, pad_edge=False)
    for column in COLUMNS:
        # a name is never cut short (a crowded engine's table folds the other cells instead)
        table.add_column(column, no_wrap=column == "name", overflow="fold")
    for row in rows:
        text = rich_text.Text  # names, labels and what a NIM reports are text, never markup
        table.add_row(
            text(row["name"]),
            text(row["profile"]),
            _state_cell(row),
            _yes_no(row["live"]),
            _ready_cell(row),
            text(row["url"] + (f" (via {row['via']})" if row["via"] else "")),
            text(row["gpus"] or "-"),
            text(row["version"] or "-"),
            text(row["model_profile"] or "-"),
            *_metric_cells(row["metrics"]),
            str(row.get("restarts", 0)),
            _human_uptime(row["uptime_s"]),
        )
    if loops := _crash_loop_lines(rows):
        from rich.console import Group

        return Group(table, *loops)
    return table


@opt.uses_settings("status")
def status(
    options: opt.SettingValues,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="Only the container of this name.")] = None,
    json_output: opt.Json = False,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C (in place on a terminal).")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between refreshes with --watch.", min=0.1)
    ] = 2.0,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also ask each ready NIM for a one-token completion (exit 10 if one is ready but not serving).",
        ),
    ] = False,
) -> None:
    """List nimctl's containers: state, GPUs, ready (checked live), url, NIM release, model profile, metrics."""
    from nimctl.cli.output import console, emit_json
    from nimctl.engine import connect
    from nimctl.errors import NotServing
    from nimctl.inventory import not_serving
    from nimctl.inventory import status as status_rows
    from nimctl.plain_console import print_parts
    from nimctl.settings import load_options as load

    engine = connect(load("status", options))
    out = console()
    if not json_output:
        out.print(f"engine: {engine.kind.describe()} (from {engine.choice.source})", highlight=False)

    if not watch:
        rows = status_rows(engine, name, deep=deep)
        if json_output:
            emit_json(rows)
        elif rows:
            out.print(render(rows, name))
        else:  # one line: rich is not loaded for it off a terminal
            print_parts(out, _none_found(name))
        if broken := not_serving(rows):
            raise NotServing(
                f"ready by its health route but not answering a completion: {', '.join(broken)}",
                hint="its engine is likely dead behind the server (read `nimctl logs`); `nimctl up --force-recreate` "
                "replaces it",
            )
        return
    try:
        if json_output:  # JSON Lines: one compact document per snapshot, a line each
            while True:
                sys.stdout.write(
                    json.dumps(status_rows(engine, name, deep=deep), separators=(",", ":"), default=str) + "\n"
                )
                sys.stdout.flush()
                time.sleep(interval)
        if not sys.stdout.isatty():  # piped or redirected: the snapshots go to stdout, one table after another
            from rich.console import Console

            piped = Console(file=sys.stdout, width=200, no_color=True, force_terminal=False, highlight=False)
            while True:
                piped.print(render(status_rows(engine, name, deep=deep), name))
                piped.print()
                sys.stdout.flush()
                time.sleep(interval)
        if out.is_terminal:
            from rich.live import Live

            with Live(render(status_rows(engine, name, deep=deep), name), console=out, auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(render(status_rows(engine, name, deep=deep), name), refresh=True)
        while True:  # stdout a terminal, stderr not: the tables on stderr, one after another
            out.print(render(status_rows(engine, name, deep=deep), name))
            out.print()
            time.sleep(interval)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends: exit 0
    except BrokenPipeError:  # `status --watch | head`: the reader is done
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more to write, nothing to flush at exit
