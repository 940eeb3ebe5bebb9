"""`nimctl profiles`: the image's own `list-model-profiles`, run as `up` would run the NIM."""

from __future__ import annotations

from nimctl.cli import options as opt


@opt.uses_settings("profiles")
def profiles(options: opt.SettingValues, verbose: opt.Verbose = False, json_output: opt.Json = False) -> None:
    """List the model profiles the image offers and which of them can run on the GPUs it is given."""
    from rich.table import Table
    from rich.text import Text

    from nimctl.cli.output import console, emit_json
    from nimctl.reporter import Reporter
    from nimctl.settings import load_options as load
    from nimctl.tasks import list_profiles

    loaded = load("profiles", options)
    out = console()
    echo = (
        (lambda line: out.print(f"[dim]{line}[/]", highlight=False, markup=False)) if verbose else (lambda line: None)
    )
    listing = list_profiles(loaded, Reporter(out), echo)

    for kind, title in (("free", "free GPUs"), ("busy", "busy GPUs")):
        gpus_seen = listing.gpus[kind]
        names = ", ".join(f"({gpu['index']}) {gpu['name']}" for gpu in gpus_seen) or "none"
        out.print(Text.assemble((f"{title}:", "bold"), f" {names}"), highlight=False)
    table = Table(title=Text(f"model profiles of {loaded.settings.image_reference}"), title_justify="left")
    for column in ("id", "name", "runnable", "lora", "low memory", "GB/GPU", "section"):
        table.add_column(column, overflow="fold")
    for item in listing.profiles:
        table.add_row(
            Text(item.id),
            Text(item.name),
            "[green]yes[/]" if item.runnable else "no",
            "yes" if item.lora else "",
            "yes" if item.low_memory else "",
            f"{item.requires_gb_per_gpu:g}" if item.requires_gb_per_gpu is not None else "",
            Text(item.section),
        )
    out.print(table)
    if listing.runnable:
        pin = listing.runnable[0].name or listing.runnable[0].id
        out.print(f"pin one with `nimctl up --model-profile {pin}`", markup=False, highlight=False)
    if json_output:
        emit_json(listing.to_dict())
