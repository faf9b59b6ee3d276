"""Health of the service, for /healthz and `sis status`: is the warehouse reachable, when did
the last successful load happen and how long ago, is the data stale (the banner's rule), and how
the last run ended. No personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from etl import ledger, settings


def _iso(at: dt.datetime | None) -> str | None:
    return at.replace(tzinfo=dt.UTC).isoformat(timespec="seconds") if at else None


def _hours_since(at: dt.datetime | None, now: dt.datetime) -> float | None:
    return round((now - at.replace(tzinfo=dt.UTC)).total_seconds() / 3600, 2) if at else None


def health(engine: Engine) -> tuple[dict[str, Any], int]:
    """(body, HTTP status): 200 while the warehouse answers, 503 when it cannot be reached."""
    try:
        with engine.connect() as conn:
            latest = ledger.latest(conn)
    except SQLAlchemyError as error:
        return {"database": "unreachable", "error": type(error).__name__}, 503
    now = dt.datetime.now(dt.UTC)
    data_age = _hours_since(latest.newest_export, now)
    return {
        "database": "ok",
        "last_load_at": _iso(latest.last_loaded_at),
        "last_load_age_hours": _hours_since(latest.last_loaded_at, now),
        "data_as_of": _iso(latest.newest_export),
        "data_age_hours": data_age,
        "stale": data_age is None or data_age > settings.stale_hours(),
        "stale_after_hours": settings.stale_hours(),
        "last_run": latest.last_run,
        "last_run_at": _iso(latest.last_run_at),
    }, 200


def describe(body: dict[str, Any]) -> str:
    """`sis status` for a person."""
    if body["database"] != "ok":
        return f"Warehouse: UNREACHABLE ({body.get('error')}). The dashboard shows no figures."
    lines = ["Warehouse: reachable"]
    if body["last_load_at"]:
        lines.append(
            f"Last successful load: {body['last_load_at']} "
            f"({body['last_load_age_hours']:g} hours ago)"
        )
        lines.append(f"Data as of: {body['data_as_of']} ({body['data_age_hours']:g} hours old)")
    else:
        lines.append("Last successful load: none yet")
    if body["stale"]:
        lines.append(f"STALE: no new export for over {body['stale_after_hours']:g} hours")
    if body["last_run"]:
        lines.append(f"Last run: {body['last_run']} at {body['last_run_at']}")
    return "\n".join(lines)
