"""Bulk staging: validated rows into a temporary table by the database's fastest path.

PostgreSQL gets ``COPY ... FROM STDIN``; SQLite gets one ``executemany`` inside the file's
transaction. Never row-by-row ORM inserts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
)

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


def _each_distinct(values: np.ndarray, fmt: Callable[[np.ndarray], object]) -> np.ndarray:
    """fmt(distinct values), spread back over `values` as objects; None where one is blank."""
    codes, uniques = pd.factorize(values)
    out = np.empty(len(uniques) + 1, dtype=object)
    out[:-1] = fmt(uniques)
    out[-1] = None  # code -1: a blank
    return out[codes]


def _iso_text(values: pd.Series, as_date: bool) -> np.ndarray:
    """datetime64 -> 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS.ffffff' (None for NaT), each
    distinct value formatted once."""

    def iso(uniques: np.ndarray) -> np.ndarray:
        text = np.datetime_as_string(uniques, unit="D" if as_date else "us")
        if not as_date and len(text):  # the 'T' between date and time becomes a space
            text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")
        return text

    return _each_distinct(values.to_numpy("datetime64[us]"), iso)


def _sqlite_column(values: pd.Series, sql_type: object) -> np.ndarray:
    """One column as Python values sqlite3 takes: None for blanks, datetimes and dates as the
    ISO text SQLAlchemy itself stores (so comparisons with its own values hold)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _iso_text(values, isinstance(sql_type, Date) and not isinstance(sql_type, DateTime))
    out = values.astype(object).to_numpy(copy=True)
    out[pd.isna(values).to_numpy()] = None
    if isinstance(sql_type, Date):  # date objects: each distinct day formatted once
        return _each_distinct(out, lambda days: [d.isoformat() for d in days])
    return out


class Stager:
    """Appends frames to the staging table over the connection's own transaction."""

    def __init__(self, conn: Connection, table: Table, exported_at: dt.datetime) -> None:
        self.conn = conn
        self.table = table
        self.exported_at = exported_at

    def write(self, frame: pd.DataFrame) -> None:
        frame = frame.assign(exported_at=pd.Timestamp(self.exported_at), orphan=False)
        bulk_insert(self.conn, self.table, frame)


def _csv(frame: pd.DataFrame) -> bytes | str:
    """The rows as CSV for COPY, written by Arrow (several times faster than pandas). Blanks
    and empty text are unquoted empty fields, which COPY reads as NULL, as pandas wrote them;
    a frame Arrow cannot type goes through pandas."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return frame.to_csv(index=False, header=False)
    columns = [
        pc.if_else(pc.equal(col, ""), pa.scalar(None, col.type), col)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        else col
        for col in table.columns
    ]
    out = pa.BufferOutputStream()
    pacsv.write_csv(
        pa.table(columns, names=table.column_names), out, pacsv.WriteOptions(include_header=False)
    )
    return out.getvalue().to_pybytes()


def bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Append a frame's rows (its columns named as the table's) by the fastest path:
    COPY on PostgreSQL, one executemany on SQLite; in the connection's transaction."""
    if frame.empty:
        return
    names = [c.name for c in table.columns if c.name in frame.columns]
    raw = conn.connection.driver_connection
    cols = ", ".join(names)
    if conn.dialect.name == "postgresql":  # CSV text straight into COPY: blanks are NULL
        sql = f"COPY {table.name} ({cols}) FROM STDIN WITH (FORMAT csv)"
        with raw.cursor() as cur, cur.copy(sql) as cp:
            cp.write(_csv(frame[names]))
        return
    columns = [_sqlite_column(frame[c], table.c[c].type) for c in names]
    rows = list(zip(*columns, strict=True))
    marks = ", ".join("?" for _ in names)
    cur = raw.cursor()
    cur.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", rows)
    cur.close()
