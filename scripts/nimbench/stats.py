"""Percentiles by linear interpolation between order statistics (numpy's default)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (1 ≤ q ≤ 99) of `values`; one value is its own percentile."""
    if not values:
        raise ValueError("no values")
    if not 1 <= q <= 99:
        raise ValueError(f"percentile {q} is outside 1..99")
    if len(values) == 1:  # statistics.quantiles needs two data points
        return float(values[0])
    # 'inclusive' puts the q-th of 100 cut points at (n-1)*q/100 between the sorted values
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
