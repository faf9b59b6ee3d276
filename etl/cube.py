"""``referral_cube``: the settled referrals' counts, kept up to date at load, so that a report at
the newest export time adds up a few thousand cube rows instead of scanning every referral.

A referral is *settled* from ``referral_fact.settled_at`` on: from then its contribution to every
referral measure no longer depends on as_of (it has matured, been contacted or closed, and its
week for an appointment is over). Referrals that can still be waiting (open, never contacted,
not discharged) are never settled. Each load, in the file's transaction:

1. ``move(-1)`` takes the affected referrals that are in the cube out of it (old facts);
2. their facts are derived again, ``in_cube`` when settled by the newest export time;
3. ``move(+1)`` puts those back in with their new facts, and ``advance`` adds every other
   referral that the newest export time has settled.

So the cube always equals the sum over ``referral_fact`` rows with ``in_cube`` true, which holds
only referrals settled at or before the newest export time: a report whose as_of is at least that
time may use it; an earlier as_of computes from ``referral_fact`` alone (kpi/groups.py).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Connection, DateTime, bindparam, text

# Each grain: (period, the key's other columns, which referrals) over referral_fact f. Key
# columns a grain does not use hold '' (or -1 for sessions).
GRAINS = {
    "received": (
        "f.received_month",
        "f.age_band, f.gender, f.ethnic_group, '', -1",
        "TRUE",
    ),
    "received_district": (
        "f.received_month",
        "'', '', '', f.postcode_district, -1",
        "TRUE",
    ),
    "discharged": (
        "f.discharged_month",
        "f.age_band, f.gender, f.ethnic_group, '', -1",
        "f.discharged_on IS NOT NULL",
    ),
    "discharged_district": (
        "f.discharged_month",
        "'', '', '', f.postcode_district, -1",
        "f.discharged_on IS NOT NULL",
    ),
    "sessions": (
        "f.discharged_month",
        "'', '', '', '', f.sessions",
        "f.discharged_on IS NOT NULL",
    ),
}
KEY = (
    "grain",
    "period",
    "referral_source",
    "age_band",
    "gender",
    "ethnic_group",
    "postcode_district",
    "sessions",
)
# Minutes to first contact, counted in buckets starting at these bounds (3-hourly to 72 hours,
# then 96 hours and a week), so that a percentile walk starts at its bucket (kpi/minutes.py).
MINUTE_BOUNDS = tuple(range(0, 72 * 60, 180)) + (72 * 60, 96 * 60, 168 * 60)


def minute_bucket(i: int, column: str = "f.contact_minutes") -> str:
    """SQL condition: `column` falls in bucket i."""
    low = f"{column} >= {MINUTE_BOUNDS[i]}"
    if i + 1 == len(MINUTE_BOUNDS):
        return low
    return f"{low} AND {column} < {MINUTE_BOUNDS[i + 1]}"


# What a settled referral contributes (its figures at any as_of after settled_at).
SUMS = {
    "referrals": "TRUE",
    "contact_72h_num": "f.contact_within",
    "contact_72h_den": "TRUE",
    "contact_attempt_72h_num": "f.attempt_within",
    "contact_attempt_72h_den": "TRUE",
    "appt_offered_7d_num": "f.appt_within",
    "appt_offered_7d_den": "TRUE",
    "appt_attended_7d_num": "f.attended_within",
    "appt_attended_7d_den": "TRUE",
    "ethnicity_known": "f.ethnic_group <> 'not_known'",
    "gender_known": "f.gender NOT IN ('X', 'Z')",
    "age_known": "f.age_band <> 'not_known'",
    "time_known": "f.time_known",
    "hours_n": "f.contact_minutes IS NOT NULL",
    **{f"minutes_b{i}": minute_bucket(i) for i in range(len(MINUTE_BOUNDS))},
    "core10_den": "f.core10_pair",
    "core10_num": "f.core10_improved",
}


_DISCHARGE_SUMS = ("referrals", "core10_den", "core10_num", "sessions_total")


def _used(grain: str, name: str) -> bool:
    """Whether a grain's rows are read for this sum (the others are stored as 0)."""
    if grain.startswith("received"):
        return name not in _DISCHARGE_SUMS[1:]
    if grain == "sessions":
        return name == "referrals"
    return name in _DISCHARGE_SUMS


