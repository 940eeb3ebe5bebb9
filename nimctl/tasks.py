"""One-off tasks in a throwaway container built like `up`'s: list the image's model profiles,
prefetch the model into the cache.

The same settings, spec, image handling (pull/build) and exit codes as `up`; the container gets
no port, a unique name and a label, and is removed afterwards, also on failure and Ctrl-C.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nimctl.container import OneOffResult
from nimctl.deploy import LOG_TAIL_LINES
from nimctl.diagnosis import diagnose
from nimctl.engine import connect as connect_engine
from nimctl.engine.port import EnginePort
from nimctl.errors import ContainerExited, Interrupted, NimctlError, RegistryAuthError
from nimctl.images import ensure_image
from nimctl.model_profiles import ProfileListing, parse_profile_listing
from nimctl.preflight import ensure_cache_dir
from nimctl.reporter import Reporter
from nimctl.settings import LoadedSettings
from nimctl.spec import build_spec, oneoff_spec

LIST_PROFILES = "list-model-profiles"
DOWNLOAD_TO_CACHE = "download-to-cache"


def run_task(
    loaded: LoadedSettings,
    task: str,
    command: list[str],
    report: Reporter,
    on_line: Callable[[str], None],
    connect: Callable[[], EnginePort] | None = None,
) -> OneOffResult:
    """Run `command` in the image `up` would start, as `up` would start it; fail as `up` fails."""
    settings = loaded.settings
    spec = build_spec(settings, loaded.profile.name)
    engine = connect() if connect is not None else connect_engine(loaded)
    ensure_image(engine, settings, spec, engine.image_id(spec.image), report)
    if engine.kind.is_local:  # a remote engine's cache dir is on its host, out of reach from here (as in `up`)
        ensure_cache_dir(settings)
    oneoff = oneoff_spec(spec, task, command)
    report.step(f"running `{' '.join(command)}` in a throwaway container of {spec.image}")
    try:
        result = engine.run_oneoff(oneoff, on_line)
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted", hint=f"the {task} container was removed; the cache at {settings.cache_dir} is untouched"
        ) from None
    if result.exit_code != 0:
        raise task_failure(" ".join(command), result)
    return result


COMMAND_NOT_FOUND = (126, 127)  # the shell's "not executable" and "command not found"


def _not_found(line: str, utility: str) -> bool:
    """The shell's or the runtime's "no such command" for `utility` (sh: `X: not found`, bash:
    `X: command not found`, runc: `exec: "X": executable file not found in $PATH`)."""
    name = re.escape(utility)
    return re.search(rf"{name}\W{{0,3}}(?:command )?not found|\"{name}\": executable file not found", line) is not None


def task_failure(command: str, result: OneOffResult) -> NimctlError:
    """A task that exited non-zero: its known cause when the output shows one; auth as a pull's auth."""
    tail = result.lines[-LOG_TAIL_LINES:]
    details = [f"--- last {len(tail)} output lines of `{command}` ---", *tail] if tail else []
    message = f"`{command}` exited with code {result.exit_code}"
    utility = command.split()[0] if command.split() else command
    if result.exit_code in COMMAND_NOT_FOUND or any(_not_found(line, utility) for line in tail):
        return ContainerExited(
            f"this image does not offer `{utility}` ({message})",
            hint="NIM LLM images before 2.x have it; a 2.x or model-free image may not: `nimctl up` still works, "
            "and the NIM downloads its model into the cache at its first start",
            details=details,
        )
    cause = diagnose(tail)
    if cause is None:
        return ContainerExited(message, hint="read its output above", details=details)
    if cause.key == "download-refused":  # as `up` reports a refused registry login: exit 4
        return RegistryAuthError(f"{message}: {cause.cause}", hint=cause.action, details=details)
    return ContainerExited(f"{message}: {cause.cause}", hint=cause.action, details=details)


def list_profiles(
    loaded: LoadedSettings,
    report: Reporter,
    on_line: Callable[[str], None] = lambda line: None,
    connect: Callable[[], EnginePort] | None = None,
) -> ProfileListing:
    result = run_task(loaded, "profiles", [LIST_PROFILES], report, on_line, connect)
    listing = parse_profile_listing("\n".join(result.lines))
    if not listing.profiles:
        report.warn(f"`{LIST_PROFILES}` printed no profile this nimctl could read (its output is above with -v)")
    return listing


def prefetch_command(model_profile: str | None, all_profiles: bool) -> list[str]:
    """`download-to-cache` for every profile, one profile, or the one the NIM would choose itself."""
    if all_profiles:
        return [DOWNLOAD_TO_CACHE, "--all"]
    if model_profile:
        return [DOWNLOAD_TO_CACHE, "--profiles", model_profile]
    return [DOWNLOAD_TO_CACHE]


def prefetch(
    loaded: LoadedSettings,
    all_profiles: bool,
    report: Reporter,
    on_line: Callable[[str], None],
    connect: Callable[[], EnginePort] | None = None,
) -> OneOffResult:
    command = prefetch_command(loaded.settings.model_profile, all_profiles)
    return run_task(loaded, "prefetch", command, report, on_line, connect)
