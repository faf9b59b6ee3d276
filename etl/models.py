"""The warehouse schema: marts with a stated grain, the run ledger and the quarantine.

All stored times are UTC (naive ``DateTime`` columns); dates are Europe/London calendar dates.
Nothing here holds a name, NHS number, full postcode, date of birth or free text.

Merge rule for every mart (dlt's "merge" disposition): the primary key identifies a record; a row
from a newer export replaces it when ``row_hash`` differs; an identical row leaves it unchanged;
an older export never overwrites a newer one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EtlRun(Base):
    """One row per ETL run (one `sis etl run` invocation)."""

    __tablename__ = "etl_run"
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed
    files: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class EtlFile(Base):
    """One row per file per run: what happened to it and why, in plain words."""

    __tablename__ = "etl_file"
    file_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("etl_run.run_id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str | None] = mapped_column(String(16))
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    exported_at_source: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # loaded | skipped | refused
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    orphans: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    report_json: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Quarantine(Base):
    """One row per failed check of a quarantined source row (a row may fail several checks)."""

    __tablename__ = "quarantine"
    quarantine_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("etl_file.file_id"), index=True)
    entity: Mapped[str] = mapped_column(String(16))
    source_row: Mapped[int | None] = mapped_column(Integer)
    record_key: Mapped[str | None] = mapped_column(String(200))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    column_name: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(200))  # never an identifying value


class LoadWarning(Base):
    """A data-quality warning: a value was dropped but its row was kept."""

    __tablename__ = "load_warning"
    warning_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("etl_file.file_id"), index=True)
    entity: Mapped[str] = mapped_column(String(16))
    source_row: Mapped[int | None] = mapped_column(Integer)
    record_key: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    column_name: Mapped[str | None] = mapped_column(String(64))


class _Loaded:
    """Columns every mart shares: change detection and lineage."""

    row_hash: Mapped[int] = mapped_column(BigInteger)
    exported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    file_id: Mapped[int] = mapped_column(Integer, index=True)


class Referral(_Loaded, Base):
    """Grain: one row per referral (episode)."""

    __tablename__ = "referral"
    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True)
    nhs_key: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    received_date: Mapped[dt.date] = mapped_column(Date, index=True)  # London date
    time_known: Mapped[bool] = mapped_column(Boolean)
    referral_source: Mapped[str] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(8))
    gender: Mapped[str | None] = mapped_column(String(2))
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    postcode_district: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(12))
    discharged_on: Mapped[dt.date | None] = mapped_column(Date)
    discharge_reason: Mapped[str | None] = mapped_column(String(16))


class Contact(_Loaded, Base):
    """Grain: one row per contact (appointment, session or attempt)."""

    __tablename__ = "contact"
    contact_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(64), index=True)
    contact_type: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC
    occurred_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC
    duration_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    method: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    practitioner: Mapped[str | None] = mapped_column(String(100))
    activity_on: Mapped[dt.date] = mapped_column(Date)  # London date occurred, else scheduled
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)


class Feedback(_Loaded, Base):
    """Grain: one row per feedback response (anonymous ones have no referral)."""

    __tablename__ = "feedback"
    response_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    referral_id: Mapped[str | None] = mapped_column(String(64), index=True)
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    fft_response: Mapped[str] = mapped_column(String(12))
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)


class Outcome(_Loaded, Base):
    """Grain: one row per administration of an outcome measure."""

    __tablename__ = "outcome"
    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure: Mapped[str] = mapped_column(String(12), primary_key=True)
    administered_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    item_1: Mapped[int | None] = mapped_column(SmallInteger)
    item_2: Mapped[int | None] = mapped_column(SmallInteger)
    item_3: Mapped[int | None] = mapped_column(SmallInteger)
    item_4: Mapped[int | None] = mapped_column(SmallInteger)
    item_5: Mapped[int | None] = mapped_column(SmallInteger)
    item_6: Mapped[int | None] = mapped_column(SmallInteger)
    item_7: Mapped[int | None] = mapped_column(SmallInteger)
    item_8: Mapped[int | None] = mapped_column(SmallInteger)
    item_9: Mapped[int | None] = mapped_column(SmallInteger)
    item_10: Mapped[int | None] = mapped_column(SmallInteger)
    score: Mapped[float | None] = mapped_column(Float)
    prorated: Mapped[bool] = mapped_column(Boolean, default=False)
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)


class ReferralFact(Base):
    """Grain: one row per COUNTED referral (status not duplicate): its KPI facts, derived at
    load (etl/facts.py) so that every referral measure is a plain aggregate over this table.

    Nothing here depends on as_of: maturity and waiting are judged at query time by comparing
    as_of with the stored instants and dates. Breakdown columns hold report group codes.
    """

    __tablename__ = "referral_fact"
    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    received_date: Mapped[dt.date] = mapped_column(Date)  # London
    received_month: Mapped[str] = mapped_column(String(7), index=True)  # London, YYYY-MM
    time_known: Mapped[bool] = mapped_column(Boolean)
    referral_source: Mapped[str] = mapped_column(String(16))
    age_band: Mapped[str] = mapped_column(String(9))
    gender: Mapped[str] = mapped_column(String(2))
    ethnic_group: Mapped[str] = mapped_column(String(9))
    postcode_district: Mapped[str] = mapped_column(String(9))
    status: Mapped[str | None] = mapped_column(String(12))
    discharged_on: Mapped[dt.date | None] = mapped_column(Date)
    discharged_month: Mapped[str | None] = mapped_column(String(7))
    # contact_72h: matured (and, for waiting_now, breaching) from this instant, UTC.
    contact_due_at: Mapped[dt.datetime] = mapped_column(DateTime)
    first_contact_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    contact_minutes: Mapped[int | None] = mapped_column(Integer)  # None when time unknown
    contact_within: Mapped[bool | None] = mapped_column(Boolean)
    first_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempt_within: Mapped[bool | None] = mapped_column(Boolean)
    appt_due_on: Mapped[dt.date] = mapped_column(Date)  # received date + 7 days
    first_appt_on: Mapped[dt.date | None] = mapped_column(Date)
    appt_within: Mapped[bool | None] = mapped_column(Boolean)
    first_attended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attended_within: Mapped[bool | None] = mapped_column(Boolean)
    sessions: Mapped[int] = mapped_column(Integer)  # attended appointments
    core10_pair: Mapped[bool] = mapped_column(Boolean)
    core10_improved: Mapped[bool] = mapped_column(Boolean)
    # hours_to_contact counts the referral from here (received and contacted, time known).
    contact_known_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # From here on nothing about the referral depends on as_of; None: it may still be waiting.
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    in_cube: Mapped[bool] = mapped_column(Boolean, index=True)  # counted in referral_cube

    __table_args__ = tuple(
        Index(
            f"ix_referral_fact_minutes_{name}",
            *lead,
            "contact_minutes",
            *trail,
            "contact_known_at",
            sqlite_where=text("contact_minutes IS NOT NULL"),
            postgresql_where=text("contact_minutes IS NOT NULL"),
        )
        for name, lead, trail in (
            # Exact percentiles by index walk (kpi/minutes.py): one index per grouping, with
            # the columns a report filters on, so the walk never touches the table.
            ("all", (), ("received_month", "referral_source")),
            ("month", ("received_month",), ("referral_source",)),
            ("source", ("referral_source",), ("received_month",)),
            ("age", ("age_band",), ("received_month", "referral_source")),
            ("gender", ("gender",), ("received_month", "referral_source")),
            ("ethnicity", ("ethnic_group",), ("received_month", "referral_source")),
            ("district", ("postcode_district",), ("received_month", "referral_source")),
        )
    )


class ReferralCube(Base):
    """Grain: one row per (grain, month, breakdown key): the summed contributions of SETTLED
    referrals (etl/cube.py). Grains: ``received`` (month received x source, age band, gender,
    ethnic group), ``received_district`` (month received x source, district), ``discharged``
    and ``discharged_district`` likewise by month discharged, ``sessions`` (month discharged x
    source x sessions attended). Key columns a grain does not use hold '' (sessions -1)."""

    __tablename__ = "referral_cube"
    grain: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    referral_source: Mapped[str] = mapped_column(String(16), primary_key=True)
    age_band: Mapped[str] = mapped_column(String(9), primary_key=True)
    gender: Mapped[str] = mapped_column(String(2), primary_key=True)
    ethnic_group: Mapped[str] = mapped_column(String(9), primary_key=True)
    postcode_district: Mapped[str] = mapped_column(String(9), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, primary_key=True)
    referrals: Mapped[int] = mapped_column(Integer)
    contact_72h_num: Mapped[int] = mapped_column(Integer)
    contact_72h_den: Mapped[int] = mapped_column(Integer)
    contact_attempt_72h_num: Mapped[int] = mapped_column(Integer)
    contact_attempt_72h_den: Mapped[int] = mapped_column(Integer)
    appt_offered_7d_num: Mapped[int] = mapped_column(Integer)
    appt_offered_7d_den: Mapped[int] = mapped_column(Integer)
    appt_attended_7d_num: Mapped[int] = mapped_column(Integer)
    appt_attended_7d_den: Mapped[int] = mapped_column(Integer)
    ethnicity_known: Mapped[int] = mapped_column(Integer)
    gender_known: Mapped[int] = mapped_column(Integer)
    age_known: Mapped[int] = mapped_column(Integer)
    time_known: Mapped[int] = mapped_column(Integer)
    hours_n: Mapped[int] = mapped_column(Integer)
    # ... of which in each bucket of minutes to first contact (etl/cube.py MINUTE_BOUNDS)
    minutes_b0: Mapped[int] = mapped_column(Integer)
    minutes_b1: Mapped[int] = mapped_column(Integer)
    minutes_b2: Mapped[int] = mapped_column(Integer)
    minutes_b3: Mapped[int] = mapped_column(Integer)
    minutes_b4: Mapped[int] = mapped_column(Integer)
    minutes_b5: Mapped[int] = mapped_column(Integer)
    minutes_b6: Mapped[int] = mapped_column(Integer)
    minutes_b7: Mapped[int] = mapped_column(Integer)
    minutes_b8: Mapped[int] = mapped_column(Integer)
    minutes_b9: Mapped[int] = mapped_column(Integer)
    minutes_b10: Mapped[int] = mapped_column(Integer)
    minutes_b11: Mapped[int] = mapped_column(Integer)
    minutes_b12: Mapped[int] = mapped_column(Integer)
    minutes_b13: Mapped[int] = mapped_column(Integer)
    minutes_b14: Mapped[int] = mapped_column(Integer)
    minutes_b15: Mapped[int] = mapped_column(Integer)
    minutes_b16: Mapped[int] = mapped_column(Integer)
    minutes_b17: Mapped[int] = mapped_column(Integer)
    minutes_b18: Mapped[int] = mapped_column(Integer)
    minutes_b19: Mapped[int] = mapped_column(Integer)
    minutes_b20: Mapped[int] = mapped_column(Integer)
    minutes_b21: Mapped[int] = mapped_column(Integer)
    minutes_b22: Mapped[int] = mapped_column(Integer)
    minutes_b23: Mapped[int] = mapped_column(Integer)
    minutes_b24: Mapped[int] = mapped_column(Integer)
    minutes_b25: Mapped[int] = mapped_column(Integer)
    minutes_b26: Mapped[int] = mapped_column(Integer)
    core10_den: Mapped[int] = mapped_column(Integer)
    core10_num: Mapped[int] = mapped_column(Integer)
    sessions_total: Mapped[int] = mapped_column(Integer)


class ActivityDay(Base):
    """Grain: one row per (London day, referral source, appointment type, practitioner):
    appointment counts of counted referrals, kept up to date by deltas at load."""

    __tablename__ = "activity_day"
    activity_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    referral_source: Mapped[str] = mapped_column(String(16), primary_key=True)
    contact_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    practitioner: Mapped[str] = mapped_column(String(100), primary_key=True)  # '' when blank
    appointments: Mapped[int] = mapped_column(Integer)
    attended: Mapped[int] = mapped_column(Integer)  # attended or late_seen
    dna: Mapped[int] = mapped_column(Integer)
    late_not_seen: Mapped[int] = mapped_column(Integer)
    cancelled_by_client: Mapped[int] = mapped_column(Integer)
    cancelled_by_service: Mapped[int] = mapped_column(Integer)
    peer_timed: Mapped[int] = mapped_column(Integer)  # attended peer sessions with a duration
    peer_90: Mapped[int] = mapped_column(Integer)  # ... of 80 minutes or more


MARTS = {
    "referrals": Referral.__table__,
    "contacts": Contact.__table__,
    "feedback": Feedback.__table__,
    "outcomes": Outcome.__table__,
}
