"""`nimctl up` and `nimctl down`: settings → spec → plan → engine → readiness → smoke.

This module sequences the steps and owns the failure policy: a container that fails to start
is stopped and removed (unless asked to keep it), its full log is saved to a file, and the
model cache is never touched beyond creating the directory.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nimctl import lazy
from nimctl.container import ContainerInfo
from nimctl.domain import WILDCARD_HOSTS
from nimctl.engine import connect as connect_engine
from nimctl.engine.errors import UNREACHABLE_HINT
from nimctl.engine.port import ContainerWatch, EnginePort
from nimctl.errors import (
    ConfigError,
    ContainerExited,
    EngineUnreachable,
    Interrupted,
    NimctlError,
    PreflightFailed,
    ReadinessTimeout,
    StoppedElsewhere,
    redact,
)
from nimctl.gpu_share import refuse_shared_gpus
from nimctl.images import ensure_image
from nimctl.locking import deployment_lock
from nimctl.nim_probe import SERVED_MODEL_TIMEOUT, served_model_of
from nimctl.plan import Action, Desired, Plan, conflict, conflict_hint, reconcile
from nimctl.preflight import FAIL, WARN, ensure_cache_dir, pick_free_port, port_is_free, run_checks
from nimctl.readiness import (
    ENGINE_GONE,
    STOPPED,
    Disturbed,
    ExitedDuringStartup,
    NimConnection,
    NotReadyInTime,
    Probe,
    wait_until_ready,
)
from nimctl.reporter import Reporter
from nimctl.secret_fingerprint import changed_secrets
from nimctl.settings import LoadedSettings, Settings
from nimctl.spec import ContainerSpec, build_spec, expected_model, with_host_port
from nimctl.validation import shm_warning

if TYPE_CHECKING:
    from nimctl import diagnosis, smoketest
else:
    smoketest = lazy.module("nimctl.smoketest")  # ~65 ms: loaded only when a smoke suite runs
    diagnosis = lazy.module("nimctl.diagnosis")  # its patterns: only a failed start is diagnosed

LOG_TAIL_LINES = 50
GPU_LOCK = "_gpu-requests"  # not a valid container name, so no deployment's lock
STOP_SETTLE_SECONDS = 1.5  # how long a stop request may take to show who made it (see _who_stopped_it)


@dataclass
class UpOptions:
    force_recreate: bool = False
    keep_on_failure: bool = False
    smoke: str = "quick"  # quick | full | none
    junit_xml: Path | None = None  # also write the smoke report here (JUnit XML), passed or failed


@dataclass
class UpResult:
    name: str
    image: str
    url: str
    model: str | None  # what /v1/models reports once ready
    state: str
    ready: bool
    action: str
    seconds: float
    smoke: dict | None = field(default=None)
    via: str | None = None  # "ssh tunnel to HOST" when the engine is remote: `url` is on that host

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": self.image,
            "url": self.url,
            "model": self.model,
            "state": self.state,
            "ready": self.ready,
            "action": self.action,
            "seconds": round(self.seconds, 3),
            "smoke": self.smoke,
            "via": self.via,
        }


def up(
    loaded: LoadedSettings,
    options: UpOptions,
    report: Reporter,
    connect: Callable[[], EnginePort] | None = None,
) -> UpResult:
    settings = loaded.settings
    spec = build_spec(settings, loaded.profile.name)
    started = time.monotonic()
    if borrowed := loaded.generic_sources():
        # first, before anything can go wrong: such variables are often set for other purposes
        report.step(", ".join(f"{label} from ${variable}" for label, variable in borrowed))
    engine = connect() if connect is not None else connect_engine(loaded)
    with deployment_lock(
        spec.name,
        timeout=settings.timeout,
        on_wait=lambda: report.step(f"another nimctl is starting {spec.name}; waiting for it"),
    ):
        return _up_locked(engine, settings, spec, options, report, started)


def _up_locked(
    engine: EnginePort,
    settings: Settings,
    spec: ContainerSpec,
    options: UpOptions,
    report: Reporter,
    started: float,
) -> UpResult:
    existing = engine.inspect(spec.name)
    observed = existing.observed if existing else None
    if observed is not None and (reason := conflict(observed, spec.profile, force_recreate=options.force_recreate)):
        raise ConfigError(reason, hint=conflict_hint(observed))
    if settings.host in WILDCARD_HOSTS:
        report.warn(
            f"publishing on {settings.host or 'all interfaces'}: anyone who reaches this host can use the NIM (it has no auth)"
        )
    if engine.kind.is_local and (too_big := shm_warning(settings.shm_size_bytes)):  # a remote host's memory: unknown
        report.warn(too_big)
    if settings.port == "auto":
        port = _auto_port(existing, settings.host)
        spec, settings = with_host_port(spec, port), settings.with_port(port)
        report.step(f"{spec.name}: port auto → {port}")
        if existing is not None and existing.host_port not in (None, port):
            # its port was taken while it was stopped: starting it again would fail on the old binding
            options = dataclasses.replace(options, force_recreate=True)
    local_image = engine.image_id(spec.image)
    needs_image = settings.pull == "always" or local_image is None
    # Fast path: running with the same config and no image to fetch. Skip preflight; just confirm readiness.
    unchanged = observed is not None and observed.runs_config(spec.config_hash) and not options.force_recreate
    if needs_image or not unchanged:
        _preflight(
            engine,
            settings,
            held_by_own=observed is not None and observed.state == "running",
            report=report,
            needs_pull=needs_image,
        )
        _refuse_held_gpus(engine, spec, settings)  # early, before a long pull
    image_id = ensure_image(engine, settings, spec, local_image, report)
    desired = Desired(spec.name, spec.config_hash, image_id, spec.profile)
    plan = reconcile(desired, observed, force_recreate=options.force_recreate)
    report.step(f"{spec.name}: {plan.action.value} ({plan.reason})")
    if existing is not None and plan.action in (Action.NOOP, Action.START):
        _say_changed_secrets(existing, spec, report)

    container_id: str | None = None
    via = engine.kind.via
    # a tunnel when remote, open through readiness and smoke; one connection for the probes and the model's name
    with engine.reach(spec.url) as local_url, NimConnection(local_url) as nim:
        try:
            container_id = _container_for(engine, plan, spec, existing.id if existing else None, settings)
            _start_and_wait_ready(engine, container_id, spec, settings, report, nim)
        except KeyboardInterrupt:
            if container_id and plan.changes_anything:  # only what this run started; the cache is never touched
                engine.stop_and_remove(container_id, timeout=5)
                report.step(f"interrupted: removed {spec.name}; the cache at {settings.cache_dir} is untouched")
            raise Interrupted("interrupted", hint="nothing was left running") from None
        except NimctlError as failure:
            if container_id:
                raise _handle_failed_start(engine, container_id, plan, spec, settings, options, failure) from None
            raise

        model = served_model_of(nim.request("/v1/models", SERVED_MODEL_TIMEOUT))
        nim.close()  # not held open through the smoke suite
        result = UpResult(
            name=spec.name,
            image=spec.image,
            url=spec.url,
            model=model,
            state="running",
            ready=True,
            action=plan.action.value,
            seconds=time.monotonic() - started,
            via=via,
        )
        if options.smoke != "none":
            result.smoke = _smoke(spec, settings, options, report, local_url)
    return result


def _say_changed_secrets(existing: ContainerInfo, spec: ContainerSpec, report: Reporter) -> None:
    """A kept container keeps the secrets it was started with: say when the ones given now differ
    (compared as salted fingerprints, never as the values; neither is ever printed)."""
    changed = changed_secrets(spec.secret_env, existing.secret_fingerprints)
    if changed:
        names = " and ".join(changed)
        report.warn(
            f"{names} differs from the one {spec.name} was started with, and the container keeps its old one; "
            "rerun with --force-recreate to start it with the new one"
        )


def _auto_port(existing: ContainerInfo | None, host: str) -> int:
    """The port of this deployment's container when it still has it (converging keeps the URL), else a free one."""
    if existing is not None and existing.managed and existing.host_port:
        if existing.running or port_is_free(host, existing.host_port):
            return existing.host_port
    return pick_free_port(host)


