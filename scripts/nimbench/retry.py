"""One-shot scenarios get a second attempt after a failure; every failure is kept for the JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, RetryError, Retrying, stop_after_attempt

from scripts.nimbench.progress import log

T = TypeVar("T")


def retried(job: Callable[[], T], what: str, attempts: int = 2) -> tuple[T, list[str]]:
    """(job's result, the failures before it); raises RuntimeError naming every failure when all fail.

    Only Exceptions are retried: a KeyboardInterrupt (Ctrl-C, SIGTERM) goes straight through.
    """
    failures: list[str] = []

    def record(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        failures.append(str(error))
        log(f"{what}: attempt {state.attempt_number} failed: {error}")

    try:
        result: Any = Retrying(stop=stop_after_attempt(attempts), after=record)(job)
    except RetryError:
        raise RuntimeError(" / ".join(failures)) from None
    return result, failures
