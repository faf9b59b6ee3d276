"""Equity: the referral measures by referral source, age band, gender, ethnicity group and
postcode district, each as a chart and a table."""

from __future__ import annotations

from functools import partial
from typing import Any

import dash
from dash import Dash, html

from dashboard import charts, render
from dashboard import filters as flt
from dashboard.components import chart
from dashboard.figures import by_group, values
from dashboard.labels import DIMENSIONS
from dashboard.tables import Context, Table
from dashboard.tables import table as declare

CONTENT = "equity-content"
MEASURES = (
    ("referrals", "value", "Referrals"),
    ("contact_72h", "value", "Contacted within 72 h (%)"),
    ("appt_offered_7d", "value", "Offered an appointment within 7 days (%)"),
    ("appt_attended_7d", "value", "Attended within 7 days (%)"),
    ("hours_to_contact", "median", "Median hours to contact"),
    ("core10_improvement", "value", "CORE-10 reliable improvement (%)"),
    ("waiting_now", "value", "Waiting now"),
)


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Equity"), html.Div(id=CONTENT, className="page-body")])


def equity_table(dimension: str, ctx: Context) -> Table:
    rows: dict[str, dict[str, Any]] = {}
    for measure_id, key, _ in MEASURES:
        for r in ctx.measures[measure_id].get(f"by_{dimension}", []):
            rows.setdefault(r["group"], {"group": r["group"]})[measure_id] = r.get(key)
    columns = [("group", DIMENSIONS[dimension]), *[(m, h) for m, _, h in MEASURES]]
    return by_group(
        list(rows.values()), columns, f"Referral measures by {DIMENSIONS[dimension].lower()}"
    )


for _dimension in DIMENSIONS:
    declare(f"equity_{_dimension}")(partial(equity_table, _dimension))


def render_page(ctx: Context) -> list:
    blocks: list[Any] = [
        html.P(flt.describe(ctx.filters, ctx.report.get("period")), className="period")
    ]
    for dimension, name in DIMENSIONS.items():
        t = equity_table(dimension, ctx)
        groups = [r["group"] for r in t.rows]
        figure = charts.bars(
            groups,
            [
                ("Contacted within 72 h (%)", values(t.rows, "contact_72h")),
                ("Offered an appointment within 7 days (%)", values(t.rows, "appt_offered_7d")),
            ],
            f"Timeliness by {name.lower()}",
            "%",
        )
        blocks += [
            html.H2(name),
            chart(
                f"equity_{dimension}",
                figure,
                ctx,
                f"Bar chart of the percentages contacted within 72 hours and offered an appointment within 7 days, by {name.lower()}",
            ),
        ]
    return blocks


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/equity",
        name="Equity",
        title="Equity",
        order=4,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
