"""Adding up the database's grouped counts into report cells, and each measure's exact record.

A cell is one place a figure appears: overall ``("all",)``, a month ``("month", "2025-03")`` or a
breakdown group ``("gender", "2")``. Cells hold exact sums and histograms (minutes to first
contact, sessions per discharged referral) so that groups can still be merged (small postcode
districts) before any figure is derived.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from kpi import queries
from kpi.queries import SMALL_DIMENSIONS, View

ALL = ("all",)
FAMILY = {
    "referrals": "referral",
    "contact_72h": "referral",
    "contact_attempt_72h": "referral",
    "hours_to_contact": "referral",
    "appt_offered_7d": "referral",
    "appt_attended_7d": "referral",
    "waiting_now": "referral",
    "sessions_per_referral": "discharge",
    "core10_improvement": "discharge",
    "sessions": "activity",
    "dna_rate": "activity",
    "session_90min": "activity",
    "fft_positive": "feedback",
    "fft_negative": "feedback",
}
RATES = {  # measure: (numerator sum, denominator sum) in its family's cells
    "contact_72h": ("contact_72h_num", "contact_72h_den"),
    "contact_attempt_72h": ("contact_attempt_72h_num", "contact_attempt_72h_den"),
    "appt_offered_7d": ("appt_offered_7d_num", "appt_offered_7d_den"),
    "appt_attended_7d": ("appt_attended_7d_num", "appt_attended_7d_den"),
    "core10_improvement": ("core10_num", "core10_den"),
    "dna_rate": ("dna", "dna_den"),
    "session_90min": ("peer_90", "peer_timed"),
    "fft_positive": ("positive", "responses"),
    "fft_negative": ("negative", "responses"),
}
PENDING = {"contact_72h", "contact_attempt_72h", "appt_offered_7d", "appt_attended_7d"}
POSITIVE, NEGATIVE = {"very_good", "good"}, {"poor", "very_poor"}


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


class Cells:
    def __init__(self) -> None:
        self.sums: dict[str, dict[tuple, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.hists: dict[str, dict[tuple, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.minutes: dict[tuple, tuple] = {}  # cell -> (median, p90) minutes to contact
        self.minutes_of: Callable[[Cells, tuple], tuple] | None = None

    def add(self, family: str, keys: list[tuple], counts: dict[str, int]) -> None:
        for key in keys:
            self.sums[family][key].update(counts)

    def add_hist(self, family: str, keys: list[tuple], value: int, n: int) -> None:
        for key in keys:
            self.hists[family][key][value] += n

    def sums_of(self, family: str, key: tuple) -> Counter:
        return self.sums[family].get(key, Counter())

    def referral_sums(self, key: tuple) -> Counter:
        return self.sums_of("referral", key)

    def first_month(self) -> str | None:
        months = [k[1] for fam in self.sums.values() for k in fam if k[0] == "month"]
        return min(months, default=None)

    def district_referrals(self) -> dict[str, int]:
        cells = self.sums["referral"]
        return {k[1]: c["referrals"] for k, c in cells.items() if k[0] == "postcode_district"}

    def groups(self, measure_id: str, dimension: str) -> dict[str, tuple]:
        family = FAMILY[measure_id]
        keys = set(self.sums[family]) | set(self.hists[family])
        return {k[1]: k for k in keys if k[0] == dimension}

    def combine(self, measure_id: str, keys: list[tuple]) -> tuple:
        if len(keys) == 1:
            return keys[0]
        family, merged = FAMILY[measure_id], ("merged", tuple(sorted(keys)))
        if merged not in self.sums[family]:
            for key in keys:
                self.sums[family][merged].update(self.sums_of(family, key))
                self.hists[family][merged].update(self.hists[family].get(key, Counter()))
        return merged

    def record(self, measure_id: str, key: tuple) -> dict[str, Any]:
        """The exact figures of a measure in one cell, before any disclosure control."""
        family = FAMILY[measure_id]
        s = self.sums_of(family, key)
        if measure_id in RATES:
            num, den = RATES[measure_id]
            out = {"numerator": s[num], "denominator": s[den]}
            if measure_id in PENDING:
                out["pending"] = s["referrals"] - s[den]
            if family == "feedback":
                out["n"] = s[den]
            return out
        hist = self.hists[family].get(key, Counter())
        if measure_id == "hours_to_contact":
            if key not in self.minutes and self.minutes_of is not None:
                self.minutes[key] = self.minutes_of(self, key)
            median, p90 = self.minutes.get(key, (None, None))
            return {
                "n": s["hours_n"],
                "median": None if median is None else round(median / 60, 1),
                "p90": None if p90 is None else round(p90 / 60, 1),
            }
        if measure_id == "sessions_per_referral":
            n = s["referrals"]
            median = percentile(hist, 0.5) if hist else None
            return {
                "n": n,
                "mean": round(s["sessions_total"] / n, 2) if n else None,
                "median": None if median is None else round(median, 2),
            }
        if measure_id == "waiting_now":
            return {"value": s["waiting"], "breaching": s["breaching"]}
        if measure_id == "sessions":
            return {"value": s["attended"]}
        return {"value": s["referrals"]}


def _keys(row: dict, dimensions: tuple[str, ...] = SMALL_DIMENSIONS) -> list[tuple]:
    return [ALL, ("month", row["period"])] + [(d, row[d]) for d in dimensions]


def _counts(row: dict) -> dict[str, int]:
    return {k: int(v or 0) for k, v in row.items() if k not in _CUBE_KEY}


_CUBE_KEY = ("period", "sessions", "postcode_district", *SMALL_DIMENSIONS)


def referral_cells(conn: Connection, view: View, cells: Cells, use_cube: bool) -> None:
    """Referral-based counts: settled referrals from referral_cube (when as_of allows it), the
    rest aggregated from referral_fact."""
    received = queries.referral_groups(conn, view, live_only=use_cube)
    districts = queries.referral_by_district(conn, view, live_only=use_cube)
    discharged = queries.discharge_groups(conn, view, live_only=use_cube)
    discharged_districts = queries.discharge_by_district(conn, view, live_only=use_cube)
    sessions = queries.sessions_histogram(conn, view, live_only=use_cube)
    if use_cube:
        received += queries.cube(conn, view, "received")
        districts += queries.cube(conn, view, "received_district")
        discharged += queries.cube(conn, view, "discharged")
        discharged_districts += queries.cube(conn, view, "discharged_district")
        sessions += queries.cube(conn, view, "sessions")
    for family, rows, district_rows in (
        ("referral", received, districts),
        ("discharge", discharged, discharged_districts),
    ):
        for row in rows:
            cells.add(family, _keys(row), _counts(row))
        for row in district_rows:
            cells.add(family, [("postcode_district", row["postcode_district"])], _counts(row))
    for row in sessions:
        keys = [ALL, ("month", row["period"]), ("referral_source", row["referral_source"])]
        cells.add_hist("discharge", keys, int(row["sessions"]), int(row["referrals"]))


def minutes_percentiles(conn: Connection, view: View, cells: Cells, key: tuple) -> tuple:
    """(median, p90) minutes to first contact of one cell, by walking the index to the two
    positions each needs (numpy's linear interpolation)."""
    n = cells.referral_sums(key)["hours_n"]
    if n == 0:
        return None, None
    if key == ALL:
        dimension, groups = None, []
    elif key[0] == "merged":
        dimension, groups = key[1][0][0], [k[1] for k in key[1]]
    else:
        dimension, groups = key[0], [key[1]]
    out = []
    for q in (0.5, 0.9):
        h = (n - 1) * q
        lo = math.floor(h)
        values = queries.minutes_at(conn, view, dimension, groups, lo)
        out.append(values[0] + (h - lo) * (values[-1] - values[0]))
    return tuple(out)


def _activity_counts(row: dict) -> dict[str, int]:
    counts = {name: int(row[name] or 0) for name in queries.ACTIVITY_SUMS}
    counts["dna_den"] = counts["attended"] + counts["late_not_seen"] + counts["dna"]
    return counts


def activity_cells(conn: Connection, view: View, cells: Cells, by_practitioner: bool) -> None:
    for row in queries.activity(conn, view):
        month = _month(row["activity_on"])
        keys = [ALL, ("month", month)]
        keys += [("contact_type", row["contact_type"]), ("referral_source", row["referral_source"])]
        cells.add("activity", keys, _activity_counts(row))
    if by_practitioner:
        for row in queries.activity(conn, view, by_practitioner=True):
            who = row["practitioner"] or "not_recorded"
            cells.add("activity", [("practitioner", who)], _activity_counts(row))


def feedback_cells(conn: Connection, view: View, cells: Cells) -> None:
    for row in queries.feedback(conn, view):
        n, answer = int(row["n"]), row["fft_response"]
        counts = {
            "responses": n,
            "positive": n if answer in POSITIVE else 0,
            "negative": n if answer in NEGATIVE else 0,
        }
        cells.add("feedback", [ALL, ("month", _month(row["submitted_on"]))], counts)


def _month(day: object) -> str:
    return str(day)[:7]
