"""The KPI report: every measure of kpis.md, overall, by month and by breakdown, with SPC.

``build_report`` is the one implementation the dashboard, the exports and ``sis kpis`` use. The
database aggregates (kpi/groups.py, kpi/activity.py, kpi/minutes.py); this module only adds up
groups, turns histograms into medians and passes every record through ``disclosure.figures``
for the audience.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine

from etl import parsers
from etl.cube import MINUTE_BOUNDS
from etl.schema import REFERRAL_SOURCES
from kpi import queries, spc
from kpi.activity import activity_cells, feedback_cells
from kpi.cells import Cells, minutes_percentiles, referral_cells
from kpi.disclosure import (
    AUDIENCES,
    OTHER_DISTRICTS,
    SUPPRESSED,
    figures,
    merge_small_districts,
)
from kpi.measures import BY_ID, REFERRAL_BASED, directions, rebase, targets
from kpi.memo import Memo, Scope
from kpi.queries import DIMENSION_COLUMNS, View

ORDER = {
    "referral_source": REFERRAL_SOURCES,
    "age_band": ("under 18", "18-24", "25-34", "35-44", "45-64", "65+", "not_known"),
    "gender": ("1", "2", "3", "4", "Z", "X"),
    "ethnicity": ("white", "mixed", "asian", "black", "other", "not_known"),
    "contact_type": ("assessment", "peer_session", "group_session"),
}


def parse_as_of(text: str) -> dt.datetime:
    """An ISO date-time (naive means Europe/London wall clock) as an aware UTC datetime."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = parsers.london_to_utc(value).replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso_london(utc: dt.datetime) -> str:
    return utc.replace(tzinfo=dt.UTC).astimezone(parsers.LONDON).isoformat()


