"""Feedback and outcomes: Friends and Family Test positive/negative with n, response volume,
CORE-10 reliable improvement."""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, html

from dashboard import charts, render
from dashboard import filters as flt
from dashboard.components import chart, graph
from dashboard.figures import rate_by_month, values
from dashboard.tables import Context, Table
from dashboard.tables import table as declare

CONTENT = "feedback-content"


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Feedback and outcomes"), html.Div(id=CONTENT, className="page-body")])


@declare("fft_by_month")
def fft_by_month(ctx: Context) -> Table:
    negative = {r["period"]: r for r in ctx.measures["fft_negative"]["by_month"]}
    rows = []
    for r in ctx.measures["fft_positive"]["by_month"]:
        neg = negative.get(r["period"], {})
        rows.append(
            {
                "period": r["period"],
                "n": r.get("n"),
                "positive": r.get("numerator"),
                "positive_pct": r.get("value"),
                "negative": neg.get("numerator"),
                "negative_pct": neg.get("value"),
            }
        )
    columns = [
        ("period", "Month"),
        ("n", "Responses"),
        ("positive", "Very good or good"),
        ("positive_pct", "Positive (%)"),
        ("negative", "Poor or very poor"),
        ("negative_pct", "Negative (%)"),
    ]
    return Table("Friends and Family Test by month", columns, rows)


@declare("core10_by_month")
def core10_by_month(ctx: Context) -> Table:
    return rate_by_month(
        ctx.measures["core10_improvement"],
        "CORE-10 reliable improvement by month discharged",
        "Improved reliably",
        "With a first and last score",
    )


def render_page(ctx: Context) -> list:
    m = ctx.measures
    fft = fft_by_month(ctx).rows
    months = [r["period"] for r in fft]
    core = m["core10_improvement"]["by_month"]
    return [
        html.P(flt.describe(ctx.filters, ctx.report.get("period")), className="period"),
        html.P(
            "Feedback is counted whatever the referral source: anonymous responses have none. "
            "CORE-10 follows the source filter.",
            className="hint",
        )
        if ctx.filters.get("source")
        else None,
        chart(
            "fft_by_month",
            charts.spc(m["fft_positive"]["spc"], "Feedback positive (SPC)", "%"),
            ctx,
            "SPC chart of the percentage of Friends and Family Test responses that were positive, by month",
        ),
        html.Section(
            graph(
                charts.bars(
                    months, [("Responses", values(fft, "n"))], "Responses by month", "responses"
                ),
                "Bar chart of Friends and Family Test responses by month; figures in the table above",
            ),
            className="chart-block",
        ),
        chart(
            "core10_by_month",
            charts.bars(
                [r["period"] for r in core],
                [("Reliable improvement (%)", values(core))],
                "CORE-10 reliable improvement (%)",
                "%",
            ),
            ctx,
            "Bar chart of the percentage of closed referrals with reliable improvement on CORE-10, by month discharged",
        ),
    ]


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/feedback",
        name="Feedback and outcomes",
        title="Feedback and outcomes",
        order=3,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
