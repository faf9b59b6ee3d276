"""Timeliness: SPC charts of the two promises; hours to first contact, overall and by source."""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, html

from dashboard import charts, render
from dashboard import filters as flt
from dashboard.components import chart, table
from dashboard.figures import by_group, rate_by_month, values
from dashboard.labels import SOURCES
from dashboard.tables import Context, Table
from dashboard.tables import table as declare

CONTENT = "timeliness-content"
LINE_72H = 23.5  # between the 69-72 h band and the 72-96 h band


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Timeliness"), html.Div(id=CONTENT, className="page-body")])


@declare("contact_72h_by_month")
def contact_by_month(ctx: Context) -> Table:
    return rate_by_month(
        ctx.measures["contact_72h"],
        "Contacted within 72 hours, by month referred",
        "Contacted within 72 h",
        "Referrals counted",
    )


@declare("appt_offered_7d_by_month")
def appt_by_month(ctx: Context) -> Table:
    return rate_by_month(
        ctx.measures["appt_offered_7d"],
        "Appointment offered within a week, by month referred",
        "Offered within 7 days",
        "Referrals counted",
    )


@declare("hours_distribution")
def hours_distribution(ctx: Context) -> Table:
    rows = [
        {"band": r["group"], "value": r["value"]}
        for r in ctx.measures["hours_to_contact"]["distribution"]
    ]
    return Table(
        "Referrals by hours to first contact", [("band", "Hours"), ("value", "Referrals")], rows
    )


@declare("hours_by_source")
def hours_by_source(ctx: Context) -> Table:
    contact = {r["group"]: r for r in ctx.measures["contact_72h"]["by_referral_source"]}
    rows = []
    for r in ctx.measures["hours_to_contact"]["by_referral_source"]:
        c = contact.get(r["group"], {})
        rows.append({**r, "within": c.get("value"), "counted": c.get("denominator")})
    columns = [
        ("group", "Referral source"),
        ("n", "Referrals contacted"),
        ("median", "Median hours"),
        ("p90", "90th percentile hours"),
        ("counted", "Referrals counted for 72 h"),
        ("within", "Contacted within 72 h (%)"),
    ]
    return by_group(rows, columns, "Hours to first contact by referral source")


@declare("hours_distribution_by_source")
def hours_distribution_by_source(ctx: Context) -> Table:
    rows = [
        {"source": SOURCES.get(s["group"], s["group"]), "band": b["group"], "value": b["value"]}
        for s in ctx.measures["hours_to_contact"]["distribution_by_referral_source"]
        for b in s["bands"]
    ]
    columns = [("source", "Referral source"), ("band", "Hours"), ("value", "Referrals")]
    return Table("Referrals by hours to first contact and referral source", columns, rows)


def render_page(ctx: Context) -> list:
    m = ctx.measures
    period = flt.describe(ctx.filters, ctx.report.get("period"))
    dist = m["hours_to_contact"]["distribution"]
    by_source = hours_by_source(ctx).rows
    return [
        html.P(period, className="period"),
        chart(
            "contact_72h_by_month",
            charts.spc(m["contact_72h"]["spc"], "Contacted within 72 hours (SPC)", "%"),
            ctx,
            "SPC chart of the percentage of referrals contacted within 72 hours, by month",
        ),
        chart(
            "appt_offered_7d_by_month",
            charts.spc(m["appt_offered_7d"]["spc"], "Appointment offered within a week (SPC)", "%"),
            ctx,
            "SPC chart of the percentage of referrals offered an appointment within 7 days, by month",
        ),
        chart(
            "hours_distribution",
            charts.bars(
                [r["group"] for r in dist],
                [("Referrals", values(dist))],
                "Hours from referral to first contact (dotted line: 72 hours)",
                "referrals",
                line_at=LINE_72H,
            ),
            ctx,
            "Bar chart of referrals by hours to first contact, in 3-hour bands, with the 72-hour line",
        ),
        chart(
            "hours_by_source",
            charts.bars(
                [r["group"] for r in by_source],
                [
                    ("Median hours", values(by_source, "median")),
                    ("90th percentile hours", values(by_source, "p90")),
                ],
                "Hours to first contact by referral source",
                "hours",
            ),
            ctx,
            "Bar chart of median and 90th percentile hours to first contact for each referral source",
        ),
        html.Details(
            [
                html.Summary("Hours to first contact in bands, by referral source"),
                table("hours_distribution_by_source", ctx),
            ]
        ),
    ]


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/timeliness",
        name="Timeliness",
        title="Timeliness",
        order=1,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
