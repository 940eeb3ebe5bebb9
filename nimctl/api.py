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

import contextlib
import io
from collections.abc import Callable, Iterator, Mapping
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
    port: int | Literal["auto"] | None = None,
    host: str | None = None,
    gpus: str | None = None,
    share_gpus: bool | None = None,
    runtime: str | None = None,
    shm_size: str | None = None,
    cache_dir: str | Path | None = None,
    max_images: int | None = None,
    model_profile: str | None = None,
    env: Mapping[str, str] | None = None,
    pull: str | None = None,
    user: str | None = None,
    engine_url: str | None = None,
    timeout: float | None = None,
    smoke: SmokeSuite | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `up` as settings flags (the names `load_settings` takes).

    `settings` reaches any other setting by its name (README "Settings"); a named argument wins.
    """
    from nimctl.settings import SETTING_NAMES, settings_flags

    extra = dict(settings or {})
    unknown = sorted(set(extra) - set(SETTING_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint="the settings table in the README lists every name",
        )
    return extra | settings_flags(
        name=name,
        image=image,
        port=port,
        host=host,
        gpus=gpus,
        share_gpus=share_gpus,
        runtime=runtime,
        shm_size=shm_size,
        cache_dir=cache_dir,
        max_images=max_images,
        model_profile=model_profile,
        env=env,
        pull=pull,
        user=user,
        engine_url=engine_url,
        timeout=timeout,
        smoke=smoke,
    )


def up(
    profile: str | None = None,
    *,
    force_recreate: bool = False,
    keep_on_failure: bool = False,
    junit_xml: str | Path | None = None,
    console: Any = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> UpResult:
    """`nimctl up`: converge on a running, ready NIM (reuse, start or create) and return its UpResult.

    `options` are `up_flags`' keywords (name, port, timeout, smoke, settings, ...). `environ`
    replaces os.environ as the environment layer of the settings. `junit_xml` also writes the
    smoke suite's report there (a smoke suite must run).
    """
    from nimctl.deploy import Reporter, UpOptions
    from nimctl.deploy import up as deploy_up
    from nimctl.settings import load_settings

    loaded = load_settings(up_flags(**options), profile=profile, environ=environ)
    if junit_xml is not None and loaded.settings.smoke == "none":
        raise ConfigError("a JUnit report needs a smoke suite, and smoke is 'none'", hint="use --smoke quick or full")
    return deploy_up(
        loaded,
        UpOptions(
            force_recreate=force_recreate,
            keep_on_failure=keep_on_failure,
            smoke=loaded.settings.smoke,
            junit_xml=Path(junit_xml) if junit_xml is not None else None,
        ),
        Reporter(console if console is not None else _quiet_console()),
    )


def down(
    name: str | None = None,
    *,
    profile: str | None = None,
    everything: bool = False,
    timeout: int = 30,
    engine_url: str | None = None,
) -> list[str]:
    """`nimctl down`: stop and remove nimctl's container(s); returns the names removed.

    The target is `name`, else the profile's container, else the only nimctl container there is;
    `everything=True` removes every container nimctl created (with `profile`: those of that
    profile only). The model cache is never touched.
    """
    from nimctl.deploy import down as deploy_down
    from nimctl.engine import Engine
    from nimctl.settings import load_profile
    from nimctl.targets import target_name

    if name and everything:
        raise ConfigError("--name and --all exclude each other", hint="give one of them")
    if timeout < 0:
        raise ConfigError(f"timeout must be 0 or more, not {timeout}", hint="seconds the NIM gets to stop")
    engine = Engine.connect(url=engine_url)
    if everything:
        # the profile label holds the profile's name (a file's stem), as `up` wrote it
        scope = load_profile(profile).name if profile is not None else None
        return deploy_down(engine, None, everything=True, timeout=timeout, profile=scope)
    return deploy_down(engine, target_name(engine, name, profile), everything=False, timeout=timeout)


@contextlib.contextmanager
def reach(url: str, *, engine_url: str | None = None) -> Iterator[str]:
    """A URL this process can open for a NIM published at `url` on the engine's host: `url` itself
    on a local engine, an SSH tunnel's local end (open for the `with` block) on a remote one."""
    from nimctl.engine import Engine

    with Engine.connect(url=engine_url).reach(url) as local:
        yield local


def status(name: str | None = None, *, engine_url: str | None = None) -> list[dict[str, Any]]:
    """`nimctl status --json`: one dict per nimctl container, readiness checked live."""
    from nimctl.engine import Engine
    from nimctl.inventory import status as inventory_status

    return inventory_status(Engine.connect(url=engine_url), name)


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
    engine_url: str | None = None,
    on_check_start: Callable[[str], None] | None = None,
) -> SmokeReport:
    """`nimctl smoke`: run the checks against `url` (server root) or a running nimctl container.

    Without `url` the container is found like the CLI finds it (`name`, else the only one running)
    and reached through an SSH tunnel when the engine is remote. Returns the report (`.to_dict()`
    is `smoke --json`); a failed check raises SmokeFailed (exit code 7) unless
    `raise_on_failure=False`. With `console`, the result table is printed.
    """
    from nimctl.container import DEFAULT_MAX_IMAGES
    from nimctl.smoke import run_checks, select_checks
    from nimctl.targets import reach_endpoint

    if timeout <= 0:
        raise ConfigError(f"timeout must be more than 0, not {timeout}", hint="seconds allowed for each check")
    if max_images is not None and max_images < 1:
        raise ConfigError(f"max_images must be 1 or more, not {max_images}", hint="the NIM's images per request")
    if url is not None:
        from nimctl.settings import checked_url

        url = checked_url(url)  # "not a url" is exit 2, not nine failing checks
    selected = select_checks(checks)  # a typo fails before any endpoint lookup
    with contextlib.ExitStack() as stack:
        if url is None:
            endpoint = stack.enter_context(reach_endpoint(name, engine_url))  # a tunnel when the engine is remote
            url = endpoint.url
            model = model or endpoint.model or None  # the served name the container was started with
            max_images = endpoint.max_images if max_images is None else max_images
        report = run_checks(
            base_url=url,
            model=model,
            checks=selected,
            max_images=DEFAULT_MAX_IMAGES if max_images is None else max_images,
            image_url=image_url,
            timeout=timeout,
            on_check_start=on_check_start,
        )
    if console is not None:
        from nimctl.smoke.report import render_table

        render_table(report, console)
    failure = report.failure()
    if failure is not None and raise_on_failure:
        raise failure
    return report
