"""The KPI engine's SQL over referral_fact and referral_cube: the view, its filters and the
shared conditions (waiting, overdue), built once per filter shape (grouped counts are in
kpi/groups.py, activity and feedback in kpi/activity.py, the percentile walks in kpi/minutes.py).

SQLAlchemy Core with bound parameters, the same statements on SQLite and PostgreSQL. Every query
returns grouped counts (or a histogram of a small integer: minutes to contact, sessions per
referral), never a row per person.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    String,
    and_,
    bindparam,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from etl.models import EtlFile, ReferralCube, ReferralFact
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


def months_and_source(v: View, month: ColumnElement, source: ColumnElement) -> list[ColumnElement]:
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
    return where + months_and_source(v, RF.received_month, RF.referral_source)


def discharged(v: View, live_only: bool = False) -> list[ColumnElement]:
    where = [RF.discharged_on.is_not(None), RF.discharged_on <= v.as_of_day]
    if live_only:
        where.append(RF.in_cube.is_(False))
    return where + months_and_source(v, RF.discharged_month, RF.referral_source)


@lru_cache(maxsize=256)
def built(build, shape: Shape, args: tuple) -> Select:  # noqa: ANN001
    return build(symbolic(shape), *args)


def _waiting_times(v: View, live_only: bool) -> Select:
    return select(RF.received_at).where(*received(v, live_only), waiting(v))


def waiting_hours(conn: Connection, v: View, live_only: bool) -> dict:
    """Hours waited so far by the referrals waiting for first contact: n, median and 90th
    percentile. Hours count from the referral time, or from 00:00 London on the received date
    when there is no time (which is what received_at holds then). Waiting referrals are never
    settled, so with the cube only the unsettled rows are read."""
    stmt = built(_waiting_times, shape_of(v), (live_only,))
    rows = conn.execute(stmt, params_of(v)).scalars()
    waited = [(v.as_of - at).total_seconds() / 60 for at in rows]
    hist = Counter(round(m) for m in waited)
    median, p90 = percentile(hist, 0.5), percentile(hist, 0.9)
    return {
        "n": len(waited),
        "median": None if median is None else round(median / 60, 1),
        "p90": None if p90 is None else round(p90 / 60, 1),
    }


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
