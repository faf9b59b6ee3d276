"""The guard in front of every route: who may reach what, decided on the server.

- Public: sign-in, link exchange, health, and the static files every page needs (our
  stylesheet and scripts, Dash's bundles), which hold no data.
- Anyone else must be signed in: pages redirect to the sign-in page, everything else (Dash's
  JSON routes, downloads) answers 401 with no data.
- A commissioner may trigger only the callbacks whose outputs are all on the commissioner's
  pages (an allow-list: a callback added later is a manager's until listed here), may not open
  a managers-only page (also not through the pages router callback), and is never an admin.
- Only admins reach /admin.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import dash
from dash import Dash
from dash._utils import split_callback_id
from flask import Flask, Response, g, redirect, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from dashboard import data, ids
from dashboard.access import links, principal

log = logging.getLogger(__name__)
UNAVAILABLE = "Data temporarily unavailable: the warehouse cannot be reached. Try again shortly."
PUBLIC_PATHS = frozenset(("/login", "/healthz", "/_favicon.ico", "/favicon.ico"))
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/link/")
DASH_JSON = frozenset(("/_dash-layout", "/_dash-dependencies", "/_dash-update-component"))
LOOPBACK = ("127.", "::1", "::ffff:127.")
STATUS_ONLY = frozenset(
    (f"{ids.STATUS}.data", f"..{ids.BANNER}.children...{ids.BANNER}.className..")
)
# Shell components whose callbacks every signed-in audience uses.
SHELL_IDS = frozenset(
    (
        ids.STATUS,
        ids.BANNER,
        ids.URL,
        ids.FROM,
        ids.TO,
        ids.SOURCE,
        ids.FILTERS,
        ids.NAV,
        ids.PONG,
        "_pages_content",
        "_pages_store",
        "_pages_dummy",
    )
)


def managers_only_paths() -> frozenset[str]:
    return frozenset(
        page_key(p["path"]) for p in dash.page_registry.values() if p.get("managers_only")
    )


def page_key(path: str) -> str:
    """A path the way Dash's pages router matches it: slashes at either end do not count."""
    return "/" + str(path).strip("/").lower()


def commissioner_outputs(app: Dash) -> frozenset[str]:
    """The callback output keys a commissioner may trigger: each output on the shell or on a
    page that is not managers-only."""
    allowed_ids = set(SHELL_IDS)
    for page in dash.page_registry.values():
        if not page.get("managers_only") and page.get("content_id"):
            allowed_ids.add(page["content_id"])
    return frozenset(
        key for key in app.callback_map if all(o["id"] in allowed_ids for o in _outputs(key))
    )


def _outputs(key: str) -> list[dict[str, Any]]:
    parts = split_callback_id(key)
    return parts if isinstance(parts, list) else [parts]


def install(app: Dash) -> None:
    server: Flask = app.server
    allowed: dict[str, frozenset[str]] = {}

    def commissioner_keys() -> frozenset[str]:
        if "keys" not in allowed:  # on first use: every page and callback is registered by then
            allowed["keys"] = commissioner_outputs(app)
            allowed["closed"] = managers_only_paths()
        return allowed["keys"]

    @server.before_request
    def guard() -> Response | None:
        path = request.path
        if _demo_from_elsewhere():
            return _refuse(403, "Demo mode answers only requests from this machine.")
        if request.method == "POST" and not _same_origin():
            return _refuse(403, "Refused: the request did not come from this site.")
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        try:
            g.principal = who = principal.resolve()
        except SQLAlchemyError as error:  # the session cannot be checked: serve nothing private
            log.warning("session check failed: warehouse unreachable (%s)", type(error).__name__)
            g.principal = who = None
            if public or _asks_only_for_status():
                return None  # the open page's poll learns "temporarily unavailable" from it
            return _refuse(503, UNAVAILABLE)
        if public:
            return None
        if who is None:
            if request.method == "GET" and path not in DASH_JSON and _wants_html():
                return redirect(url_for("access.login", next=_local_next()))
            return _refuse(401, "Sign in first.")
        if path == "/admin" or path.startswith("/admin/"):
            return None if who.is_admin else _refuse(403, "Only administrators can open this.")
        if who.audience == "manager":
            return None
        refused = _commissioner(path, commissioner_keys(), allowed["closed"])
        # A use is a page or a download fetched, not the page's own callbacks.
        if (
            refused is None
            and who.kind == "link"
            and request.method == "GET"
            and (path not in DASH_JSON)
        ):
            links.record_use(data.engine(), who.id, path)  # type: ignore[arg-type]
        return refused

    @server.after_request
    def dependencies_for_audience(response: Response) -> Response:
        """A commissioner's browser is told only of the callbacks it may trigger."""
        who = g.get("principal")
        if (
            request.path == "/_dash-dependencies"
            and response.status_code == 200
            and who is not None
            and who.audience == "commissioner"
        ):
            keys = commissioner_keys()
            deps = [d for d in json.loads(response.get_data()) if d["output"] in keys]
            response.set_data(json.dumps(deps))
        return response


def _commissioner(path: str, keys: frozenset[str], closed: frozenset[str]) -> Response | None:
    if page_key(path) in closed:
        return _refuse(403, "This page is for the service's managers only.")
    if path == "/_dash-update-component":
        body = request.get_json(silent=True) or {}
        if body.get("output") not in keys:
            return _refuse(403, "Not available to a commissioner link.")
        for item in [*body.get("inputs", []), *body.get("state", [])]:
            if (
                isinstance(item, dict)
                and item.get("property") == "pathname"
                and page_key(item.get("value", "")) in closed
            ):
                return _refuse(403, "This page is for the service's managers only.")
    return None


def _asks_only_for_status() -> bool:
    """The poll and the banner: they carry no data, only whether the warehouse answers."""
    if request.path != "/_dash-update-component":
        return False
    body = request.get_json(silent=True) or {}
    return body.get("output") in STATUS_ONLY


def _refuse(status: int, message: str) -> Response:
    if _wants_html():
        page = f"<!doctype html><html lang='en-GB'><title>{status}</title><p>{message}</p>"
        return Response(page, status=status, mimetype="text/html")
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")


def _wants_html() -> bool:
    return request.accept_mimetypes.accept_html and not request.is_json


def _local_next() -> str:
    full = request.full_path.rstrip("?")
    return full if full.startswith("/") and not full.startswith("//") else "/"


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def _demo_from_elsewhere() -> bool:
    from etl import settings

    return settings.is_demo() and not (request.remote_addr or "").startswith(LOOPBACK)
