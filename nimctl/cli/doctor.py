"""`nimctl doctor`: the preflight checks `up` runs, one pass/fail line each with a hint."""

from __future__ import annotations

from nimctl.cli import options as opt
from nimctl.errors import PreflightFailed


@opt.uses_settings("doctor")
def doctor(options: opt.SettingValues, json_output: opt.Json = False) -> None:
    """Check the machine before `up`: engine, GPU support, NGC key, cache dir, port, disk, GPUs held by other NIMs."""
    from nimctl.cli.output import console, emit_json
    from nimctl.engine import connect
    from nimctl.plain_console import print_parts
    from nimctl.preflight import FAIL, check_engine, check_gpu_sharing, run_checks
    from nimctl.settings import load_options as load

    loaded = load("doctor", options)
    settings = loaded.settings
    engine_check, engine = check_engine(lambda: connect(loaded))
    held = False
    if engine is not None:
        own = engine.inspect(settings.container_name)
        held = own is not None and own.running and own.managed
    needs_pull = engine is None or engine.image_id(settings.image_reference) is None
    checks = [
        engine_check,
        *run_checks(
            settings,
            engine,
            needs_pull=needs_pull and not settings.build,
            port_held_by_own_container=held,
        ),
        check_gpu_sharing(settings, engine),
    ]
    if json_output:
        emit_json([check.to_dict() for check in checks])
    out = console()
    marks = {"pass": ("pass", "green"), "fail": ("FAIL", "red"), "warn": ("warn", "yellow"), "skip": ("skip", "dim")}
    for check in checks:
        print_parts(out, marks[check.status], f"  {check.name:<14} {check.detail}")
        if check.hint and check.status in ("fail", "warn"):
            out.print(f"      hint: {check.hint}", highlight=False, markup=False)
    failed = [check for check in checks if check.status == FAIL]
    if failed:
        raise PreflightFailed(
            f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}", hint=failed[0].hint
        )