def months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build_report(
    engine: Engine | Connection,
    as_of: dt.datetime | None = None,
    audience: str = "manager",
    month_from: str | None = None,
    month_to: str | None = None,
    source: str | None = None,
    use_cube: bool = True,
    memo: Memo | None = None,
) -> dict[str, Any]:
    """Every measure for `audience`. `as_of`: None = the newest export time in the run ledger;
    a naive datetime is Europe/London wall clock. Months are "YYYY-MM" (London). `use_cube`
    False recomputes everything from referral_fact (a test checks the two agree). `memo`
    keeps the parts other filter choices share (kpi/memo.py); the report is the same."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}")
    args = (as_of, audience, month_from, month_to, source, use_cube, memo)
    if isinstance(engine, Connection):
        with queries.planned_for_their_values(engine):
            return _build(engine, *args)
    with engine.connect() as conn, queries.planned_for_their_values(conn):
        return _build(conn, *args)


def _build(conn, as_of, audience, month_from, month_to, source, use_cube, memo) -> dict[str, Any]:  # noqa: ANN001
    version, newest = queries.data_version(conn)
    if as_of is None:
        as_of_utc = newest  # as_of: the newest export time
    elif as_of.tzinfo is None:
        as_of_utc = parsers.london_to_utc(as_of)
    else:
        as_of_utc = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    known = as_of_utc is not None
    if not known:  # an empty warehouse: measure at the wall clock, report as_of as unknown
        as_of_utc = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    month_from, month_to, source = month_from or None, month_to or None, source or None
    view = View(as_of_utc, parsers.utc_to_london(as_of_utc).date(), month_from, month_to, source)
    # Months run to the as_of month at the latest: later ones have no data yet, not zeros.
    last_month = min(filter(None, (month_to, view.as_of_day.strftime("%Y-%m"))))
    commissioner = audience == "commissioner"

    scope = Scope(memo, version, as_of_utc)
    cells = Cells()
    settled_ok = newest is not None and as_of_utc >= newest  # see etl/cube.py
    referral_cells(conn, view, cells, use_cube and settled_ok, scope)
    cells.minutes_of = partial(minutes_percentiles, conn, view, scope)
    activity_cells(conn, view, cells, not commissioner, scope)
    feedback_cells(conn, view, cells, scope)
    first_month = min(month_from or cells.first_month() or last_month, last_month)
    months = months_between(first_month, last_month)
    district_map = (
        merge_small_districts(cells.district_referrals())
        if commissioner
        else {d: d for d in cells.district_referrals()}
    )
    target = targets()
    measures: dict[str, Any] = {}
    for measure_id, measure in BY_ID.items():
        record = cells.record(measure_id, ("all",))
        out = {"name": measure.name, **figures(record, measure.kind, audience)}
        if measure_id in target:
            out["target"] = target[measure_id]
        out["by_month"] = [
            figures({"period": m, **cells.record(measure_id, ("month", m))}, measure.kind, audience)
            for m in months
        ]
        for dimension in _breakdowns(measure_id, commissioner):
            groups = cells.groups(measure_id, dimension)
            if dimension == "postcode_district":
                groups = _merge(cells, measure_id, groups, district_map)
            out[f"by_{dimension}"] = [
                figures({"group": g, **cells.record(measure_id, key)}, measure.kind, audience)
                for g, key in _ordered(dimension, groups)
            ]
        if measure.charted:
            out["spc"] = _spc(measure_id, out["by_month"], measure.kind, commissioner)
        if measure_id == "hours_to_contact":
            out.update(_distributions(cells, audience))
        measures[measure_id] = out
    measures["waiting_now"].update(
        figures(queries.waiting_hours(conn, view, live_only=use_cube and settled_ok), "", audience)
    )
    measures["sessions"]["by_month_contact_type"] = [
        figures({"period": m, "group": t, **cells.record("sessions", key)}, "count", audience)
        for m in months
        for t, key in _ordered("contact_type", _month_types(cells, m))
    ]
    measures["appointments"] = _appointments(cells, months, audience)
    measures["data_quality"] = _data_quality(conn, cells, audience)
    return {
        "as_of": iso_london(as_of_utc) if known else None,
        "audience": audience,
        "period": {"from": months[0] if months else None, "to": last_month},
        "source": source,
        "measures": measures,
    }


def _spc(measure_id: str, by_month: list[dict], kind: str, commissioner: bool) -> dict[str, Any]:
    """The XmR chart of a measure's monthly figures (as the audience sees them)."""
    chart = spc.xmr(
        [(p["period"], _plotted(p, kind)) for p in by_month],
        improvement=directions()[measure_id],
        target=targets().get(measure_id),
        rebase=rebase().get(measure_id, ()),
    )
    for point, shown in zip(chart["points"], by_month, strict=True):
        if shown["value"] == SUPPRESSED:
            point["value"] = SUPPRESSED
    return _one_decimal(chart) if commissioner else chart


def _one_decimal(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """Every number of a chart to one decimal place (what a commissioner is shown)."""
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, dict):
        return {k: _one_decimal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_one_decimal(v) for v in value]
    return value


def _plotted(point: dict[str, Any], kind: str) -> float | None:
    """A month's value for SPC: the unrounded percentage when its counts are shown (exact for
    managers, the rounded counts' for commissioners); None when hidden or nothing to divide."""
    if kind == "rate":
        num, den = point["numerator"], point["denominator"]
        if isinstance(num, int) and isinstance(den, int) and den:
            return 100 * num / den
        return None
    return point["value"] if isinstance(point["value"], int | float) else None


APPOINTMENT_OUTCOMES = (
    "attended",
    "dna",
    "late_not_seen",
    "cancelled_by_client",
    "cancelled_by_service",
)


def _month_types(cells: Cells, month: str) -> dict[str, tuple]:
    keys = cells.groups("sessions", "month_contact_type")
    return {g.split(" ", 1)[1]: k for g, k in keys.items() if g.startswith(month + " ")}


