"""Sessions and hardening (issue 5): the secret key the app will not start without, demo mode
(loopback only), idle expiry, a disabled account or a new password ending open sessions, cookie
flags, security headers, and who opens /admin."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import dash
import pytest
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from dashboard.access import accounts, links
from dashboard.app import create_app
from etl.settings import ConfigError
from tests.conftest import signed_in
from tests.test_access_login import PASSWORD, sign_in, signed_in_as
from tests.test_access_security import (
    HTML,
    UPDATE,
    Scenario,
    assert_no_data,
    callback_body,
    database_url,
    open_link,
    start_app,
)

ROOT = Path(__file__).resolve().parents[1]
STRICT_REFERRERS = (
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
)


@pytest.fixture
def app(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    return start_app(engine, tmp_path, monkeypatch)


@pytest.fixture
def alex(engine: Engine) -> accounts.Account:
    return accounts.add(engine, "alex", "manager", PASSWORD)


def layout_text(response: TestResponse) -> str:
    """The layout's JSON with Dash's escapes undone ("\\u002f" is "/")."""
    assert response.status_code == 200
    return json.dumps(response.get_json())


# --- the secret key and demo mode --------------------------------------------------------------


def test_create_app_refuses_to_start_without_the_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    for env in (None, "production"):
        if env:
            monkeypatch.setenv("SIS_ENV", env)
        for key in (None, ""):
            if key is None:
                monkeypatch.delenv("SIS_SECRET_KEY", raising=False)
            else:
                monkeypatch.setenv("SIS_SECRET_KEY", key)
            with pytest.raises(ConfigError, match="SIS_SECRET_KEY"):
                create_app()


def test_gunicorn_exits_at_start_up_without_the_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIS_") and k != "DATABASE_URL"}
    env.update(
        SIS_ENV="production",
        SIS_PSEUDONYM_KEY="test-key-not-secret",
        SIS_INSTANCE=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'warehouse.db'}",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    from gunicorn.config import KNOWN_SETTINGS

    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        command.append("--no-control-socket")
    started = time.monotonic()
    done = subprocess.run(
        [*command, "dashboard.app:server"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert took < 30, took
    assert "SIS_SECRET_KEY is not set" in output


def test_demo_mode_signs_in_a_manager_on_this_machine_only(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIS_ENV", "demo")
    monkeypatch.delenv("SIS_SECRET_KEY")
    app = start_app(engine, tmp_path, monkeypatch)
    for loopback in ("127.0.0.1", "::1"):
        client = app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = loopback
        layout = client.get("/_dash-layout")
        assert layout.status_code == 200, loopback
        assert "Demo mode" in layout_text(layout)
        assert '"href": "/waiting-list"' in layout_text(layout)  # a manager's navigation
        assert client.get("/waiting-list", headers=HTML).status_code == 200
    remote = app.server.test_client()
    remote.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/login", "/download/overview.csv"):
        refused = remote.get(path, headers=HTML)
        assert refused.status_code == 403, path
        assert_no_data(refused)
    dep = {"output": "pong.data", "inputs": [{"id": "ping", "property": "data"}], "state": []}
    body = callback_body(dep, Scenario({}, {"from": None, "to": None, "source": None}, "/"))
    assert remote.post(UPDATE, json=body).status_code == 403


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_idle_longer_than_the_setting_ends(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alex: accounts.Account
) -> None:
    monkeypatch.setenv("SIS_SESSION_IDLE_HOURS", "2")
    app = start_app(engine, tmp_path, monkeypatch)
    manager = app.server.test_client()
    assert sign_in(manager, "alex", PASSWORD).status_code == 303
    commissioner, _, _ = open_link(app, engine)
    for client in (manager, commissioner):
        with client.session_transaction() as session:
            session["seen"] = int(time.time()) - 3600  # idle 1 hour: still open
        assert client.get("/_dash-layout").status_code == 200
        with client.session_transaction() as session:
            session["seen"] = int(time.time()) - 3 * 3600  # idle 3 hours: over
        assert client.get("/_dash-layout").status_code == 401
        with client.session_transaction() as session:
            assert "kind" not in session  # the session was ended, not just refused once
        assert client.get("/download/overview.csv").status_code == 401


def test_disabling_an_account_ends_its_open_session(
    app: dash.Dash, engine: Engine, alex: accounts.Account
) -> None:
    client = app.server.test_client()
    assert sign_in(client, "alex", PASSWORD).status_code == 303
    assert signed_in_as(client) == "alex"
    accounts.disable(engine, "alex")
    assert signed_in_as(client) is None
    assert sign_in(client, "alex", PASSWORD).status_code == 401


def test_a_new_password_ends_open_sessions(
    app: dash.Dash, engine: Engine, alex: accounts.Account
) -> None:
    laptop, phone = app.server.test_client(), app.server.test_client()
    for client in (laptop, phone):
        assert sign_in(client, "alex", PASSWORD).status_code == 303
        assert signed_in_as(client) == "alex"
    accounts.set_password(engine, "alex", "a brand new passphrase")
    assert signed_in_as(laptop) is None and signed_in_as(phone) is None
    assert sign_in(laptop, "alex", PASSWORD).status_code == 401
    assert sign_in(laptop, "alex", "a brand new passphrase").status_code == 303
    assert signed_in_as(laptop) == "alex"


def _session_cookie(headers: list[str]) -> str:
    cookies = [h for h in headers if h.startswith("sis_session=")]
    assert cookies, headers
    return cookies[-1]


@pytest.mark.parametrize("https", [False, True])
def test_session_cookies_are_httponly_lax_and_secure_over_https(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    alex: accounts.Account,
    https: bool,
) -> None:
    monkeypatch.setenv("SIS_HTTPS", "true" if https else "false")
    app = start_app(engine, tmp_path, monkeypatch)
    client = app.server.test_client()
    done = sign_in(client, "alex", PASSWORD)
    _, token = links.create(engine, "BNSSG ICB", None, "test")
    opened = app.server.test_client().get(links.PREFIX + token)
    assert done.status_code == 303 and opened.status_code == 303
    for response in (done, opened):
        cookie = _session_cookie(response.headers.getlist("Set-Cookie"))
        flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
        assert "httponly" in flags
        assert flags["samesite"].strip() == "SameSite=Lax"
        assert ("secure" in flags) is https
    if https:
        assert "max-age=" in done.headers.get("Strict-Transport-Security", "")


def test_security_headers_on_pages_json_downloads_and_refusals(
    app: dash.Dash, alex: accounts.Account
) -> None:
    manager = signed_in(app.server)
    anonymous = app.server.test_client()
    dep = {"output": "pong.data", "inputs": [{"id": "ping", "property": "data"}], "state": []}
    body = callback_body(dep, Scenario({}, {"from": None, "to": None, "source": None}, "/"))
    responses = {
        "page": manager.get("/", headers=HTML),
        "layout": manager.get("/_dash-layout"),
        "callback": manager.post(UPDATE, json=body),
        "download": manager.get("/download/overview.csv"),
        "admin refused": manager.get("/admin", headers=HTML),
        "sign-in page": anonymous.get("/login"),
        "refused json": anonymous.get("/_dash-layout"),
    }
    for name, response in responses.items():
        h = response.headers
        csp = h.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, name
        assert re.search(r"default-src 'self'", csp), name
        assert "unsafe-eval" not in csp, name
        assert h.get("X-Content-Type-Options") == "nosniff", name
        assert h.get("Referrer-Policy") in STRICT_REFERRERS, name
        assert h.get("X-Frame-Options") == "DENY", name
    assert responses["page"].status_code == 200 and responses["callback"].status_code == 200
    for name in ("layout", "callback", "download", "refused json"):
        assert "no-store" in responses[name].headers.get("Cache-Control", ""), name
    assert app.server.debug is False


def test_only_admins_open_the_admin_page(app: dash.Dash, engine: Engine) -> None:
    admin = signed_in(app.server, "admin", "robin")
    manager = signed_in(app.server, "manager", "alex")
    commissioner, link, _ = open_link(app, engine)
    page = admin.get("/admin", headers=HTML)
    assert page.status_code == 200 and "BNSSG ICB" in page.get_data(as_text=True)
    assert '"href": "/admin"' in layout_text(admin.get("/_dash-layout"))
    before = links.all_links(engine)
    for client in (manager, commissioner):
        refused = client.get("/admin", headers=HTML)
        assert refused.status_code == 403
        assert "BNSSG ICB" not in refused.get_data(as_text=True)
        made = client.post("/admin/links", data={"label": "Another ICB", "csrf_token": "x"})
        assert made.status_code == 403
        assert client.post(f"/admin/links/{link.id}/revoke").status_code == 403
        assert '"/admin"' not in layout_text(client.get("/_dash-layout"))
    assert links.all_links(engine) == before
    assert database_url(engine)  # the app and the test share this warehouse
