"""Shared fixtures: a fresh warehouse on every backend, and helpers to load files into it.

Backends come from SIS_TEST_BACKENDS (default "sqlite,postgresql"). PostgreSQL is the machine's
server at SIS_TEST_POSTGRES_URL; every test gets its own schema, dropped afterwards. A backend
that was asked for but is unreachable FAILS the test: it is never skipped silently.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from etl import runner
from etl.db import make_engine, upgrade

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
SAMPLE_EXPORTED_AT = dt.datetime(2025, 6, 15, 17, 5)
PG_URL = os.environ.get(
    "SIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [b for b in os.environ.get("SIS_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIS_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SIS_PSEUDONYM_KEY", "test-key-not-secret")
    monkeypatch.setenv("SIS_SECRET_KEY", "test-session-key-not-secret")
    monkeypatch.delenv("SIS_ENV", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SIS_INBOX", raising=False)


def _pg_engine(schema: str) -> Engine:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated warehouse on each configured backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = _pg_engine(schema)
    upgrade(eng)
    yield eng
    eng.dispose()
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def load(engine: Engine):  # noqa: ANN201
    """load(*paths, exported_at=..., profile=...) -> list of FileReport."""

    def _load(
        *paths: Path, exported_at: dt.datetime | None = SAMPLE_EXPORTED_AT, profile: str = "default"
    ) -> list:
        return runner.run(engine, list(paths), profile, exported_at)

    return _load


@pytest.fixture
def samples() -> list[Path]:
    return [
        SAMPLES / n for n in ("referrals_basic.csv", "contacts_report.xlsx", "feedback_cp1252.csv")
    ]


def table_rows(engine: Engine, table: str, order: str = "") -> list[dict]:
    with engine.connect() as conn:
        sql = f"SELECT * FROM {table}" + (f" ORDER BY {order}" if order else "")
        return [dict(r._mapping) for r in conn.execute(text(sql))]


def write_csv(path: Path, text_: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text_.encode(encoding))
    return path


def signed_in(flask_app, role: str = "manager", name: str | None = None):  # noqa: ANN001, ANN201
    """A test client of `flask_app` with a session of a new account of `role` (the warehouse at
    DATABASE_URL), made the way the sign-in route makes it."""
    import time

    from dashboard import data
    from dashboard.access import accounts

    account = accounts.add(data.engine(), name or f"{role}-{time.monotonic_ns()}", role, "x" * 16)
    client = flask_app.test_client()
    with client.session_transaction() as session:
        session.update(
            kind="user", uid=account.user_id, epoch=account.session_epoch, seen=int(time.time())
        )
    return client
