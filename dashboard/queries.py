"""Read-only queries for the dashboard: aggregates in the database, bound parameters only."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, func, select

from etl import settings
from etl.db import make_engine
from etl.models import EtlFile, Quarantine


@cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    """One engine (and pool) per warehouse URL, made on first use, never at import."""
    return _engine_for(settings.database_url())


def recent_files(limit: int = 20) -> list[dict]:
    f = EtlFile.__table__
    stmt = (
        select(
            f.c.finished_at,
            f.c.file_name,
            f.c.entity,
            f.c.status,
            f.c.rows_read,
            f.c.inserted,
            f.c.updated,
            f.c.unchanged,
            f.c.quarantined,
            f.c.orphans,
            f.c.message,
        )
        .order_by(f.c.file_id.desc())
        .limit(limit)
    )
    with engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def quarantine_by_reason() -> list[dict]:
    q = Quarantine.__table__
    stmt = (
        select(q.c.entity, q.c.reason_code, func.count().label("rows"))
        .group_by(q.c.entity, q.c.reason_code)
        .order_by(func.count().desc())
    )
    with engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
