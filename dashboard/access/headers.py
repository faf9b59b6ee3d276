"""Security headers on every response, and the session cookie's settings."""

from __future__ import annotations

import datetime as dt

from dash import Dash
from flask import Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from etl import settings


def configure(app: Dash) -> None:
    server = app.server
    server.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_NAME="sis_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https(),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_idle_hours()),
        SESSION_REFRESH_EACH_REQUEST=False,  # the principal rewrites it at most once a minute
    )
    proxies = int(settings.get("SIS_TRUSTED_PROXIES"))
    if proxies > 0 and not settings.is_demo():  # the client's address for rate limiting
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    scripts: list[str] = []

    @server.after_request
    def security_headers(response: Response) -> Response:
        if not scripts:  # Dash's inline start-up script, allowed by its hash
            scripts.extend(app.csp_hashes())
        response.headers.setdefault("Content-Security-Policy", policy(scripts))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin: no Referer ever leaves for another site, while the browser still sends
        # a real Origin on this site's own form posts (no-referrer makes it send "null").
        response.headers.setdefault(
            "Referrer-Policy", "no-referrer" if request.path.startswith("/link/") else "same-origin"
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        if settings.https():
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith(("/_dash-", "/download/", "/admin", "/login", "/link/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def policy(script_hashes: list[str]) -> str:
    hashes = " ".join(script_hashes)  # Dash gives them quoted
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {hashes}".strip(),
            "style-src 'self' 'unsafe-inline'",  # Dash and Plotly set inline styles
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
