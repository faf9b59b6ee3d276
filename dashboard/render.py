"""The one shape of every page callback: (data status, filters) -> the page's figures.

A page module supplies ``render(ctx)``; this module fetches the cached report for the status's
data version, turns an empty warehouse into a how-to, and a failure into a plain banner (the
details go to the server log only; a page never shows a traceback).

The rendered page is cached too, per (page, data version, audience, filters), as the JSON text
Dash sends: building Dash components and serialising them costs tens of milliseconds for a page
of charts and tables; sending the cached text costs well under one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import dash
import orjson
from dash import Dash, Input, Output, no_update
from dash._utils import to_json
from dash.exceptions import PreventUpdate

from dashboard import components, data, ids
from dashboard import filters as flt
from dashboard.cache import cached
from dashboard.tables import Context

log = logging.getLogger(__name__)
Render = Callable[[Context], Any]


def page(status: dict | None, filters: dict | None, render: Render, report: bool = True) -> Any:  # noqa: ANN401
    if not status:
        return no_update  # the first poll has not answered yet
    if status.get("unavailable"):
        return components.unavailable()
    try:  # the server's data version: a version the browser sends is only a trigger
        version = data.status()["version"] if status.get("version") is not None else None
    except Exception:
        log.exception("data status failed")
        return components.failed()
    if version is None:
        return components.empty_warehouse()
    filters = flt.clean(filters or {})

    def compute() -> str:
        ctx = Context(version, filters)
        if report:
            ctx.report = data.report(version, filters)
        return to_json(render(ctx))

    try:
        key = ("page", render.__module__, version, data.audience(), *filters.values())
        text = cached(key, compute)
    except Exception:
        log.exception("page %s failed", getattr(render, "__module__", render))
        return components.failed()
    return orjson.Fragment(text) if _SERVING.get() else json.loads(text)


# Set while Dash runs a page callback: the page's JSON goes out as it was cached, never parsed
# and serialised again (a waiting list of 1,000 rows took 6-15 ms to rebuild as Python objects
# and 1-2 ms to serialise; an orjson Fragment costs neither). Called directly (tests), a page
# callback returns the parsed tree.
_SERVING: ContextVar[bool] = ContextVar("serving_page_json", default=False)


def register(app: Dash, content_id: str, update: Callable) -> None:
    """Wire a page's `update(status, filters)` to its content container."""

    def serve(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
        token = _SERVING.set(True)
        try:
            return update(status, filters)
        finally:
            _SERVING.reset(token)

    app.callback(
        Output(content_id, "children"),
        Input(ids.STATUS, "data"),
        Input(ids.FILTERS, "data"),
    )(serve)


def keep_mounted(layout: Callable[..., Any]) -> Callable[..., Any]:
    """A page layout for Dash's pages router that stays mounted when only the address's query
    changes (a filter): the filters store already updates the figures, and mounting the page
    afresh would ask for them a second time."""

    def routed(**query: str) -> Any:  # noqa: ANN401
        try:
            changed = set(dash.ctx.triggered_prop_ids)
        except Exception:  # called outside a callback (Dash's layout validation)
            changed = set()
        if changed == {"_pages_location.search"}:
            raise PreventUpdate
        return layout(**query)

    return routed
