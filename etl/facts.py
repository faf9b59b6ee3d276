"""Each referral's KPI facts, derived once at load, and the daily appointment counts.

A load touches some referrals (the "affected" set: every referral id in the staged file, and the
old referral of any contact the file re-points; of an outcomes file, those with CORE-10 rows).
Inside the file's transaction:

- ``before_merge`` records the affected set and subtracts their current appointments from
  ``activity_day``;
- ``after_merge`` adds their appointments back as they now are, and derives their rows of
  ``referral_fact`` again into a temporary table; only the referrals whose facts changed are
  written (the changed columns updated, rows that come or go inserted or deleted) and moved in
  ``referral_cube``.

So both tables always equal a full rebuild (``rebuild``), which a test checks. Aggregation is in
the database; Python only turns the per-referral minima into dates, hours and flags, by the
London calendar rules of kpis.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, MetaData, Table, func, select

from etl import cube, fact_sql
from etl.fact_rows import derive
from etl.models import ActivityDay, EtlFile, ReferralCube, ReferralFact
from etl.stage import bulk_insert

_AFFECTING = {"referrals", "contacts", "outcomes"}
_MART = {"referrals": "referral", "contacts": "contact", "outcomes": "outcome"}


def before_merge(conn: Connection, entity: str, stg: Table) -> None:
    if entity not in _AFFECTING:
        return
    _create_affected(conn)
    # Of the outcomes, only CORE-10 administrations enter the facts (a row's measure is part
    # of its key, so no stored CORE-10 row can change into another measure's).
    core10 = " AND measure = 'core10'" if entity == "outcomes" else ""
    conn.exec_driver_sql(
        f"INSERT INTO kpi_affected (referral_id) SELECT DISTINCT referral_id FROM {stg.name} "
        f"WHERE referral_id IS NOT NULL{core10}"
    )
    if entity == "contacts":  # a contact moved to another referral changes the old one too
        conn.exec_driver_sql(
            "INSERT INTO kpi_affected (referral_id) SELECT DISTINCT c.referral_id FROM contact c "
            f"JOIN {stg.name} s ON s.contact_id = c.contact_id "
            "WHERE c.referral_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM kpi_affected a WHERE a.referral_id = c.referral_id)"
        )
    _analyze(conn, "kpi_affected")
    if entity != "outcomes":
        fact_sql.create_delta(conn)
        fact_sql.add_contributions(conn, sign=-1)


def after_merge(conn: Connection, entity: str, exported_at: dt.datetime) -> None:
    """After the merge of a file exported at `exported_at` (UTC)."""
    watermark = max(filter(None, (_newest_export(conn), exported_at)))
    if entity not in _AFFECTING:  # the newest export time still moves on: more is settled
        cube.advance(conn, watermark)
        return
    _analyze(conn, _MART[entity])
    if entity != "outcomes":
        fact_sql.add_contributions(conn, sign=1)
        fact_sql.apply_delta(conn)
    _refresh_referral_facts(conn, watermark)


def rebuild(conn: Connection) -> None:
    """Derive every fact from the marts again (migrations, and the equality test)."""
    for table in (ActivityDay, ReferralFact, ReferralCube):
        conn.execute(table.__table__.delete())
    _create_affected(conn)
    conn.exec_driver_sql("INSERT INTO kpi_affected (referral_id) SELECT referral_id FROM referral")
    _analyze(conn, "kpi_affected")
    fact_sql.create_delta(conn)
    fact_sql.add_contributions(conn, sign=1)
    fact_sql.apply_delta(conn)
    # Before any load the cube stays empty (nothing is settled before an export exists).
    _refresh_referral_facts(conn, _newest_export(conn) or dt.datetime.min)


def _analyze(conn: Connection, *tables: str) -> None:
    """PostgreSQL: fresh planner statistics for tables this transaction has just filled
    (temporary tables are never analysed automatically, and a mart's statistics may predate the
    merge), so the facts queries are not planned for empty tables. Cheap: ANALYZE samples."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")


def _newest_export(conn: Connection) -> dt.datetime | None:
    newest = select(func.max(EtlFile.exported_at)).where(EtlFile.status == "loaded")
    return conn.execute(newest).scalar()


