"""What the pages show: the data status (polled) and the KPI report, cached per data version.

Every figure comes from ``kpi.report.build_report``; this module never calculates a measure.
Pages call these functions inside a request; each result is cached per (data version, audience,
filters) in the shared cache (dashboard/cache.py).
"""

from __future__ import annotations

import datetime as dt
from functools import cache as memo
from typing import Any

from sqlalchemy import Engine, func, select

from dashboard.cache import cached
from etl import ledger, parsers, settings
from etl.db import make_engine
from etl.models import Contact, Feedback, Outcome, Quarantine, ReferralFact
from kpi import queries as kq
from kpi.memo import Memo
from kpi.report import build_report, iso_london, months_between
from kpi.waiting import waiting_list

STATUS_SECONDS = 5  # open tabs share one status query per this many seconds


@memo
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    """One engine (and pool) per warehouse URL, made on first use, never at import."""
    return _engine_for(settings.database_url())


@memo
def _parts_for(url: str) -> Memo:
    return Memo()


def parts() -> Memo:
    """The report parts this process keeps for the warehouse (kpi/memo.py)."""
    return _parts_for(settings.database_url())


def audience() -> str:
    """The audience of the current request (manager or commissioner), decided on the server
    from the signed-in session by dashboard/access; never from anything the browser sends."""
    from dashboard.access.principal import audience as of_request

    return of_request()


def status() -> dict[str, Any]:
    """The data version (newest loaded file), as_of, and the last finished run: cheap, and
    shared by every open tab for a few seconds."""
    timeout = int(min(STATUS_SECONDS, settings.poll_seconds()))
    return cached(("status", int(time_slot(timeout))), _status, timeout=timeout + 1)


def time_slot(seconds: float) -> float:
    return dt.datetime.now(dt.UTC).timestamp() // max(seconds, 1)


def _status() -> dict[str, Any]:
    with engine().connect() as conn:
        now = ledger.latest(conn)
    return {
        "version": now.version,
        "as_of": iso_london(now.newest_export) if now.newest_export else None,
        "last_run": now.last_run,
        "last_run_at": iso_london(now.last_run_at) if now.last_run_at else None,
        "last_run_message": now.last_run_message,
    }


def report(version: int | None, filters: dict[str, Any]) -> dict[str, Any]:
    """The KPI report for the current audience and `filters`, cached per data version."""
    who = audience()
    args = (filters.get("from"), filters.get("to"), filters.get("source"))

    def compute() -> dict[str, Any]:
        return build_report(engine(), None, who, *args, memo=parts())

    return cached(("report", version, who, *args), compute)


def waiting(version: int | None, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Everyone waiting for first contact at as_of, under the same filters as the report's
    waiting_now (managers only: issue 5 guards the callback and the download)."""
    args = (filters.get("from"), filters.get("to"), filters.get("source"))

    def compute() -> list[dict[str, Any]]:
        with engine().connect() as conn:
            newest = kq.newest_export(conn)
            if newest is None:
                return []
            view = kq.View(newest, parsers.utc_to_london(newest).date(), *args)
            return waiting_list(conn, view)

    return cached(("waiting", version, *args), compute)


def quarantine_by_reason(version: int | None) -> list[dict[str, Any]]:
    q = Quarantine.__table__.c

    def compute() -> list[dict[str, Any]]:
        stmt = (
            select(q.entity, q.reason_code, func.count().label("rows"))
            .group_by(q.entity, q.reason_code)
            .order_by(func.count().desc(), q.entity, q.reason_code)
        )
        with engine().connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    return cached(("quarantine", version), compute)


def months(version: int | None) -> list[str]:
    """The months a period can start or end in: the first referral's month to as_of's."""

    def compute() -> list[str]:
        rf = ReferralFact.__table__.c
        with engine().connect() as conn:
            first = conn.execute(select(func.min(rf.received_month))).scalar()
            newest = kq.newest_export(conn)
        if first is None or newest is None:
            return []
        last = parsers.utc_to_london(newest).strftime("%Y-%m")
        return months_between(min(first, last), last)

    return cached(("months", version), compute)


def orphans(version: int | None) -> list[dict[str, Any]]:
    """Rows held until their referral arrives, by kind."""

    def compute() -> list[dict[str, Any]]:
        out = []
        with engine().connect() as conn:
            for entity, model in (
                ("contacts", Contact),
                ("feedback", Feedback),
                ("outcomes", Outcome),
            ):
                t = model.__table__.c
                n = conn.execute(
                    select(func.count()).select_from(model).where(t.orphan.is_(True))
                ).scalar()
                out.append({"entity": entity, "rows": n})
        return out

    return cached(("orphans", version), compute)
