"""Each referral's KPI facts, derived once at load, and the daily appointment counts.

A load touches some referrals (the "affected" set: every referral id in the staged file, and the
old referral of any contact the file re-points). Inside the file's transaction:

- ``before_merge`` records the affected set and subtracts their current appointments from
  ``activity_day``;
- ``after_merge`` adds their appointments back as they now are, and re-derives their rows in
  ``referral_fact`` (deleted and written again).

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

from etl import cube
from etl.fact_rows import derive
from etl.models import ActivityDay, EtlFile, ReferralCube, ReferralFact
from etl.schema import APPOINTMENT_TYPES
from etl.stage import bulk_insert

ATTENDED = ("attended", "late_seen")
CONTACT_METHODS = ("face_to_face", "telephone", "video", "talk_type")
_AFFECTING = {"referrals", "contacts", "outcomes"}
_MART = {"referrals": "referral", "contacts": "contact", "outcomes": "outcome"}


def _in(values: tuple[str, ...] | frozenset[str]) -> str:
    """A constant IN list (fixed code values, never user input)."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


_APPT, _ATT = _in(APPOINTMENT_TYPES), _in(ATTENDED)
_COUNTED = "(r.status IS NULL OR r.status <> 'duplicate')"
_CUBE_SUMS = {
    "appointments": "TRUE",
    "attended": f"c.outcome IN {_ATT}",
    "dna": "c.outcome = 'dna'",
    "late_not_seen": "c.outcome = 'late_not_seen'",
    "cancelled_by_client": "c.outcome = 'cancelled_by_client'",
    "cancelled_by_service": "c.outcome = 'cancelled_by_service'",
    "peer_timed": f"c.contact_type = 'peer_session' AND c.outcome IN {_ATT} "
    "AND c.duration_minutes IS NOT NULL",
    "peer_90": f"c.contact_type = 'peer_session' AND c.outcome IN {_ATT} "
    "AND c.duration_minutes >= 80",
}
_CUBE_KEY = ("activity_on", "referral_source", "contact_type", "practitioner")


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
            "WHERE c.referral_id NOT IN (SELECT referral_id FROM kpi_affected)"
        )
    _analyze(conn, "kpi_affected")
    if entity != "outcomes":
        _create_delta(conn)
        _add_contributions(conn, sign=-1)


def after_merge(conn: Connection, entity: str, exported_at: dt.datetime) -> None:
    """After the merge of a file exported at `exported_at` (UTC)."""
    watermark = max(filter(None, (_newest_export(conn), exported_at)))
    if entity not in _AFFECTING:  # the newest export time still moves on: more is settled
        cube.advance(conn, watermark)
        return
    _analyze(conn, _MART[entity])
    if entity != "outcomes":
        _add_contributions(conn, sign=1)
        _apply_delta(conn)
    _refresh_referral_facts(conn, watermark)


def rebuild(conn: Connection) -> None:
    """Derive every fact from the marts again (migrations, and the equality test)."""
    for table in (ActivityDay, ReferralFact, ReferralCube):
        conn.execute(table.__table__.delete())
    _create_affected(conn)
    conn.exec_driver_sql("INSERT INTO kpi_affected (referral_id) SELECT referral_id FROM referral")
    _analyze(conn, "kpi_affected")
    _create_delta(conn)
    _add_contributions(conn, sign=1)
    _apply_delta(conn)
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


