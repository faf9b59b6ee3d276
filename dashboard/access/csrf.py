"""CSRF tokens for the server-rendered forms (sign-in, sign-out, admin): a random token kept in
the signed session and echoed by every form; a POST without the matching token is refused.

Dash's own JSON callbacks are covered by SameSite=Lax cookies and the guard's Origin check."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"


def token() -> str:
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def check() -> None:
    sent = request.form.get(FIELD, "")
    expected = session.get(FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(
            400,
            "This form has expired or did not come from this site. Go back, reload "
            "the page and try again.",
        )
