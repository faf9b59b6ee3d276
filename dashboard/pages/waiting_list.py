"""Waiting list (managers only): everyone waiting for first contact now, longest first."""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, html

from dashboard import data, render
from dashboard.components import table
from dashboard.labels import SOURCES
from dashboard.tables import Context, Table
from dashboard.tables import table as declare

CONTENT = "waiting-content"
COLUMNS = [
    ("referral_id", "Referral id"),
    ("referral_source", "Referred by"),
    ("received", "Referred (UK time)"),
    ("hours_waited", "Hours waited"),
    ("breach_at", "72 hours reached (UK time)"),
    ("breaching", "Over 72 hours"),
]


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Waiting list"), html.Div(id=CONTENT, className="page-body")])


@declare("waiting_list", managers_only=True)
def waiting_table(ctx: Context) -> Table:
    rows = [
        {**r, "referral_source": SOURCES.get(r["referral_source"], r["referral_source"])}
        for r in data.waiting(ctx.version, ctx.filters)
    ]
    return Table("Waiting for first contact, longest wait first", COLUMNS, rows)


def render_page(ctx: Context) -> list:
    t = waiting_table(ctx)
    over = sum(1 for r in t.rows if r["breaching"])
    return [
        html.P(
            f"{len(t.rows):,} waiting for first contact; {over:,} of them for over 72 hours. "
            "Find each person in the case-management system by the referral id.",
            className="period",
            id="waiting-summary",
        ),
        table("waiting_list", ctx),
    ]


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page, report=False)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/waiting-list",
        name="Waiting list",
        title="Waiting list",
        order=5,
        managers_only=True,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
