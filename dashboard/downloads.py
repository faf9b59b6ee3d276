"""/download/<name>.csv: any table of the pages as CSV, with the filters of the address."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request

from dashboard import data
from dashboard import filters as flt
from dashboard.tables import TABLES, Context, to_csv

log = logging.getLogger(__name__)
blueprint = Blueprint("downloads", __name__)


@blueprint.get("/download/<name>.csv")
def download(name: str) -> Response:
    builder = TABLES.get(name)
    if builder is None:
        abort(404)
    if builder.managers_only and data.audience() != "manager":
        abort(403)
    filters = flt.parse(request.query_string.decode())
    status = data.status()
    ctx = Context(status["version"], filters)
    if status["version"] is not None:
        ctx.report = data.report(status["version"], filters)
    body = to_csv(builder.build(ctx))
    stamp = (status.get("as_of") or "empty")[:10]
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="sis-{name}-{stamp}.csv"'},
    )
