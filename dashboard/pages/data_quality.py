"""Data quality: the run ledger and the quarantine by reason."""

from __future__ import annotations

import dash
from dash import dash_table, html

from dashboard import ids, queries

dash.register_page(__name__, path="/", name="Data quality", title="Data quality")


def layout(**_query: str) -> html.Div:
    files = queries.recent_files()
    if not files:
        return html.Div(
            [
                html.H2("No data loaded yet"),
                html.P("Put a caseload export in the inbox folder and run `sis etl run`."),
            ]
        )
    for f in files:
        f["finished_at"] = (
            f["finished_at"].strftime("%Y-%m-%d %H:%M UTC") if f["finished_at"] else ""
        )
    reasons = queries.quarantine_by_reason()
    return html.Div(
        [
            html.H2("Recent loads"),
            dash_table.DataTable(
                files,
                id=ids.LEDGER_TABLE,
                page_size=20,
                style_cell={"whiteSpace": "normal", "textAlign": "left"},
            ),
            html.H2("Quarantined rows by reason"),
            dash_table.DataTable(reasons, id=ids.QUARANTINE_TABLE),
        ]
    )
