"""Building blocks shared by the pages: accessible tables with a CSV link, charts with an
accessible name and a data-table alternative, measure cards, SPC icons."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import filters as flt
from dashboard import fmt
from dashboard.tables import TABLES, Context, Table
from kpi.spc import ICONS

GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}


def cell(value: Any) -> str:  # noqa: ANN401
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) or value is None:
        return fmt.number(value)
    return str(value)


def data_table(t: Table, name: str | None = None, ctx: Context | None = None) -> html.Div:
    """A real <table> (caption, column headers) that scrolls sideways on a phone, and its CSV."""
    head = html.Thead(html.Tr([html.Th(h, scope="col") for _, h in t.columns]))
    body = html.Tbody(
        [html.Tr([html.Td(cell(row.get(k))) for k, _ in t.columns]) for row in t.rows]
    )
    parts: list[Any] = [
        html.Div(
            html.Table([html.Caption(t.title), head, body], className="data"),
            className="table-scroll",
            tabIndex=0,
            role="region",
            **{"aria-label": t.title},
        )
    ]
    if name is not None and ctx is not None:
        parts.append(download_link(name, ctx, t.title))
    if not t.rows:
        parts.append(html.P("Nothing to show for this period.", className="hint"))
    return html.Div(parts, className="table-block")


def download_link(name: str, ctx: Context, title: str) -> html.A:
    return html.A(
        "Download CSV",
        href=f"/download/{name}.csv{flt.search(ctx.filters)}",
        className="download",
        **{"aria-label": f"Download {title} as CSV"},
    )


def table(name: str, ctx: Context) -> html.Div:
    return data_table(TABLES[name].build(ctx), name, ctx)


def chart(name: str, figure: dict[str, Any], ctx: Context, description: str) -> html.Section:
    """A chart with an accessible name (`description`) and its figures as a table below."""
    t = TABLES[name].build(ctx)
    return html.Section(
        [
            graph(figure, description, f"graph-{name}"),
            html.Details(
                [html.Summary(f"{t.title}: figures as a table"), data_table(t, name, ctx)],
                className="alt-table",
            ),
        ],
        className="chart-block",
    )


def graph(figure: dict[str, Any], description: str, id_: str | None = None) -> html.Div:
    """A chart with an accessible name (`description`)."""
    options = {"id": id_} if id_ else {}
    return html.Div(
        dcc.Graph(figure=figure, config=GRAPH_CONFIG, **options),
        role="img",
        className="chart",
        **{"aria-label": description},
    )


def icon(key: str | None) -> html.Span | None:
    """An SPC icon: a letter in a coloured circle, with its meaning as visible text."""
    if not key:
        return None
    meta = ICONS[key]
    tone = key.split("_")[0] if key not in ("pass", "fail", "hit_and_miss") else key
    return html.Span(
        [
            html.Span(
                meta["letter"] or "~", className=f"icon icon-{tone}", **{"aria-hidden": "true"}
            ),
            html.Span(meta["label"], className="icon-label"),
        ],
        className="spc-icon",
    )


def empty_warehouse() -> html.Div:
    return html.Div(
        [
            html.H2("No data loaded yet"),
            html.P(
                "Nothing has been loaded into the warehouse. Put a caseload export (CSV or XLSX "
                "from the case-management system) in the inbox folder and run `sis etl run`; "
                "to try the dashboard with a simulated service, run `sis demo`."
            ),
        ],
        className="empty",
    )


def _alert(text: str) -> html.Div:
    return html.Div(text, className="banner banner-red", role="alert")


def unavailable() -> html.Div:
    return _alert(
        "Data temporarily unavailable: the warehouse cannot be reached. The figures come back "
        "by themselves when it answers again."
    )


def failed() -> html.Div:
    return _alert(
        "The figures could not be fetched just now. Try again in a minute; if it keeps "
        "happening, tell the person who runs the server (the details are in its log)."
    )
