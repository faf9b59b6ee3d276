"""/healthz (no sign-in): can the app reach the warehouse, and how old is the newest load.
200 while the app can serve, 503 when the warehouse cannot be reached. Holds no personal data."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, jsonify

from dashboard import data
from etl import settings

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        status = data.fresh_status()
    except Exception as error:  # noqa: BLE001 (any failure to reach the warehouse)
        log.warning("health: warehouse unreachable (%s)", type(error).__name__)
        return jsonify(database="unreachable"), 503
    as_of = status["as_of"]
    age = (
        (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(as_of)).total_seconds() / 3600
        if as_of
        else None
    )
    return jsonify(
        database="ok",
        last_load=as_of,
        age_hours=round(age, 2) if age is not None else None,
        stale=age is not None and age > settings.stale_hours(),
        last_run=status["last_run"],
        last_run_at=status["last_run_at"],
    ), 200
