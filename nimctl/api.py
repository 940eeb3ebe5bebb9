"""nimctl from Python: the same code the CLI runs, returning what `--json` prints.

    import nimctl
    result = nimctl.up(profile="sim")          # UpResult; result.to_dict() is `up --json`
    nimctl.smoke(name=result.name)             # SmokeReport; raises SmokeFailed (exit code 7)
    nimctl.status()                            # list of dicts, the rows of `status --json`
    nimctl.down(name=result.name)              # names removed, like `down --json`

Every failure raises a `nimctl.errors.NimctlError` subclass whose `exit_code` is the CLI's.
Quiet by default: pass `console=` (a rich Console, e.g. `rich.console.Console(stderr=True)`)
to see the progress the CLI shows on stderr.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nimctl.errors import ConfigError

if TYPE_CHECKING:
    from nimctl.deploy import UpResult
    from nimctl.smoke.report import SmokeReport

SmokeSuite = Literal["quick", "full", "none"]


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(file=io.StringIO(), quiet=True, force_terminal=False, no_color=True)


def up_flags(
    *,
    name: str | None = None,
    image: str | None = None,
    port: int | None = None,
    host: str | None = None,
    gpus: str | None = None,
    runtime: str | None = None,
    shm_size: str | None = None,
    cache_dir: str | Path | None = None,
    max_images: int | None = None,
    env: Mapping[str, str] | None = None,
    pull: str | None = None,
    user: str | None = None,
    timeout: float | None = None,
    smoke: SmokeSuite | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `up` as settings flags (the names `load_settings` takes).

    `settings` reaches any other setting by its name (README "Settings"); a named argument wins.
    """
    from nimctl.settings import SETTING_NAMES

    extra = dict(settings or {})
    unknown = sorted(set(extra) - set(SETTING_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint="the settings table in the README lists every name",
        )
    named = {
        "container_name": name,
        "image": image,
        "port": port,
        "host": host,
        "gpus": gpus,
        "runtime": runtime,
        "shm_size": shm_size,
        "cache_dir": cache_dir,
        "max_images_per_prompt": max_images,
        "env": dict(env) if env is not None else None,
        "pull": pull,
        "user": user,
        "timeout": timeout,
        "smoke": smoke,
    }
    return extra | {key: value for key, value in named.items() if value is not None}


def up(
    profile: str | None = None,
    *,
    force_recreate: bool = False,
    keep_on_failure: bool = False,
    console: Any = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> UpResult:
    """`nimctl up`: converge on a running, ready NIM (reuse, start or create) and return its UpResult.

    `options` are `up_flags`' keywords (name, port, timeout, smoke, settings, ...). `environ`
    replaces os.environ as the environment layer of the settings.
    """
    from nimctl.deploy import Reporter, UpOptions
    from nimctl.deploy import up as deploy_up
    from nimctl.settings import load_settings

    loaded = load_settings(up_flags(**options), profile=profile, environ=environ)
    return deploy_up(
        loaded,
        UpOptions(force_recreate=force_recreate, keep_on_failure=keep_on_failure, smoke=loaded.settings.smoke),
        Reporter(console if console is not None else _quiet_console()),
    )


def down(
    name: str | None = None, *, profile: str | None = None, everything: bool = False, timeout: int = 30
) -> list[str]:
    """`nimctl down`: stop and remove nimctl's container(s); returns the names removed.

    The target is `name`, else the profile's container, else the only nimctl container there is;
    `everything=True` removes every container nimctl created. The model cache is never touched.
    """
    from nimctl.cli.common import target_name
    from nimctl.deploy import down as deploy_down
    from nimctl.engine import Engine

    if name and everything:
        raise ConfigError("name and everything exclude each other", hint="give one of them")
    if timeout < 0:
        raise ConfigError(f"timeout must be 0 or more, not {timeout}", hint="seconds the NIM gets to stop")
    engine = Engine.connect()
    target = None if everything else target_name(engine, name, profile)
    return deploy_down(engine, target, everything=everything, timeout=timeout)


def status(name: str | None = None) -> list[dict[str, Any]]:
    """`nimctl status --json`: one dict per nimctl container, readiness checked live."""
    from nimctl.deploy import status as deploy_status
    from nimctl.engine import Engine

    return deploy_status(Engine.connect(), name)


def smoke(
    url: str | None = None,
    *,
    name: str | None = None,
    model: str | None = None,
    checks: str = "all",
    max_images: int | None = None,
    image_url: str | None = None,
    timeout: float = 30.0,
    raise_on_failure: bool = True,
    console: Any = None,
) -> SmokeReport:
    """`nimctl smoke`: run the checks against `url` (server root) or a running nimctl container.

    Returns the report (`.to_dict()` is `smoke --json`); a failed check raises SmokeFailed
    (exit code 7) unless `raise_on_failure=False`. With `console`, the result table is printed.
    """
    from nimctl.smoke import run_checks, select_checks

    if timeout <= 0:
        raise ConfigError(f"timeout must be more than 0, not {timeout}", hint="seconds allowed for each check")
    if max_images is not None and max_images < 1:
        raise ConfigError(f"max_images must be 1 or more, not {max_images}", hint="the NIM's images per request")
    selected = select_checks(checks)  # a typo fails before any endpoint lookup
    if url is None:
        from nimctl.cli.common import resolve_endpoint

        endpoint = resolve_endpoint(name)
        url = endpoint.url
        model = model or endpoint.model or None
        max_images = endpoint.max_images if max_images is None else max_images
    report = run_checks(
        base_url=url,
        model=model,
        checks=selected,
        max_images=5 if max_images is None else max_images,
        image_url=image_url,
        timeout=timeout,
    )
    if console is not None:
        from nimctl.smoke.report import render_table

        render_table(report, console)
    failure = report.failure()
    if failure is not None and raise_on_failure:
        raise failure
    return report
