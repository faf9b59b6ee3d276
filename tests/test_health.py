"""/healthz: public, 200 with the newest load's age while the warehouse answers, 503 when it
cannot be reached; a signed-in request that cannot be checked gets 503 and no data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from dashboard import data
from dashboard.app import create_app
from etl import runner
from etl.demo import write_demo_exports
from tests.conftest import signed_in
from tests.test_dashboard_callbacks import _url

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"


@pytest.fixture
def server(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    runner.run(engine, sorted(write_demo_exports(tmp_path / "in", 60, seed=3)))
    monkeypatch.setenv("DATABASE_URL", _url(engine))
    monkeypatch.setenv("SIS_CACHE_DIR", str(tmp_path / "cache"))
    return create_app().server


def test_health_answers_without_a_session(server) -> None:
    response = server.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok" and body["last_run"] == "ok"
    assert body["data_as_of"].startswith("20") and body["data_age_hours"] > 0
    assert 0 <= body["last_load_age_hours"] < 1  # loaded by the fixture just now
    assert body["stale"] is (body["data_age_hours"] > 26)


def test_unreachable_warehouse_is_503_for_health_and_for_a_signed_in_page(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = signed_in(server)
    assert manager.post("/_dash-update-component", json={}).status_code != 503
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    data._engine_for.cache_clear()
    assert server.test_client().get("/healthz").status_code == 503
    page = manager.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert b"temporarily unavailable" in page.data
    assert server.test_client().get("/login").status_code == 200  # public pages still answer
