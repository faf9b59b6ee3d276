"""The frame around every page: skip link, header with the data-as-of banner, navigation,
filters (kept in the URL), the poll that asks only for the data version, and its callbacks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import account, data, ids
from dashboard import filters as flt
from dashboard.labels import SOURCES
from etl import settings


def nav_id(module: str) -> str:
    return "nav-" + module.rsplit(".", 1)[-1].replace("_", "-")


def pages() -> list[dict[str, Any]]:
    """The pages the current audience may open, in order (managers-only pages for managers)."""
    manager = data.audience() == "manager"
    every = sorted(dash.page_registry.values(), key=lambda p: p["order"])
    return [p for p in every if manager or not p.get("managers_only")]


def nav_links(query: str = "") -> list:
    return [
        html.Li(dcc.Link(p["name"], href=p["path"] + query, id=nav_id(p["module"])))
        for p in pages()
    ]


def layout() -> html.Div:
    """The frame, made per request (Dash calls it for /_dash-layout): navigation and the
    signed-in line follow the session's audience."""
    poll_ms = int(settings.poll_seconds() * 1000)
    return html.Div(
        [
            html.A("Skip to the figures", href="#main", className="skip-link"),
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Interval(id=ids.POLL, interval=poll_ms, n_intervals=0),
            dcc.Store(id=ids.STATUS),
            dcc.Store(id=ids.FILTERS),
            dcc.Store(id=ids.PING),
            dcc.Store(id=ids.PONG),
            html.Header(
                [
                    html.P("Self-Injury Service", className="service-name"),
                    account.bar(),
                    html.Div(id=ids.BANNER, role="status", className="banner"),
                ],
                className="site-header",
            ),
            html.Nav(html.Ul(nav_links(), id=ids.NAV), **{"aria-label": "Pages"}),
            html.Div(
                [
                    _filter("From month", ids.FROM, []),
                    _filter("To month", ids.TO, []),
                    _filter(
                        "Referral source",
                        ids.SOURCE,
                        [{"label": v, "value": k} for k, v in SOURCES.items()],
                        "All sources",
                    ),
                ],
                className="filters",
                role="group",
                **{"aria-label": "Filters"},
            ),
            html.Main(dash.page_container, id=ids.MAIN, tabIndex=-1),
        ]
    )


def _filter(label: str, id_: str, options: list, placeholder: str = "Any") -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=id_, id=id_ + "-label"),
            dcc.Dropdown(id=id_, options=options, placeholder=placeholder, clearable=True),
        ],
        className="filter",
    )


def poll(_n: int, current: dict | None) -> Any:  # noqa: ANN401
    """The data status; unchanged -> no_update, so nothing downstream runs again."""
    try:
        status = data.status()
    except Exception:
        status = {"version": None, "unavailable": True}
    status = {**status, "stale": _stale(status.get("as_of"))}
    return no_update if status == current else status


def _stale(as_of: str | None) -> bool:
    if not as_of:
        return False
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(as_of)
    return age > dt.timedelta(hours=settings.stale_hours())


def banner(status: dict | None) -> tuple[Any, str]:
    """The data-as-of line: green when fresh, amber when stale, red when the last run failed."""
    if not status:
        return "Checking the data…", "banner"
    if status.get("unavailable"):
        return "Data temporarily unavailable: the warehouse cannot be reached.", "banner banner-red"
    as_of = status.get("as_of")
    when = _when(as_of) if as_of else "no data loaded yet"
    text = [html.Strong("Data as of "), when]
    tone = "banner-green"
    if status.get("last_run") == "failed":
        tone = "banner-red"
        text += [f". The last load ({_when(status['last_run_at'])}) failed: ", _reason(status)]
    elif status.get("stale"):
        tone = "banner-amber"
        text.append(f". No new export for over {settings.stale_hours():g} hours.")
    return text, f"banner {tone}"


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%a %d %b %Y %H:%M")


def _reason(status: dict) -> str:
    message = status.get("last_run_message") or "see the Data quality page."
    return message if len(message) < 300 else message[:297] + "…"


def sync(
    search: str | None, start: str | None, end: str | None, source: str | None, status: dict | None
) -> tuple:
    """Filters <-> URL: an address sets the dropdowns; a dropdown sets the address. Returns
    (search, from options, to options, from, to, source, filters, nav links). The month
    options travel with the values: Dash 4's dcc.Dropdown resets a value missing from its
    options to None, which would drop the months of an address opened before they load."""
    if dash.ctx.triggered_id in (ids.FROM, ids.TO, ids.SOURCE):
        chosen = flt.clean({"from": start, "to": end, "source": source})
    else:
        chosen = flt.parse(search)
    query = flt.search(chosen)
    options = month_options(status, chosen)
    if dash.ctx.triggered_id == ids.STATUS:  # new data: only the months can have changed
        return (no_update, options, options, *[no_update] * 5)
    nav = nav_links(query)
    return (query, options, options, chosen["from"], chosen["to"], chosen["source"], chosen, nav)


def month_options(status: dict | None, chosen: dict | None = None) -> list[dict]:
    """The months with data, and any month already chosen (so it is never reset)."""
    version = data.status()["version"] if status and status.get("version") else None
    months = data.months(version) if version else []  # the server's version, not the browser's
    extra = [m for m in ((chosen or {}).get("from"), (chosen or {}).get("to")) if m]
    return [{"label": flt.month_name(m), "value": m} for m in sorted({*months, *extra})]


def pong(value: Any) -> Any:  # noqa: ANN401
    """One line: the floor of what any callback costs (bench/dashboard.py)."""
    return value


def register(app: Dash) -> None:
    app.callback(Output(ids.PONG, "data"), Input(ids.PING, "data"), prevent_initial_call=True)(pong)
    app.callback(
        Output(ids.STATUS, "data"), Input(ids.POLL, "n_intervals"), State(ids.STATUS, "data")
    )(poll)
    app.callback(
        Output(ids.BANNER, "children"), Output(ids.BANNER, "className"), Input(ids.STATUS, "data")
    )(banner)
    app.callback(
        Output(ids.URL, "search"),
        Output(ids.FROM, "options"),
        Output(ids.TO, "options"),
        Output(ids.FROM, "value"),
        Output(ids.TO, "value"),
        Output(ids.SOURCE, "value"),
        Output(ids.FILTERS, "data"),
        Output(ids.NAV, "children"),
        Input(ids.URL, "search"),
        Input(ids.FROM, "value"),
        Input(ids.TO, "value"),
        Input(ids.SOURCE, "value"),
        Input(ids.STATUS, "data"),
    )(sync)