def _preflight(
    engine: EnginePort, settings: Settings, *, held_by_own: bool, report: Reporter, needs_pull: bool
) -> None:
    checks = run_checks(
        settings,
        engine,
        needs_pull=needs_pull and not settings.build,
        port_held_by_own_container=held_by_own,
        reuse_gpu_evidence=True,  # a passed GPU probe of the same engine, image and GPU request
    )
    for check in checks:
        if check.status == WARN:
            report.warn(f"{check.name}: {check.detail} ({check.hint})")
    failed = [check for check in checks if check.status == FAIL]
    if failed:
        first = failed[0]
        raise PreflightFailed(f"preflight: {first.name}: {first.detail}", hint=first.hint)


def _container_for(
    engine: EnginePort, plan: Plan, spec: ContainerSpec, existing_id: str | None, settings: Settings
) -> str:
    """The id of the container the plan leads to: the existing one, or a new one (removing the old first)."""
    if plan.action is Action.NOOP:
        assert existing_id is not None
        return existing_id
    if plan.action is Action.RECREATE and plan.remove_id:
        engine.stop_and_remove(plan.remove_id, timeout=settings.stop_timeout)
    if plan.action is Action.START:
        assert existing_id is not None
        return existing_id
    if engine.kind.is_local:  # a remote engine's cache dir is on its host, out of reach from here
        ensure_cache_dir(settings)
    # Again under a host-wide lock up to the create: two `up`s of different names at once must not
    # both take the same GPU (a created container counts as a holder).
    with deployment_lock(GPU_LOCK, timeout=30):
        _refuse_held_gpus(engine, spec, settings)
        return engine.create(spec)


