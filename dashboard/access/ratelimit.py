"""Failed sign-ins, counted per account and per address over a window, in the warehouse so
that every worker and host shares the count. Rows older than the window are deleted, so no
address is kept longer than rate limiting needs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, func, insert, select

from dashboard.access.accounts import now
from etl.models_access import LoginFailure

WINDOW = dt.timedelta(minutes=15)
PER_ACCOUNT = 5  # failures within WINDOW before an account's sign-ins are refused with 429
PER_ADDRESS = 20  # failures within WINDOW before an address's sign-ins are refused with 429
F = LoginFailure.__table__.c


def blocked(engine: Engine, account: str, address: str) -> bool:
    since = now() - WINDOW
    with engine.connect() as conn:
        by_account, by_address = conn.execute(
            select(
                func.count().filter(F.account == account[:64]),
                func.count().filter(F.address == address[:64]),
            ).where(F.at >= since)
        ).one()
    return by_account >= PER_ACCOUNT or by_address >= PER_ADDRESS


def record_failure(engine: Engine, account: str, address: str) -> None:
    at = now()
    with engine.begin() as conn:
        conn.execute(delete(LoginFailure).where(F.at < at - WINDOW))
        conn.execute(insert(LoginFailure).values(at=at, account=account[:64], address=address[:64]))


def clear_account(engine: Engine, account: str) -> None:
    """A successful sign-in forgets that account's failures (not the address's)."""
    with engine.begin() as conn:
        conn.execute(delete(LoginFailure).where(F.account == account[:64]))
