"""The Dash app factory. Nothing is read from the warehouse at import time.

This first version shows the state of the data (the run ledger and the quarantine by reason);
the KPI pages arrive with the KPI engine (issues 3 and 4).
"""

from __future__ import annotations

import dash
from dash import html

from dashboard import ids


def create_app() -> dash.Dash:
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(__import__("pathlib").Path(__file__).with_name("pages")),
        assets_folder=str(__import__("pathlib").Path(__file__).parents[1] / "assets"),
        title="Self-Injury Service dashboard",
        suppress_callback_exceptions=False,
    )
    app.layout = html.Div(
        [
            html.Header(
                [html.H1("Self-Injury Service: service performance")],
                className="site-header",
            ),
            html.Main(dash.page_container, id=ids.MAIN),
        ]
    )
    return app


app = create_app()
server = app.server
