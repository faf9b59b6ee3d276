"""/admin (administrators only; the guard checks the role): commissioner links listed with
label, created, expires, last used and use count; make and revoke links; accounts listed."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, redirect, render_template, request

from dashboard import data
from dashboard.access import accounts, csrf, links, principal
from etl import settings

log = logging.getLogger(__name__)
blueprint = Blueprint("admin", __name__, template_folder="templates")


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%d %b %Y %H:%M UTC") if at else ""


def _state(link: links.Link) -> str:
    if link.revoked:
        return "revoked"
    return "expired" if not link.usable(accounts.now()) else "active"


def _page(status: int = 200, **extra: object) -> tuple[str, int]:
    engine = data.engine()
    page = render_template(
        "admin.html",
        title="Administration",
        links=links.all_links(engine),
        users=accounts.all_accounts(engine),
        csrf=csrf.token(),
        when=_when,
        state=_state,
        **extra,
    )
    return page, status


@blueprint.get("/admin")
def admin() -> tuple[str, int]:
    return _page()


@blueprint.post("/admin/links")
def create_link() -> tuple[str, int]:
    csrf.check()
    who = principal.current()
    try:
        expires = links.parse_duration(request.form.get("expires", "90d") or "90d")
        link, token = links.create(
            data.engine(), request.form.get("label", ""), expires, who.name if who else None
        )
    except accounts.AccountError as error:
        return _page(400, error=str(error))
    log.info("link %s made by an administrator", link.id)
    base = settings.get("SIS_BASE_URL") or request.host_url.rstrip("/")
    return _page(new_url=links.url(base, token), new_label=link.label)


@blueprint.post("/admin/links/<int:link_id>/revoke")
def revoke_link(link_id: int) -> Response | tuple[str, int]:
    csrf.check()
    try:
        links.revoke(data.engine(), link_id)
    except accounts.AccountError as error:
        return _page(404, error=str(error))
    log.info("link %s revoked by an administrator", link_id)
    return redirect("/admin", 303)
