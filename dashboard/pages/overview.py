"""Overview: a card per headline measure, with SPC icons, a small trend and its period."""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, dcc, html

from dashboard import charts, fmt, render
from dashboard import filters as flt
from dashboard.components import GRAPH_CONFIG, icon, table
from dashboard.tables import Context, Table
from dashboard.tables import table as declare
from kpi.measures import BY_ID

CONTENT = "overview-content"
HEADLINE = (
    "contact_72h",
    "appt_offered_7d",
    "sessions",
    "dna_rate",
    "session_90min",
    "fft_positive",
    "waiting_now",
)
KINDS = {m: BY_ID[m].kind for m in HEADLINE}


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.H1("Overview"),
            html.Div(id=CONTENT, className="page-body", **{"aria-live": "polite"}),
        ]
    )


def detail(measure_id: str, m: dict[str, Any]) -> str:
    """What the headline figure rests on, in words."""
    if measure_id == "waiting_now":
        return f"{fmt.number(m.get('breaching'))} waited over 72 hours"
    if "denominator" in m:
        text = f"{fmt.number(m['numerator'])} of {fmt.number(m['denominator'])}"
        if m.get("pending"):
            text += f", {fmt.number(m['pending'])} pending"
        return text
    return "appointments attended or seen late"


def card(measure_id: str, m: dict[str, Any], period: str) -> html.Article:
    spc = m.get("spc") or {}
    target = m.get("target")
    trend = [p.get("value") for p in m.get("by_month", [])]
    return html.Article(
        [
            html.H2(m["name"], className="card-title"),
            html.P(
                fmt.measure_value(m, KINDS[measure_id]),
                className="card-value",
                id=f"card-{measure_id}-value",
            ),
            html.P(detail(measure_id, m), className="card-detail", id=f"card-{measure_id}-detail"),
            html.P(
                f"Target {fmt.percent(target) if measure_id != 'dna_rate' else '≤ ' + fmt.percent(target)}"
                if target is not None
                else "No target",
                className="card-target",
            ),
            html.Div(
                [icon(spc.get("variation_icon")), icon(spc.get("assurance_icon"))],
                className="icons",
            ),
            _trend(measure_id, m, trend),
            html.P(
                period if measure_id != "waiting_now" else "Now (at the data's as-of time)",
                className="card-period",
            ),
        ],
        className="card",
        id=f"card-{measure_id}",
    )


def _trend(measure_id: str, m: dict[str, Any], trend: list) -> html.Div | None:
    if measure_id == "waiting_now":  # a count at as_of: it has no monthly trend
        return None
    return html.Div(
        dcc.Graph(figure=charts.sparkline(trend), config={**GRAPH_CONFIG, "staticPlot": True}),
        role="img",
        className="sparkline",
        **{"aria-label": f"{m['name']}: small trend by month (figures on each page)"},
    )


@declare("overview")
def overview_table(ctx: Context) -> Table:
    rows = []
    for measure_id in HEADLINE:
        m = ctx.measures[measure_id]
        spc = m.get("spc") or {}
        rows.append(
            {
                "measure": m["name"],
                "value": m.get("value"),
                "detail": detail(measure_id, m),
                "target": m.get("target"),
                "variation": spc.get("variation_icon"),
                "assurance": spc.get("assurance_icon"),
            }
        )
    columns = [
        ("measure", "Measure"),
        ("value", "Value"),
        ("detail", "Based on"),
        ("target", "Target (%)"),
        ("variation", "Variation"),
        ("assurance", "Assurance"),
    ]
    return Table("Headline measures", columns, rows)


def render_page(ctx: Context) -> list:
    period = flt.describe(ctx.filters, ctx.report.get("period"))
    return [
        html.P(period, className="period", id="overview-period"),
        html.Div([card(m, ctx.measures[m], period) for m in HEADLINE], className="cards"),
        html.Details([html.Summary("The headline figures as a table"), table("overview", ctx)]),
    ]


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/",
        name="Overview",
        title="Overview",
        order=0,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
