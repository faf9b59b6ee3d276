"""Percentiles of a histogram, exactly as numpy's default (linear interpolation)."""

from __future__ import annotations

import math
from collections import Counter


def percentile(hist: Counter, q: float) -> float | None:
    """The q-th quantile of a histogram {value: count} by linear interpolation (numpy's
    default, Excel PERCENTILE.INC)."""
    n = sum(hist.values())
    if n == 0:
        return None
    items = sorted(hist.items())

    def value_at(index: int) -> float:
        seen = 0
        for value, count in items:
            seen += count
            if seen > index:
                return value
        return items[-1][0]

    h = (n - 1) * q
    lo = math.floor(h)
    low, high = value_at(lo), value_at(min(lo + 1, n - 1))
    return low + (h - lo) * (high - low)
