"""Engine creation and schema migrations (one alembic history for SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from etl import settings

MIGRATIONS = Path(__file__).with_name("migrations")
# SQLite page cache (negative: KiB). Reports read little and keep memory low; a load's merge
# runs with the larger cache, so big merges stay in memory.
READ_CACHE, LOAD_CACHE = -16384, -131072


def make_engine(url: str | None = None) -> Engine:
    """An engine for the warehouse; SQLite gets WAL, foreign keys and a busy timeout."""
    url = url or settings.database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA cache_size={READ_CACHE}")  # loads raise it for their merge
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the warehouse schema up to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
