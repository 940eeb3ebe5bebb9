"""Run the chosen smoke checks one after another, each under its own wall-clock deadline.

This module does not import openai at import time (the checks are loaded inside `run_checks`),
so the CLI can validate check names without paying for the SDK.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from nimctl.errors import ConfigError
from nimctl.smoketest import checks as impl  # openai loads when a check runs (nimctl.lazy)
from nimctl.smoketest.report import CheckResult, SmokeReport

QUICK_CHECKS: tuple[str, ...] = ("models", "text")
ALL_CHECKS: tuple[str, ...] = (
    "models",
    "text",
    "image-base64",
    "image-url",
    "multi-turn",
    "reasoning",
    "tools",
    "max-images",
    "chat-template",
)
# The suites: one name everywhere (`smoke --checks`, `up --smoke`, the API, the setting): "full",
# with "all" accepted as its alias.
CHECK_GROUPS = {"quick": QUICK_CHECKS, "full": ALL_CHECKS, "all": ALL_CHECKS}
CAPABILITIES = ("text", "vision", "tools", "reasoning")
# The capability each check covers (the rest: text).
CHECK_CAPABILITY: dict[str, str] = {
    "image-base64": "vision",
    "image-url": "vision",
    "max-images": "vision",
    "reasoning": "reasoning",
    "tools": "tools",
}


def capability_of(check: str) -> str:
    return CHECK_CAPABILITY.get(check, "text")


# After this many checks in a row got no answer by their deadline, the rest are not run.
HUNG_AFTER_TIMEOUTS = 2


def select_checks(names: str | Iterable[str]) -> tuple[str, ...]:
    """Check names from a comma list or iterable ("quick" and "full" or "all" expand), in ALL_CHECKS order."""
    requested = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    expanded: set[str] = set()
    unknown = []
    for name in requested:
        if name in CHECK_GROUPS:
            expanded.update(CHECK_GROUPS[name])
        elif name in ALL_CHECKS:
            expanded.add(name)
        else:
            unknown.append(name)
    if unknown or not expanded:
        raise ConfigError(
            f"unknown smoke check(s): {', '.join(unknown)}" if unknown else "no smoke checks selected",
            hint=f"valid checks: {', '.join(ALL_CHECKS)} (or the suites: quick, full; all is full)",
        )
    return tuple(name for name in ALL_CHECKS if name in expanded)


class DeadlineExceeded(Exception):
    pass


def run_with_deadline(fn: Callable[[], Any], seconds: float, name: str = "smoke-check") -> Any:
    """Call `fn` in a daemon thread and wait at most `seconds` for it.

    A hung endpoint can block a request past the client's own timeout (a stream that trickles,
    a socket that never closes); past the deadline we stop waiting and raise DeadlineExceeded.
    The thread is a daemon so an abandoned call can never keep nimctl from exiting.
    """
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed over to the waiting thread as is
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=work, name=name, daemon=True).start()
    if not finished.wait(seconds):
        raise DeadlineExceeded(f"no result within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def api_base(base_url: str) -> str:
    """The SDK wants the /v1 prefix; nimctl passes the server root (tolerate either)."""
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


def run_checks(
    base_url: str,
    model: str | None = None,
    checks: Iterable[str] = QUICK_CHECKS,
    max_images: int = 5,
    image_url: str | None = None,
    timeout: float = 30.0,
    on_check_start: Callable[[str], None] | None = None,
    *,
    expected_model: str | None = None,
    capabilities: Iterable[str] | None = None,
) -> SmokeReport:
    """Run `checks` against the NIM at `base_url` (server root) and report each one.

    `model=None` tests the first model /v1/models lists. `expected_model`: the `models` check also
    wants this id listed. `capabilities` (a profile's declaration): checks of any other capability
    are skipped, and a declared one that fails fails; None (none declared): a check the NIM turns
    down for lack of its capability is a skip with the reason. `timeout` bounds each check as a
    whole (and each request in it). `on_check_start(name)` lets a caller show progress.
    """
    declared = None if capabilities is None else tuple(capabilities)
    names = select_checks(checks)

    report = SmokeReport(base_url=base_url, model=model)
    # One client for the run (it is thread-safe): a check abandoned at its deadline keeps only
    # its own pooled connection busy, and closing the client at the end releases that too.
    client = impl.make_client(api_base(base_url), timeout)
    try:
        model_problem = None if model else _read_model_id(impl, client, report, timeout)
        timed_out: list[str] = []  # consecutive checks that hit their deadline
        for name in names:
            if on_check_start:
                on_check_start(name)
            if model_problem and name != "models":
                report.results.append(_not_run(name, f"the model id is unknown: {model_problem}"))
                continue
            if len(timed_out) >= HUNG_AFTER_TIMEOUTS:
                # Each further check would wait out its own deadline too; a hung NIM must not
                # cost (number of checks x timeout).
                why = f"the endpoint stopped answering ({', '.join(timed_out)} timed out)"
                report.results.append(_not_run(name, why))
                continue
            needs = capability_of(name)
            if declared is not None and needs not in declared:
                why = f"the profile does not declare the {needs} capability (capabilities = {list(declared)})"
                report.results.append(CheckResult(name, passed=False, latency_s=0.0, reason=why, skipped=True))
                continue
            context = impl.CheckContext(
                client=client,
                model=report.model,
                max_images=max_images,
                image_url=image_url,
                expected_model=expected_model,
            )
            result = _run_one(name, impl, context, timeout)
            if declared is None and not result.passed and not result.skipped:
                result = _lacking_capability(result, needs, impl)
            timed_out = timed_out + [name] if result.timed_out else []
            report.results.append(result)
    finally:
        client.close()
    return report


def _read_model_id(impl: ModuleType, client: Any, report: SmokeReport, timeout: float) -> str | None:
    """Set report.model from /v1/models; return why that failed, or None."""
    try:
        report.model = run_with_deadline(lambda: impl.first_listed_model(client), timeout, "smoke-model-id")
    except DeadlineExceeded:
        return f"GET /v1/models gave no answer within {timeout:g} s"
    except impl.CheckFailed as exc:
        return exc.reason
    except Exception as exc:  # noqa: BLE001 - any failure here means the id is unknown
        return f"GET /v1/models: {impl.describe_error(exc)}"
    return None


def _lacking_capability(result: CheckResult, capability: str, impl: ModuleType) -> CheckResult:
    """A failure that is the NIM saying the model lacks `capability` becomes a skip with the reason."""
    if result.reason and impl.lacks_capability(capability, result.reason):
        why = f"the model has no {capability} capability (none declared; the NIM said: {result.reason})"
        return dataclasses.replace(result, skipped=True, reason=why)
    return result


def _not_run(name: str, why: str) -> CheckResult:
    return CheckResult(name, passed=False, latency_s=0.0, reason=f"not run: {why}")


def _run_one(name: str, impl: ModuleType, context: Any, timeout: float) -> CheckResult:
    started = time.perf_counter()
    passed, skipped, timed_out, reason = False, False, False, None
    try:
        run_with_deadline(lambda: impl.CHECKS[name](context), timeout, f"smoke-{name}")
        passed = True
    except DeadlineExceeded:
        timed_out, reason = True, f"no answer within the {timeout:g} s check timeout"
    except impl.CheckSkipped as exc:
        skipped, reason = True, exc.reason
    except impl.CheckFailed as exc:
        reason = exc.reason
    except Exception as exc:  # noqa: BLE001 - an API error outside a step, or a malformed response
        reason = impl.describe_error(exc)
    return CheckResult(
        name=name,
        passed=passed,
        latency_s=time.perf_counter() - started,
        ttft_s=context.metrics.ttft_s,
        tokens_per_s=context.metrics.tokens_per_s,
        reason=reason,
        skipped=skipped,
        timed_out=timed_out,
    )
