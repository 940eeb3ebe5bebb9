"""scripts/nimbench/rows.py: when a target is met, and how a row reads in the table and the JSON."""

from __future__ import annotations

from scripts.nimbench.rows import Row, Target, markdown

LAG = Target(50.0, 150.0, "median ≤ 50 ms, p95 ≤ 150 ms")


def row(*samples: float, target: Target | None = LAG, unit: str = "ms") -> Row:
    result = Row("1 readiness lag", "nimctl", unit, target=target)
    for value in samples:
        result.add(value)
    return result


def test_target_is_met_at_its_bounds_and_missed_above_either() -> None:
    assert LAG.met(50.0, 150.0) is True
    assert LAG.met(50.1, 10.0) is False
    assert LAG.met(10.0, 150.1) is False
    assert Target(None, 2.0, "p95 only").met(1000.0, 2.0) is True


def test_met_follows_median_and_p95_of_the_samples() -> None:
    assert row(4, 5, 6).met is True
    assert row(4, 5, 400).met is False  # p95 of (4, 5, 400) is 360.5
    assert row(60, 60, 60).met is False  # the median misses


def test_met_is_none_without_a_target_and_false_without_clean_samples() -> None:
    assert row(4.0, target=None).met is None
    assert row().met is False
    failed = row(4.0)
    failed.fail("nimctl up exited 5")
    assert failed.met is False
    unnoticed = row(4.0)
    unnoticed.not_noticed = 1
    assert unnoticed.met is False


def test_any_restart_misses_zero_restarts() -> None:
    restarts = row(0, 0, 0, 0, target=Target(0, 0, "0"), unit="restarts")
    assert restarts.met is True
    restarts.add(1)
    assert restarts.met is False  # the median and p95 are still 0, the max is not


def test_markdown_line_with_counts_failures_and_unit() -> None:
    lag = row(4.0, 6.0)
    lag.fail("boom")
    assert lag.markdown() == (
        "| 1 readiness lag | nimctl (n=3) | 5 ms | 6 ms (1/3 runs failed) | median ≤ 50 ms, p95 ≤ 150 ms | **no** |"
    )
    table = markdown([row(0.5, target=None, unit="s")]).splitlines()
    assert table[0] == "| figure | tool | median | p95 | target | met? |"
    assert table[2] == "| 1 readiness lag | nimctl (n=1) | 0.50 s | 0.50 s | — | — |"


def test_a_tool_that_never_noticed_says_so_with_its_bound() -> None:
    crash = Row("2 crash → gave up", "runbook-1s", "s", bound_s=30.0)
    crash.not_noticed = 2
    assert "| did not notice within 30 s (2/2) | — |" in crash.markdown()


def test_json_form_carries_the_figures_the_docs_quote() -> None:
    data = row(4.0, 6.0).to_dict()
    assert data["n"] == 2 and data["samples"] == [4.0, 6.0]
    assert data["median"] == 5.0 and data["p95"] == 5.9 and data["met"] is True
    assert data["target"] == {"median_max": 50.0, "p95_max": 150.0, "text": LAG.text}
    assert data["runs"] == [{"value": 4.0}, {"value": 6.0}]
