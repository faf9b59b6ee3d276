"""/healthz (no sign-in): the service's health as JSON (etl/health.py, the same as
`sis status --json`); 200 while the app can serve, 503 when the warehouse cannot be reached."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from dashboard import data
from etl.health import health

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    body, code = health(data.engine())
    if code != 200:
        log.warning("health: warehouse unreachable (%s)", body.get("error"))
    return jsonify(body), code
