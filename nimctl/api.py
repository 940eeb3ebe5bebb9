"""nimctl from Python: the same code the CLI runs, returning what `--json` prints.

    import nimctl
    result = nimctl.up(profile="sim")          # UpResult; result.to_dict() is `up --json`
    nimctl.smoke(name=result.name)             # SmokeReport; raises SmokeFailed (exit code 7)
    nimctl.status()                            # list of dicts, the rows of `status --json`
    nimctl.down(name=result.name)              # names removed, like `down --json`

Every failure raises a `nimctl.errors.NimctlError` subclass whose `exit_code` is the CLI's.
Quiet by default: pass `console=` (a rich Console, e.g. `rich.console.Console(stderr=True)`)
to see the progress the CLI shows on stderr.

The setting keywords (profile, name, port, engine_url, ...) are those of nimctl/options.py's
table, with the CLI flags' meaning: given > environment > profile > default
(tests/unit/test_api.py holds each function to its command). `environ` replaces os.environ as the
environment layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nimctl import lazy
from nimctl.deploy import UpOptions, UpResult
from nimctl.deploy import down as deploy_down
from nimctl.deploy import up as deploy_up
from nimctl.domain import DEFAULT_MAX_IMAGES
from nimctl.engine import connect
from nimctl.errors import ConfigError
from nimctl.plain_console import PlainConsole
from nimctl.reporter import Reporter
from nimctl.settings import checked_report_file, checked_url
from nimctl.settings import load_options as load
from nimctl.targets import reach_endpoint, target_name

if TYPE_CHECKING:
    from nimctl import inventory, smoketest
    from nimctl.smoketest import SmokeReport
else:
    smoketest = lazy.module("nimctl.smoketest")  # ~65 ms: only `smoke` needs it
    inventory = lazy.module("nimctl.inventory")  # only `status` lists deployments

__all__ = ["down", "load", "reach", "smoke", "status", "up"]

SmokeSuite = Literal["quick", "full", "all", "none"]  # all: an alias of full
PullPolicy = Literal["always", "missing", "never"]


def _quiet_console() -> PlainConsole:
    return PlainConsole.quiet()


def up(
    profile: str | None = None,
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
    env: Mapping[str, str] | None = None,
    pull: PullPolicy | None = None,
    user: str | None = None,
    model_profile: str | None = None,
    model_path: str | None = None,
    served_model_name: str | None = None,
    engine_url: str | None = None,
    timeout: float | None = None,
    smoke: SmokeSuite | None = None,
    restart: str | None = None,
    settings: Mapping[str, Any] | None = None,
    force_recreate: bool = False,
    keep_on_failure: bool = False,
    junit_xml: str | Path | None = None,
    console: Any = None,
    environ: Mapping[str, str] | None = None,
) -> UpResult:
    """`nimctl up`: converge on a running, ready NIM (reuse, start or create) and return its UpResult.

    `settings` reaches any other setting by its name (README "Settings"); a named keyword wins.
    `junit_xml` also writes the smoke suite's report there (a smoke suite must run).
    """
    if junit_xml is not None:
        junit_xml = checked_report_file(junit_xml)  # into a missing directory: exit 2 before anything starts
    loaded = load("up", locals(), environ=environ, settings=settings)
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
    engine_url: str | None = None,
    everything: bool = False,
    timeout: int = 30,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """`nimctl down`: stop and remove nimctl's container(s); returns the names removed.

    The target is `name`, else the profile's container, else the only nimctl container there is;
    `everything=True` removes every container nimctl created (with `profile`: those of that
    profile only). The model cache is never touched.
    """
    if name and everything:
        raise ConfigError("--name and --all exclude each other", hint="give one of them")
    if timeout < 0:
        raise ConfigError(f"timeout must be 0 or more, not {timeout}", hint="seconds the NIM gets to stop")
    loaded = load("down", locals(), environ=environ)
    engine = connect(loaded, environ=environ)
    if everything:
        # the profile label holds the profile's name (a file's stem), as `up` wrote it
        scope = loaded.profile.name if profile is not None else None
        return deploy_down(engine, None, everything=True, timeout=timeout, profile=scope)
    target = target_name(engine, loaded, profile_given=profile is not None)
    return deploy_down(engine, target, everything=False, timeout=timeout)


@contextlib.contextmanager
def reach(
    url: str,
    *,
    profile: str | None = None,
    engine_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """A URL this process can open for a NIM published at `url` on the engine's host: `url` itself
    on a local engine, an SSH tunnel's local end (open for the `with` block) on a remote one."""
    loaded = load("reach", locals(), environ=environ)
    with connect(loaded, environ=environ).reach(url) as local:
        yield local


