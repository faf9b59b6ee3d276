"""Who is asking: the principal of a request, resolved from the signed session cookie and
checked against the warehouse on every request (a disabled account, a changed password, a
revoked or expired link stop working at once)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import g, has_request_context, session

from dashboard import data
from dashboard.access import accounts, links
from etl import settings

SEEN_REFRESH = 60  # seconds: how stale the session's last-seen stamp may get before rewriting


@dataclass(frozen=True)
class Principal:
    kind: str  # user | link | demo
    role: str  # admin | manager | commissioner
    name: str
    id: int | None = None

    @property
    def audience(self) -> str:
        return "commissioner" if self.role == "commissioner" else "manager"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


DEMO = Principal("demo", "manager", "demo manager")


def current() -> Principal | None:
    """The principal the guard resolved for this request (None outside a request)."""
    return g.get("principal") if has_request_context() else None


def audience() -> str:
    """The KPI audience of this request. Outside a request (the CLI, unit tests) the caller is
    trusted: manager. Inside one without a principal (cannot happen behind the guard), the
    least: commissioner."""
    if not has_request_context():
        return "manager"
    who = current()
    return who.audience if who else "commissioner"


def sign_in_user(account: accounts.Account) -> None:
    session.clear()  # a new session: no fixation
    session.permanent = True
    session.update(kind="user", uid=account.user_id, epoch=account.session_epoch)
    _touch()


def sign_in_link(link: links.Link) -> None:
    session.clear()
    session.permanent = True
    session.update(kind="link", lid=link.id)
    _touch()


def _touch() -> None:
    session["seen"] = int(time.time())


def resolve() -> Principal | None:
    """The session's principal after checking it against the warehouse, else None (and the
    session is cleared when it has expired or its account or link no longer works)."""
    kind = session.get("kind")
    if kind is None:
        return DEMO if settings.is_demo() else None
    seen = session.get("seen", 0)
    if time.time() - seen > settings.session_idle_hours() * 3600:
        session.clear()
        return None
    who = _user() if kind == "user" else _link() if kind == "link" else None
    if who is None:
        session.clear()
        return None
    if time.time() - seen > SEEN_REFRESH:
        _touch()
    return who


def _user() -> Principal | None:
    account = accounts.by_id(data.engine(), int(session.get("uid", 0)))
    if account is None or account.disabled or account.session_epoch != session.get("epoch"):
        return None
    return Principal("user", account.role, account.name, account.user_id)


def _link() -> Principal | None:
    link = links.get(data.engine(), int(session.get("lid", 0)))
    if link is None or not link.usable(accounts.now()):
        return None
    return Principal("link", "commissioner", link.label, link.id)
