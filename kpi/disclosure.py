"""Disclosure control for commissioners (kpis.md), and the exact figures managers see.

``figures(raw, kind, audience)`` is the one function every figure passes through: it turns a
record of exact counts and statistics into what the audience may see. For a commissioner, counts
are controlled first (1-7 -> "*", others to the nearest 5) and everything else is derived from the
controlled counts: a percentage from the rounded numerator and denominator, a median or mean only
when the count it rests on (before rounding) is 8 or more.
"""

from __future__ import annotations

from typing import Any

SUPPRESSED = "*"
MIN_COUNT = 8  # smaller counts (and statistics resting on them) are not shown
COUNT_FIELDS = ("numerator", "denominator", "pending", "n", "breaching")
STAT_FIELDS = ("median", "p90", "mean")
OTHER_DISTRICTS = "other_districts"
AUDIENCES = ("manager", "commissioner")
_COMMISSIONER_KEYS = frozenset(("value", "period", "group", *COUNT_FIELDS, *STAT_FIELDS))

Shown = int | float | str | None


def round_count(n: int) -> int | str:
    """0 stays 0; 1-7 are suppressed; every other count goes to the nearest 5 (halves up)."""
    if n == 0:
        return 0
    if n < MIN_COUNT:
        return SUPPRESSED
    return int((n + 2.5) // 5 * 5)


def percentage(numerator: Shown, denominator: Shown) -> float | str | None:
    """A percentage to one decimal place; "*" when either count is; None when nothing to divide."""
    if SUPPRESSED in (numerator, denominator):
        return SUPPRESSED
    if not denominator:
        return None
    return round(100 * float(numerator) / float(denominator), 1)  # type: ignore[arg-type]


def statistic(value: float | None, n: int) -> float | str | None:
    """A median, percentile or mean, shown only when its count (before rounding) is 8 or more."""
    if value is None:
        return None
    return value if n >= MIN_COUNT else SUPPRESSED


def figures(raw: dict[str, Any], kind: str, audience: str) -> dict[str, Any]:
    """What `audience` sees of one record of exact figures of a measure of `kind`.

    `raw` holds exact counts (``value`` for count measures; ``numerator``, ``denominator``,
    ``pending``, ``n``, ``breaching`` as they apply) and exact statistics (``median``, ``p90``,
    ``mean``, over ``n``); other keys (``period``, ``group``) pass through. ``value`` is set by
    the measure's kind.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    controlled = audience == "commissioner"
    out = dict(raw)
    for name in COUNT_FIELDS:
        if name in out and controlled:
            out[name] = round_count(out[name])
    if kind == "count" and controlled:
        out["value"] = round_count(raw["value"])
    if kind == "rate":
        out["value"] = percentage(out["numerator"], out["denominator"])
    for name in STAT_FIELDS:
        if name in out and controlled:
            out[name] = statistic(raw[name], raw.get("n", 0))
    if kind == "stat":
        out["value"] = out.get("median")
    if kind == "mean":
        out["value"] = out.get("mean")
    if controlled:  # nothing but controlled figures and their labels leaves for a commissioner
        out = {k: v for k, v in out.items() if k in _COMMISSIONER_KEYS}
    return out


def merge_small_districts(counts: dict[str, int], threshold: int = MIN_COUNT) -> dict[str, str]:
    """{district: reported group}: districts with fewer than `threshold` referrals in the view
    are reported together as "Other districts"."""
    return {d: (OTHER_DISTRICTS if n < threshold else d) for d, n in counts.items()}
