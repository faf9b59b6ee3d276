"""Sign-in, sign-out and the commissioner link exchange: plain Flask routes (not Dash
callbacks), with CSRF tokens, a generic failure message and rate limiting."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, redirect, render_template, request, session

from dashboard import data
from dashboard.access import accounts, csrf, links, principal, ratelimit

log = logging.getLogger(__name__)
blueprint = Blueprint("access", __name__, template_folder="templates")
FAILED = "That name and password do not match an account. Check them and try again."
TOO_MANY = (
    "Too many failed sign-ins. Wait 15 minutes and try again, or ask an administrator to set a "
    "new password."
)


ENDED = (
    "Your session has ended. Sign in again; commissioners: open the link the service sent "
    "you again (a withdrawn or expired link no longer works)."
)


@blueprint.get("/login")
def login() -> tuple[str, int]:
    return _login_page(ENDED if request.args.get("ended") else "")


def _login_page(message: str = "", name: str = "", status: int = 200) -> tuple[str, int]:
    page = render_template(
        "login.html",
        title="Sign in",
        csrf=csrf.token(),
        next=_safe_next(request.values.get("next")),
        message=message,
        name=name,
    )
    return page, status


@blueprint.post("/login")
def login_post() -> Response | tuple[str, int]:
    csrf.check()
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    engine = data.engine()
    if ratelimit.blocked(engine, name, address):
        log.warning("sign-in refused: too many failures (account or address)")
        return _login_page(TOO_MANY, name, 429)
    account = accounts.verify(engine, name, password)
    if account is None:
        ratelimit.record_failure(engine, name, address)
        log.info("sign-in failed")
        return _login_page(FAILED, name, 401)
    ratelimit.clear_account(engine, name)
    principal.sign_in_user(account)
    log.info("signed in: user %s (%s)", account.user_id, account.role)
    return redirect(_safe_next(request.form.get("next")), 303)


@blueprint.post("/logout")
def logout() -> Response:
    csrf.check()
    session.clear()
    return redirect("/login", 303)


@blueprint.get(links.PREFIX + "<token>")
def exchange(token: str) -> Response | tuple[str, int]:
    """Swap a link's token for a session cookie and leave the token out of the address bar."""
    engine = data.engine()
    link = links.by_token(engine, token)
    if link is None or not link.usable(accounts.now()):
        log.info("link refused (unknown, expired or revoked)")
        page = render_template(
            "message.html",
            title="This link does not work",
            message="This link is not valid: it may have expired or been withdrawn. Ask the "
            "service for a new one.",
        )
        return page, 403
    principal.sign_in_link(link)
    links.record_use(engine, link.id, links.PREFIX)
    log.info("link %s opened", link.id)
    return redirect("/", 303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never another host) after signing in."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return "/"
    return target
