"""Data quality: the run ledger, quarantined rows by reason, orphans, completeness."""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, html

from dashboard import data, render
from dashboard.components import table
from dashboard.tables import Context, Table
from dashboard.tables import table as declare

CONTENT = "data-quality-content"
FIELDS = {"ethnicity": "Ethnicity", "gender": "Gender", "age": "Age", "time": "Referral time"}


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Data quality"), html.Div(id=CONTENT, className="page-body")])


@declare("loads", managers_only=True)
def loads(ctx: Context) -> Table:
    rows = []
    for load in ctx.measures["data_quality"].get("loads", []):
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(load["quarantine_reasons"].items()))
        rows.append(
            {
                **load,
                "finished_at": (load["finished_at"] or "")[:16].replace("T", " "),
                "reasons": reasons,
            }
        )
    columns = [
        ("finished_at", "Finished"),
        ("file_name", "File"),
        ("entity", "Holds"),
        ("status", "Status"),
        ("rows_read", "Rows read"),
        ("inserted", "New"),
        ("updated", "Updated"),
        ("unchanged", "Unchanged"),
        ("quarantined", "Held back"),
        ("reasons", "Held back because"),
        ("orphans", "Waiting for their referral"),
        ("message", "Why refused"),
    ]
    return Table("Recent loads", columns, rows)


@declare("quarantine", managers_only=True)
def quarantine(ctx: Context) -> Table:
    columns = [("entity", "File holds"), ("reason_code", "Reason"), ("rows", "Rows")]
    return Table("Quarantined rows by reason", columns, data.quarantine_by_reason(ctx.version))


@declare("orphans", managers_only=True)
def orphans(ctx: Context) -> Table:
    columns = [("entity", "Rows of"), ("rows", "Waiting for their referral")]
    return Table("Rows held until their referral arrives", columns, data.orphans(ctx.version))


@declare("completeness")
def completeness(ctx: Context) -> Table:
    rows = [
        {"field": FIELDS[k], **v} for k, v in ctx.measures["data_quality"]["completeness"].items()
    ]
    columns = [
        ("field", "Field"),
        ("numerator", "Known"),
        ("denominator", "Referrals"),
        ("value", "Complete (%)"),
    ]
    return Table("Completeness of key fields", columns, rows)


def render_page(ctx: Context) -> list:
    return [
        html.H2("Recent loads"),
        table("loads", ctx),
        html.H2("Quarantined rows"),
        table("quarantine", ctx),
        html.H2("Orphans"),
        table("orphans", ctx),
        html.H2("Completeness"),
        table("completeness", ctx),
    ]


def update(status: dict | None, filters: dict | None) -> Any:  # noqa: ANN401
    return render.page(status, filters, render_page)


def register(app: Dash) -> None:
    dash.register_page(
        __name__,
        path="/data-quality",
        name="Data quality",
        title="Data quality",
        order=6,
        managers_only=True,
        layout=layout,
        content_id=CONTENT,
    )
    render.register(app, CONTENT, update)
