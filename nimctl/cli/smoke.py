"""`nimctl smoke`: prove a running NIM answers the way NVIDIA's API page says, with the openai SDK.

Only typer is imported at module level; the smoke package (and through it openai) loads when the
command runs, so `nimctl --help` stays fast.
"""

from pathlib import Path
from typing import Annotated

import typer

from nimctl.cli import options as opt


@opt.uses_settings("smoke")
def smoke(
    options: opt.SettingValues,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Server root, e.g. http://127.0.0.1:8000 (default: the managed container's)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Model id to test (default: the container's, else the first one /v1/models lists)."
        ),
    ] = None,
    checks: Annotated[
        str,
        typer.Option(
            "--checks",
            help="Comma list of checks: models, text, image-base64, image-url, multi-turn, reasoning, tools, "
            "max-images, chat-template; or the suites quick / full (alias all).",
        ),
    ] = "full",
    image_url: Annotated[
        str | None, typer.Option("--image-url", help="An image URL the NIM can download (enables the image-url check).")
    ] = None,
    max_images: Annotated[
        int | None,
        typer.Option(
            "--max-images",
            min=1,
            help="Images per request the NIM allows (default: the container's NIM_MAX_IMAGES_PER_PROMPT, else 5).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds allowed for each check.")] = 30.0,
    json_output: opt.Json = False,
    junit_xml: Annotated[
        Path | None, typer.Option("--junit-xml", help="Also write the report as a JUnit XML file.", dir_okay=False)
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="The container to test (default: the only one running).")
    ] = None,
) -> None:
    """Run smoke checks against a running NIM; exit 7 if any fails."""
    from rich.text import Text

    from nimctl.api import smoke as run_smoke
    from nimctl.cli.output import console, emit_json
    from nimctl.settings import checked_report_file
    from nimctl.smoketest.report import render_table, write_junit

    if junit_xml is not None:
        junit_xml = checked_report_file(junit_xml)  # a missing directory is exit 2, before any check runs
    err = console()
    with err.status("smoke checks…") as status:

        def show_progress(check: str) -> None:
            status.update(Text.assemble("smoke check ", (check, "bold"), "…"))

        report = run_smoke(
            url,
            name=name,
            model=model,
            checks=checks,
            max_images=max_images,
            image_url=image_url,
            timeout=timeout,
            raise_on_failure=False,
            **options,
            on_check_start=show_progress,
        )

    render_table(report, err)
    if json_output:
        emit_json(report.to_dict())
    if junit_xml is not None:
        write_junit(report, junit_xml)
        err.print(f"JUnit report written to {junit_xml}", markup=False, highlight=False)
    failure = report.failure()
    if failure is not None:
        raise failure
