"""Access: manager accounts, commissioner links, link uses and failed sign-ins

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
    )
    op.create_table(
        "share_link",
        sa.Column("link_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
    )
    op.create_table(
        "link_use",
        sa.Column("use_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("share_link.link_id"), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
    )
    op.create_index("ix_link_use_link_id", "link_use", ["link_id"])
    op.create_table(
        "login_failure",
        sa.Column("failure_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
    )
    for column in ("at", "account", "address"):
        op.create_index(f"ix_login_failure_{column}", "login_failure", [column])


def downgrade() -> None:
    op.drop_table("login_failure")
    op.drop_table("link_use")
    op.drop_table("share_link")
    op.drop_table("app_user")