def _reads(grain: str) -> set[str]:
    """The referral_fact columns a grain's rows are worked out from."""
    period, dims, where = GRAINS[grain]
    used = [SUMS[n] for n in SUMS if _used(grain, n)]
    used += ["f.sessions"] if _used(grain, "sessions_total") else []
    return set(re.findall(r"\bf\.(\w+)", " ".join([period, dims, where, *used])))


def _contributions(
    conn: Connection, sign: int, where: str, params: dict, columns: set[str] | None = None
) -> None:
    names = [*SUMS, "sessions_total"]
    for grain, (period, dims, grain_where) in GRAINS.items():
        if columns is not None and not (_reads(grain) | {"referral_source", "in_cube"}) & columns:
            continue  # nothing this grain reads changed: its rows would not change
        sums = ", ".join(
            "0"
            if not _used(grain, name)
            else f"{sign} * SUM(f.sessions)"
            if name == "sessions_total"
            else f"{sign} * SUM(CASE WHEN {SUMS[name]} THEN 1 ELSE 0 END)"
            for name in names
        )
        keys = f"'{grain}', {period}, f.referral_source, {dims}"
        group = ", ".join(k for k in keys.split(", ") if k.startswith("f."))  # not constants
        stmt = text(
            f"INSERT INTO kpi_cube_delta ({', '.join(KEY)}, {', '.join(names)}) "
            f"SELECT {keys}, {sums} FROM referral_fact f "
            f"WHERE {where} AND {grain_where} GROUP BY {group}"
        )
        if "w" in params:
            stmt = stmt.bindparams(bindparam("w", type_=DateTime))
        conn.execute(stmt, params)


def _apply(conn: Connection) -> None:
    key, names = ", ".join(KEY), [*SUMS, "sessions_total"]
    sums = ", ".join(f"SUM({n})" for n in names)
    updates = ", ".join(f"{n} = referral_cube.{n} + excluded.{n}" for n in names)
    conn.exec_driver_sql(
        f"INSERT INTO referral_cube ({key}, {', '.join(names)}) SELECT {key}, {sums} "
        f"FROM kpi_cube_delta WHERE TRUE GROUP BY {key} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql("DELETE FROM referral_cube WHERE referrals = 0")
    conn.exec_driver_sql("DROP TABLE kpi_cube_delta")


def _delta_table(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS kpi_cube_delta")
    sums = ", ".join(f"{n} INTEGER" for n in [*SUMS, "sessions_total"])
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE kpi_cube_delta (grain VARCHAR(20), period VARCHAR(7), "
        "referral_source VARCHAR(16), age_band VARCHAR(9), gender VARCHAR(2), "
        f"ethnic_group VARCHAR(9), postcode_district VARCHAR(9), sessions INTEGER, {sums})"
    )


def move(conn: Connection, sign: int, columns: set[str] | None = None) -> None:
    """Add (+1) or take out (-1) the affected referrals (temp table kpi_affected) that are
    marked as counted in the cube. With `columns` (the only fact columns that differ between
    the rows of the two moves, every referral being in both), grains that read none of them
    are left out of both moves, which would cancel there."""
    _delta_table(conn)
    where = "f.in_cube AND f.referral_id IN (SELECT referral_id FROM kpi_affected)"
    _contributions(conn, sign, where, {}, columns)
    _apply(conn)


def add_all(conn: Connection) -> None:
    """Fill an emptied cube with every referral marked as counted in it."""
    _delta_table(conn)
    _contributions(conn, 1, "f.in_cube", {})
    _apply(conn)


def advance(conn: Connection, watermark: dt.datetime) -> None:
    """Add every other referral settled by `watermark` (the newest export time) to the cube."""
    _delta_table(conn)
    where = "NOT f.in_cube AND f.settled_at <= :w"
    _contributions(conn, 1, where, {"w": watermark})
    _apply(conn)
    update = text("UPDATE referral_fact SET in_cube = :t WHERE NOT in_cube AND settled_at <= :w")
    conn.execute(update.bindparams(bindparam("w", type_=DateTime)), {"t": True, "w": watermark})
