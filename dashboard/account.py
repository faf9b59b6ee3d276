"""The signed-in line under the service name: who this is, what they see, and sign-out."""

from __future__ import annotations

from dash import dcc, html

from dashboard.access import csrf, principal


def bar() -> html.Div:
    who = principal.current()
    if who is None:
        return html.Div(id="account", className="account")
    if who.kind == "demo":
        text = [
            html.Strong("Demo mode: "),
            "you are signed in as a demo manager without a password. Simulated data only; "
            "this server answers this machine only.",
        ]
    elif who.role == "commissioner":
        text = [
            html.Strong(f"Commissioner view for {who.name}. "),
            "Figures are rounded to the nearest 5 and counts from 1 to 7 are shown as *.",
        ]
    else:
        text = [f"Signed in as {who.name} ({who.role})."]
    parts: list = [html.P(text, className="account-text")]
    if who.is_admin:
        parts.append(html.A("Administration", href="/admin", className="account-link"))
    if who.kind != "demo":
        parts.append(
            html.Form(
                [
                    dcc.Input(type="hidden", name=csrf.FIELD, value=csrf.token()),
                    html.Button("Sign out", type="submit", id="sign-out"),
                ],
                action="/logout",
                method="post",
                className="account-form",
            )
        )
    return html.Div(parts, id="account", className="account")
