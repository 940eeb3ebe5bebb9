"""scripts/nimbench/stats.py: percentiles by linear interpolation between order statistics."""

from __future__ import annotations

import random

import pytest

from scripts.nimbench.stats import percentile


def by_hand(values: list[float], q: int) -> float:
    """The documented definition: position (n-1)*q/100 in the sorted values, interpolated."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)


def test_p95_interpolates_between_the_top_two_order_statistics() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    # with n = 5 the p95 sits 80 % of the way from the 4th to the 5th value
    assert percentile([50.0, 10.0, 40.0, 20.0, 30.0], 95) == pytest.approx(48.0)


def test_one_value_is_its_own_percentile() -> None:
    assert percentile([0.25], 50) == 0.25
    assert percentile([0.25], 95) == 0.25


@pytest.mark.parametrize("q", [1, 5, 25, 50, 75, 95, 99])
def test_agrees_with_the_definition_on_random_samples(q: int) -> None:
    rng = random.Random(q)
    for size in (2, 3, 5, 20, 101):
        values = [rng.uniform(0, 10) for _ in range(size)]
        assert percentile(values, q) == pytest.approx(by_hand(values, q))


def test_no_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


@pytest.mark.parametrize("q", [0, 100, 101])
def test_only_percentiles_1_to_99(q: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0, 2.0], q)


def test_cpu_share_between_two_lines() -> None:
    from scripts.nimbench.procs import CmdResult

    result = CmdResult(
        cmd=["nimctl"],
        returncode=0,
        wall=3.0,
        t_start=0.0,
        t_end=3.0,
        stderr=[(1.0, "• x: starting"), (1.5, "• x: live"), (3.0, "• x: ready")],
        stdout="",
        cpu_at_line=[0.50, 0.51, 0.56],
    )
    assert abs(result.cpu_share(r"starting$", r"ready$") - 3.0) < 1e-9  # 0.06 s of CPU over 2 s
    assert result.cpu_share(r"never$", r"ready$") is None
