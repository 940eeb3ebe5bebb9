"""`nimctl cache prefetch` and `nimctl cache ls`: fill the model cache ahead of `up`, and see what it holds."""

from __future__ import annotations

from typing import Annotated

import typer

from nimctl.cli.guard import guarded
from nimctl.cli.options import Json, SettingValues, command_group, uses_settings
from nimctl.errors import ConfigError

app = command_group("The host model cache: prefetch a model into it, list what it holds.")


@uses_settings("cache prefetch")
def prefetch(
    options: SettingValues,
    all_profiles: Annotated[
        bool, typer.Option("--all-profiles", help="Download every profile of the image, not just one.")
    ] = False,
    json_output: Json = False,
) -> None:
    """Run the image's `download-to-cache` into the cache dir, so a later `up` starts without downloading."""
    from nimctl.cache import human_size, list_cache
    from nimctl.cli.output import console, emit_json
    from nimctl.engine import connect
    from nimctl.plain_console import print_parts
    from nimctl.reporter import Reporter
    from nimctl.settings import load_options as load
    from nimctl.tasks import prefetch as run_prefetch

    if all_profiles and options["model_profile"]:
        raise ConfigError("--all-profiles contradicts --model-profile", hint="give one of them")
    loaded = load("cache prefetch", options)
    out = console()
    engine = connect(loaded)
    # The image's own progress lines, as it prints them (a real NIM prints one per file fetched).
    run_prefetch(
        loaded,
        all_profiles,
        Reporter(out),
        lambda line: out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True),
        connect=lambda: engine,
    )
    if not engine.kind.is_local:  # a remote engine's cache is on its host: not listed from here
        where = f"{loaded.settings.cache_dir} on the engine's host ({engine.kind.describe()})"
        print_parts(out, ("prefetched", "bold green"), f" into {where}")
        if json_output:
            emit_json({"path": str(loaded.settings.cache_dir), "engine": engine.kind.describe(), "local": False})
        return
    listing = list_cache(loaded.settings.cache_dir)
    print_parts(
        out, ("prefetched", "bold green"), f" into {listing.path}: {human_size(listing.total_bytes)} in the cache"
    )
    if json_output:
        emit_json(listing.to_dict())


@uses_settings("cache ls")
def ls(options: SettingValues, json_output: Json = False) -> None:
    """List what the cache dir holds and how big it is (reads only)."""
    from rich.table import Table
    from rich.text import Text

    from nimctl.cache import human_size, list_cache
    from nimctl.cli.output import console, emit_json
    from nimctl.settings import load_options as load

    settings = load("cache ls", options).settings
    listing = list_cache(settings.cache_dir)
    out = console()
    if not listing.exists:
        out.print(f"{listing.path} does not exist yet (`nimctl cache prefetch` or `nimctl up` fills it)", markup=False)
    else:
        table = Table(title=Text(f"{listing.path}: {human_size(listing.total_bytes)}"), title_justify="left")
        for column in ("entry", "size", "files", "snapshots"):
            table.add_column(column, overflow="fold")
        for entry in listing.entries:
            table.add_row(Text(entry.name), human_size(entry.bytes), str(entry.files), Text(", ".join(entry.snapshots)))
        out.print(table)
        if listing.unreadable:
            out.print(f"[yellow]warning:[/] {listing.unreadable} directories could not be read (owned by another uid)")
    if json_output:
        emit_json(listing.to_dict())


app.command("prefetch")(guarded(prefetch))
app.command("ls")(guarded(ls))
