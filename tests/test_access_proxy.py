"""Behind a reverse proxy (SIS_TRUSTED_PROXIES): rate limiting keys on the client's address from
X-Forwarded-For; without the setting the header is not trusted (anyone could forge it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dashboard import data
from etl.models_access import LoginFailure
from tests.test_access_login import sign_in
from tests.test_access_security import start_app


def _failed_from(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    client = start_app(engine, tmp_path, monkeypatch).server.test_client()
    response = sign_in(client, "nobody", "wrong password", **{"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 401
    with data.engine().connect() as conn:
        return conn.execute(select(LoginFailure.address)).scalar_one()


def test_one_trusted_proxy_gives_the_clients_address(engine, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SIS_TRUSTED_PROXIES", "1")
    assert _failed_from(engine, tmp_path, monkeypatch) == "203.0.113.9"


def test_without_the_setting_a_forwarded_address_is_ignored(engine, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SIS_TRUSTED_PROXIES", raising=False)
    assert _failed_from(engine, tmp_path, monkeypatch) == "127.0.0.1"
