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

import pandas as pd
from sqlalchemy import Connection

from etl.cube import MINUTE_BOUNDS
from kpi import queries
from kpi.percentiles import percentile
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


class Cells:
    def __init__(self) -> None:
        self.sums: dict[str, dict[tuple, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.hists: dict[str, dict[tuple, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.minutes: dict[tuple, tuple] = {}  # cell -> (median, p90) minutes to contact
        self.minutes_of: Callable[[Cells, tuple], tuple] | None = None

    def add(self, family: str, frame: pd.DataFrame, groupings: dict[str, str | None]) -> None:
        """Add a frame of grouped counts into the cells of each grouping: kind -> the frame's
        column holding the group (None: every row into the overall cell)."""
        if frame.empty:
            return
        values = [c for c in frame.columns if c not in KEY_COLUMNS]
        numbers = frame[values].fillna(0).astype("int64")
        for kind, column in groupings.items():
            if column is None:
                self.sums[family][ALL].update(numbers.sum().to_dict())
                continue
            for group, sums in numbers.groupby(frame[column]).sum().iterrows():
                self.sums[family][(kind, group)].update(sums.to_dict())

    def add_hist(
        self, family: str, frame: pd.DataFrame, value: str, groupings: dict[str, str | None]
    ) -> None:
        """Histograms {value: count} of `value` weighted by the frame's "referrals" column."""
        if frame.empty:
            return
        for kind, column in groupings.items():
            by = [value] if column is None else [column, value]
            counts = frame.groupby(by)["referrals"].sum()
            for index, n in counts.items():
                key, x = (ALL, index) if column is None else ((kind, index[0]), index[1])
                self.hists[family][key][int(x)] += int(n)

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


KEY_COLUMNS = frozenset(
    ("period", "sessions", "postcode_district", "contact_type", "practitioner", "activity_on")
    + SMALL_DIMENSIONS
    + ("submitted_on", "fft_response", "month_type")
)
BY_MONTH_AND_DIMENSIONS = {"all": None, "month": "period"} | {d: d for d in SMALL_DIMENSIONS}
BY_DISTRICT = {"postcode_district": "postcode_district"}


def referral_cells(conn: Connection, view: View, cells: Cells, use_cube: bool) -> None:
    """Referral-based counts: settled referrals from referral_cube (when as_of allows it), the
    rest aggregated from referral_fact."""
    frames = {
        "received": queries.referral_groups(conn, view, live_only=use_cube),
        "received_district": queries.referral_by_district(conn, view, live_only=use_cube),
        "discharged": queries.discharge_groups(conn, view, live_only=use_cube),
        "discharged_district": queries.discharge_by_district(conn, view, live_only=use_cube),
        "sessions": queries.sessions_histogram(conn, view, live_only=use_cube),
    }
    cells.add("referral", frames["received"], BY_MONTH_AND_DIMENSIONS)
    cells.add("referral", frames["received_district"], BY_DISTRICT)
    cells.add("discharge", frames["discharged"], BY_MONTH_AND_DIMENSIONS)
    cells.add("discharge", frames["discharged_district"], BY_DISTRICT)
    groupings = {"all": None, "month": "period", "referral_source": "referral_source"}
    if use_cube:  # the settled referrals, added up by the database one grouping at a time
        for grain, family, by in (
            ("received", "referral", BY_MONTH_AND_DIMENSIONS),
            ("received_district", "referral", BY_DISTRICT),
            ("discharged", "discharge", BY_MONTH_AND_DIMENSIONS),
            ("discharged_district", "discharge", BY_DISTRICT),
        ):
            sums = [c for c in frames[grain].columns if c not in KEY_COLUMNS | _LIVE_ONLY]
            for kind, column in by.items():
                keys = [column] if column else []
                cells.add(family, queries.cube(conn, view, grain, keys + sums), {kind: column})
        columns = ["period", "referral_source", "sessions", "referrals"]
        settled = queries.cube(conn, view, "sessions", columns)
        parts = [f for f in (frames["sessions"], settled) if not f.empty]
        frames["sessions"] = pd.concat(parts) if parts else settled
    cells.add_hist("discharge", frames["sessions"], "sessions", groupings)


_LIVE_ONLY = frozenset(("waiting", "breaching"))  # never settled: not in the cube


def minutes_percentiles(conn: Connection, view: View, cells: Cells, key: tuple) -> tuple:
    """(median, p90) minutes to first contact of one cell (numpy's linear interpolation). The
    cell's counts per bucket of minutes say which bucket holds each position wanted; the
    database then walks its index from the start of that bucket only."""
    sums = cells.referral_sums(key)
    n = sums["hours_n"]
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
        below, bucket = 0, 0
        while below + sums[f"minutes_b{bucket}"] <= lo:
            below += sums[f"minutes_b{bucket}"]
            bucket += 1
        low = MINUTE_BOUNDS[bucket]
        values = queries.minutes_from(conn, view, dimension, groups, low, lo - below)
        out.append(values[0] + (h - lo) * (values[-1] - values[0]))
    return tuple(out)


def activity_cells(conn: Connection, view: View, cells: Cells, by_practitioner: bool) -> None:
    frame = queries.activity(conn, view)
    frame["dna_den"] = frame["attended"] + frame["late_not_seen"] + frame["dna"]
    frame["period"] = frame["activity_on"].astype(str).str[:7]
    frame["month_type"] = frame["period"] + " " + frame["contact_type"].astype(str)
    groupings = {"all": None, "month": "period", "contact_type": "contact_type"}
    groupings |= {"referral_source": "referral_source", "month_contact_type": "month_type"}
    cells.add("activity", frame, groupings)
    if by_practitioner:
        frame = queries.activity(conn, view, by_practitioner=True)
        frame["dna_den"] = frame["attended"] + frame["late_not_seen"] + frame["dna"]
        frame["practitioner"] = frame["practitioner"].replace("", "not_recorded")
        cells.add("activity", frame, {"practitioner": "practitioner"})


def feedback_cells(conn: Connection, view: View, cells: Cells) -> None:
    frame = queries.feedback(conn, view).rename(columns={"n": "responses"})
    frame["positive"] = frame["responses"].where(frame["fft_response"].isin(POSITIVE), 0)
    frame["negative"] = frame["responses"].where(frame["fft_response"].isin(NEGATIVE), 0)
    frame["period"] = frame["submitted_on"].astype(str).str[:7]
    cells.add("feedback", frame, {"all": None, "month": "period"})