def status(
    name: str | None = None,
    *,
    profile: str | None = None,
    engine_url: str | None = None,
    deep: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """`nimctl status --json`: one dict per nimctl container (only `name`, if given), readiness checked live.

    `deep=True` (`status --deep`) also asks each ready NIM for a one-token completion: its row's
    `serving` is then true or false (None when not asked). The rows are returned either way: a row
    with `ready` true and `serving` false is a NIM that is ready but not serving (the CLI exits 10).
    """
    engine = connect(load("status", locals(), environ=environ), environ=environ)
    return inventory.status(engine, name, deep=deep)


def smoke(
    url: str | None = None,
    *,
    name: str | None = None,
    model: str | None = None,
    checks: str = "full",
    max_images: int | None = None,
    image_url: str | None = None,
    timeout: float = 30.0,
    profile: str | None = None,
    engine_url: str | None = None,
    raise_on_failure: bool = True,
    console: Any = None,
    environ: Mapping[str, str] | None = None,
    on_check_start: Callable[[str], None] | None = None,
) -> SmokeReport:
    """`nimctl smoke`: run the checks against `url` (server root) or a running nimctl container.

    Without `url` the container is found like the CLI finds it (`name`, else the only one running)
    on the engine `profile`/`engine_url` choose, and reached through an SSH tunnel when the engine
    is remote. Returns the report (`.to_dict()` is `smoke --json`); a failed check raises
    SmokeFailed (exit code 7) unless `raise_on_failure=False`. With `console`, the result table is
    printed. `timeout` is seconds per check; `max_images` defaults to the container's.
    """
    if timeout <= 0:
        raise ConfigError(f"timeout must be more than 0, not {timeout}", hint="seconds allowed for each check")
    if max_images is not None and max_images < 1:
        raise ConfigError(f"max_images must be 1 or more, not {max_images}", hint="the NIM's images per request")
    if url is not None:
        url = checked_url(url)  # "not a url" is exit 2, not nine failing checks
    selected = smoketest.select_checks(checks)  # a typo fails before any endpoint lookup
    expected: str | None = None
    capabilities: tuple[str, ...] | None = None  # with --url: none known, refusals for a missing one skip
    with contextlib.ExitStack() as stack:
        if url is None:
            loaded = load("smoke", locals(), environ=environ)
            engine = connect(loaded, environ=environ)
            # a tunnel when the engine is remote; with a profile, its container whatever its name
            scope = loaded.profile.name if profile is not None else None
            endpoint = stack.enter_context(reach_endpoint(engine, name, profile=scope))
            url = endpoint.url
            expected = endpoint.model or None  # what it was started expecting; the checks use what it serves
            capabilities = endpoint.capabilities
            max_images = endpoint.max_images if max_images is None else max_images
        report = smoketest.run_checks(
            base_url=url,
            model=model,
            expected_model=expected,
            capabilities=capabilities,
            checks=selected,
            max_images=DEFAULT_MAX_IMAGES if max_images is None else max_images,
            image_url=image_url,
            timeout=timeout,
            on_check_start=on_check_start,
        )
    if console is not None:
        smoketest.render_table(report, console)
    failure = report.failure()
    if failure is not None and raise_on_failure:
        raise failure
    return report
