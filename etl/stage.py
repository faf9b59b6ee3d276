"""Bulk staging: validated rows into a temporary table by the database's fastest path.

PostgreSQL gets ``COPY ... FROM STDIN``; SQLite gets one ``executemany`` inside the file's
transaction. Never row-by-row ORM inserts.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import BigInteger, Boolean, Column, Connection, DateTime, Integer, MetaData, Table

from etl.models import MARTS
from etl.validate import MART_COLUMNS


def staging_table(entity: str) -> Table:
    mart = MARTS[entity]
    cols = [Column(name, mart.c[name].type) for name in MART_COLUMNS[entity]]
    return Table(
        f"stg_{entity}",
        MetaData(),
        *cols,
        Column("_row", Integer),
        Column("row_hash", BigInteger),
        Column("exported_at", DateTime),
        Column("orphan", Boolean),
        prefixes=["TEMPORARY"],
    )


def create(conn: Connection, table: Table) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
    table.create(conn)


def _sqlite_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class Stager:
    """Appends frames to the staging table over the connection's own transaction."""

    def __init__(self, conn: Connection, table: Table, exported_at: dt.datetime) -> None:
        self.conn = conn
        self.table = table
        self.exported_at = exported_at
        self.names = [c.name for c in table.columns]
        self.dialect = conn.dialect.name

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        frame = frame.assign(exported_at=self.exported_at, orphan=False)[self.names]
        frame = frame.astype(object).where(frame.notna(), None)
        raw = self.conn.connection.driver_connection
        if self.dialect == "postgresql":
            cols = ", ".join(self.names)
            with raw.cursor() as cur, cur.copy(f"COPY {self.table.name} ({cols}) FROM STDIN") as cp:
                for row in frame.itertuples(index=False, name=None):
                    cp.write_row(row)
            return
        rows = [tuple(map(_sqlite_value, row)) for row in frame.itertuples(index=False, name=None)]
        marks = ", ".join("?" for _ in self.names)
        cur = raw.cursor()
        cur.executemany(
            f"INSERT INTO {self.table.name} ({', '.join(self.names)}) VALUES ({marks})", rows
        )
        cur.close()
