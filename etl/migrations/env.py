"""Alembic environment: the engine is handed over by `etl.db.upgrade`."""

from alembic import context

import etl.models_access  # noqa: F401  (its tables are part of the metadata)
from etl.db import make_engine
from etl.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
