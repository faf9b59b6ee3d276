"""Data quality: the run ledger and the quarantine by reason."""

from __future__ import annotations

import dash
from dash import dash_table, html

from dashboard import ids, queries

dash.register_page(__name__, path="/", name="Data quality", title="Data quality")

LABELS = {
    "finished_at": "Finished",
    "file_name": "File",
    "entity": "Holds",
    "status": "Status",
    "rows_read": "Rows read",
    "inserted": "New",
    "updated": "Updated",
    "unchanged": "Unchanged",
    "quarantined": "Held back",
    "orphans": "Waiting for referral",
    "message": "Why refused",
    "reason_code": "Reason",
    "rows": "Rows",
}
CELL = {"whiteSpace": "normal", "textAlign": "left"}


def _table(rows: list[dict], id_: str) -> dash_table.DataTable:
    columns = [{"name": LABELS.get(k, k), "id": k} for k in (rows[0] if rows else {})]
    return dash_table.DataTable(rows, columns, id=id_, page_size=20, style_cell=CELL)


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
            _table(files, ids.LEDGER_TABLE),
            html.H2("Quarantined rows by reason"),
            _table(reasons, ids.QUARANTINE_TABLE),
        ]
    )
