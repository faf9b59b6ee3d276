"""KPI facts: referral_fact, referral_cube, activity_day and the contact's London activity date

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:55:40.964605
"""

import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _backfill_activity_on(conn: sa.Connection) -> None:
    """Existing contacts: the London date they occurred, else were scheduled."""
    rows = conn.execute(sa.text("SELECT contact_id, occurred_at, scheduled_at FROM contact")).all()
    if not rows:
        return
    frame = pd.DataFrame(rows, columns=["contact_id", "occurred_at", "scheduled_at"])
    when = pd.to_datetime(frame["occurred_at"].fillna(frame["scheduled_at"]), format="ISO8601")
    local = when.dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.date
    conn.execute(
        sa.text("UPDATE contact SET activity_on = :d WHERE contact_id = :c"),
        [{"d": d, "c": c} for d, c in zip(local, frame["contact_id"], strict=True)],
    )


def upgrade() -> None:
    op.create_table(
        "activity_day",
        sa.Column("activity_on", sa.Date(), nullable=False),
        sa.Column("referral_source", sa.String(length=16), nullable=False),
        sa.Column("contact_type", sa.String(length=16), nullable=False),
        sa.Column("practitioner", sa.String(length=100), nullable=False),
        sa.Column("appointments", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Integer(), nullable=False),
        sa.Column("dna", sa.Integer(), nullable=False),
        sa.Column("late_not_seen", sa.Integer(), nullable=False),
        sa.Column("cancelled_by_client", sa.Integer(), nullable=False),
        sa.Column("cancelled_by_service", sa.Integer(), nullable=False),
        sa.Column("peer_timed", sa.Integer(), nullable=False),
        sa.Column("peer_90", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("activity_on", "referral_source", "contact_type", "practitioner"),
    )
    op.create_table(
        "referral_cube",
        sa.Column("grain", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("referral_source", sa.String(length=16), nullable=False),
        sa.Column("age_band", sa.String(length=9), nullable=False),
        sa.Column("gender", sa.String(length=2), nullable=False),
        sa.Column("ethnic_group", sa.String(length=9), nullable=False),
        sa.Column("postcode_district", sa.String(length=9), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("contact_72h_num", sa.Integer(), nullable=False),
        sa.Column("contact_72h_den", sa.Integer(), nullable=False),
        sa.Column("contact_attempt_72h_num", sa.Integer(), nullable=False),
        sa.Column("contact_attempt_72h_den", sa.Integer(), nullable=False),
        sa.Column("appt_offered_7d_num", sa.Integer(), nullable=False),
        sa.Column("appt_offered_7d_den", sa.Integer(), nullable=False),
        sa.Column("appt_attended_7d_num", sa.Integer(), nullable=False),
        sa.Column("appt_attended_7d_den", sa.Integer(), nullable=False),
        sa.Column("ethnicity_known", sa.Integer(), nullable=False),
        sa.Column("gender_known", sa.Integer(), nullable=False),
        sa.Column("age_known", sa.Integer(), nullable=False),
        sa.Column("time_known", sa.Integer(), nullable=False),
        sa.Column("hours_n", sa.Integer(), nullable=False),
        sa.Column("minutes_b0", sa.Integer(), nullable=False),
        sa.Column("minutes_b1", sa.Integer(), nullable=False),
        sa.Column("minutes_b2", sa.Integer(), nullable=False),
        sa.Column("minutes_b3", sa.Integer(), nullable=False),
        sa.Column("minutes_b4", sa.Integer(), nullable=False),
        sa.Column("minutes_b5", sa.Integer(), nullable=False),
        sa.Column("minutes_b6", sa.Integer(), nullable=False),
        sa.Column("minutes_b7", sa.Integer(), nullable=False),
        sa.Column("minutes_b8", sa.Integer(), nullable=False),
        sa.Column("minutes_b9", sa.Integer(), nullable=False),
        sa.Column("minutes_b10", sa.Integer(), nullable=False),
        sa.Column("minutes_b11", sa.Integer(), nullable=False),
        sa.Column("minutes_b12", sa.Integer(), nullable=False),
        sa.Column("minutes_b13", sa.Integer(), nullable=False),
        sa.Column("minutes_b14", sa.Integer(), nullable=False),
        sa.Column("minutes_b15", sa.Integer(), nullable=False),
        sa.Column("minutes_b16", sa.Integer(), nullable=False),
        sa.Column("minutes_b17", sa.Integer(), nullable=False),
        sa.Column("minutes_b18", sa.Integer(), nullable=False),
        sa.Column("minutes_b19", sa.Integer(), nullable=False),
        sa.Column("minutes_b20", sa.Integer(), nullable=False),
        sa.Column("minutes_b21", sa.Integer(), nullable=False),
        sa.Column("minutes_b22", sa.Integer(), nullable=False),
        sa.Column("minutes_b23", sa.Integer(), nullable=False),
        sa.Column("minutes_b24", sa.Integer(), nullable=False),
        sa.Column("minutes_b25", sa.Integer(), nullable=False),
        sa.Column("minutes_b26", sa.Integer(), nullable=False),
        sa.Column("core10_den", sa.Integer(), nullable=False),
        sa.Column("core10_num", sa.Integer(), nullable=False),
        sa.Column("sessions_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain",
            "period",
            "referral_source",
            "age_band",
            "gender",
            "ethnic_group",
            "postcode_district",
            "sessions",
        ),
    )
    op.create_table(
        "referral_fact",
        sa.Column("referral_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("received_month", sa.String(length=7), nullable=False),
        sa.Column("time_known", sa.Boolean(), nullable=False),
        sa.Column("referral_source", sa.String(length=16), nullable=False),
        sa.Column("age_band", sa.String(length=9), nullable=False),
        sa.Column("gender", sa.String(length=2), nullable=False),
        sa.Column("ethnic_group", sa.String(length=9), nullable=False),
        sa.Column("postcode_district", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=True),
        sa.Column("discharged_on", sa.Date(), nullable=True),
        sa.Column("discharged_month", sa.String(length=7), nullable=True),
        sa.Column("contact_due_at", sa.DateTime(), nullable=False),
        sa.Column("first_contact_at", sa.DateTime(), nullable=True),
        sa.Column("contact_minutes", sa.Integer(), nullable=True),
        sa.Column("contact_within", sa.Boolean(), nullable=True),
        sa.Column("first_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("attempt_within", sa.Boolean(), nullable=True),
        sa.Column("appt_due_on", sa.Date(), nullable=False),
        sa.Column("first_appt_on", sa.Date(), nullable=True),
        sa.Column("appt_within", sa.Boolean(), nullable=True),
        sa.Column("first_attended_at", sa.DateTime(), nullable=True),
        sa.Column("attended_within", sa.Boolean(), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("core10_pair", sa.Boolean(), nullable=False),
        sa.Column("core10_improved", sa.Boolean(), nullable=False),
        sa.Column("contact_known_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("in_cube", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("referral_id"),
    )
    with op.batch_alter_table("referral_fact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_fact_in_cube"), ["in_cube"], unique=False)
        batch_op.create_index(
            "ix_referral_fact_minutes_age",
            [
                "age_band",
                "contact_minutes",
                "received_month",
                "referral_source",
                "contact_known_at",
            ],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_referral_fact_minutes_all",
            ["contact_minutes", "received_month", "referral_source", "contact_known_at"],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_referral_fact_minutes_district",
            [
                "postcode_district",
                "contact_minutes",
                "received_month",
                "referral_source",
                "contact_known_at",
            ],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_referral_fact_minutes_ethnicity",
            [
                "ethnic_group",
                "contact_minutes",
                "received_month",
                "referral_source",
                "contact_known_at",
            ],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_referral_fact_minutes_gender",
            ["gender", "contact_minutes", "received_month", "referral_source", "contact_known_at"],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_referral_fact_minutes_month",
            ["received_month", "contact_minutes", "referral_source", "contact_known_at"],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_referral_fact_minutes_source",
            ["referral_source", "contact_minutes", "received_month", "contact_known_at"],
            unique=False,
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_referral_fact_received_month"), ["received_month"], unique=False
        )

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_on", sa.Date(), nullable=True))
    conn = op.get_bind()
    _backfill_activity_on(conn)
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.alter_column("activity_on", existing_type=sa.Date(), nullable=False)

    from etl import facts  # the same derivation the loads use

    facts.rebuild(conn)


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("activity_on")

    with op.batch_alter_table("referral_fact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_fact_received_month"))
        batch_op.drop_index(
            "ix_referral_fact_minutes_source",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_referral_fact_minutes_month",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_referral_fact_minutes_gender",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_referral_fact_minutes_ethnicity",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_referral_fact_minutes_district",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_referral_fact_minutes_all",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_referral_fact_minutes_age",
            sqlite_where=sa.text("contact_minutes IS NOT NULL"),
            postgresql_where=sa.text("contact_minutes IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_referral_fact_in_cube"))

    op.drop_table("referral_fact")
    op.drop_table("referral_cube")
    op.drop_table("activity_day")
