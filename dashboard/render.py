"""The one shape of every page callback: (data status, filters) -> the page's figures.

A page module supplies ``render(ctx)``; this module fetches the cached report for the status's
data version, turns an empty warehouse into a how-to, and a failure into a plain banner (the
details go to the server log only; a page never shows a traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dash import Dash, Input, Output, no_update

from dashboard import components, data, ids
from dashboard import filters as flt
from dashboard.tables import Context

log = logging.getLogger(__name__)
Render = Callable[[Context], Any]


def page(status: dict | None, filters: dict | None, render: Render, report: bool = True) -> Any:  # noqa: ANN401
    if not status:
        return no_update  # the first poll has not answered yet
    if status.get("version") is None:
        return components.empty_warehouse()
    filters = flt.clean(filters or {})
    try:
        ctx = Context(status["version"], filters)
        if report:
            ctx.report = data.report(status["version"], filters)
        return render(ctx)
    except Exception:
        log.exception("page %s failed", getattr(render, "__module__", render))
        return components.failed()


def register(app: Dash, content_id: str, update: Callable) -> None:
    """Wire a page's `update(status, filters)` to its content container."""
    app.callback(
        Output(content_id, "children"),
        Input(ids.STATUS, "data"),
        Input(ids.FILTERS, "data"),
    )(update)
