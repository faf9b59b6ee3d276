"""Who may use the dashboard: manager accounts, commissioner links, and what rate limiting and
the link-use log keep. Nothing here holds a password or a link token: only their hashes.

Grains: one row per account (``app_user``), per commissioner link (``share_link``), per use of a
link (``link_use``: a link opened, a page or a download fetched), per failed sign-in kept for the
rate-limit window (``login_failure``: deleted once older than the window).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from etl.models import Base


class AppUser(Base):
    """A person who signs in with a name and password: `manager` or `admin` (a manager who can
    also manage commissioner links)."""

    __tablename__ = "app_user"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | manager
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Bumped when the password changes or the account is disabled: older sessions stop working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class ShareLink(Base):
    """A read-only commissioner link. The token is shown once, when made; only its SHA-256 is
    kept (a random 192-bit token needs no slow hash)."""

    __tablename__ = "share_link"
    link_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class LinkUse(Base):
    """One use of a link: when, which link, which path (no address, no query string)."""

    __tablename__ = "link_use"
    use_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("share_link.link_id"), index=True)
    used_at: Mapped[dt.datetime] = mapped_column(DateTime)
    path: Mapped[str] = mapped_column(String(255))


class LoginFailure(Base):
    """A failed sign-in, kept only for the rate-limit window (then deleted)."""

    __tablename__ = "login_failure"
    failure_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
