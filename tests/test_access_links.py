"""Commissioner links against crafted and stale tokens (issue 5), on a small simulated service,
on every backend: a tampered, unknown, expired or revoked token gets 403, no data and no session;
revoking (or expiry) cuts off a session already open, also from the admin page; every use is
counted and logged with its path and no address."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from dashboard.access import links
from tests.conftest import signed_in, table_rows
from tests.test_access_login import csrf_of
from tests.test_access_security import (
    FILTERS,
    HTML,
    UPDATE,
    Scenario,
    assert_no_data,
    callback_body,
    data_status,
    load_small_service,
    open_link,
    start_app,
)


@pytest.fixture
def warehouse(engine: Engine, tmp_path: Path) -> Engine:
    return load_small_service(engine, tmp_path / "exports")


@pytest.fixture
def app(warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dash.Dash:
    return start_app(warehouse, tmp_path, monkeypatch)


def _expire(engine: Engine, link_id: int) -> None:
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE share_link SET expires_at = :at WHERE link_id = :id"),
            {"at": past, "id": link_id},
        )


def test_tampered_unknown_expired_and_revoked_tokens_get_403_and_no_session(
    app: dash.Dash, warehouse: Engine
) -> None:
    good: list[str] = []
    for kind in ("tampered", "unknown", "expired", "revoked"):
        link, token = links.create(warehouse, f"ICB {kind}", dt.timedelta(days=90), "test")
        if kind == "tampered":
            good.append(token)
            middle = len(token) // 2
            token = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
        elif kind == "unknown":
            token = secrets.token_urlsafe(24)
        elif kind == "expired":
            _expire(warehouse, link.id)
        else:
            links.revoke(warehouse, link.id)
        client = app.server.test_client()
        response = client.get(links.PREFIX + token, headers=HTML)
        assert response.status_code == 403, kind
        assert_no_data(response)
        assert "sis_session" not in response.headers.get("Set-Cookie", ""), kind
        assert client.get("/_dash-layout").status_code == 401, kind
        assert client.get("/download/overview.csv").status_code == 401, kind
        assert links.get(warehouse, link.id).uses == 0, kind  # type: ignore[union-attr]
    # The token before tampering opens the dashboard: one character made the difference.
    client = app.server.test_client()
    assert client.get(links.PREFIX + good[0]).status_code == 303
    assert client.get("/_dash-layout").status_code == 200


def _overview(client: FlaskClient, status: dict[str, Any]) -> TestResponse:
    dep = {
        "output": "overview-content.children",
        "inputs": [
            {"id": "data-status", "property": "data"},
            {"id": "filters", "property": "data"},
        ],
        "state": [],
    }
    return client.post(UPDATE, json=callback_body(dep, Scenario(status, FILTERS[0], "/")))


def test_revoking_or_expiring_a_link_cuts_off_a_session_already_open(
    app: dash.Dash, warehouse: Engine
) -> None:
    status = data_status(signed_in(app.server))
    revoked, revoked_link, _ = open_link(app, warehouse)
    expired, expired_link, _ = open_link(app, warehouse)
    for client in (revoked, expired):
        first = _overview(client, status)
        assert first.status_code == 200 and b"card-contact_72h-value" in first.get_data()
    links.revoke(warehouse, revoked_link.id)
    _expire(warehouse, expired_link.id)
    for client in (revoked, expired):
        after = _overview(client, status)
        assert after.status_code in (401, 403)
        assert_no_data(after)
        assert client.get("/_dash-layout").status_code == 401
        assert client.get("/download/overview.csv").status_code == 401


def test_an_admin_revoking_on_the_admin_page_cuts_off_an_open_session(
    app: dash.Dash, warehouse: Engine
) -> None:
    status = data_status(signed_in(app.server))
    commissioner, link, _ = open_link(app, warehouse)
    assert _overview(commissioner, status).status_code == 200
    admin = signed_in(app.server, "admin")
    page = admin.get("/admin", headers=HTML)
    assert page.status_code == 200 and "BNSSG ICB" in page.get_data(as_text=True)
    done = admin.post(
        f"/admin/links/{link.id}/revoke", data={"csrf_token": csrf_of(page.get_data(as_text=True))}
    )
    assert done.status_code == 303
    assert links.get(warehouse, link.id).revoked is not None  # type: ignore[union-attr]
    after = _overview(commissioner, status)
    assert after.status_code in (401, 403)
    assert_no_data(after)


def test_link_uses_are_counted_and_logged_with_the_path_and_no_address(
    app: dash.Dash, warehouse: Engine
) -> None:
    client, link, token = open_link(app, warehouse, REMOTE_ADDR="203.0.113.77")
    status = data_status(client)
    assert client.get("/timeliness", headers=HTML).status_code == 200
    assert client.get("/download/overview.csv").status_code == 200
    assert _overview(client, status).status_code == 200  # a page's own callback: not a use
    after = links.get(warehouse, link.id)
    assert after is not None and after.uses == 3
    assert after.last_used is not None and after.last_used >= link.created
    rows = table_rows(warehouse, "link_use", "use_id")
    assert [r["link_id"] for r in rows] == [link.id] * 3
    assert rows[0]["path"].startswith(links.PREFIX.rstrip("/"))
    assert [r["path"] for r in rows[1:]] == ["/timeliness", "/download/overview.csv"]
    assert all(r["used_at"] is not None for r in rows)
    assert set(rows[0]) == {"use_id", "link_id", "used_at", "path"}
    for table in ("link_use", "share_link"):
        kept = repr(table_rows(warehouse, table))
        assert "203.0.113.77" not in kept and token not in kept