def _appointments(cells: Cells, months: list[str], audience: str) -> dict[str, Any]:
    """Appointments by outcome and month (attended includes late_seen): the counts behind
    sessions and the DNA rate, with cancellations, which no KPI uses but a manager watches."""

    def outcomes(key: tuple, label: dict[str, str]) -> list[dict[str, Any]]:
        sums = cells.sums_of("activity", key)
        return [
            figures({**label, "group": o, "value": int(sums[o])}, "count", audience)
            for o in APPOINTMENT_OUTCOMES
        ]

    by_month = [row for m in months for row in outcomes(("month", m), {"period": m})]
    return {
        "name": "Appointments by outcome",
        "by_outcome": outcomes(("all",), {}),
        "by_month": by_month,
    }


def _hours_label(i: int) -> str:
    low = MINUTE_BOUNDS[i] // 60
    return f"{low}+" if i + 1 == len(MINUTE_BOUNDS) else f"{low}-{MINUTE_BOUNDS[i + 1] // 60}"


def _distributions(cells: Cells, audience: str) -> dict[str, Any]:
    """Referrals by hours to first contact (3-hour bands to 72 h, then 72-96, 96-168, 168+),
    overall and by referral source: counts, disclosed like any other count."""

    def bands(key: tuple) -> list[dict[str, Any]]:
        sums = cells.referral_sums(key)
        return [
            figures({"group": _hours_label(i), "value": sums[f"minutes_b{i}"]}, "count", audience)
            for i in range(len(MINUTE_BOUNDS))
        ]

    by_source = cells.groups("hours_to_contact", "referral_source")
    return {
        "distribution": bands(("all",)),
        "distribution_by_referral_source": [
            {"group": g, "bands": bands(key)} for g, key in _ordered("referral_source", by_source)
        ],
    }


def _breakdowns(measure_id: str, commissioner: bool) -> tuple[str, ...]:
    if measure_id in REFERRAL_BASED:
        return tuple(DIMENSION_COLUMNS)
    if measure_id == "sessions":
        return ("contact_type", "referral_source") + (() if commissioner else ("practitioner",))
    if measure_id in ("dna_rate", "session_90min"):
        return ("contact_type", "referral_source")
    return ()


def _merge(
    cells: Cells, measure_id: str, groups: dict[str, tuple], district_map: dict[str, str]
) -> dict[str, tuple]:
    """Districts mapped to "Other districts" are added together into one group."""
    merged: dict[str, list[tuple]] = {}
    for group, key in groups.items():
        merged.setdefault(district_map.get(group, OTHER_DISTRICTS), []).append(key)
    return {g: cells.combine(measure_id, keys) for g, keys in merged.items()}


def _ordered(dimension: str, groups: dict[str, tuple]) -> list[tuple[str, tuple]]:
    order = ORDER.get(dimension)
    last = ("not_known", OTHER_DISTRICTS)

    def rank(group: str) -> tuple:
        if order and group in order:
            return (0, order.index(group), group)
        return (1 if group in last else 0, len(order or ()), group)

    return sorted(groups.items(), key=lambda item: rank(item[0]))


def _data_quality(conn: Connection, cells: Cells, audience: str) -> dict[str, Any]:
    """Completeness of key fields over the referrals in view (and, for managers, the loads)."""
    totals = cells.referral_sums(("all",))
    completeness = {
        name: figures(
            {
                "numerator": totals.get(f"{name}_known", 0),
                "denominator": totals.get("referrals", 0),
            },
            "rate",
            audience,
        )
        for name in ("ethnicity", "gender", "age", "time")
    }
    out: dict[str, Any] = {"name": "Data quality", "completeness": completeness}
    if audience == "manager":
        out["loads"] = queries.recent_loads(conn)
        for load in out["loads"]:
            for key in ("exported_at", "finished_at"):
                if load[key] is not None:
                    load[key] = iso_london(load[key])
            details = json.loads(load.pop("report_json") or "{}")
            load["quarantine_reasons"] = details.get("quarantine_reasons", {})
            load["warning_reasons"] = details.get("warning_reasons", {})
    return out
