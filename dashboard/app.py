"""The Dash app factory. Nothing is read from the warehouse at import or at start-up: pages are
skeletons, and their figures arrive through callbacks from the shared cache.

``gunicorn dashboard.app:server`` builds the app on first access of ``server``.
"""

from __future__ import annotations

import gc
import importlib
from pathlib import Path

import dash
from flask_compress import Compress

from dashboard import cache, downloads, health, render, shell
from dashboard.access import admin, guard, headers, views
from etl import logs

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "overview",
    "timeliness",
    "activity",
    "feedback",
    "equity",
    "waiting_list",
    "data_quality",
)


def create_app() -> dash.Dash:
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ROOT / "assets"),
        title="Self-Injury Service: service performance",
        update_title=None,
        compress=False,  # flask-compress below, with brotli and gzip
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="en-GB">', 1)
    modules = [importlib.import_module(f"dashboard.pages.{name}") for name in PAGES]
    for module in modules:
        module.register(app)
    for page in dash.page_registry.values():
        page["layout"] = render.keep_mounted(page["layout"])
    app.layout = shell.layout  # a function: each audience gets its own navigation
    shell.register(app)
    server = app.server
    headers.configure(app)  # refuses to start without SIS_SECRET_KEY outside demo mode
    server.config["COMPRESS_MIMETYPES"] = [
        "text/html",
        "text/css",
        "text/csv",
        "application/javascript",
        "text/javascript",
        "application/json",
    ]
    Compress(server)
    cache.init_cache(server)
    for blueprint in (downloads.blueprint, views.blueprint, admin.blueprint, health.blueprint):
        server.register_blueprint(blueprint)
    guard.install(app)  # after Compress: its after_request sees responses before compression
    logs.configure()  # one line per event; JSON lines when SIS_LOG_FORMAT=json
    return app


def __getattr__(name: str) -> object:
    """`server` and `app` are made on first use (by gunicorn), not at import."""
    if name in ("app", "server"):
        app = create_app()
        globals().update(app=app, server=app.server)
        # What start-up made lives as long as the worker: out of the garbage collector's
        # reach, a full collection no longer walks it (about 170k objects, 30-70 ms: a stall
        # in whichever request triggered it).
        gc.freeze()
        return globals()[name]
    raise AttributeError(name)
