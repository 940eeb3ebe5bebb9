"""The image `up` (and the one-off tasks) run: build the simulator, use the local one, or log in and
pull it (transient faults retried, bounded and logged; a missing image told apart from a missing tag)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from nimctl import lazy
from nimctl.engine.port import EnginePort
from nimctl.errors import ConfigError, ImageNotFound, TransientPullError
from nimctl.pull import PullDisplay
from nimctl.reporter import Reporter
from nimctl.settings import Settings
from nimctl.spec import ContainerSpec, registry_of, split_reference

if TYPE_CHECKING:
    import tenacity

    from nimctl import registry as registry_api
else:
    tenacity = lazy.module("tenacity")  # only a pull retries: an unchanged `up` never loads it
    registry_api = lazy.module("nimctl.registry")  # urllib.request: only to tell a missing tag from a missing image

PULL_ATTEMPTS = 4


def ensure_image(
    engine: EnginePort, settings: Settings, spec: ContainerSpec, local_image: str | None, report: Reporter
) -> str:
    if settings.build == "simulator":
        if local_image is None:
            report.step(f"building the simulator image {spec.image} (offline, from this machine's python3.11)")
        return engine.build_simulator(spec.image)
    if settings.pull == "never" or (settings.pull == "missing" and local_image is not None):
        if local_image is None:
            raise ConfigError(f"image {spec.image} is not present and pull is 'never'", hint="use --pull missing")
        return local_image
    return _pull(engine, settings, spec.image, report)


def _pull(engine: EnginePort, settings: Settings, image: str, report: Reporter) -> str:
    """Log in (if the registry needs it) and pull; transient faults are retried, bounded and logged."""
    registry = registry_of(image)
    key = settings.ngc_api_key if registry else None

    def log_retry(state: Any) -> None:
        report.warn(f"{state.outcome.exception().message}; retry {state.attempt_number} of {PULL_ATTEMPTS - 1}")

    def attempt() -> str:
        auth = None
        if registry and key is not None:
            report.step(f"logging in to {registry} as $oauthtoken")
            auth = engine.login(registry, key)
        with PullDisplay(report.console, image) as display:
            return engine.pull(image, auth, display)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(PULL_ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=0.5, max=8),
        retry=tenacity.retry_if_exception_type(TransientPullError),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except ImageNotFound as missing:
        raise _which_is_missing(missing, image, registry, key) from None


def _which_is_missing(error: ImageNotFound, image: str, registry: str | None, key: SecretStr | None) -> ImageNotFound:
    """The engine can't tell a missing repository from a missing tag; the registry can."""
    if registry is None:
        return error
    repository, tag = split_reference(image)
    path = repository.removeprefix(registry + "/")
    listing = registry_api.list_tags(
        registry, path, "$oauthtoken" if key else None, key.get_secret_value() if key else None
    )
    if listing is None:
        return error
    if not listing.repository_exists:
        return ImageNotFound(
            f"image not found: {registry} has no repository {path!r}", hint="check the image name (IMG_NAME / --image)"
        )
    known = ", ".join(sorted(listing.tags)[-10:]) or "none"
    return ImageNotFound(f"tag not found: {path!r} has no tag {tag!r}", hint=f"tags there: {known}")
