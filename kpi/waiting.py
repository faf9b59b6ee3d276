"""The waiting list (managers only): every referral waiting for first contact at as_of.

Its rows are exactly the referrals ``waiting_now`` counts (the same conditions in
kpi/queries.py), longest wait first. Referral ids are the case-management system's own ids, so
a manager can find the person there; nothing else about them is shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select

from etl import parsers
from kpi.queries import RF, View, overdue, received, waiting


def waiting_list(conn: Connection, view: View, limit: int = 1000) -> list[dict[str, Any]]:
    """Rows {referral_id, referral_source, received (London), time_known, hours_waited,
    breach_at (London), breaching}, longest wait first, at most `limit`."""
    stmt = (
        select(
            RF.referral_id,
            RF.referral_source,
            RF.received_at,
            RF.time_known,
            RF.contact_due_at,
            overdue(view).label("breaching"),
        )
        .where(*received(view), waiting(view))
        .order_by(RF.received_at, RF.referral_id)
        .limit(limit)
    )
    rows = []
    for r in conn.execute(stmt):
        rows.append(
            {
                "referral_id": r.referral_id,
                "referral_source": r.referral_source,
                "received": _london(r.received_at, r.time_known),
                "hours_waited": round((view.as_of - r.received_at).total_seconds() / 3600, 1),
                "breach_at": _london(r.contact_due_at, True),
                "breaching": bool(r.breaching),
            }
        )
    return rows


def _london(utc: dt.datetime, with_time: bool) -> str:
    local = parsers.utc_to_london(utc)
    return local.strftime("%Y-%m-%d %H:%M") if with_time else local.strftime("%Y-%m-%d")
