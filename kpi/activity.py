"""Activity (appointments, from activity_day) and feedback: the queries and their report cells.

The database adds the days up into London months (the only periods a report shows) and the
practitioners' appointments up over the whole period, so a report reads a few hundred grouped
rows whatever the period.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, extract, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from etl.models import ActivityDay, Feedback
from kpi.cells import Cells
from kpi.groups import by_month, rows_frame
from kpi.memo import Scope
from kpi.queries import View

AD = ActivityDay.__table__.c
FB = Feedback.__table__.c
POSITIVE, NEGATIVE = {"very_good", "good"}, {"poor", "very_poor"}
ACTIVITY_SUMS = (
    "appointments",
    "attended",
    "dna",
    "late_not_seen",
    "cancelled_by_client",
    "cancelled_by_service",
    "peer_timed",
    "peer_90",
)


def _days(v: View, day: ColumnElement) -> list[ColumnElement]:
    where = [day <= v.as_of_day]
    start, end = v.day_range()
    if start:
        where.append(day >= start)
    if end:
        where.append(day < end)
    return where


def _period(frame: pd.DataFrame) -> pd.DataFrame:
    """The year and month columns as one "YYYY-MM" period."""
    months = zip(frame.pop("year").tolist(), frame.pop("month").tolist(), strict=True)
    periods = [f"{int(y):04d}-{int(m):02d}" for y, m in months]
    frame["period"] = pd.Series(periods, index=frame.index, dtype="str")
    return frame


def _months(inner: Select, keys: list[str], sums: list[str]) -> Select:
    """`inner` (grouped by "day" and `keys`) added up by the day's year and month: the database
    groups by day first (cheap), then turns those few rows into London months (the days are
    London dates)."""
    days = inner.subquery()
    outer = [
        extract("year", days.c.day).label("year"),
        extract("month", days.c.day).label("month"),
        *(days.c[k] for k in keys),
    ]
    total = [func.sum(days.c[name]).label(name) for name in sums]
    return select(*outer, *total).group_by(*outer)


def activity(conn: Connection, v: View, by_practitioner: bool = False) -> pd.DataFrame:
    """Appointment counts by month, type and source (or by month and practitioner)."""
    where = _days(v, AD.activity_on)
    if v.source:
        where.append(AD.referral_source == v.source)
    sums = [func.sum(AD[name]).label(name) for name in ACTIVITY_SUMS]
    by = ["practitioner"] if by_practitioner else ["contact_type", "referral_source"]
    keys = [AD.activity_on.label("day"), *(AD[k] for k in by)]
    inner = select(*keys, *sums).where(*where).group_by(*keys)
    return _period(rows_frame(conn, _months(inner, by, list(ACTIVITY_SUMS))))


def feedback(conn: Connection, v: View) -> pd.DataFrame:
    """Feedback responses by month submitted and answer (every response counts, kpis.md)."""
    keys = [FB.submitted_on.label("day"), FB.fft_response]
    inner = select(*keys, func.count().label("n")).where(*_days(v, FB.submitted_on))
    return _period(rows_frame(conn, _months(inner.group_by(*keys), ["fft_response"], ["n"])))


def activity_cells(
    conn: Connection, view: View, cells: Cells, by_practitioner: bool, scope: Scope
) -> None:
    frame = by_month(scope, ("activity", view.source), view, lambda v: activity(conn, v))
    frame["dna_den"] = frame["attended"] + frame["late_not_seen"] + frame["dna"]
    frame["month_type"] = frame["period"] + " " + frame["contact_type"].astype(str)
    groupings = {"all": None, "month": "period", "contact_type": "contact_type"}
    groupings |= {"referral_source": "referral_source", "month_contact_type": "month_type"}
    cells.add("activity", frame, groupings)
    if by_practitioner:
        frame = by_month(
            scope, ("practitioners", view.source), view, lambda v: activity(conn, v, True)
        )
        frame["dna_den"] = frame["attended"] + frame["late_not_seen"] + frame["dna"]
        frame["practitioner"] = frame["practitioner"].replace("", "not_recorded")
        cells.add("activity", frame, {"practitioner": "practitioner"})


def feedback_cells(conn: Connection, view: View, cells: Cells, scope: Scope) -> None:
    frame = by_month(scope, ("feedback",), view, lambda v: feedback(conn, v))
    frame = frame.rename(columns={"n": "responses"})
    frame["positive"] = frame["responses"].where(frame["fft_response"].isin(POSITIVE), 0)
    frame["negative"] = frame["responses"].where(frame["fft_response"].isin(NEGATIVE), 0)
    cells.add("feedback", frame, {"all": None, "month": "period"})