def _create_affected(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS kpi_affected")
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE kpi_affected (referral_id VARCHAR(64) PRIMARY KEY)"
    )


_BATCH = 100_000
_LARGE = 10_000  # fewer changed referrals than this never rebuild indexes or the cube
_FACT_COLUMNS = [c.name for c in ReferralFact.__table__.columns]


def _staged_facts(conn: Connection) -> Table:
    """A temporary, unindexed table of referral_fact's columns for the newly derived rows."""
    table = Table(
        "kpi_fact_new",
        MetaData(),
        *(Column(c.name, c.type) for c in ReferralFact.__table__.columns),
        prefixes=["TEMPORARY"],
    )
    conn.exec_driver_sql("DROP TABLE IF EXISTS kpi_fact_new")
    table.create(conn)
    return table


def _derived_batches(conn: Connection) -> Iterator[pd.DataFrame]:
    """The affected referrals' rows of fact_sql.FACTS_SQL, a batch at a time, as frames of object
    columns: straight from the driver's cursor (server-side on PostgreSQL, so memory stays
    flat), without per-row result objects or per-column type inference (the derivation
    converts what it needs)."""
    raw = conn.connection.driver_connection
    named = {"name": "kpi_facts"} if conn.dialect.name == "postgresql" else {}
    cur = raw.cursor(**named)
    try:
        cur.execute(fact_sql.FACTS_SQL)
        columns = [d[0] for d in cur.description]
        while rows := cur.fetchmany(_BATCH):
            values = np.empty((len(rows), len(columns)), dtype=object)
            values[:] = rows
            yield pd.DataFrame({name: values[:, i] for i, name in enumerate(columns)})
    finally:
        cur.close()


def _null_safe_equal(conn: Connection) -> str:
    """The operator for "equal, NULL equal to NULL" in this database."""
    return " IS NOT DISTINCT FROM " if conn.dialect.name == "postgresql" else " IS "


def _drop_unchanged(conn: Connection) -> None:
    """Affected referrals whose derived row equals the stored one are left alone: taken out of
    kpi_affected and kpi_fact_new (their cube contributions are the same)."""
    same = _null_safe_equal(conn)
    equal = " AND ".join(f"n.{c}{same}f.{c}" for c in _FACT_COLUMNS if c != "referral_id")
    conn.exec_driver_sql("DROP TABLE IF EXISTS kpi_same")
    conn.exec_driver_sql("CREATE TEMPORARY TABLE kpi_same (referral_id VARCHAR(64) PRIMARY KEY)")
    conn.exec_driver_sql(
        "INSERT INTO kpi_same (referral_id) SELECT n.referral_id FROM kpi_fact_new n "
        f"JOIN referral_fact f ON f.referral_id = n.referral_id WHERE {equal}"
    )
    for table in ("kpi_fact_new", "kpi_affected"):
        conn.exec_driver_sql(
            f"DELETE FROM {table} WHERE referral_id IN (SELECT referral_id FROM kpi_same)"
        )
    conn.exec_driver_sql("DROP TABLE kpi_same")


def _refresh_referral_facts(conn: Connection, watermark: dt.datetime) -> None:
    """Derive the affected referrals' facts again, a batch at a time (streamed, so memory stays
    flat however many a load touches), into a temporary table; referrals whose facts did not
    change are left as they are. The changed ones leave referral_cube with their old facts,
    get their new ones in referral_fact (only the columns that changed are written) and
    re-enter the cube; then every other referral settled by `watermark` (the newest export
    time) joins it. An index of referral_fact that a twentieth of its rows' entries would
    change in is built afresh (far cheaper than updating it row by row), and from a quarter of
    the referrals changed the cube too."""
    stored = conn.exec_driver_sql("SELECT COUNT(*) FROM referral_fact").scalar() or 0
    indexes = list(ReferralFact.__table__.indexes)
    if not stored:  # nothing stored yet: the derived rows go straight in, the indexes after
        rebuilt = indexes
        for index in rebuilt:
            index.drop(conn)
        for frame in _derived_batches(conn):
            bulk_insert(conn, ReferralFact.__table__, derive(frame, watermark))
        conn.execute(ReferralCube.__table__.delete())
        cube.add_all(conn)
    else:
        new = _staged_facts(conn)
        for frame in _derived_batches(conn):
            bulk_insert(conn, new, derive(frame, watermark))
        _analyze(conn, "kpi_fact_new", "referral_fact")
        _drop_unchanged(conn)
        changed = conn.exec_driver_sql("SELECT COUNT(*) FROM kpi_affected").scalar() or 0
        columns, updated, others = _differences(conn)
        many = changed >= min(_BATCH, _LARGE)
        rebuilt = [
            index
            for index in indexes
            if many
            and 20 * (others + (updated if {c.name for c in index.columns} & columns else 0))
            >= stored
        ]
        _replace_facts(conn, columns, rebuilt, many and changed * 4 >= stored, others == 0)
    conn.exec_driver_sql("DROP TABLE kpi_affected")
    cube.advance(conn, watermark)
    for index in rebuilt:
        index.create(conn)


