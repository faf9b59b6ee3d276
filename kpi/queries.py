"""The KPI engine's SQL over referral_fact and referral_cube (activity and feedback are in
kpi/activity.py, the percentile walks in kpi/minutes.py).

SQLAlchemy Core with bound parameters, the same statements on SQLite and PostgreSQL. Every query
returns grouped counts (or a histogram of a small integer: minutes to contact, sessions per
referral), never a row per person.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    String,
    and_,
    bindparam,
    case,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from etl.cube import MINUTE_BOUNDS
from etl.models import EtlFile, ReferralCube, ReferralFact
from kpi.memo import Scope
from kpi.percentiles import percentile

RF = ReferralFact.__table__.c
RC = ReferralCube.__table__.c
DIMENSION_COLUMNS = {
    "referral_source": RF.referral_source,
    "age_band": RF.age_band,
    "gender": RF.gender,
    "ethnicity": RF.ethnic_group,
    "postcode_district": RF.postcode_district,
}
SMALL_DIMENSIONS = ("referral_source", "age_band", "gender", "ethnicity")


@dataclass(frozen=True)
class View:
    """What a report looks at: as_of (naive UTC) and its London date, months, a source."""

    as_of: dt.datetime
    as_of_day: dt.date
    month_from: str | None = None
    month_to: str | None = None
    source: str | None = None

    def day_range(self) -> tuple[dt.date | None, dt.date | None]:
        """[first day of month_from, first day after month_to) as dates (None when open)."""
        start = dt.date.fromisoformat(self.month_from + "-01") if self.month_from else None
        end = None
        if self.month_to:
            y, m = (int(x) for x in self.month_to.split("-"))
            end = dt.date(y + m // 12, m % 12 + 1, 1)
        return start, end


Shape = tuple[bool, bool, bool]  # which of month_from, month_to and source a view sets


def shape_of(v: View) -> Shape:
    return (v.month_from is not None, v.month_to is not None, v.source is not None)


def params_of(v: View) -> dict[str, Any]:
    """The values of a view, for a statement built from ``symbolic(shape_of(v))``."""
    return {
        "as_of": v.as_of,
        "as_of_day": v.as_of_day,
        "month_from": v.month_from,
        "month_to": v.month_to,
        "source": v.source,
    }


def symbolic(shape: Shape) -> View:
    """A view of `shape` whose every value is a bound parameter: a statement built from it
    once per shape serves every report, with ``params_of`` the view's values (building and
    compiling a statement costs more Python than running it)."""
    has_from, has_to, has_source = shape
    return View(
        bindparam("as_of", type_=DateTime),
        bindparam("as_of_day", type_=Date),
        bindparam("month_from", type_=String) if has_from else None,
        bindparam("month_to", type_=String) if has_to else None,
        bindparam("source", type_=String) if has_source else None,
    )


@contextmanager
def planned_for_their_values(conn: Connection) -> Iterator[None]:
    """Statements run here are never prepared by the driver (psycopg prepares a statement
    after five runs of it), so PostgreSQL plans each for its own values: a generic plan, made
    once for any values after five runs of a prepared statement, can walk another grouping's
    index through the table (a percentile walk became a hundred times slower) and is
    never needed by a report's few statements. SQLite's driver prepares nothing: a no-op."""
    driver = conn.connection.driver_connection
    threshold = getattr(driver, "prepare_threshold", None)
    if threshold is None:
        yield
        return
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def data_version(conn: Connection) -> tuple[int | None, dt.datetime | None]:
    """(the newest loaded file's id: what a memo keys on, the newest export time (UTC))."""
    f = EtlFile.__table__.c
    stmt = select(func.max(f.file_id), func.max(f.exported_at)).where(f.status == "loaded")
    version, newest = conn.execute(stmt).one()
    return version, newest


def newest_export(conn: Connection) -> dt.datetime | None:
    """as_of: the export time (UTC) of the newest successfully loaded file."""
    return conn.execute(
        select(func.max(EtlFile.exported_at)).where(EtlFile.status == "loaded")
    ).scalar()


def waiting(v: View) -> ColumnElement:
    """Open at as_of (open or no status and not discharged, or discharged after the as_of
    date) with no qualifying contact by as_of."""
    is_open = or_(
        and_(RF.discharged_on.is_(None), or_(RF.status.is_(None), RF.status == "open")),
        RF.discharged_on > v.as_of_day,
    )
    contacted = and_(RF.first_contact_at.is_not(None), RF.first_contact_at <= v.as_of)
    return and_(is_open, not_(contacted))


def overdue(v: View) -> ColumnElement:
    """Waited over 72 h at as_of (a date-only referral: as_of date after received + 3 days)."""
    return or_(
        RF.contact_due_at < v.as_of,
        and_(RF.contact_due_at <= v.as_of, RF.time_known.is_(False)),
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


def _months_and_source(v: View, month: ColumnElement, source: ColumnElement) -> list[ColumnElement]:
    """The view's month range and source filter on the given columns."""
    where = []
    if v.month_from is not None:
        where.append(month >= v.month_from)
    if v.month_to is not None:
        where.append(month <= v.month_to)
    if v.source is not None:
        where.append(source == v.source)
    return where


def received(v: View, live_only: bool = False) -> list[ColumnElement]:
    where = [RF.received_at <= v.as_of]
    if live_only:  # settled referrals come from referral_cube instead
        where.append(RF.in_cube.is_(False))
    return where + _months_and_source(v, RF.received_month, RF.referral_source)


def _discharged(v: View, live_only: bool = False) -> list[ColumnElement]:
    where = [RF.discharged_on.is_not(None), RF.discharged_on <= v.as_of_day]
    if live_only:
        where.append(RF.in_cube.is_(False))
    return where + _months_and_source(v, RF.discharged_month, RF.referral_source)


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
        return rows_frame(conn, _built(build, shape_of(w), (*args, by_period)), params_of(w))

    return by_month(scope, (build.__name__, v.source, *args), v, query)


@lru_cache(maxsize=256)
def _built(build, shape: Shape, args: tuple) -> Select:  # noqa: ANN001
    return build(symbolic(shape), *args)


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
    where = _discharged(v, live_only)
    return select(*keys, *_discharge_sums()).where(*where).group_by(*keys)


def discharge_groups(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    """Discharged referrals by month discharged and the four small dimensions."""
    return _run(conn, v, scope, _discharge_groups, live_only)


def _discharge_by_district(v: View, live_only: bool, by_period: bool) -> Select:
    keys = _district(RF.discharged_month, by_period)
    where = _discharged(v, live_only)
    return select(*keys, *_discharge_sums()).where(*where).group_by(*keys)


def discharge_by_district(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    return _run(conn, v, scope, _discharge_by_district, live_only)


def _sessions_histogram(v: View, live_only: bool, _by_period: bool) -> Select:
    keys = [RF.discharged_month.label("period"), RF.referral_source, RF.sessions]
    stmt = select(*keys, func.count().label("referrals")).where(*_discharged(v, live_only))
    return stmt.group_by(*keys)


def sessions_histogram(conn: Connection, v: View, scope: Scope, live_only: bool) -> pd.DataFrame:
    """Discharged referrals by month discharged, source and sessions attended."""
    return _run(conn, v, scope, _sessions_histogram, live_only)


def _waiting_times(v: View, live_only: bool) -> Select:
    return select(RF.received_at).where(*received(v, live_only), waiting(v))


def waiting_hours(conn: Connection, v: View, live_only: bool) -> dict:
    """Hours waited so far by the referrals waiting for first contact: n, median and 90th
    percentile. Hours count from the referral time, or from 00:00 London on the received date
    when there is no time (which is what received_at holds then). Waiting referrals are never
    settled, so with the cube only the unsettled rows are read."""
    stmt = _built(_waiting_times, shape_of(v), (live_only,))
    rows = conn.execute(stmt, params_of(v)).scalars()
    waited = [(v.as_of - at).total_seconds() / 60 for at in rows]
    hist = Counter(round(m) for m in waited)
    median, p90 = percentile(hist, 0.5), percentile(hist, 0.9)
    return {
        "n": len(waited),
        "median": None if median is None else round(median / 60, 1),
        "p90": None if p90 is None else round(p90 / 60, 1),
    }


def _cube(v: View, grain: str, columns: tuple[str, ...], by_period: bool) -> Select:
    if by_period and "period" not in columns:
        columns = ("period", *columns)
    where = [RC.grain == grain, *_months_and_source(v, RC.period, RC.referral_source)]
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


def recent_loads(conn: Connection, limit: int = 20) -> list[dict]:
    """The newest files in the run ledger with their counts (data_quality, managers)."""
    f = EtlFile.__table__.c
    cols = [
        f.file_name,
        f.entity,
        f.status,
        f.exported_at,
        f.finished_at,
        f.rows_read,
        f.inserted,
        f.updated,
        f.unchanged,
        f.quarantined,
        f.orphans,
        f.message,
        f.report_json,
    ]
    stmt = select(*cols).order_by(f.file_id.desc()).limit(limit)
    return [dict(row._mapping) for row in conn.execute(stmt)]
