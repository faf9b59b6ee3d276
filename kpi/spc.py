"""XmR charts by the NHS "Making Data Count" (MDC) method (spec: kpis.md, "Statistical process
control"). Pure: standard library only, so the dashboard, exports and `sis kpis` share it.

Method, per segment (see rebasing below):

- centre line = mean of the points; MR_i = |x_i - x_(i-1)|; limits = mean ± 2.66 × mean(MR);
  two-sigma band = mean ± 1.773 × mean(MR). No screening of moving ranges.
- rules (every comparison strict; a point exactly on the mean is on neither side):
  outside_limits: above the upper or below the lower limit;
  run: 7 or more consecutive points on the same side of the mean;
  trend: 7 or more consecutive points, each strictly higher (or each strictly lower) than the one
  before it *within the run* — i.e. 6 successive rises (falls). This is the MDC Excel tool's
  "7 points consistently increasing/decreasing" and NHSRplotthedots'
  `ptd_seven_point_trend` (which takes the sign of the 6 differences of y[i-6..i]); 6 points
  (5 rises) do not fire. Equal neighbours break a trend;
  two_of_three: three consecutive points all on the same side of the mean, two or more beyond
  the two-sigma line on that side. Points beyond the limits count, as the spec says (MDC change
  of November 2023; NHSRplotthedots' `ptd_two_in_three` counts only points between two sigma
  and the limits). The points beyond two sigma are flagged — including those also outside the
  limits, which then list both rules.
- every point of a qualifying run or trend is flagged. Each rule points high (above the
  mean / rising) or low; a point's direction is that of its first rule in the order
  outside_limits, trend, two_of_three, run (the `case_when` order of NHSRplotthedots 0.2.2). A
  point shared by a rising and a falling trend (a turning point) takes the later trend's
  direction (NHSRplotthedots: "if a point is part of a trend either side, use right side").
- variation: high is "improvement" when improvement="up", "concern" when "down" (mirrored for
  low); "neutral" for every special cause of a neutral measure; else "common_cause".
- variation_icon comes from the last point with a value; assurance_icon compares the target with
  the current (last segment's) limits, strictly: for "up" target < lower -> "pass", target >
  upper -> "fail", else "hit_and_miss"; mirrored for "down"; None for neutral / no target.
- fewer than 12 points with a value in a segment: trial limits.

Rebasing: a segment starts at the first point whose period is >= a rebase period (periods are
compared as strings, so use zero-padded "YYYY-MM"). Each segment has its own mean, limits and
trial flag; moving ranges and rules never cross a boundary. A rebase at or before the first point
gives the first segment its reason; one after the last point makes no segment.

Missing values: points whose value is None (or NaN) stay in the output with variation None but
are skipped: the series is the points with values, in order, so a moving range, run or trend
spans a gap (NHSRplotthedots instead drops the two moving ranges either side of an NA).

Arithmetic is exact: each value is taken as the decimal it prints as (Fraction(repr(x))), so
91.5 sits exactly on a mean of 91.5 however it was summed; results are rounded to float once.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

LIMIT_FACTOR = Fraction("2.66")
TWO_SIGMA_FACTOR = Fraction("1.773")
RUN_LENGTH = 7  # points
TREND_LENGTH = 7  # points, i.e. 6 successive strict rises or falls
TRIAL_BELOW = 12  # points with a value
IMPROVEMENTS = ("up", "down", "neutral")
RULES = ("outside_limits", "run", "trend", "two_of_three")  # output order (spec numbering)
PRECEDENCE = ("outside_limits", "trend", "two_of_three", "run")  # decides a point's direction

_SC = "Special cause variation — "
ICONS: dict[str, dict[str, str]] = {
    "common_cause": {"letter": "", "label": "Common cause variation — no significant change"},
    "improvement_high": {"letter": "H", "label": _SC + "improvement (higher)"},
    "improvement_low": {"letter": "L", "label": _SC + "improvement (lower)"},
    "concern_high": {"letter": "H", "label": _SC + "concern (higher)"},
    "concern_low": {"letter": "L", "label": _SC + "concern (lower)"},
    "neither_high": {"letter": "H", "label": _SC + "neither improvement nor concern (higher)"},
    "neither_low": {"letter": "L", "label": _SC + "neither improvement nor concern (lower)"},
    "pass": {"letter": "P", "label": "Consistently passing the target"},
    "fail": {"letter": "F", "label": "Consistently failing the target"},
    "hit_and_miss": {"letter": "?", "label": "Hit and miss — the target may or may not be met"},
}

_Limits = dict[str, Fraction]
_LIMIT_KEYS = ("mean", "lower", "upper", "lower_2sigma", "upper_2sigma")


def _exact(value: Any) -> Fraction | None:
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ValueError(f"SPC value {value!r} is not a finite number")
    return Fraction(repr(number))


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _sign(value: Fraction) -> int:
    return (value > 0) - (value < 0)


def _stretches(values: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    """Maximal stretches of equal values as (start, stop, value)."""
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            yield start, i, values[start]
            start = i


def _limits(xs: Sequence[Fraction]) -> _Limits | None:
    if len(xs) < 2:
        return None
    mean = sum(xs, Fraction(0)) / len(xs)
    mr_mean = sum((abs(b - a) for a, b in zip(xs, xs[1:], strict=False)), Fraction(0))
    mr_mean /= len(xs) - 1
    return {
        "mean": mean,
        "lower": mean - LIMIT_FACTOR * mr_mean,
        "upper": mean + LIMIT_FACTOR * mr_mean,
        "lower_2sigma": mean - TWO_SIGMA_FACTOR * mr_mean,
        "upper_2sigma": mean + TWO_SIGMA_FACTOR * mr_mean,
    }


def _rules(xs: Sequence[Fraction], lim: _Limits) -> list[dict[str, int]]:
    """For each point, the rules it fires mapped to their direction (+1 high, -1 low)."""
    found: list[dict[str, int]] = [{} for _ in xs]
    side = [_sign(x - lim["mean"]) for x in xs]
    for i, x in enumerate(xs):
        if x > lim["upper"] or x < lim["lower"]:
            found[i]["outside_limits"] = side[i]
    for start, stop, s in _stretches(side):
        if s and stop - start >= RUN_LENGTH:
            for k in range(start, stop):
                found[k]["run"] = s
    steps = [_sign(b - a) for a, b in zip(xs, xs[1:], strict=False)]  # steps[j]: x[j] -> x[j+1]
    for start, stop, s in _stretches(steps):  # in time order: a later trend overwrites
        if s and stop - start >= TREND_LENGTH - 1:
            for k in range(start, stop + 1):
                found[k]["trend"] = s
    beyond = [(x > lim["upper_2sigma"]) - (x < lim["lower_2sigma"]) for x in xs]
    for i in range(len(xs) - 2):
        window = range(i, i + 3)
        s = side[i]
        if s and all(side[k] == s for k in window) and sum(beyond[k] == s for k in window) >= 2:
            for k in window:
                if beyond[k] == s:
                    found[k]["two_of_three"] = s
    return found


def _variation(direction: int, improvement: str) -> str:
    if improvement == "neutral":
        return "neutral"
    return "improvement" if (direction > 0) == (improvement == "up") else "concern"


def _assurance(target: Fraction | None, lim: _Limits | None, improvement: str) -> str | None:
    if target is None or lim is None or improvement == "neutral":
        return None
    if target > lim["upper"]:
        return "fail" if improvement == "up" else "pass"
    if target < lim["lower"]:
        return "pass" if improvement == "up" else "fail"
    return "hit_and_miss"


def xmr(
    points: Sequence[tuple[str, float | None]],
    improvement: str = "neutral",
    target: float | None = None,
    rebase: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """XmR chart of (period, value) points in chronological order; see the module docstring.

    improvement: "up" (higher is better), "down" (lower is better) or "neutral".
    rebase: (period, reason) pairs; new limits from each period on.
    """
    if improvement not in IMPROVEMENTS:
        raise ValueError(f"improvement must be one of {', '.join(IMPROVEMENTS)}: {improvement!r}")
    periods = [str(period) for period, _ in points]
    for before, after in zip(periods, periods[1:], strict=False):
        if not before < after:
            raise ValueError(
                f"SPC points must be in period order, once each: {after} after {before}"
            )
    values = [_exact(value) for _, value in points]
    reasons = dict(sorted(((str(p), r) for p, r in rebase), key=lambda pr: pr[0]))
    starts = list(reasons)
    # Points are in period order, so each segment is a contiguous slice.
    groups: dict[int, list[int]] = {}
    for i, period in enumerate(periods):
        groups.setdefault(bisect.bisect_right(starts, period), []).append(i)

    out_points: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    lim: _Limits | None = None
    for seg, idx in groups.items():
        present = [(i, x) for i in idx if (x := values[i]) is not None]
        xs = [x for _, x in present]
        lim = _limits(xs)
        fired = dict(zip((i for i, _ in present), _rules(xs, lim), strict=True)) if lim else {}
        lines = {k: _float(lim[k]) if lim else None for k in ("mean", "lower", "upper")}
        for i in idx:
            rules = fired.get(i, {})
            direction = next((rules[r] for r in PRECEDENCE if r in rules), 0)
            if values[i] is None:
                variation = None
            else:
                variation = _variation(direction, improvement) if rules else "common_cause"
            out_points.append(
                {
                    "period": periods[i],
                    "value": _float(values[i]),
                    **lines,
                    "special_cause": bool(rules),
                    "rules": [r for r in RULES if r in rules],
                    "variation": variation,
                    "_direction": direction,
                }
            )
        segments.append(
            {
                "from": periods[idx[0]],
                "to": periods[idx[-1]],
                **{k: _float(lim[k]) if lim else None for k in _LIMIT_KEYS},
                "trial": len(present) < TRIAL_BELOW,
                "reason": reasons[starts[seg - 1]] if seg else None,
            }
        )

    variation_icon = None
    if lim is not None:  # the last segment has limits, so it has a last point with a value
        last = next(p for p in reversed(out_points) if p["value"] is not None)
        if not last["special_cause"]:
            variation_icon = "common_cause"
        else:
            kind = "neither" if improvement == "neutral" else last["variation"]
            variation_icon = f"{kind}_{'high' if last['_direction'] > 0 else 'low'}"
    for p in out_points:
        del p["_direction"]
    current = segments[-1] if segments else {}
    return {
        "improvement": improvement,
        "target": _float(_exact(target)),
        **{k: current.get(k) for k in _LIMIT_KEYS},
        "trial": current.get("trial", True),
        "points": out_points,
        "variation_icon": variation_icon,
        "assurance_icon": _assurance(_exact(target), lim, improvement),
        "segments": segments,
    }


def read_series(text: str) -> list[tuple[str, float | None]]:
    """Read `period,value` CSV text (header row optional, blank value -> None).

    The first row is a header when its value is not a number and its period has no digit
    (e.g. "month,contact_72h"). Raises ValueError naming the line for anything else.
    """
    series: list[tuple[str, float | None]] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    first = True
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if len(cells) != 2 or not cells[0]:
            raise ValueError(f"line {line}: expected two columns, period and value: {row!r}")
        period, raw = cells
        number = _parse_number(raw)
        if first and raw and number is None and not any(c.isdigit() for c in period):
            first = False
            continue  # header row
        first = False
        if raw and number is None:
            raise ValueError(f"line {line}: value {raw!r} for {period} is not a number")
        series.append((period, number))
    return series


def _parse_number(raw: str) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
