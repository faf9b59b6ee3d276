"""KPI facts: referral_fact, activity_day and the contact's London activity date

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:43:45.066755
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
        sa.PrimaryKeyConstraint("referral_id"),
    )
    with op.batch_alter_table("referral_fact", schema=None) as batch_op:
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
    op.drop_table("referral_fact")
    op.drop_table("activity_day")