def _refuse_held_gpus(engine: EnginePort, spec: ContainerSpec, settings: Settings) -> None:
    if spec.gpus.wanted and not settings.share_gpus:
        refuse_shared_gpus(spec.gpus, spec.name, engine.managed_containers())


def _start_and_wait_ready(
    engine: EnginePort,
    container_id: str,
    spec: ContainerSpec,
    settings: Settings,
    report: Reporter,
    nim: NimConnection,
) -> None:
    """Start the container unless it runs already, then wait until it answers ready (or fails)."""
    if (ready := _running_and_ready(engine, container_id, nim, settings.readiness_path)) is not None:
        report.phase(spec.name, ready.phase)  # an unchanged `up`: nothing to wait for
        return
    signals = engine.signals(container_id)  # subscribe before starting: an instant crash is still seen
    try:
        info = engine.inspect(container_id)
        since = time.time() - 0.5
        if info is not None and info.state not in ("running", "restarting"):  # restarting: the engine starts it
            engine.start(container_id)
        signals.follow_logs(since)
        wait_until_ready(
            nim,
            settings.readiness_path,
            signals,
            timeout=settings.timeout,
            on_phase=lambda phase: report.phase(spec.name, phase),
        )
    except Disturbed as exc:
        raise _disturbed_error(spec.name, _who_stopped_it(signals, exc.what)) from None
    except ExitedDuringStartup as exc:
        oom = " (killed: out of memory)" if signals.oom_killed else ""
        raise ContainerExited(f"{spec.name} exited with code {exc.exit_code} during start-up{oom}", hint="") from None
    except NotReadyInTime as exc:
        raise ReadinessTimeout(
            f"{spec.name} was not ready after {settings.timeout:.0f}s (last phase: {exc.phase})",
            hint="a first start downloads the model: raise --timeout, or read the log",
        ) from None
    finally:
        signals.close()


def _running_and_ready(engine: EnginePort, container_id: str, nim: NimConnection, readiness_path: str) -> Probe | None:
    """The ready probe of a container that runs already and answers ready; else None. One probe,
    without following the container's events and log (which is what a wait needs)."""
    info = engine.inspect(container_id)
    if info is None or info.state != "running":
        return None
    answer = Probe(nim.request(readiness_path)[0])
    return answer if answer.status == 200 else None


def _who_stopped_it(signals: ContainerWatch, what: str, settle: float = STOP_SETTLE_SECONDS) -> str:
    """A stop request is followed, within moments, by a removal (`nimctl down`) or the engine's end
    (a shutting-down engine stops its containers first): wait briefly to tell which."""
    deadline = time.monotonic() + settle
    while what == STOPPED and time.monotonic() < deadline:
        signals.wait(0.05)
        what = signals.disturbance() or what
    return what


def _disturbed_error(name: str, what: str) -> NimctlError:
    if what == ENGINE_GONE:
        return EngineUnreachable(
            f"the Docker engine went away while waiting for {name}",
            hint=f"{UNREACHABLE_HINT}; then `nimctl up` again picks up where this one stopped",
        )
    return StoppedElsewhere(
        f"{name} was {what} by another command (such as `nimctl down`, or the engine shutting down) while up waited",
        hint="nothing is left to clean up; `nimctl up` starts it again",
    )