def _create_delta(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS kpi_delta")
    sums = ", ".join(f"{name} INTEGER" for name in _CUBE_SUMS)
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE kpi_delta (activity_on DATE, referral_source VARCHAR(16), "
        f"contact_type VARCHAR(16), practitioner VARCHAR(100), {sums})"
    )


def _add_contributions(conn: Connection, sign: int) -> None:
    """The affected referrals' appointments, grouped by the cube's key, times `sign`."""
    sums = ", ".join(
        f"{sign} * SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in _CUBE_SUMS.values()
    )
    conn.exec_driver_sql(
        f"INSERT INTO kpi_delta ({', '.join(_CUBE_KEY)}, {', '.join(_CUBE_SUMS)}) "
        "SELECT c.activity_on, r.referral_source, c.contact_type, "
        f"COALESCE(c.practitioner, '') AS practitioner, {sums} "
        "FROM contact c JOIN referral r ON r.referral_id = c.referral_id "
        "WHERE c.referral_id IN (SELECT referral_id FROM kpi_affected) "
        f"AND {_COUNTED} AND c.contact_type IN {_APPT} "
        "GROUP BY c.activity_on, r.referral_source, c.contact_type, COALESCE(c.practitioner, '')"
    )


def _apply_delta(conn: Connection) -> None:
    key = ", ".join(_CUBE_KEY)
    names = ", ".join(_CUBE_SUMS)
    sums = ", ".join(f"SUM({n})" for n in _CUBE_SUMS)
    updates = ", ".join(f"{n} = activity_day.{n} + excluded.{n}" for n in _CUBE_SUMS)
    conn.exec_driver_sql(
        f"INSERT INTO activity_day ({key}, {names}) SELECT {key}, {sums} FROM kpi_delta "
        f"WHERE TRUE GROUP BY {key} ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql("DELETE FROM activity_day WHERE appointments = 0")
    conn.exec_driver_sql("DROP TABLE kpi_delta")


_FACTS_SQL = f"""
WITH span AS (
    SELECT referral_id, MIN(administered_on) AS first_on, MAX(administered_on) AS last_on
    FROM outcome
    WHERE measure = 'core10' AND score IS NOT NULL
      AND referral_id IN (SELECT referral_id FROM kpi_affected)
    GROUP BY referral_id
), core10 AS (
    SELECT s.referral_id, s.first_on, s.last_on, f.score AS first_score, l.score AS last_score
    FROM span s
    JOIN outcome f ON f.referral_id = s.referral_id AND f.measure = 'core10'
        AND f.administered_on = s.first_on
    JOIN outcome l ON l.referral_id = s.referral_id AND l.measure = 'core10'
        AND l.administered_on = s.last_on
)
SELECT r.referral_id, r.received_at, r.received_date, r.time_known, r.referral_source,
       r.age_band, r.gender, r.ethnicity, r.postcode_district, r.status, r.discharged_on,
       c.first_contact_at, c.first_attempt_at, c.first_appt_at, c.first_attended_at, c.sessions,
       o.first_on, o.last_on, o.first_score, o.last_score
FROM referral r
LEFT JOIN (
    SELECT referral_id,
        MIN(CASE WHEN outcome IN {_ATT} AND method IN {_in(CONTACT_METHODS)}
            THEN COALESCE(occurred_at, scheduled_at) END) AS first_contact_at,
        MIN(CASE WHEN outcome <> 'future'
            THEN COALESCE(occurred_at, scheduled_at) END) AS first_attempt_at,
        MIN(CASE WHEN contact_type IN {_APPT} AND outcome <> 'cancelled_by_service'
            THEN COALESCE(scheduled_at, occurred_at) END) AS first_appt_at,
        MIN(CASE WHEN contact_type IN {_APPT} AND outcome IN {_ATT}
            THEN COALESCE(scheduled_at, occurred_at) END) AS first_attended_at,
        SUM(CASE WHEN contact_type IN {_APPT} AND outcome IN {_ATT} THEN 1 ELSE 0 END)
            AS sessions
    FROM contact
    WHERE referral_id IN (SELECT referral_id FROM kpi_affected)
    GROUP BY referral_id
) c ON c.referral_id = r.referral_id
LEFT JOIN core10 o ON o.referral_id = r.referral_id
WHERE r.referral_id IN (SELECT referral_id FROM kpi_affected) AND {_COUNTED}
"""
_BATCH = 100_000
_LARGE = 10_000  # a refresh rewriting this many referrals, and a quarter of them, is "large"
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
    """The affected referrals' rows of _FACTS_SQL, a batch at a time, as frames of object
    columns: straight from the driver's cursor (server-side on PostgreSQL, so memory stays
    flat), without per-row result objects or per-column type inference (the derivation
    converts what it needs)."""
    raw = conn.connection.driver_connection
    named = {"name": "kpi_facts"} if conn.dialect.name == "postgresql" else {}
    cur = raw.cursor(**named)
    try:
        cur.execute(_FACTS_SQL)
        columns = [d[0] for d in cur.description]
        while rows := cur.fetchmany(_BATCH):
            values = np.empty((len(rows), len(columns)), dtype=object)
            values[:] = rows
            yield pd.DataFrame({name: values[:, i] for i, name in enumerate(columns)})
    finally:
        cur.close()


def _drop_unchanged(conn: Connection) -> None:
    """Affected referrals whose derived row equals the stored one are left alone: taken out of
    kpi_affected and kpi_fact_new (their cube contributions are the same)."""
    same = " IS NOT DISTINCT FROM " if conn.dialect.name == "postgresql" else " IS "
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
    are replaced in referral_fact and re-enter the cube with their new; then every other
    referral settled by `watermark` (the newest export time) joins it. When a load rewrites a
    large share of the referrals, the indexes and the cube are built afresh instead."""
    stored = conn.exec_driver_sql("SELECT COUNT(*) FROM referral_fact").scalar() or 0
    indexes = list(ReferralFact.__table__.indexes)
    if stored:
        new = _staged_facts(conn)
    else:  # nothing stored yet: the derived rows go straight in, the indexes built after
        new = ReferralFact.__table__
        for index in indexes:
            index.drop(conn)
    for frame in _derived_batches(conn):
        bulk_insert(conn, new, derive(frame, watermark))
    large = not stored
    if not stored:
        conn.execute(ReferralCube.__table__.delete())
        cube.add_all(conn)
    else:
        _analyze(conn, "kpi_fact_new", "referral_fact")
        _drop_unchanged(conn)
        changed = conn.exec_driver_sql("SELECT COUNT(*) FROM kpi_affected").scalar() or 0
        large = changed >= min(_BATCH, _LARGE) and changed * 4 >= stored
        if large:
            conn.execute(ReferralCube.__table__.delete())
            for index in indexes:
                index.drop(conn)
        else:
            cube.move(conn, -1)
        conn.exec_driver_sql(
            "DELETE FROM referral_fact WHERE referral_id IN (SELECT referral_id FROM kpi_affected)"
        )
        cols = ", ".join(_FACT_COLUMNS)
        conn.exec_driver_sql(f"INSERT INTO referral_fact ({cols}) SELECT {cols} FROM kpi_fact_new")
        conn.exec_driver_sql("DROP TABLE kpi_fact_new")
        if large:
            cube.add_all(conn)
        else:
            cube.move(conn, 1)
    conn.exec_driver_sql("DROP TABLE kpi_affected")
    cube.advance(conn, watermark)
    if large:
        for index in indexes:
            index.create(conn)
