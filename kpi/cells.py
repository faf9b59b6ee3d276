"""Adding up the database's grouped counts into report cells, and each measure's exact record.

A cell is one place a figure appears: overall ``("all",)``, a month ``("month", "2025-03")`` or a
breakdown group ``("gender", "2")``. Cells hold exact sums and histograms (minutes to first
contact, sessions per discharged referral) so that groups can still be merged (small postcode
districts) before any figure is derived.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from kpi import groups, minutes
from kpi.memo import Scope
from kpi.percentiles import percentile
from kpi.queries import SMALL_DIMENSIONS, View

ALL = minutes.ALL  # the key of the whole view's cell
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
        numbers = frame[values].fillna(0).to_numpy(dtype="int64")
        cells = self.sums[family]
        for kind, column in groupings.items():
            if column is None:
                cells[ALL].update(dict(zip(values, numbers.sum(axis=0).tolist(), strict=True)))
                continue
            codes, groups = pd.factorize(frame[column])  # a group of None is left out (-1)
            sums = np.zeros((len(groups), len(values)), dtype="int64")
            np.add.at(sums, codes[codes >= 0], numbers[codes >= 0])
            for group, row in zip(groups.tolist(), sums.tolist(), strict=True):
                cells[(kind, group)].update(dict(zip(values, row, strict=True)))

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
    ("period", "sessions", "postcode_district", "contact_type", "practitioner")
    + SMALL_DIMENSIONS
    + ("fft_response", "month_type")
)
BY_MONTH_AND_DIMENSIONS = {"all": None, "month": "period"} | {d: d for d in SMALL_DIMENSIONS}
BY_DISTRICT = {"postcode_district": "postcode_district"}
BY_SMALL_DIMENSIONS = {d: d for d in SMALL_DIMENSIONS[1:]}  # all but the source


def referral_cells(
    conn: Connection, view: View, cells: Cells, use_cube: bool, scope: Scope
) -> None:
    """Referral-based counts: settled referrals from referral_cube (when as_of allows it), the
    rest aggregated from referral_fact."""
    frames = {
        "received": groups.referral_groups(conn, view, scope, use_cube),
        "received_district": groups.referral_by_district(conn, view, scope, use_cube),
        "discharged": groups.discharge_groups(conn, view, scope, use_cube),
        "discharged_district": groups.discharge_by_district(conn, view, scope, use_cube),
        "sessions": groups.sessions_histogram(conn, view, scope, use_cube),
    }
    cells.add("referral", frames["received"], BY_MONTH_AND_DIMENSIONS)
    cells.add("referral", frames["received_district"], BY_DISTRICT)
    cells.add("discharge", frames["discharged"], BY_MONTH_AND_DIMENSIONS)
    cells.add("discharge", frames["discharged_district"], BY_DISTRICT)
    groupings = {"all": None, "month": "period", "referral_source": "referral_source"}
    if use_cube:  # the settled referrals, added up by the database
        for grain, family in (("received", "referral"), ("discharged", "discharge")):
            sums = [c for c in frames[grain].columns if c not in KEY_COLUMNS | _LIVE_ONLY]
            for by in (groupings, BY_SMALL_DIMENSIONS):  # months x sources; the other three
                cube = groups.cube(conn, view, scope, grain, [c for c in by.values() if c] + sums)
                cells.add(family, cube, by)
            cube = groups.cube(conn, view, scope, grain + "_district", ["postcode_district", *sums])
            cells.add(family, cube, BY_DISTRICT)
        columns = ["period", "referral_source", "sessions", "referrals"]
        settled = groups.cube(conn, view, scope, "sessions", columns)
        parts = [f for f in (frames["sessions"], settled) if not f.empty]
        frames["sessions"] = pd.concat(parts) if parts else settled
    cells.add_hist("discharge", frames["sessions"], "sessions", groupings)


_LIVE_ONLY = frozenset(("waiting", "breaching"))  # never settled: not in the cube


def minutes_percentiles(
    conn: Connection, view: View, scope: Scope, cells: Cells, key: tuple
) -> tuple:
    """(median, p90) minutes to first contact of one cell (numpy's linear interpolation),
    worked out together with those of every other cell of its grouping not yet known, in a
    statement or two (kpi/minutes.py): the report asks for all of them next. A month's do not
    depend on the period, so the memo keeps them (per source) for the next report."""
    dimension = minutes.dimension_of(key)
    referral = cells.sums["referral"]
    keys = [k for k in referral if k not in cells.minutes and minutes.dimension_of(k) == dimension]
    merged = {m for k in keys if k[0] == "merged" for m in k[1]}  # asked for only as a whole
    batch = {k: referral[k] for k in keys if k not in merged}
    batch[key] = cells.referral_sums(key)
    if dimension != "month":
        cells.minutes.update(minutes.percentiles(conn, view, dimension, batch))
        return cells.minutes[key]
    # A month with minutes in view lies inside the period, and its figures do not depend on
    # the period: the memo keeps them. (A month out of the period has none here: not kept.)
    inside = {k for k, sums in batch.items() if sums["hours_n"]}
    known = {k: scope.known(("minutes", view.source, k)) for k in inside}
    cells.minutes.update({k: found for k, found in known.items() if found is not None})
    todo = {k: sums for k, sums in batch.items() if known.get(k) is None}
    found = minutes.percentiles(conn, view, dimension, todo) if todo else {}
    for k in inside & found.keys():
        scope.put(("minutes", view.source, k), found[k])
    cells.minutes.update(found)
    return cells.minutes[key]