def _differences(conn: Connection) -> tuple[set[str], int, int]:
    """(the columns that differ between the changed referrals' stored and new rows, how many
    rows are updated, how many are inserted or deleted)."""
    same = _null_safe_equal(conn)
    cols = [c for c in _FACT_COLUMNS if c != "referral_id"]
    flags = ", ".join(f"MAX(CASE WHEN n.{c}{same}f.{c} THEN 0 ELSE 1 END)" for c in cols)
    updated, *differ = conn.exec_driver_sql(
        f"SELECT COUNT(*), {flags} FROM kpi_fact_new n "
        "JOIN referral_fact f ON f.referral_id = n.referral_id"
    ).one()
    new = conn.exec_driver_sql("SELECT COUNT(*) FROM kpi_fact_new").scalar() or 0
    old = conn.exec_driver_sql(
        "SELECT COUNT(*) FROM referral_fact WHERE referral_id IN "
        "(SELECT referral_id FROM kpi_affected)"
    ).scalar()
    columns = {c for c, flag in zip(cols, differ, strict=True) if flag}
    return columns, updated, (new - updated) + ((old or 0) - updated)


def _replace_facts(
    conn: Connection, columns: set[str], drop: list, rebuild_cube: bool, only_updates: bool
) -> None:
    """The changed referrals (kpi_affected) get their new rows (kpi_fact_new): rows without
    new facts deleted, `columns` updated, new referrals inserted; `drop`'s indexes dropped
    first; the cube built again or moved by the difference (when every changed referral
    only has `columns` updated, only in the grains that read them)."""
    moved = columns if only_updates else None
    if rebuild_cube:
        conn.execute(ReferralCube.__table__.delete())
    else:
        cube.move(conn, -1, moved)
    for index in drop:
        index.drop(conn)
    # PostgreSQL runs a NOT IN whose list outgrows work_mem once per row, and SQLite a NOT
    # EXISTS over an unindexed table (a million referrals: minutes either way).
    gone = (
        "NOT EXISTS (SELECT 1 FROM kpi_fact_new n WHERE n.referral_id = referral_fact.referral_id)"
        if conn.dialect.name == "postgresql"
        else "referral_id NOT IN (SELECT referral_id FROM kpi_fact_new)"
    )
    conn.exec_driver_sql(
        "DELETE FROM referral_fact WHERE referral_id IN (SELECT referral_id FROM kpi_affected) "
        f"AND {gone}"
    )
    if columns:
        sets = ", ".join(f"{c} = n.{c}" for c in _FACT_COLUMNS if c in columns)
        conn.exec_driver_sql(
            f"UPDATE referral_fact SET {sets} FROM kpi_fact_new n "
            "WHERE referral_fact.referral_id = n.referral_id"
        )
    cols = ", ".join(_FACT_COLUMNS)
    conn.exec_driver_sql(
        f"INSERT INTO referral_fact ({cols}) SELECT {cols} FROM kpi_fact_new n WHERE NOT EXISTS "
        "(SELECT 1 FROM referral_fact f WHERE f.referral_id = n.referral_id)"
    )
    conn.exec_driver_sql("DROP TABLE kpi_fact_new")
    if rebuild_cube:
        cube.add_all(conn)
    else:
        cube.move(conn, 1, moved)
