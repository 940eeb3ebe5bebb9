"""scripts/nimbench/retry.py: one repeat after a failure, every failure kept, Ctrl-C never retried."""

from __future__ import annotations

import pytest

from scripts.nimbench.retry import retried


def flaky(*outcomes: object):
    calls: list[int] = []

    def job() -> object:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return job, calls


def test_a_first_success_is_returned_with_no_failures() -> None:
    job, calls = flaky(42)
    assert retried(job, "test") == (42, [])
    assert len(calls) == 1


def test_a_failure_then_a_success_returns_the_failure_too() -> None:
    job, calls = flaky(RuntimeError("engine hiccup"), 7)
    assert retried(job, "test") == (7, ["engine hiccup"])
    assert len(calls) == 2


def test_two_failures_raise_one_error_naming_both() -> None:
    job, calls = flaky(RuntimeError("first"), RuntimeError("second"), 1)
    with pytest.raises(RuntimeError, match="^first / second$"):
        retried(job, "test")
    assert len(calls) == 2


def test_an_interrupt_goes_straight_through() -> None:
    job, calls = flaky(KeyboardInterrupt("signal 15"), 1)
    with pytest.raises(KeyboardInterrupt):
        retried(job, "test")
    assert len(calls) == 1
