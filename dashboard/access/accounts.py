"""Manager accounts: names, roles and argon2id password hashes in the warehouse (``app_user``).

Used by `sis users ...` and by the sign-in route. A disabled account, or a changed password,
ends that person's open sessions at their next request (the session carries the account's
``session_epoch``, which both bump).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from etl.models_access import AppUser

ROLES = ("admin", "manager")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))

U = AppUser.__table__.c


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why, in plain words."""


@dataclass(frozen=True)
class Account:
    user_id: int
    name: str
    role: str
    disabled: bool
    created_at: dt.datetime
    session_epoch: int


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def add(engine: Engine, name: str, role: str, password: str) -> Account:
    name = name.strip()
    if not name or len(name) > 64:
        raise AccountError("A user name needs 1 to 64 characters.")
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    check_password(password)
    with engine.begin() as conn:
        if conn.execute(select(U.user_id).where(U.name == name)).first():
            raise AccountError(f"There is already a user called {name!r}.")
        conn.execute(
            insert(AppUser).values(
                name=name,
                role=role,
                password_hash=_HASHER.hash(password),
                disabled=False,
                created_at=now(),
                session_epoch=0,
            )
        )
    return get(engine, name)  # type: ignore[return-value]


def get(engine: Engine, name: str) -> Account | None:
    with engine.connect() as conn:
        row = conn.execute(_columns().where(U.name == name)).first()
    return Account(*row) if row else None


def by_id(engine: Engine, user_id: int) -> Account | None:
    with engine.connect() as conn:
        row = conn.execute(_columns().where(U.user_id == user_id)).first()
    return Account(*row) if row else None


def all_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        return [Account(*r) for r in conn.execute(_columns().order_by(U.name))]


def _columns():  # noqa: ANN202
    return select(U.user_id, U.name, U.role, U.disabled, U.created_at, U.session_epoch)


def set_password(engine: Engine, name: str, password: str) -> None:
    check_password(password)
    _change(engine, name, password_hash=_HASHER.hash(password))


def disable(engine: Engine, name: str) -> None:
    _change(engine, name, disabled=True)


def _change(engine: Engine, name: str, **values: object) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            update(AppUser)
            .where(U.name == name)
            .values(**values, session_epoch=U.session_epoch + 1)
        ).rowcount
    if not done:
        raise AccountError(f"There is no user called {name!r}.")


def verify(engine: Engine, name: str, password: str) -> Account | None:
    """The account when `name` and `password` match an enabled account, else None. Takes as long
    for an unknown name as for a wrong password."""
    with engine.connect() as conn:
        row = conn.execute(select(U.password_hash).where(U.name == name)).first()
    stored = row.password_hash if row else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    account = get(engine, name) if row else None
    if account is None or account.disabled:
        return None
    if _HASHER.check_needs_rehash(stored):
        with engine.begin() as conn:
            conn.execute(
                update(AppUser)
                .where(U.user_id == account.user_id)
                .values(password_hash=_HASHER.hash(password))
            )
    return account
