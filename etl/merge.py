"""The merge: staged rows against the mart, in SQL that runs on SQLite and PostgreSQL alike.

Order: conflicting duplicates quarantined, identical duplicates collapsed, checks that need the
referral, orphans found, then insert / update / unchanged by key and row hash. A newer export
wins; an older export never overwrites a newer one (it counts as unchanged, with a warning).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, text

from etl.models import LoadWarning, Quarantine
from etl.validate import KEYS, MART_COLUMNS

CONFLICT = (
    "Another row in this file has the same key with different values; both are held back "
    "until the export is corrected."
)
BEFORE_REFERRAL = "The contact happened more than an hour before its referral was received."
ALLOWED_EARLY = dt.timedelta(hours=1)


@dataclass
class MergeCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    orphans: int = 0
    linked: int = 0
    reasons: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)


def _scalar(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(text(sql), params).scalar() or 0)


def _quarantine(
    conn: Connection,
    file_id: int,
    entity: str,
    code: str,
    reason: str,
    rows: list[tuple],
    column: str | None = None,
) -> None:
    """Quarantine (source row, record key) pairs under one reason."""
    if rows:
        conn.execute(
            Quarantine.__table__.insert(),
            [
                {
                    "file_id": file_id,
                    "entity": entity,
                    "source_row": row,
                    "record_key": key,
                    "reason_code": code,
                    "reason": reason,
                    "column_name": column,
                    "value": None,
                }
                for row, key in rows
            ],
        )


def merge(conn: Connection, entity: str, stg: Table, mart: Table, file_id: int) -> MergeCounts:
    counts = MergeCounts()
    keys = KEYS[entity]
    k = ", ".join(keys)
    s, t = stg.name, mart.name
    on = " AND ".join(f"{t}.{c} = {s}.{c}" for c in keys)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {s}")

    # Only keys that occur more than once need the duplicate rules: find them in one pass.
    d = f"{s}_dup"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {d}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {d} AS SELECT {s}._row, {k}, {s}.row_hash FROM {s} "
        f"WHERE ({k}) IN (SELECT {k} FROM {s} GROUP BY {k} HAVING COUNT(*) > 1)"
    )

    # 1. Conflicting duplicates: the same key with different values; all of them quarantined.
    rows = conn.execute(
        text(
            f"SELECT _row, {keys[0]} FROM {d} WHERE ({k}) IN "
            f"(SELECT {k} FROM {d} GROUP BY {k} HAVING COUNT(DISTINCT row_hash) > 1)"
        )
    ).all()
    _quarantine(conn, file_id, entity, "conflicting_duplicate", CONFLICT, [tuple(r) for r in rows])
    counts.quarantined += len(rows)
    counts.reasons["conflicting_duplicate"] += len(rows)

    # 2. Identical duplicates: keep the first, count the rest as unchanged.
    extra = (
        conn.execute(
            text(
                f"SELECT _row FROM {d} WHERE ({k}) IN (SELECT {k} FROM {d} GROUP BY {k} "
                f"HAVING COUNT(DISTINCT row_hash) = 1) AND _row NOT IN "
                f"(SELECT MIN(_row) FROM {d} GROUP BY {k})"
            )
        )
        .scalars()
        .all()
    )
    counts.unchanged += len(extra)
    _delete_rows(conn, s, [r for r, _ in rows] + list(extra))
    conn.exec_driver_sql(f"DROP TABLE {d}")

    # 3. Checks that need the referral, and orphans.
    if entity == "contacts":
        early = _early_contacts(conn, f"{s} c", "_row")
        _quarantine(
            conn,
            file_id,
            entity,
            "before_referral",
            BEFORE_REFERRAL,
            [(row, cid) for cid, row in early],
            "occurred_at",
        )
        counts.quarantined += len(early)
        counts.reasons["before_referral"] += len(early)
        _delete_rows(conn, s, [r for _, r in early])
    values = {c: f"{s}.{c}" for c in [*MART_COLUMNS[entity], "row_hash", "exported_at"]}
    if entity != "referrals":  # computed where it is written: no rewrite of the staging table
        values["orphan"] = (
            f"({s}.referral_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM referral r WHERE r.referral_id = {s}.referral_id))"
        )
        counts.orphans = _scalar(conn, f"SELECT COUNT(*) FROM {s} WHERE {values['orphan']}")

    # 4. Against the mart: unchanged, stale (older export), updated, inserted.
    counts.unchanged += _scalar(
        conn, f"SELECT COUNT(*) FROM {s} JOIN {t} ON {on} WHERE {t}.row_hash = {s}.row_hash"
    )
    stale = conn.execute(
        text(
            f"SELECT {s}._row, {s}.{keys[0]} FROM {s} JOIN {t} ON {on} "
            f"WHERE {t}.row_hash <> {s}.row_hash AND {t}.exported_at > {s}.exported_at"
        )
    ).all()
    counts.unchanged += len(stale)
    if stale:
        counts.warnings["older_export"] += len(stale)
        conn.execute(
            LoadWarning.__table__.insert(),
            [
                {
                    "file_id": file_id,
                    "entity": entity,
                    "source_row": r[0],
                    "record_key": r[1],
                    "code": "older_export",
                    "column_name": None,
                    "message": "A newer export already changed this record, so this older row "
                    "was not applied.",
                }
                for r in stale
            ],
        )
    sets = ", ".join(f"{c} = {v}" for c, v in values.items() if c not in keys)
    counts.updated = conn.execute(
        text(
            f"UPDATE {t} SET {sets}, file_id = :fid FROM {s} WHERE {on} "
            f"AND {t}.row_hash <> {s}.row_hash AND {s}.exported_at >= {t}.exported_at"
        ),
        {"fid": file_id},
    ).rowcount
    counts.inserted = conn.execute(
        text(
            f"INSERT INTO {t} ({', '.join(values)}, file_id) "
            f"SELECT {', '.join(values.values())}, :fid FROM {s} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE {on})"
        ),
        {"fid": file_id},
    ).rowcount

    if entity == "referrals":
        _link_orphans(conn, s, file_id, counts)
    return counts


def _delete_rows(conn: Connection, s: str, rows: list[int]) -> None:
    """Delete staged rows by source row number in one pass over the staging table."""
    if not rows:
        return
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {s}_del")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {s}_del (_row INTEGER PRIMARY KEY)")
    conn.execute(text(f"INSERT INTO {s}_del (_row) VALUES (:r)"), [{"r": r} for r in rows])
    conn.exec_driver_sql(f"DELETE FROM {s} WHERE _row IN (SELECT _row FROM {s}_del)")
    conn.exec_driver_sql(f"DROP TABLE {s}_del")


def _early_contacts(conn: Connection, source: str, row: str, where: str = "TRUE") -> list:
    """(contact id, `row`) of contacts in `source` (aliased c) that occurred more than an hour
    before their referral was received (the exact hour is checked here, portably)."""
    rows = conn.execute(
        text(
            f"SELECT c.contact_id, {row}, c.occurred_at, r.received_at FROM {source} "
            f"JOIN referral r ON r.referral_id = c.referral_id "
            f"WHERE {where} AND c.occurred_at IS NOT NULL AND c.occurred_at < r.received_at"
        )
    ).all()
    return [(cid, r) for cid, r, occ, rec in rows if _as_dt(occ) < _as_dt(rec) - ALLOWED_EARLY]


def _as_dt(value: object) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def _link_orphans(conn: Connection, s: str, file_id: int, counts: MergeCounts) -> None:
    """Contacts of the referrals just loaded: checked against the referral as it now is (an
    orphan's referral has arrived; a referral's time may have been corrected), then orphans
    are linked."""
    early = _early_contacts(
        conn, "contact c", "NULL", f"c.referral_id IN (SELECT referral_id FROM {s})"
    )
    early_ids = [cid for cid, _ in early]
    if early_ids:
        reason = (
            f"{BEFORE_REFERRAL} (found when its referral arrived or changed; the contact was "
            "removed)"
        )
        _quarantine(
            conn,
            file_id,
            "contacts",
            "before_referral",
            reason,
            [(None, cid) for cid in early_ids],
            "occurred_at",
        )
        conn.execute(
            text("DELETE FROM contact WHERE contact_id = :c"), [{"c": c} for c in early_ids]
        )
        counts.warnings["orphan_failed_check"] += len(early_ids)
    for table in ("contact", "feedback", "outcome"):
        counts.linked += conn.execute(
            text(
                f"UPDATE {table} SET orphan = :f WHERE orphan "
                f"AND referral_id IN (SELECT referral_id FROM {s})"
            ),
            {"f": False},
        ).rowcount
