"""The grouped counts a report adds up: referrals received and discharged by month and the
small dimensions or the district (the live ones from referral_fact), the settled ones from
referral_cube, and sessions per discharged referral.

Each statement is built once per filter shape with bound values (``queries.built``); with a memo
(kpi/memo.py) each is asked for every month to as_of once, grouped by month too, and a report
cuts its period from it (``by_month``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd
from sqlalchemy import Connection, and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from etl.cube import MINUTE_BOUNDS
from kpi.memo import Scope
from kpi.queries import (
    DIMENSION_COLUMNS,
    RC,
    RF,
    SMALL_DIMENSIONS,
    View,
    built,
    discharged,
    months_and_source,
    overdue,
    params_of,
    received,
    shape_of,
    waiting,
)


def _count(cond: ColumnElement) -> ColumnElement:
    return func.sum(case((cond, 1), else_=0))


def _referral_sums(v: View) -> dict[str, ColumnElement]:
    has_contact = and_(RF.first_contact_at.is_not(None), RF.first_contact_at <= v.as_of)
    has_attempt = and_(RF.first_attempt_at.is_not(None), RF.first_attempt_at <= v.as_of)
    has_appt = RF.appt_within.is_(True)
    has_attended = and_(RF.first_attended_at <= v.as_of, RF.attended_within.is_(True))
    week_over = RF.appt_due_on <= v.as_of_day
    is_waiting = waiting(v)
    return {
        "referrals": func.count(),
        "contact_72h_num": _count(and_(has_contact, RF.contact_within.is_(True))),
        "contact_72h_den": _count(or_(RF.contact_due_at <= v.as_of, has_contact)),
        "contact_attempt_72h_num": _count(and_(has_attempt, RF.attempt_within.is_(True))),
        "contact_attempt_72h_den": _count(or_(RF.contact_due_at <= v.as_of, has_attempt)),
        "appt_offered_7d_num": _count(has_appt),
        "appt_offered_7d_den": _count(or_(week_over, has_appt)),
        "appt_attended_7d_num": _count(has_attended),
        "appt_attended_7d_den": _count(or_(week_over, has_attended)),
        "waiting": _count(is_waiting),
        "breaching": _count(and_(is_waiting, overdue(v))),
        "ethnicity_known": _count(RF.ethnic_group != "not_known"),
        "gender_known": _count(RF.gender.not_in(("X", "Z"))),
        "age_known": _count(RF.age_band != "not_known"),
        "time_known": _count(RF.time_known.is_(True)),
        "hours_n": _count(and_(RF.contact_minutes.is_not(None), RF.contact_known_at <= v.as_of)),
        **{
            f"minutes_b{i}": _count(and_(RF.contact_known_at <= v.as_of, *_bucket(i)))
            for i in range(len(MINUTE_BOUNDS))
        },
    }


def _bucket(i: int) -> list[ColumnElement]:
    """Minutes to first contact in bucket i (etl/cube.py MINUTE_BOUNDS)."""
    low = [RF.contact_minutes >= MINUTE_BOUNDS[i]]
    if i + 1 < len(MINUTE_BOUNDS):
        low.append(RF.contact_minutes < MINUTE_BOUNDS[i + 1])
    return low


def rows_frame(conn: Connection, stmt, params: dict | None = None) -> pd.DataFrame:  # noqa: ANN001
    """A grouped result as a frame (numbers as numbers, a NULL sum as 0)."""
    result = conn.execute(stmt, params or {})
    names, rows = list(result.keys()), result.all()
    columns = zip(*rows, strict=True) if rows else ([] for _ in names)
    return pd.DataFrame(dict(zip(names, map(list, columns), strict=True)))  # by column: fast


def by_month(
    scope: Scope, key: tuple, v: View, query: Callable[[View], pd.DataFrame]
) -> pd.DataFrame:
    """query(v), a frame with a "period" column; with a memo, query over every month to as_of,
    kept under `key` and cut to v's months (exact: a period is whole months, and the frame's
    rows are added up into cells whatever their order)."""
    if not scope.active:
        return query(v)
    whole = scope.get(key, lambda: query(replace(v, month_from=None, month_to=None)))
    if whole.empty:
        return whole.copy()
    period = whole["period"].astype("string")  # a NULL period is in no range, as in SQL
    keep = pd.Series(True, index=whole.index)
    if v.month_from:
        keep &= (period >= v.month_from).fillna(False)
    if v.month_to:
        keep &= (period <= v.month_to).fillna(False)
    return whole[keep.astype(bool)].copy()


def _run(conn: Connection, v: View, scope: Scope, build, *args: object) -> pd.DataFrame:  # noqa: ANN001
    """The frame of ``build(symbolic view, *args, by_period)``, built once per shape and
    arguments; with a memo, grouped by period too and cut from the whole (``by_month``)."""
    by_period = scope.active

    def query(w: View) -> pd.DataFrame:
        return rows_frame(conn, built(build, shape_of(w), (*args, by_period)), params_of(w))

    return by_month(scope, (build.__name__, v.source, *args), v, query)


def _small_dimension_keys(month: ColumnElement) -> list[ColumnElement]:
    return [month.label("period"), RF.referral_source] + [
        DIMENSION_COLUMNS[d].label(d) for d in SMALL_DIMENSIONS[1:]
    ]


def _referral_groups(v: View, live_only: bool, _by_period: bool) -> Select:
    keys = _small_dimension_keys(RF.received_month)
    sums = [expr.label(name) for name, expr in _referral_sums(v).items()]
    return select(*keys, *sums).where(*received(v, live_only)).group_by(*keys)


def referral_groups(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    """Referral counts by month received and the four small dimensions (one scan)."""
    return _run(conn, v, scope, _referral_groups, live_only)


def _district(month: ColumnElement, by_period: bool) -> list[ColumnElement]:
    key = RF.postcode_district.label("postcode_district")
    return [month.label("period"), key] if by_period else [key]


def _referral_by_district(v: View, live_only: bool, by_period: bool) -> Select:
    keys = _district(RF.received_month, by_period)
    sums = [expr.label(name) for name, expr in _referral_sums(v).items()]
    return select(*keys, *sums).where(*received(v, live_only)).group_by(*keys)


def referral_by_district(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    return _run(conn, v, scope, _referral_by_district, live_only)


def _discharge_sums() -> list[ColumnElement]:
    return [
        func.count().label("referrals"),
        func.sum(RF.sessions).label("sessions_total"),
        _count(RF.core10_pair.is_(True)).label("core10_den"),
        _count(RF.core10_improved.is_(True)).label("core10_num"),
    ]


def _discharge_groups(v: View, live_only: bool, _by_period: bool) -> Select:
    keys = _small_dimension_keys(RF.discharged_month)
    where = discharged(v, live_only)
    return select(*keys, *_discharge_sums()).where(*where).group_by(*keys)


def discharge_groups(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    """Discharged referrals by month discharged and the four small dimensions."""
    return _run(conn, v, scope, _discharge_groups, live_only)


def _discharge_by_district(v: View, live_only: bool, by_period: bool) -> Select:
    keys = _district(RF.discharged_month, by_period)
    where = discharged(v, live_only)
    return select(*keys, *_discharge_sums()).where(*where).group_by(*keys)


def discharge_by_district(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    return _run(conn, v, scope, _discharge_by_district, live_only)


def _sessions_histogram(v: View, live_only: bool, _by_period: bool) -> Select:
    keys = [RF.discharged_month.label("period"), RF.referral_source, RF.sessions]
    stmt = select(*keys, func.count().label("referrals")).where(*discharged(v, live_only))
    return stmt.group_by(*keys)


def sessions_histogram(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    """Discharged referrals by month discharged, source and sessions attended."""
    return _run(conn, v, scope, _sessions_histogram, live_only)


def _cube(v: View, grain: str, columns: tuple[str, ...], by_period: bool) -> Select:
    if by_period and "period" not in columns:
        columns = ("period", *columns)
    where = [RC.grain == grain, *months_and_source(v, RC.period, RC.referral_source)]
    names = {"ethnicity": "ethnic_group"}
    keys = [RC[names.get(c, c)].label(c) for c in columns if c in CUBE_KEYS]
    sums = [func.sum(RC[c]).label(c) for c in columns if c in RC and c not in CUBE_KEYS]
    return select(*keys, *sums).where(*where).group_by(*keys)


def cube(conn: Connection, v: View, scope: Scope, grain: str, columns: list[str]) -> pd.DataFrame:
    """The settled referrals of one grain of referral_cube, filtered like the view, summed by
    `columns` (the live frame's: key columns group, the rest are added up)."""
    return _run(conn, v, scope, _cube, grain, tuple(columns))


CUBE_KEYS = ("period", "referral_source", "age_band", "gender", "ethnicity", "postcode_district")
CUBE_KEYS += ("sessions",)
