"""Commissioner links: read-only, aggregate-only access by a random token.

The token (192 random bits) is shown once, when the link is made; the warehouse keeps only its
SHA-256. Every request of a link's session looks the link up again, so a revoked or expired link
stops working at once, also for a browser already inside.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from dashboard.access.accounts import AccountError, now
from etl.models_access import LinkUse, ShareLink

L = ShareLink.__table__.c
PREFIX = "/link/"
_DURATION = re.compile(r"^\s*(\d+)\s*([dhw]?)\s*$")


@dataclass(frozen=True)
class Link:
    id: int
    label: str
    created: dt.datetime
    expires: dt.datetime | None
    last_used: dt.datetime | None
    uses: int
    revoked: dt.datetime | None
    created_by: str | None

    def usable(self, at: dt.datetime) -> bool:
        return self.revoked is None and (self.expires is None or at < self.expires)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created", "expires", "last_used", "revoked"):
            out[key] = out[key].isoformat(timespec="seconds") + "Z" if out[key] else None
        return out


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_duration(text: str) -> dt.timedelta | None:
    """'90d', '12w', '36h' or a number of days; 'never' for a link that does not expire."""
    if text.strip().lower() == "never":
        return None
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise AccountError(f"{text!r} is not a duration: write e.g. 90d, 12w, 36h or never.")
    n, unit = int(match.group(1)), match.group(2) or "d"
    return {"d": dt.timedelta(days=n), "w": dt.timedelta(weeks=n), "h": dt.timedelta(hours=n)}[unit]


def create(
    engine: Engine, label: str, expires_in: dt.timedelta | None, created_by: str | None = None
) -> tuple[Link, str]:
    """A new link and its token (the only time the token exists outside the browser)."""
    label = " ".join(label.split())
    if not label or len(label) > 120:
        raise AccountError("A link needs a label of 1 to 120 characters, e.g. 'BNSSG ICB'.")
    token = secrets.token_urlsafe(24)
    made = now()
    with engine.begin() as conn:
        link_id = conn.execute(
            insert(ShareLink)
            .values(
                label=label,
                token_hash=hash_token(token),
                created_at=made,
                created_by=created_by,
                expires_at=made + expires_in if expires_in else None,
                uses=0,
            )
            .returning(L.link_id)
        ).scalar_one()
    return get(engine, link_id), token  # type: ignore[return-value]


def url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + PREFIX + token


def _columns():  # noqa: ANN202
    return select(
        L.link_id,
        L.label,
        L.created_at,
        L.expires_at,
        L.last_used_at,
        L.uses,
        L.revoked_at,
        L.created_by,
    )


def get(engine: Engine, link_id: int) -> Link | None:
    with engine.connect() as conn:
        row = conn.execute(_columns().where(L.link_id == link_id)).first()
    return Link(*row) if row else None


def by_token(engine: Engine, token: str) -> Link | None:
    if not token or len(token) > 128:
        return None
    with engine.connect() as conn:
        row = conn.execute(_columns().where(L.token_hash == hash_token(token))).first()
    return Link(*row) if row else None


def all_links(engine: Engine) -> list[Link]:
    with engine.connect() as conn:
        return [Link(*r) for r in conn.execute(_columns().order_by(L.link_id))]


def revoke(engine: Engine, link_id: int) -> Link:
    with engine.begin() as conn:
        conn.execute(
            update(ShareLink)
            .where(L.link_id == link_id, L.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    link = get(engine, link_id)
    if link is None:
        raise AccountError(f"There is no link with id {link_id}.")
    return link


def record_use(engine: Engine, link_id: int, path: str) -> None:
    """Log one use (time, link, path) and count it."""
    at = now()
    with engine.begin() as conn:
        conn.execute(insert(LinkUse).values(link_id=link_id, used_at=at, path=path[:255]))
        conn.execute(
            update(ShareLink).where(L.link_id == link_id).values(uses=L.uses + 1, last_used_at=at)
        )
