"""`nimctl cache prefetch` and `nimctl cache ls`: fill the model cache ahead of `up`, and see what it holds."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nimctl.cli import options as opt
from nimctl.cli.guard import guarded
from nimctl.errors import ConfigError

app = typer.Typer(help="The host model cache: prefetch a model into it, list what it holds.", no_args_is_help=True)


def prefetch(
    profile: opt.Profile = None,
    model_profile: opt.ModelProfile = None,
    all_profiles: Annotated[
        bool, typer.Option("--all-profiles", help="Download every profile of the image, not just one.")
    ] = False,
    image: opt.Image = None,
    gpus: opt.Gpus = None,
    runtime: opt.Runtime = None,
    shm_size: opt.ShmSize = None,
    cache_dir: opt.CacheDir = None,
    env: opt.EnvPairs = None,
    pull: opt.Pull = None,
    user: opt.User = None,
    engine_url: opt.EngineUrl = None,
    json_output: opt.Json = False,
) -> None:
    """Run the image's `download-to-cache` into the cache dir, so a later `up` starts without downloading."""
    from nimctl.cache import human_size, list_cache
    from nimctl.cli.output import console, emit_json
    from nimctl.deploy import Reporter
    from nimctl.engine import connect
    from nimctl.settings import load_settings, settings_flags
    from nimctl.tasks import prefetch as run_prefetch

    if all_profiles and model_profile:
        raise ConfigError("--all-profiles contradicts --model-profile", hint="give one of them")
    flags = settings_flags(
        model_profile=model_profile,
        image=image,
        gpus=gpus,
        runtime=runtime,
        shm_size=shm_size,
        cache_dir=cache_dir,
        env=env,
        pull=pull,
        user=user,
        engine_url=engine_url,
    )
    loaded = load_settings(flags, profile=profile)
    out = console()
    opened: list[Any] = []  # the engine the task ran on: a remote one's cache is not listed from here

    def open_engine() -> Any:
        opened.append(connect(loaded))
        return opened[-1]

    # The image's own progress lines, as it prints them (a real NIM prints one per file fetched).
    run_prefetch(
        loaded,
        all_profiles,
        Reporter(out),
        lambda line: out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True),
        connect=open_engine,
    )
    if opened and not opened[0].kind.is_local:
        where = f"{loaded.settings.cache_dir} on the engine's host ({opened[0].kind.describe()})"
        out.print(f"[bold green]prefetched[/] into {where}", highlight=False)
        if json_output:
            emit_json({"path": str(loaded.settings.cache_dir), "engine": opened[0].kind.describe(), "local": False})
        return
    listing = list_cache(loaded.settings.cache_dir)
    out.print(
        f"[bold green]prefetched[/] into {listing.path}: {human_size(listing.total_bytes)} in the cache",
        highlight=False,
    )
    if json_output:
        emit_json(listing.to_dict())


def ls(
    profile: opt.Profile = None,
    cache_dir: opt.CacheDir = None,
    json_output: opt.Json = False,
) -> None:
    """List what the cache dir holds and how big it is (reads only)."""
    from rich.table import Table

    from nimctl.cache import human_size, list_cache
    from nimctl.cli.output import console, emit_json
    from nimctl.settings import load_settings, settings_flags

    settings = load_settings(settings_flags(cache_dir=cache_dir), profile=profile).settings
    listing = list_cache(settings.cache_dir)
    out = console()
    if not listing.exists:
        out.print(f"{listing.path} does not exist yet (`nimctl cache prefetch` or `nimctl up` fills it)")
    else:
        table = Table(title=f"{listing.path}: {human_size(listing.total_bytes)}", title_justify="left")
        for column in ("entry", "size", "files", "snapshots"):
            table.add_column(column, overflow="fold")
        for entry in listing.entries:
            table.add_row(entry.name, human_size(entry.bytes), str(entry.files), ", ".join(entry.snapshots))
        out.print(table)
        if listing.unreadable:
            out.print(f"[yellow]warning:[/] {listing.unreadable} directories could not be read (owned by another uid)")
    if json_output:
        emit_json(listing.to_dict())


app.command("prefetch")(guarded(prefetch))
app.command("ls")(guarded(ls))
