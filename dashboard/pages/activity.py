"""Activity: sessions by month and type, appointments by outcome (DNA and cancellations),
90-minute sessions, sessions per closed referral; by practitioner for managers only."""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, html

from dashboard import charts, render
from dashboard import filters as flt
from dashboard.components import chart, table
from dashboard.figures import by_group, rate_by_month, values
from dashboard.labels import group
from dashboard.tables import Context, Table
from dashboard.tables import table as declare
from kpi.report import APPOINTMENT_OUTCOMES, ORDER

CONTENT = "activity-content"
TYPES = ORDER["contact_type"]


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Activity"), html.Div(id=CONTENT, className="page-body")])


def _pivot(records: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Long records (period, group, value) as one row per month, a column per group."""
    rows: dict[str, dict[str, Any]] = {}
    for r in records:
        rows.setdefault(r["period"], {"period": r["period"]})[r["group"]] = r["value"]
    return [{c: row.get(c, 0) for c in ("period", *columns)} for row in rows.values()]


@declare("sessions_by_month_type")
def sessions_by_month_type(ctx: Context) -> Table:
    rows = _pivot(ctx.measures["sessions"]["by_month_contact_type"], TYPES)
    totals = {r["period"]: r["value"] for r in ctx.measures["sessions"]["by_month"]}
    for row in rows:
        row["total"] = totals.get(row["period"])
    columns = [("period", "Month"), *[(t, group(t)) for t in TYPES], ("total", "All sessions")]
    return Table("Sessions delivered by month and type", columns, rows)


@declare("appointments_by_outcome")
def appointments_by_outcome(ctx: Context) -> Table:
    rows = _pivot(ctx.measures["appointments"]["by_month"], APPOINTMENT_OUTCOMES)
    columns = [("period", "Month"), *[(o, group(o)) for o in APPOINTMENT_OUTCOMES]]
    return Table("Appointments by outcome and month", columns, rows)


@declare("dna_rate_by_month")
def dna_by_month(ctx: Context) -> Table:
    return rate_by_month(
        ctx.measures["dna_rate"],
        "Did-not-attend rate by month",
        "Did not attend",
        "Appointments due",
    )


@declare("session_90min_by_month")
def session_90_by_month(ctx: Context) -> Table:
    return rate_by_month(
        ctx.measures["session_90min"],
        "90-minute peer sessions by month",
        "80 minutes or more",
        "Timed peer sessions",
    )


@declare("sessions_per_referral_by_month")
def per_referral(ctx: Context) -> Table:
    columns = [
        ("period", "Month discharged"),
        ("n", "Referrals closed"),
        ("mean", "Mean sessions"),
        ("median", "Median sessions"),
    ]
    return Table(
        "Sessions per closed referral", columns, ctx.measures["sessions_per_referral"]["by_month"]
    )


@declare("sessions_by_practitioner", managers_only=True)
def by_practitioner(ctx: Context) -> Table:
    records = ctx.measures["sessions"].get("by_practitioner", [])
    return by_group(
        records, [("group", "Practitioner"), ("value", "Sessions")], "Sessions by practitioner"
    )


def render_page(ctx: Context) -> list:
    m = ctx.measures
    sessions = sessions_by_month_type(ctx).rows
    outcomes = appointments_by_outcome(ctx).rows
    months = [r["period"] for r in sessions]
    blocks = [
        html.P(flt.describe(ctx.filters, ctx.report.get("period")), className="period"),
        chart(
            "sessions_by_month_type",
            charts.bars(
                months,
                [(group(t), values(sessions, t)) for t in TYPES],
                "Sessions delivered by month and type",
                "sessions",
                stacked=True,
            ),
            ctx,
            "Stacked bar chart of sessions delivered each month by type: assessment, peer session, group session",
        ),
        chart(
            "dna_rate_by_month",
            charts.spc(m["dna_rate"]["spc"], "Did-not-attend rate (SPC)", "%"),
            ctx,
            "SPC chart of the did-not-attend rate by month",
        ),
        chart(
            "appointments_by_outcome",
            charts.bars(
                [r["period"] for r in outcomes],
                [(group(o), values(outcomes, o)) for o in APPOINTMENT_OUTCOMES if o != "attended"],
                "Did not attend, late and cancelled appointments by month",
                "appointments",
                stacked=True,
            ),
            ctx,
            "Stacked bar chart of appointments not attended, late or cancelled each month",
        ),
        chart(
            "session_90min_by_month",
            charts.bars(
                months,
                [("90-minute sessions (%)", values(m["session_90min"]["by_month"]))],
                "90-minute peer sessions (%)",
                "%",
            ),
            ctx,
            "Bar chart of the percentage of timed peer sessions lasting 80 minutes or more, by month",
        ),
        chart(
            "sessions_per_referral_by_month",
            charts.bars(
                [r["period"] for r in m["sessions_per_referral"]["by_month"]],
                [("Mean sessions", values(m["sessions_per_referral"]["by_month"], "mean"))],
                "Sessions per closed referral, by month discharged",
                "sessions",
            ),
            ctx,
            "Bar chart of the mean number of sessions per referral closed each month",
        ),
    ]
    if "by_practitioner" in m["sessions"]:  # managers only: the report leaves it out otherwise
        blocks += [html.H2("By practitioner"), table("sessions_by_practitioner", ctx)]
    return blocks


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/activity",
        name="Activity",
        title="Activity",
        order=2,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