def _handle_failed_start(
    engine: EnginePort,
    container_id: str,
    plan: Plan,
    spec: ContainerSpec,
    settings: Settings,
    options: UpOptions,
    failure: NimctlError,
) -> NimctlError:
    """The error to raise for a failed start: `failure` with the log tail, the known cause and the
    saved log's path (a new error; `failure` is left as it was); the container is removed.

    A container that ran and failed (crash, timeout) is removed whoever started it; one that
    failed otherwise (e.g. the engine refused to start it) only if this run created or started
    it. --keep-on-failure keeps either. (tests/unit/test_deploy_policy.py pins each case.)
    """
    if isinstance(failure, (StoppedElsewhere, EngineUnreachable)):
        return failure  # another command owns the container now, or no engine is there to ask
    ran = isinstance(failure, (ContainerExited, ReadinessTimeout))
    full_log = redact(engine.logs(container_id), *settings.secrets) if ran else ""
    log_path = None
    known_cause = None
    message, details, hint = failure.message, list(failure.details), failure.hint
    if full_log.strip():
        log_path = save_log(settings.log_dir, spec.name, full_log)
        tail = full_log.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]
        known_cause = diagnosis.diagnose(tail)
        details = [f"--- last {LOG_TAIL_LINES} log lines of {spec.name} (full log: {log_path}) ---", *tail]
        if known_cause is not None:
            message = f"{message}: {known_cause.cause}"
    todo = f"{known_cause.action}; " if known_cause is not None else ""
    if options.keep_on_failure:
        if ran and spec.restart.restarts:  # kept, but not restarted in the background by its policy
            engine.stop_restarts(container_id, timeout=5)
        if log_path:
            hint = (
                f"{todo}the container was kept (--keep-on-failure): `nimctl logs --name {spec.name}`; "
                f"full log: {log_path}"
            )
        return failure.but(message=message, hint=hint, details=details)
    if ran or plan.changes_anything:
        engine.stop_and_remove(
            container_id, timeout=settings.stop_timeout if isinstance(failure, ReadinessTimeout) else 5
        )
        if log_path:
            hint = f"{todo}full log: {log_path}; the container was removed (--keep-on-failure keeps it)"
    return failure.but(message=message, hint=hint, details=details)


def save_log(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{name}-{stamp}.log"
    path.write_text(text)
    return path


def _smoke(spec: ContainerSpec, settings: Settings, options: UpOptions, report: Reporter, url: str) -> dict:
    suite = options.smoke
    checks = smoketest.ALL_CHECKS if suite == "full" else smoketest.QUICK_CHECKS
    report.step(f"smoke test ({suite}): {', '.join(checks)}")
    smoke_report = smoketest.run_checks(
        base_url=url,
        model=None,  # the id /v1/models reports
        expected_model=expected_model(settings),
        capabilities=settings.capabilities,
        checks=checks,
        max_images=settings.max_images_per_prompt,
        image_url=None,
        timeout=60.0,
    )
    smoketest.render_table(smoke_report, report.console)
    if options.junit_xml is not None:  # before a failure is raised: CI wants the report most then
        smoketest.write_junit(smoke_report, options.junit_xml)
        report.step(f"smoke report (JUnit XML) written to {options.junit_xml}")
    failure = smoke_report.failure()
    if failure is not None:
        hint = f"the NIM stays up at {spec.url}; rerun the checks with `nimctl smoke --name {spec.name}`"
        raise failure.but(hint=hint)
    return smoke_report.to_dict()


# --- down / status ---------------------------------------------------------------------------


def down(engine: EnginePort, name: str | None, everything: bool, timeout: int, profile: str | None = None) -> list[str]:
    """Stop and remove nimctl's containers (only those carrying its label). Returns their names.

    With `everything`, `profile` narrows "every container" to those that profile created.
    """
    targets = engine.managed_containers(None if everything else name)
    if everything and profile is not None:
        targets = [info for info in targets if info.profile == profile]
    for info in targets:
        engine.stop_and_remove(info.id, timeout=timeout)
    return [info.name for info in targets]
