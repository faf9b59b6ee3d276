"""The SQL behind the facts derived at load (etl/facts.py): the per-referral minima the
derivation starts from, and the daily appointment counts (activity_day) kept by deltas."""

from __future__ import annotations

from sqlalchemy import Connection

from etl.schema import APPOINTMENT_TYPES

ATTENDED = ("attended", "late_seen")
CONTACT_METHODS = ("face_to_face", "telephone", "video", "talk_type")


def _in(values: tuple[str, ...] | frozenset[str]) -> str:
    """A constant IN list (fixed code values, never user input)."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


_APPT, _ATT = _in(APPOINTMENT_TYPES), _in(ATTENDED)
_COUNTED = "(r.status IS NULL OR r.status <> 'duplicate')"
CUBE_SUMS = {
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
CUBE_KEY = ("activity_on", "referral_source", "contact_type", "practitioner")


def create_delta(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS kpi_delta")
    sums = ", ".join(f"{name} INTEGER" for name in CUBE_SUMS)
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE kpi_delta (activity_on DATE, referral_source VARCHAR(16), "
        f"contact_type VARCHAR(16), practitioner VARCHAR(100), {sums})"
    )


def add_contributions(conn: Connection, sign: int) -> None:
    """The affected referrals' appointments, grouped by the cube's key, times `sign`."""
    sums = ", ".join(
        f"{sign} * SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in CUBE_SUMS.values()
    )
    conn.exec_driver_sql(
        f"INSERT INTO kpi_delta ({', '.join(CUBE_KEY)}, {', '.join(CUBE_SUMS)}) "
        "SELECT c.activity_on, r.referral_source, c.contact_type, "
        f"COALESCE(c.practitioner, '') AS practitioner, {sums} "
        "FROM contact c JOIN referral r ON r.referral_id = c.referral_id "
        "WHERE c.referral_id IN (SELECT referral_id FROM kpi_affected) "
        f"AND {_COUNTED} AND c.contact_type IN {_APPT} "
        "GROUP BY c.activity_on, r.referral_source, c.contact_type, COALESCE(c.practitioner, '')"
    )


def apply_delta(conn: Connection) -> None:
    key = ", ".join(CUBE_KEY)
    names = ", ".join(CUBE_SUMS)
    sums = ", ".join(f"SUM({n})" for n in CUBE_SUMS)
    updates = ", ".join(f"{n} = activity_day.{n} + excluded.{n}" for n in CUBE_SUMS)
    conn.exec_driver_sql(
        f"INSERT INTO activity_day ({key}, {names}) SELECT {key}, {sums} FROM kpi_delta "
        f"WHERE TRUE GROUP BY {key} ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql("DELETE FROM activity_day WHERE appointments = 0")
    conn.exec_driver_sql("DROP TABLE kpi_delta")


FACTS_SQL = f"""
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
